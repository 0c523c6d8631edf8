//! The identity-and-access reports collectors end to end: application sign-in summary, AD FS
//! relying parties, authentication methods registration and usage, each against the
//! simulator's ground truth; licence and permission failures; and the shared reports budget,
//! which a steady state never exceeds.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use graph_sim::{Quirks, SimClient, SimConfig};

const WAIT: Duration = Duration::from_secs(90);

/// Collectors that read the identity-and-access reports service.
const REPORT_COLLECTORS: [&str; 4] = [
    "application_sign_in_summary",
    "adfs_relying_parties",
    "auth_methods_registration",
    "auth_methods_usage",
];

/// Routes that count against the reports budget in the simulator.
const REPORT_ROUTES: [&str; 6] = [
    "applicationSignInSummary",
    "relyingPartyDetailedSummary",
    "userRegistrationDetails",
    "userMfaSignInSummary",
    "credentialUsageSummary",
    "credentialUserRegistrationCount",
];

fn all_up(m: &Metrics, tenant: &str, collectors: &[&str]) -> bool {
    collectors.iter().all(|c| m.up(tenant, c).is_some())
}

/// Every family of the truth whose name starts with one of `prefixes`, named by the simulator.
fn truth_families(truth: &graph_sim::GroundTruth, prefixes: &[&str]) -> Vec<String> {
    truth
        .samples
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| prefixes.iter().any(|p| n.starts_with(p)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_families_match_ground_truth() {
    // Enough users that userRegistrationDetails needs several pages.
    let sim = start_sim(SimConfig {
        users: 5_000,
        quirks: Quirks {
            user_registration_default_page_size: 700,
            ..Quirks::default()
        },
        ..small_tenant()
    })
    .await;
    let exporter = Exporter::start(only(
        config_for(
            &sim,
            "reports",
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &REPORT_COLLECTORS,
    ))
    .await;
    let m = exporter
        .wait_for("every first poll", WAIT, |m| {
            all_up(m, "reports", &REPORT_COLLECTORS)
        })
        .await;
    for c in REPORT_COLLECTORS {
        assert_eq!(m.up("reports", c), Some(1.0), "{c}: {}", logs());
    }
    let truth = sim.ground_truth("reports", unix_now());
    let families = truth_families(
        &truth,
        &["entra_application_", "entra_adfs_", "entra_auth_methods_"],
    );
    let names: Vec<&str> = families
        .iter()
        .map(String::as_str)
        // History samples only; the backfill test covers them.
        .filter(|n| !n.starts_with("entra_application_daily_"))
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    assert_matches_truth(&m, &truth, &names, 1e-9);

    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.route == "userRegistrationDetails")
        .count();
    assert!(
        pages >= 7,
        "5,000 users in pages of 700: {pages} request(s)"
    );
    // Registration is aggregated: no label anywhere carries a user.
    assert!(
        !m.text.contains("@"),
        "a user principal name leaked into /metrics"
    );
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_premium_licence_only_licensed_reports_go_down() {
    let sim = start_sim(SimConfig {
        premium_licence: false,
        ..small_tenant()
    })
    .await;
    let collectors = [
        "application_sign_in_summary",
        "auth_methods_registration",
        "auth_methods_usage",
        "adfs_relying_parties",
        "credentials",
    ];
    let exporter = Exporter::start(only(
        config_for(
            &sim,
            "free",
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &collectors,
    ))
    .await;
    let m = exporter
        .wait_for("every first poll", WAIT, |m| all_up(m, "free", &collectors))
        .await;
    assert_eq!(m.up("free", "application_sign_in_summary"), Some(0.0));
    assert_eq!(m.up("free", "auth_methods_registration"), Some(0.0));
    assert_eq!(m.up("free", "auth_methods_usage"), Some(0.0));
    // AD FS reports state no licence requirement; directory reads need none.
    assert_eq!(m.up("free", "adfs_relying_parties"), Some(1.0));
    assert_eq!(m.up("free", "credentials"), Some(1.0));
    let l = wait_for_log("getAzureADApplicationSignInSummary", WAIT).await;
    let line = l
        .lines()
        .find(|l| l.contains("getAzureADApplicationSignInSummary") && l.contains("403"))
        .unwrap_or_else(|| panic!("no 403 line:\n{l}"));
    assert!(line.contains("P1 or P2"), "{line}");
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reports_read_all_the_log_names_the_permission() {
    let client = "0a0b0c0d-0000-4000-8000-00000000d001";
    let sim = start_sim(SimConfig {
        clients: vec![SimClient::new(
            client,
            "audit-only",
            &["AuditLog.Read.All", "Application.Read.All"],
        )],
        ..small_tenant()
    })
    .await;
    let collectors = ["adfs_relying_parties", "auth_methods_registration"];
    let exporter = Exporter::start(only(
        config_for(&sim, "noreports", client, "audit-only"),
        &collectors,
    ))
    .await;
    let m = exporter
        .wait_for("every first poll", WAIT, |m| {
            all_up(m, "noreports", &collectors)
        })
        .await;
    assert_eq!(m.up("noreports", "adfs_relying_parties"), Some(0.0));
    assert_eq!(m.up("noreports", "auth_methods_registration"), Some(1.0));
    let l = wait_for_log("getRelyingPartyDetailedSummary", WAIT).await;
    let line = l
        .lines()
        .find(|l| l.contains("getRelyingPartyDetailedSummary") && l.contains("403"))
        .unwrap_or_else(|| panic!("no 403 line:\n{l}"));
    assert!(line.contains("Reports.Read.All"), "{line}");
    exporter.stop().await;
}

/// Runs the report collectors every 200 ms for `run` against a simulator that allows 5
/// requests per second, with the exporter's budget set to `budget` requests per second.
/// Returns (report requests, of which 429, budget wait seconds).
async fn steady_state(label: &str, budget: u32, run: Duration) -> (usize, usize, f64) {
    let sim = start_sim(small_tenant()).await;
    let mut config = with_interval(
        only(
            config_for(
                &sim,
                label,
                graph_sim::DEMO_CLIENT_ID,
                graph_sim::DEMO_CLIENT_SECRET,
            ),
            &REPORT_COLLECTORS,
        ),
        Duration::from_millis(200),
    );
    config.graph.reports_budget = Some(entra_exporter::config::Budget {
        requests: budget,
        window: TEST_REPORTS_WINDOW,
    });
    let exporter = Exporter::start(config).await;
    tokio::time::sleep(run).await;
    let m = exporter.scrape().await;
    exporter.stop().await;
    let requests = sim.requests();
    let reports: Vec<_> = requests
        .iter()
        .filter(|r| REPORT_ROUTES.contains(&r.route.as_str()))
        .collect();
    let throttled = reports.iter().filter(|r| r.status == 429).count();
    let waited = m.sum(
        "entra_graph_reports_budget_wait_seconds_total",
        &[("tenant", label)],
    );
    (reports.len(), throttled, waited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_budget_keeps_a_steady_state_free_of_429s() {
    let run = Duration::from_secs(6);
    let (sent, throttled, waited) = steady_state("paced", 5, run).await;
    eprintln!("paced: {sent} report requests, {throttled} throttled, {waited:.1} s waited");
    assert_eq!(
        throttled, 0,
        "{sent} report requests, {throttled} throttled: the budget must prevent every 429"
    );
    // The collectors wanted far more than the budget, so pacing was the limit: about 5 per
    // second were sent, and collectors spent time waiting.
    assert!(
        sent >= 20,
        "only {sent} report requests in {run:?}; pacing is too slow"
    );
    assert!(
        sent <= 5 * 7 + 5,
        "{sent} report requests exceed the budget"
    );
    assert!(waited > 1.0, "budget wait {waited} s; pacing never engaged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_budget_the_simulator_throttles() {
    // The control for the test above: an exporter budget ten times Graph's meets 429s, so a
    // zero there is the pacer's doing, not a lenient simulator.
    let (sent, throttled, _) = steady_state("unpaced", 50, Duration::from_secs(3)).await;
    eprintln!("unpaced: {sent} report requests, {throttled} throttled");
    assert!(throttled > 0, "{sent} report requests and no 429");
}
