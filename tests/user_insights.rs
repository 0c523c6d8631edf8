//! External ID user insights end to end: every family against the simulator's ground truth
//! across pages, breakdown caps folding into `other`, a workforce tenant, and a missing
//! permission.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use graph_sim::{Quirks, SimClient, SimConfig};

const WAIT: Duration = Duration::from_secs(60);
const COLLECTOR: &str = "user_insights";

/// A tenant whose insight collections need several pages each.
fn paged_tenant() -> SimConfig {
    SimConfig {
        quirks: Quirks {
            insights_default_page_size: 150,
            ..Quirks::default()
        },
        ..small_tenant()
    }
}

/// Every user-insight family the ground truth has, named by the simulator, not the exporter.
fn truth_families(truth: &graph_sim::GroundTruth) -> Vec<String> {
    truth
        .samples
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| n.starts_with("entra_external_id_"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_matches_ground_truth_across_pages() {
    let sim = start_sim(paged_tenant()).await;
    let config = only(
        config_for(
            &sim,
            "ciam",
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &[COLLECTOR],
    );
    let exporter = Exporter::start(config).await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| m.up("ciam", COLLECTOR).is_some())
        .await;
    assert_eq!(m.up("ciam", COLLECTOR), Some(1.0), "{}", logs());
    let truth = sim.ground_truth("ciam", unix_now());
    let families = truth_families(&truth);
    assert!(
        families.len() >= 20,
        "the simulator's truth covers the insight families: {families:?}"
    );
    let names: Vec<&str> = families.iter().map(String::as_str).collect();
    assert_matches_truth(&m, &truth, &names, 1e-6);

    // The exporter served the latest complete day, not today's growing rows.
    let today_midnight = (unix_now() / 86_400.0).floor() * 86_400.0;
    for s in m.named("entra_external_id_fact_timestamp_seconds") {
        assert!(s.value < today_midnight, "{s:?} is not a complete period");
    }
    // Each collection was read in several pages.
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("daily/authentications"))
        .count();
    assert!(pages >= 2, "daily/authentications took {pages} request(s)");
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakdowns_beyond_the_limit_are_summed_into_other() {
    let sim = start_sim(small_tenant()).await;
    let mut config = only(
        config_for(
            &sim,
            "capped",
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &[COLLECTOR],
    );
    config.breakdowns.countries = 3;
    config.breakdowns.applications = 2;
    let exporter = Exporter::start(config).await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| m.up("capped", COLLECTOR).is_some())
        .await;
    assert_eq!(m.up("capped", COLLECTOR), Some(1.0), "{}", logs());
    let truth = sim.ground_truth("capped", unix_now());

    for (family, label, limit) in [
        (
            "entra_external_id_authentication_attempts_by_country",
            "country",
            3,
        ),
        ("entra_external_id_active_users_by_application", "app_id", 2),
    ] {
        for period in ["daily", "monthly"] {
            let expected: BTreeMap<String, f64> = truth
                .by_name(family)
                .into_iter()
                .filter(|s| s.labels["period"] == period)
                .map(|s| (s.labels[label].clone(), s.value))
                .collect();
            assert!(
                expected.len() > limit,
                "{family}: the tenant must have more than {limit} values to fold"
            );
            let served: BTreeMap<String, f64> = m
                .named(family)
                .into_iter()
                .filter(|s| s.labels["period"] == period)
                .map(|s| (s.labels[label].clone(), s.value))
                .collect();
            assert_eq!(served.len(), limit + 1, "{family} {period}: {served:?}");
            // The kept values are the largest ones, with their exact values.
            let mut ranked: Vec<(&String, &f64)> = expected.iter().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
            for (key, value) in &ranked[..limit] {
                assert_eq!(served.get(*key), Some(*value), "{family} {period} {key}");
            }
            // `other` holds the rest, so the total is unchanged.
            let rest: f64 = ranked[limit..].iter().map(|(_, v)| **v).sum();
            assert_eq!(served.get("other"), Some(&rest), "{family} {period}");
        }
    }
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workforce_tenant_is_up_with_no_insight_series() {
    let sim = start_sim(SimConfig {
        external_id: false,
        ..small_tenant()
    })
    .await;
    let exporter = Exporter::start(only(
        config_for(
            &sim,
            "workforce",
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &[COLLECTOR],
    ))
    .await;
    let m = exporter
        .wait_for("first poll", WAIT, |m| {
            m.up("workforce", COLLECTOR).is_some()
        })
        .await;
    assert_eq!(m.up("workforce", COLLECTOR), Some(1.0), "{}", logs());
    let insight_series = m
        .series
        .iter()
        .filter(|s| s.name.starts_with("entra_external_id_"))
        .count();
    assert_eq!(insight_series, 0, "{}", m.text);
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_insights_permission_only_this_collector_goes_down() {
    let client = "0a0b0c0d-0000-4000-8000-00000000c001";
    let sim = start_sim(SimConfig {
        clients: vec![SimClient::new(
            client,
            "no-insights",
            // The doc typo's spelling is not the real permission (Appendix B.2).
            &["Application.Read.All", "Insights-UserMetrics.Read.All"],
        )],
        ..small_tenant()
    })
    .await;
    let exporter = Exporter::start(only(
        config_for(&sim, "noinsights", client, "no-insights"),
        &[COLLECTOR, "credentials"],
    ))
    .await;
    let m = exporter
        .wait_for("first polls", WAIT, |m| {
            m.up("noinsights", COLLECTOR).is_some() && m.up("noinsights", "credentials").is_some()
        })
        .await;
    assert_eq!(m.up("noinsights", COLLECTOR), Some(0.0));
    assert_eq!(m.up("noinsights", "credentials"), Some(1.0));
    let l = wait_for_log("userInsights/daily/activeUsers failed: HTTP 403", WAIT).await;
    let line = l
        .lines()
        .find(|l| l.contains("userInsights/daily/activeUsers failed: HTTP 403"))
        .unwrap();
    assert!(
        line.contains("noinsights") && line.contains("Insights-UserMetric.Read.All"),
        "{line}"
    );
    exporter.stop().await;
}
