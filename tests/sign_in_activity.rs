//! Service principal and app credential sign-in activity, end to end against the simulator's
//! ground truth, and what happens without the permission or the licence these reports need.

mod common;

use std::time::Duration;

use common::*;
use graph_sim::{SimClient, SimConfig};

const WAIT: Duration = Duration::from_secs(60);
const COLLECTORS: [&str; 3] = [
    "credentials",
    "service_principal_sign_ins",
    "app_credential_sign_ins",
];

fn all_polled(m: &Metrics, tenant: &str) -> bool {
    COLLECTORS.iter().all(|c| m.up(tenant, c).is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_families_match_ground_truth_across_pages() {
    let sim = start_sim(SimConfig {
        applications: 400,
        extra_service_principals: 300,
        ..fast_reports(SimConfig::demo())
    })
    .await;
    let exporter = Exporter::start(config_for(
        &sim,
        "activity",
        graph_sim::DEMO_CLIENT_ID,
        graph_sim::DEMO_CLIENT_SECRET,
    ))
    .await;
    let m = exporter
        .wait_for("every first poll", WAIT, |m| all_polled(m, "activity"))
        .await;
    for c in COLLECTORS {
        assert_eq!(m.up("activity", c), Some(1.0), "{c}: {}", logs());
    }
    let truth = sim.ground_truth("activity", unix_now());
    assert_matches_truth(
        &m,
        &truth,
        &[
            "entra_service_principal_last_sign_in_timestamp_seconds",
            "entra_service_principals_without_recent_sign_in",
            "entra_app_credential_last_sign_in_timestamp_seconds",
            "entra_app_credentials_never_used",
        ],
        1e-3,
    );
    // The reports were paged (several requests each), never requested per item.
    for route in [
        "servicePrincipalSignInActivities",
        "appCredentialSignInActivities",
    ] {
        let pages = sim.requests().iter().filter(|r| r.route == route).count();
        assert!(
            pages >= 2,
            "{route}: {pages} page(s); the test tenant must need paging"
        );
    }
    // Every credential with a last use also has an expiry series or no end date: the two
    // families describe the same key ids.
    let expiry_keys: std::collections::BTreeSet<_> = m
        .named("entra_app_credential_expiry_timestamp_seconds")
        .iter()
        .map(|s| s.labels["key_id"].clone())
        .collect();
    let used_with_expiry = m
        .named("entra_app_credential_last_sign_in_timestamp_seconds")
        .iter()
        .filter(|s| expiry_keys.contains(&s.labels["key_id"]))
        .count();
    assert!(
        used_with_expiry > 0,
        "last-use series must join the expiry series on key_id"
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_audit_log_permission_only_the_activity_collectors_go_down() {
    let sim = start_sim(SimConfig {
        clients: vec![
            SimClient::demo(),
            SimClient::new(
                "0a0b0c0d-0000-4000-8000-00000000b001",
                "directory-only",
                &["Application.Read.All"],
            ),
        ],
        ..small_tenant()
    })
    .await;
    let exporter = Exporter::start(config_for(
        &sim,
        "noaudit",
        "0a0b0c0d-0000-4000-8000-00000000b001",
        "directory-only",
    ))
    .await;
    let m = exporter
        .wait_for("every first poll", WAIT, |m| all_polled(m, "noaudit"))
        .await;
    assert_eq!(m.up("noaudit", "credentials"), Some(1.0));
    assert_eq!(m.up("noaudit", "service_principal_sign_ins"), Some(0.0));
    assert_eq!(m.up("noaudit", "app_credential_sign_ins"), Some(0.0));
    let l = wait_for_log("appCredentialSignInActivities failed: HTTP 403", WAIT).await;
    let line = l
        .lines()
        .find(|l| l.contains("appCredentialSignInActivities failed: HTTP 403"))
        .unwrap();
    assert!(
        line.contains("noaudit") && line.contains("AuditLog.Read.All"),
        "{line}"
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_premium_licence_the_log_says_so() {
    let sim = start_sim(SimConfig {
        premium_licence: false,
        ..small_tenant()
    })
    .await;
    let exporter = Exporter::start(config_for(
        &sim,
        "free",
        graph_sim::DEMO_CLIENT_ID,
        graph_sim::DEMO_CLIENT_SECRET,
    ))
    .await;
    let m = exporter
        .wait_for("every first poll", WAIT, |m| all_polled(m, "free"))
        .await;
    assert_eq!(m.up("free", "credentials"), Some(1.0));
    assert_eq!(m.up("free", "service_principal_sign_ins"), Some(0.0));
    assert_eq!(m.up("free", "app_credential_sign_ins"), Some(0.0));
    let l = wait_for_log(
        "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
        WAIT,
    )
    .await;
    let line = l
        .lines()
        .find(|l| l.contains("Authentication_RequestFromNonPremiumTenantOrB2CTenant"))
        .unwrap();
    assert!(line.contains("P1 or P2"), "{line}");
    exporter.stop().await;
}
