//! Several tenants in one process: one tenant's failure or throttling never delays another's
//! collection, and every series carries its tenant.

mod common;

use std::time::Duration;

use common::*;
use graph_sim::{FaultKind, FaultRule};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_and_a_throttled_tenant_do_not_hold_back_a_healthy_one() {
    let healthy = start_sim(small_tenant()).await;
    let failing = start_sim(small_tenant()).await;
    let throttled = start_sim(small_tenant()).await;
    // Graph is down for one tenant, and throttles every list of the other with a long
    // Retry-After, which the exporter honours by waiting.
    failing
        .faults()
        .inject(FaultRule::new("*", FaultKind::Status(503)));
    throttled.faults().inject(FaultRule::new(
        "applications",
        FaultKind::Throttle {
            retry_after: Some("120".into()),
        },
    ));

    let tenants = [
        (&healthy, "healthy"),
        (&failing, "failing"),
        (&throttled, "throttled"),
    ]
    .into_iter()
    .map(|(sim, label)| graph_sim_tenant(sim, label))
    .collect();
    let config = with_interval(
        only(config_with(tenants), &["credentials"]),
        Duration::from_millis(300),
    );
    let exporter = Exporter::start(config).await;

    let first = exporter
        .wait_for("the healthy tenant's first poll", WAIT, |m| {
            m.up("healthy", "credentials") == Some(1.0)
        })
        .await;
    let last_success = |m: &Metrics| {
        m.value(
            "entra_collector_last_success_timestamp_seconds",
            &[("tenant", "healthy"), ("collector", "credentials")],
        )
        .unwrap_or(0.0)
    };
    let started = last_success(&first);

    // While the others fail and wait, the healthy tenant keeps polling on its own interval.
    exporter
        .wait_for("the failing tenant to report down", WAIT, |m| {
            m.up("failing", "credentials") == Some(0.0)
        })
        .await;
    let later = exporter
        .wait_for("several more healthy polls", WAIT, |m| {
            last_success(m) >= started + 1.0
        })
        .await;
    assert_eq!(later.up("healthy", "credentials"), Some(1.0));
    assert_eq!(later.up("failing", "credentials"), Some(0.0));
    assert_eq!(
        later.up("throttled", "credentials"),
        None,
        "the throttled tenant is still inside its first poll, waiting out Retry-After"
    );
    assert!(
        later.sum(
            "entra_graph_retries_total",
            &[("tenant", "throttled"), ("reason", "throttled")]
        ) > 0.0,
        "the throttled tenant's 429 is counted under its own label"
    );

    // The healthy tenant's values are its own simulator's, and only the healthy tenant has any.
    let truth = healthy.ground_truth("healthy", unix_now());
    assert_matches_truth(&later, &truth, &["entra_app_credentials"], 0.0);
    assert!(later
        .named("entra_app_credentials")
        .iter()
        .all(|s| s.labels["tenant"] == "healthy"));
    exporter.stop().await;
}

/// A tenant entry for `sim` with the simulator's demo client secret.
fn graph_sim_tenant(sim: &graph_sim::SimHandle, label: &str) -> entra_exporter::config::FileTenant {
    entra_exporter::config::FileTenant {
        auth: entra_exporter::config::FileAuth {
            client_secret: Some(graph_sim::DEMO_CLIENT_SECRET.into()),
            ..Default::default()
        },
        ..tenant_at(sim, label, graph_sim::DEMO_CLIENT_ID)
    }
}
