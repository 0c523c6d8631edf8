//! The credentials collector end to end: the simulator and the exporter on loopback, the
//! exporter's `/metrics` compared with the simulator's ground truth, under faults.

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;
use graph_sim::{FaultKind, FaultRule, SimClient, SimConfig};

const CREDENTIAL_FAMILIES: &[&str] = &[
    "entra_app_credential_expiry_timestamp_seconds",
    "entra_app_credential_earliest_expiry_timestamp_seconds",
    "entra_app_credentials",
    "entra_app_credentials_without_expiry",
    "entra_applications",
    "entra_service_principals",
];

const WAIT: Duration = Duration::from_secs(30);

fn fault(route: &str, kind: FaultKind, times: Option<u32>) -> FaultRule {
    FaultRule {
        route: route.to_string(),
        kind,
        skip: 0,
        times,
    }
}

async fn start(sim: &graph_sim::SimHandle, label: &str) -> Exporter {
    Exporter::start(config_for(
        sim,
        label,
        graph_sim::DEMO_CLIENT_ID,
        graph_sim::DEMO_CLIENT_SECRET,
    ))
    .await
}

/// Like [`start`], polling every `interval` so a test can watch several polls.
async fn start_polling_every(
    sim: &graph_sim::SimHandle,
    label: &str,
    interval: Duration,
) -> Exporter {
    Exporter::start(with_interval(
        config_for(
            sim,
            label,
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        interval,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_over_thousands_of_apps_matches_ground_truth() {
    let sim = start_sim(SimConfig {
        applications: 2_600,
        extra_service_principals: 400,
        ..fast_reports(SimConfig::demo())
    })
    .await;
    let exporter = start(&sim, "paging").await;
    let m = exporter
        .wait_for("first poll", Duration::from_secs(60), |m| {
            m.up("paging", "credentials").is_some()
        })
        .await;
    assert_eq!(m.up("paging", "credentials"), Some(1.0), "{}", logs());
    let now = unix_now();
    let truth = sim.ground_truth("paging", now);
    assert_matches_truth(&m, &truth, CREDENTIAL_FAMILIES, 1e-3);
    // Remaining time is computed at scrape time, so allow for the seconds between scrape and `now`.
    assert_matches_truth(
        &m,
        &truth,
        &["entra_app_credential_expiry_remaining_seconds"],
        5.0,
    );

    // Several pages of 999, each followed via @odata.nextLink, and no request per app.
    let app_pages = sim
        .requests()
        .iter()
        .filter(|r| r.route == "applications")
        .count();
    assert_eq!(app_pages, 2_600usize.div_ceil(999));
    assert!(sim
        .requests()
        .iter()
        .filter(|r| r.route == "applications")
        .all(|r| r.path_and_query.contains("%24select=") || r.path_and_query.contains("$select=")));
    exporter.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_on_429_is_honoured() {
    let sim = start_sim(small_tenant()).await;
    sim.faults().inject(fault(
        "applications",
        FaultKind::Throttle {
            retry_after: Some("1.5".into()),
        },
        Some(1),
    ));
    let exporter = start(&sim, "throttled").await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| {
            m.up("throttled", "credentials").is_some()
        })
        .await;
    assert_eq!(m.up("throttled", "credentials"), Some(1.0), "{}", logs());
    let apps: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == "applications")
        .collect();
    assert_eq!(apps[0].status, 429);
    assert_eq!(apps[1].status, 200);
    let waited = apps[1].at.duration_since(apps[0].at).unwrap();
    assert!(
        waited >= Duration::from_millis(1_500),
        "retried after {waited:?}, before Retry-After: 1.5"
    );
    assert_eq!(
        m.sum(
            "entra_graph_retries_total",
            &[
                ("tenant", "throttled"),
                ("endpoint", "/v1.0/applications"),
                ("reason", "throttled")
            ]
        ),
        1.0
    );
    assert_matches_truth(
        &m,
        &sim.ground_truth("throttled", unix_now()),
        CREDENTIAL_FAMILIES,
        1e-3,
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_retried_and_the_collector_recovers() {
    let sim = start_sim(small_tenant()).await;
    sim.faults()
        .inject(fault("servicePrincipals", FaultKind::Status(503), Some(2)));
    let exporter = start(&sim, "unavailable").await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| {
            m.up("unavailable", "credentials").is_some()
        })
        .await;
    assert_eq!(m.up("unavailable", "credentials"), Some(1.0), "{}", logs());
    assert_eq!(
        m.sum(
            "entra_graph_retries_total",
            &[("tenant", "unavailable"), ("reason", "unavailable")]
        ),
        2.0
    );
    assert_eq!(
        m.sum(
            "entra_graph_requests_total",
            &[("endpoint", "/v1.0/servicePrincipals"), ("status", "503")]
        ),
        2.0
    );
    assert_matches_truth(
        &m,
        &sim.ground_truth("unavailable", unix_now()),
        CREDENTIAL_FAMILIES,
        1e-3,
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded_and_the_last_good_values_stay() {
    let sim = start_sim(small_tenant()).await;
    let exporter = start_polling_every(&sim, "bounded", Duration::from_millis(300)).await;
    exporter
        .wait_for("first success", WAIT, |m| {
            m.up("bounded", "credentials") == Some(1.0)
        })
        .await;
    sim.faults()
        .inject(fault("applications", FaultKind::Status(503), None));
    let m = exporter
        .wait_for("collector down", WAIT, |m| {
            m.up("bounded", "credentials") == Some(0.0)
        })
        .await;
    assert_matches_truth(
        &m,
        &sim.ground_truth("bounded", unix_now()),
        CREDENTIAL_FAMILIES,
        1e-3,
    );
    let l = wait_for_log("failed after 6 attempts", WAIT).await;
    assert!(l.contains("/v1.0/applications"), "{l}");
    sim.faults().clear();
    exporter
        .wait_for("recovery", WAIT, |m| {
            m.up("bounded", "credentials") == Some(1.0)
        })
        .await;
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_expiry_and_after_revocation() {
    let sim = start_sim(SimConfig {
        token_lifetime: Duration::from_secs(2),
        ..small_tenant()
    })
    .await;
    let exporter = start_polling_every(&sim, "tokens", Duration::from_millis(700)).await;
    // Several 2-second lifetimes pass while the collector keeps polling.
    let m = exporter
        .wait_for("three token refreshes", WAIT, |m| {
            m.sum(
                "entra_token_refreshes_total",
                &[("tenant", "tokens"), ("result", "success")],
            ) >= 3.0
        })
        .await;
    assert_eq!(m.up("tokens", "credentials"), Some(1.0), "{}", logs());
    let unauthorized = sim.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(
        unauthorized, 0,
        "tokens must be refreshed before they expire"
    );

    // A token revoked mid-run: one 401, one refresh, one retry, and the poll still succeeds.
    sim.revoke_tokens();
    let m = exporter
        .wait_for("a 401 retried after refresh", WAIT, |m| {
            m.sum(
                "entra_graph_retries_total",
                &[("tenant", "tokens"), ("reason", "unauthorized")],
            ) >= 1.0
        })
        .await;
    let m = exporter
        .wait_for("a successful poll after the 401", WAIT, |later| {
            let labels = [("tenant", "tokens"), ("collector", "credentials")];
            later.value("entra_collector_last_success_timestamp_seconds", &labels)
                > m.value("entra_collector_last_success_timestamp_seconds", &labels)
        })
        .await;
    assert_eq!(m.up("tokens", "credentials"), Some(1.0), "{}", logs());
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_marks_the_collector_down_and_keeps_the_last_good_values() {
    let sim = start_sim(small_tenant()).await;
    let exporter = start_polling_every(&sim, "broken", Duration::from_millis(300)).await;
    exporter
        .wait_for("first success", WAIT, |m| {
            m.up("broken", "credentials") == Some(1.0)
        })
        .await;
    for kind in [FaultKind::MalformedJson, FaultKind::TruncatedJson] {
        sim.faults().clear();
        sim.faults().inject(fault("servicePrincipals", kind, None));
        let m = exporter
            .wait_for("collector down", WAIT, |m| {
                m.up("broken", "credentials") == Some(0.0)
            })
            .await;
        assert_matches_truth(
            &m,
            &sim.ground_truth("broken", unix_now()),
            CREDENTIAL_FAMILIES,
            1e-3,
        );
        wait_for_log("returned a body that could not be read", WAIT).await;
        sim.faults().clear();
        exporter
            .wait_for("recovery", WAIT, |m| {
                m.up("broken", "credentials") == Some(1.0)
            })
            .await;
    }
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_body_is_retried() {
    let sim = start_sim(small_tenant()).await;
    sim.faults()
        .inject(fault("applications", FaultKind::DropMidBody, Some(1)));
    let exporter = start(&sim, "dropped").await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| {
            m.up("dropped", "credentials").is_some()
        })
        .await;
    assert_eq!(m.up("dropped", "credentials"), Some(1.0), "{}", logs());
    assert_eq!(
        m.sum(
            "entra_graph_retries_total",
            &[("tenant", "dropped"), ("reason", "connection")]
        ),
        1.0
    );
    assert_matches_truth(
        &m,
        &sim.ground_truth("dropped", unix_now()),
        CREDENTIAL_FAMILIES,
        1e-3,
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_reported_clearly_without_a_crash() {
    let sim = start_sim(small_tenant()).await;
    let exporter = Exporter::start(config_for(
        &sim,
        "badsecret",
        graph_sim::DEMO_CLIENT_ID,
        "not-the-secret",
    ))
    .await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| {
            m.up("badsecret", "credentials").is_some()
        })
        .await;
    assert_eq!(m.up("badsecret", "credentials"), Some(0.0));
    let l = wait_for_log("AADSTS7000215", WAIT).await;
    let line = l.lines().find(|l| l.contains("AADSTS7000215")).unwrap();
    assert!(
        line.contains("badsecret") && line.contains("not its Secret ID"),
        "{line}"
    );
    assert!(
        !l.contains("not-the-secret"),
        "the secret must never be logged"
    );
    assert!(!m.text.contains("not-the-secret"));
    // Collectors that asked while the first request was in flight share its error; one that
    // starts its poll after it failed asks again. So at most one request per collector, each
    // counted once, and the counter agrees with what the token endpoint saw.
    let errors = m.sum(
        "entra_token_refreshes_total",
        &[("tenant", "badsecret"), ("result", "error")],
    );
    let collectors = m
        .text
        .lines()
        .filter(|l| l.starts_with("entra_collector_interval_seconds{tenant=\"badsecret\""))
        .count();
    let token_requests = sim.requests().iter().filter(|r| r.route == "token").count();
    assert!(
        errors >= 1.0 && errors <= collectors as f64,
        "{errors} token errors for {collectors} collectors"
    );
    assert!(
        token_requests as f64 >= errors,
        "{token_requests} token requests, {errors} errors counted"
    );
    // The landing page names the problem too.
    let page = reqwest::get(format!("{}/", exporter.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("AADSTS7000215"), "{page}");
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_secret_and_an_unknown_client_name_their_codes() {
    let sim = start_sim(SimConfig {
        clients: vec![
            SimClient::demo(),
            SimClient {
                secret_expired: true,
                ..SimClient::new(
                    "0a0b0c0d-0000-4000-8000-00000000e001",
                    "expired-secret",
                    &["Application.Read.All"],
                )
            },
        ],
        ..small_tenant()
    })
    .await;
    for (label, client, secret, code) in [
        (
            "expired",
            "0a0b0c0d-0000-4000-8000-00000000e001",
            "expired-secret",
            "AADSTS7000222",
        ),
        (
            "unknownclient",
            "0a0b0c0d-0000-4000-8000-00000000ffff",
            "x",
            "AADSTS700016",
        ),
    ] {
        let exporter = Exporter::start(config_for(&sim, label, client, secret)).await;
        let m = exporter
            .wait_for("first poll", WAIT, |m| m.up(label, "credentials").is_some())
            .await;
        assert_eq!(m.up(label, "credentials"), Some(0.0));
        let l = wait_for_log(code, WAIT).await;
        assert!(
            l.lines()
                .any(|line| line.contains(code) && line.contains(label)),
            "{l}"
        );
        exporter.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_permission_is_named_in_the_log() {
    let sim = start_sim(SimConfig {
        clients: vec![
            SimClient::demo(),
            SimClient::new(
                "0a0b0c0d-0000-4000-8000-00000000a001",
                "reports-only",
                &["Reports.Read.All"],
            ),
        ],
        ..small_tenant()
    })
    .await;
    let exporter = Exporter::start(config_for(
        &sim,
        "noperm",
        "0a0b0c0d-0000-4000-8000-00000000a001",
        "reports-only",
    ))
    .await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| {
            m.up("noperm", "credentials").is_some()
        })
        .await;
    assert_eq!(m.up("noperm", "credentials"), Some(0.0));
    let needle = "GET /v1.0/applications failed: HTTP 403 Authorization_RequestDenied";
    let l = wait_for_log(needle, WAIT).await;
    let line = l.lines().find(|l| l.contains(needle)).unwrap();
    assert!(
        line.contains("HTTP 403")
            && line.contains("Application.Read.All")
            && line.contains("request-id"),
        "{line}"
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_gzipped_on_request_and_readiness_waits_for_the_first_poll() {
    let sim = start_sim(small_tenant()).await;
    // Slow token endpoint: the first poll takes a while, so /readyz must say 503 meanwhile.
    sim.faults().inject(fault(
        "token",
        FaultKind::Latency(Duration::from_millis(1_500)),
        Some(1),
    ));
    // Only this collector, so readiness means its first poll.
    let exporter = Exporter::start(only(
        config_for(
            &sim,
            "gzip",
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &["credentials"],
    ))
    .await;
    let ready = reqwest::get(format!("{}/readyz", exporter.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let health = reqwest::get(format!("{}/healthz", exporter.url))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    exporter
        .wait_for("first poll", WAIT, |m| {
            m.up("gzip", "credentials").is_some()
        })
        .await;
    let ready = reqwest::get(format!("{}/readyz", exporter.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);

    // reqwest here is built without gzip support, so the raw compressed bytes arrive.
    let response = reqwest::Client::new()
        .get(format!("{}/metrics", exporter.url))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let compressed = response.bytes().await.unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut text)
        .unwrap();
    let m = Metrics::parse(&text);
    assert_matches_truth(
        &m,
        &sim.ground_truth("gzip", unix_now()),
        CREDENTIAL_FAMILIES,
        1e-3,
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_families_are_exactly_the_documented_ones() {
    let sim = start_sim(small_tenant()).await;
    sim.faults()
        .inject(fault("applications", FaultKind::Status(503), Some(1)));
    // Every collector, the ones off by default included.
    let mut config = config_for(
        &sim,
        "docs",
        graph_sim::DEMO_CLIENT_ID,
        graph_sim::DEMO_CLIENT_SECRET,
    );
    config.update_collectors(|c| c.enabled = true);
    // A day of activity-log history, so that every counter has events at any time of day: in
    // the simulator's quiet night hours an hour held no custom security attribute audit.
    config.activity.initial_lookback = Duration::from_secs(24 * 3600);
    let exporter = Exporter::start(config).await;
    // Catching up on a day of logs under the tests' reports budget takes ~40 s unloaded.
    let m = exporter
        .wait_for("every collector's first successful poll", 4 * WAIT, |m| {
            entra_exporter::collectors::REGISTRY
                .iter()
                .all(|c| m.up("docs", c.name) == Some(1.0))
        })
        .await;
    let served: std::collections::BTreeSet<&str> =
        m.series.iter().map(|s| s.name.as_str()).collect();
    let documented: std::collections::BTreeSet<&str> = entra_exporter::metric_catalogue()
        .iter()
        .filter(|g| g.live)
        .flat_map(|g| g.metrics.iter().map(|m| m.name))
        .collect();
    assert_eq!(
        served, documented,
        "docs/metrics.md lists what the code can emit; the demo must emit all of it"
    );
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    for name in &served {
        assert!(
            doc.contains(&format!("`{name}`")),
            "{name} is not in docs/metrics.md"
        );
    }
    exporter.stop().await;
}
