//! `--demo`: the Graph simulator in-process on loopback with a synthetic tenant, and the
//! exporter pointed at it, so a newcomer sees real `/metrics` with one command.

use std::net::SocketAddr;

use graph_sim::{SimConfig, Simulator};

use crate::config::{Config, FileConfig, FileTenant, Overrides};
use crate::RunError;

/// Where the demo serves `/metrics` unless told otherwise: loopback only.
pub const DEMO_LISTEN_ADDRESS: &str = "127.0.0.1:9725";

/// A config that points one tenant at a simulator at `base_url`.
pub fn config_for(base_url: &str, listen_address: SocketAddr) -> Result<Config, RunError> {
    let url = |text: &str| {
        url::Url::parse(text).map_err(|e| {
            RunError::Config(crate::config::ConfigError::Invalid {
                key: "demo".into(),
                reason: format!("simulator URL {text:?} is invalid: {e}"),
            })
        })
    };
    let file = FileConfig {
        tenants: vec![FileTenant {
            name: Some("demo".into()),
            tenant_id: Some(graph_sim::DEMO_TENANT_ID.into()),
            client_id: Some(graph_sim::DEMO_CLIENT_ID.into()),
            auth: crate::config::FileAuth {
                client_secret: Some(graph_sim::DEMO_CLIENT_SECRET.into()),
                ..Default::default()
            },
            authority_host: Some(url(base_url)?),
            graph_base_url: Some(url(base_url)?),
            ..FileTenant::default()
        }],
        // Start the activity-log counters with ten minutes of history, so they are not empty
        // at first and the first poll stays short under the reports budget.
        activity_logs: crate::config::FileActivityLogs {
            initial_lookback: Some(std::time::Duration::from_secs(600)),
            ..Default::default()
        },
        ..FileConfig::default()
    };
    let overrides = Overrides {
        listen_address: Some(listen_address),
        ..Overrides::default()
    };
    Ok(Config::resolve(file, &|_| None, &overrides)?)
}

/// Starts the demo simulator on a loopback port.
async fn start_simulator(applications: usize) -> Result<graph_sim::SimHandle, RunError> {
    let sim_listener = crate::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    Simulator::start(
        SimConfig {
            applications,
            ..SimConfig::demo()
        },
        sim_listener,
    )
    .await
    .map_err(RunError::Serve)
}

/// `backfill --demo`: the demo tenant's history.
pub async fn backfill(
    applications: usize,
    options: &crate::backfill::Options,
) -> Result<crate::backfill::Summary, crate::backfill::BackfillError> {
    let sim = start_simulator(applications).await?;
    let unused = SocketAddr::from(([127, 0, 0, 1], 0));
    let config = config_for(sim.base_url(), unused)?;
    let result = crate::backfill::run(&config, options).await;
    sim.shutdown().await;
    result
}

/// Runs the simulator and the exporter until Ctrl-C or SIGTERM.
pub async fn run(listen_address: Option<SocketAddr>, applications: usize) -> Result<(), RunError> {
    let sim = start_simulator(applications).await?;
    let address = match listen_address {
        Some(a) => a,
        None => DEMO_LISTEN_ADDRESS
            .parse()
            .map_err(|_| RunError::HttpClient("built-in demo address does not parse".into()))?,
    };
    let config = config_for(sim.base_url(), address)?;
    let listener = crate::bind(address).await?;
    let bound = listener.local_addr().map_err(RunError::Serve)?;
    tracing::info!(
        simulator = sim.base_url(),
        applications,
        "demo: Graph simulator started with a synthetic tenant"
    );
    tracing::info!("demo: metrics at http://{bound}/metrics (landing page http://{bound}/)");
    let result = crate::run(config, listener, crate::shutdown_signal()).await;
    sim.shutdown().await;
    result
}
