//! Sustained activity-log ingestion rate, against the limit the reports budget allows.
//!
//! Graph allows 5 requests per 10 s to the reports service and pages of at most 1,000 events,
//! so no client can read more than 500 events/s per tenant. This bench runs the same budget
//! ten times faster (5 requests per second, limit 5,000 events/s) so it finishes in seconds:
//! the simulator holds a backlog of sign-ins, the `sign_ins` collector catches up on it in one
//! poll, and the result is reported as a ratio to the limit measured in the same run.
//!
//! Run: `cargo bench --bench ingestion` (results go to docs/benchmarks.md by hand).

use std::time::{Duration, Instant};

use entra_exporter::config::{Budget, Config, FileConfig, FileTenant, Overrides};
use entra_exporter::telemetry::Telemetry;
use graph_sim::{ReportsThrottleConfig, SimConfig, Simulator};

const WINDOW: Duration = Duration::from_secs(1);
const REQUESTS: u32 = 5;
const PAGE: f64 = 1000.0;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

async fn bench() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(
        SimConfig {
            applications: 60,
            extra_service_principals: 20,
            activity_rate: 40.0,
            reports_throttle: ReportsThrottleConfig::with_limit(REQUESTS, WINDOW),
            ..SimConfig::demo()
        },
        listener,
    )
    .await
    .unwrap();
    let url = url::Url::parse(sim.base_url()).unwrap();
    let file = FileConfig {
        tenants: vec![FileTenant {
            name: Some("bench".into()),
            tenant_id: Some(sim.tenant().tenant_id.clone()),
            client_id: Some(graph_sim::DEMO_CLIENT_ID.into()),
            auth: entra_exporter::config::FileAuth {
                client_secret: Some(graph_sim::DEMO_CLIENT_SECRET.into()),
                ..Default::default()
            },
            authority_host: Some(url.clone()),
            graph_base_url: Some(url),
            ..FileTenant::default()
        }],
        ..FileConfig::default()
    };
    let mut config = Config::resolve(file, &|_| None, &Overrides::default()).unwrap();
    config.graph.reports_budget = Some(Budget {
        requests: REQUESTS,
        window: WINDOW,
    });
    config.activity.initial_lookback = Duration::from_secs(3600);
    config.activity.safety_lag = Duration::from_secs(0);
    let http = entra_exporter::http_client(&config).unwrap();
    let graph = entra_exporter::graph_client(&http, &config, &config.tenants[0], &Telemetry::new())
        .unwrap();
    let info = entra_exporter::collectors::info("sign_ins").unwrap();
    let collector = (info.build)(&config);

    let started = Instant::now();
    let families = collector.collect(&graph).await.expect("poll succeeds");
    let elapsed = started.elapsed().as_secs_f64();
    let events: f64 = families
        .iter()
        .filter(|f| f.spec.name == "entra_activity_log_events_total")
        .flat_map(|f| f.samples.iter().map(|(_, v)| v.at(0.0)))
        .sum();
    let requests = sim
        .requests()
        .iter()
        .filter(|r| r.route == "signIns")
        .count() as f64;
    let throttled = sim
        .requests()
        .iter()
        .filter(|r| r.route == "signIns" && r.status == 429)
        .count();
    let limit = f64::from(REQUESTS) / WINDOW.as_secs_f64() * PAGE;
    let rate = events / elapsed;
    println!(
        "sign-in backlog of one hour, four streams, budget {REQUESTS} requests per {WINDOW:?}"
    );
    println!("events            {events:.0}");
    println!("requests          {requests:.0} ({throttled} throttled)");
    println!("events/request    {:.0} of {PAGE:.0}", events / requests);
    println!("elapsed           {elapsed:.1} s");
    println!("rate              {rate:.0} events/s");
    println!("limit             {limit:.0} events/s (budget × full pages)");
    println!("ratio to limit    {:.2}", rate / limit);
    println!(
        "ratio to requests {:.2} (requests sent / requests the budget allowed in that time)",
        requests / (elapsed * f64::from(REQUESTS) / WINDOW.as_secs_f64())
    );
    sim.shutdown().await;
}
