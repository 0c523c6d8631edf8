//! `/{v1.0|beta}/reports/getRelyingPartyDetailedSummary(period=)` (§3): shapes, periods,
//! `$filter`, `$orderby`, the UNCONFIRMED licence and rate-scale quirks, and the ground truth
//! against a walk of the served JSON.

use std::collections::HashSet;

use graph_sim::metric_names as names;
use graph_sim::{Quirks, RateScale, SimConfig};
use serde_json::Value;

use crate::common::{demo_token, get_json, start};
use crate::report_helpers::{
    assert_same, items, put, reports_config, status_and_code, truth_of, within_one_hour, SampleMap,
};

/// The report path for `version` and `period`.
fn path(version: &str, period: &str) -> String {
    format!("/{version}/reports/getRelyingPartyDetailedSummary(period='{period}')")
}

#[tokio::test]
async fn shapes_periods_and_non_null_properties() {
    let sim = start(SimConfig {
        relying_parties: 30,
        ..reports_config()
    })
    .await;
    let token = demo_token(&sim).await;
    let mut listed = Vec::new();
    for version in ["v1.0", "beta"] {
        for period in ["D1", "D7", "D30"] {
            let page = get_json(&sim, &token, &path(version, period)).await;
            assert_eq!(
                page["@odata.context"],
                format!(
                    "{}/{version}/$metadata#Collection(microsoft.graph.relyingPartyDetailedSummary)",
                    sim.base_url()
                )
            );
            let rows = page["value"].as_array().expect("value").clone();
            for row in &rows {
                let obj = row.as_object().expect("object");
                assert_eq!(obj.len(), 13, "{row}");
                assert!(obj.values().all(|v| !v.is_null()), "all non-null: {row}");
                assert_eq!(
                    row["@odata.type"],
                    "#microsoft.graph.relyingPartyDetailedSummary"
                );
                let s = row["successfulSignInCount"].as_u64().expect("s");
                let f = row["failedSignInCount"].as_u64().expect("f");
                let t = row["totalSignInCount"].as_u64().expect("t");
                assert_eq!(t, s + f);
                assert!(t > 0, "idle relying parties are left out");
                let u = row["uniqueUserCount"].as_u64().expect("u");
                assert!(u >= 1 && u <= t);
                let rate = row["signInSuccessRate"].as_f64().expect("Double");
                assert!((rate - s as f64 / t as f64).abs() < 1e-12, "fraction 0-1");
                assert!(matches!(
                    row["migrationStatus"].as_str(),
                    Some("ready" | "needsReview" | "additionalStepsRequired")
                ));
                let id = row["relyingPartyId"].as_str().expect("relyingPartyId");
                assert!(id.starts_with("https://") || id.starts_with("urn:"), "{id}");
                assert!(!row["replyUrls"].as_array().expect("replyUrls").is_empty());
                for detail in row["migrationValidationDetails"]
                    .as_array()
                    .expect("details")
                {
                    assert!(detail["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with("CheckResult")));
                    let value: Value =
                        serde_json::from_str(detail["value"].as_str().expect("value is a string"))
                            .expect("value is JSON");
                    assert!(value["result"].is_i64() && value["message"].is_string());
                }
            }
            listed.push((version, period, rows));
        }
    }
    let count = |p: &str| {
        listed
            .iter()
            .find(|(v, q, _)| *v == "beta" && *q == p)
            .map_or(0, |(_, _, r)| r.len())
    };
    assert!(count("D1") <= count("D7") && count("D7") <= count("D30"));
    assert!(count("D30") < 30, "some trusts are unused");
    let services: HashSet<&str> = listed
        .iter()
        .flat_map(|(_, _, rows)| rows.iter().filter_map(|r| r["serviceId"].as_str()))
        .collect();
    assert!(
        !services.is_empty() && services.len() <= 2,
        "one or two forests"
    );
    let statuses: HashSet<&str> = listed
        .iter()
        .flat_map(|(_, _, rows)| rows.iter().filter_map(|r| r["migrationStatus"].as_str()))
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");

    for bad in ["D2", "d7", "d1", "X", "D30 "] {
        assert_eq!(
            status_and_code(&sim, &token, &path("v1.0", bad)).await,
            (400, "BadRequest".to_owned()),
            "{bad}"
        );
    }
    assert_eq!(
        status_and_code(&sim, &token, "/v1.0/reports/getRelyingPartyDetailedSummary")
            .await
            .0,
        400
    );
    let (status, code) = status_and_code(
        &sim,
        &token,
        &format!("{}?$orderby=relyingPartyName", path("v1.0", "D30")),
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "Request_UnsupportedQuery"));
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_and_quirks() {
    let sim = start(SimConfig {
        premium_licence: false,
        ..reports_config()
    })
    .await;
    let token = demo_token(&sim).await;
    // No licence needed by default (UNCONFIRMED).
    let ((all, ready, one), _) = within_one_hour(|| async {
        let all = items(&sim, &token, &path("beta", "D30")).await;
        let ready = items(
            &sim,
            &token,
            &format!(
                "{}?$filter=migrationStatus eq 'needsReview'",
                path("beta", "D30")
            ),
        )
        .await;
        let first = all.first().cloned().unwrap_or(Value::Null);
        let one = items(
            &sim,
            &token,
            &format!(
                "{}?$filter=relyingPartyName eq '{}' and serviceId eq '{}'",
                path("beta", "D30"),
                first["relyingPartyName"].as_str().unwrap_or_default(),
                first["serviceId"].as_str().unwrap_or_default(),
            ),
        )
        .await;
        (all, ready, one)
    })
    .await;
    let expected: Vec<&Value> = all
        .iter()
        .filter(|r| r["migrationStatus"] == "needsReview")
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(ready.iter().collect::<Vec<_>>(), expected);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], all[0]);
    assert_eq!(
        status_and_code(
            &sim,
            &token,
            &format!("{}?$filter=uniqueUserCount eq '3'", path("beta", "D30"))
        )
        .await
        .0,
        400
    );
    sim.shutdown().await;

    let sim = start(SimConfig {
        premium_licence: false,
        quirks: Quirks {
            relying_party_requires_premium: true,
            relying_party_success_rate: RateScale::Percentage,
            ..Quirks::default()
        },
        ..reports_config()
    })
    .await;
    let token = demo_token(&sim).await;
    assert_eq!(
        status_and_code(&sim, &token, &path("v1.0", "D7")).await,
        (
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant".to_owned()
        )
    );
    sim.shutdown().await;

    let sim = start(SimConfig {
        quirks: Quirks {
            relying_party_success_rate: RateScale::Percentage,
            ..Quirks::default()
        },
        ..reports_config()
    })
    .await;
    let token = demo_token(&sim).await;
    for row in items(&sim, &token, &path("v1.0", "D30")).await {
        let s = row["successfulSignInCount"].as_f64().expect("s");
        let t = row["totalSignInCount"].as_f64().expect("t");
        let rate = row["signInSuccessRate"].as_f64().expect("rate");
        assert!((rate - 100.0 * s / t).abs() < 1e-9, "percentage 0-100");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn ground_truth_matches_the_served_summaries() {
    let sim = start(SimConfig {
        relying_parties: 25,
        ..reports_config()
    })
    .await;
    let token = demo_token(&sim).await;
    let (pages, at) = within_one_hour(|| async {
        let mut pages = Vec::new();
        for (period, label) in [("D1", "1d"), ("D7", "7d"), ("D30", "30d")] {
            pages.push((label, items(&sim, &token, &path("v1.0", period)).await));
        }
        pages
    })
    .await;
    let mut served = SampleMap::new();
    let mut statuses = std::collections::BTreeMap::new();
    for (period, rows) in &pages {
        for row in rows {
            let id = row["relyingPartyId"].as_str().expect("id");
            let name = row["relyingPartyName"].as_str().expect("name");
            let labels = [
                ("period", *period),
                ("relying_party_id", id),
                ("relying_party", name),
            ];
            let s = row["successfulSignInCount"].as_f64().expect("s");
            let f = row["failedSignInCount"].as_f64().expect("f");
            for (metric, value) in [
                (names::ADFS_RELYING_PARTY_SUCCESSFUL_SIGN_INS, s),
                (names::ADFS_RELYING_PARTY_FAILED_SIGN_INS, f),
                (
                    names::ADFS_RELYING_PARTY_SIGN_INS,
                    row["totalSignInCount"].as_f64().expect("t"),
                ),
                (
                    names::ADFS_RELYING_PARTY_UNIQUE_USERS,
                    row["uniqueUserCount"].as_f64().expect("u"),
                ),
                (names::ADFS_RELYING_PARTY_SIGN_IN_SUCCESS_RATIO, s / (s + f)),
            ] {
                put(&mut served, metric, "contoso", &labels, value);
            }
            let status = match row["migrationStatus"].as_str() {
                Some("ready") => "ready",
                Some("needsReview") => "needs_review",
                Some("additionalStepsRequired") => "additional_steps_required",
                _ => "unknown",
            };
            statuses.insert((id.to_owned(), name.to_owned()), status);
        }
    }
    for ((id, name), status) in &statuses {
        for s in [
            "ready",
            "needs_review",
            "additional_steps_required",
            "unknown",
        ] {
            put(
                &mut served,
                names::ADFS_RELYING_PARTY_MIGRATION_STATUS,
                "contoso",
                &[
                    ("relying_party_id", id),
                    ("relying_party", name),
                    ("status", s),
                ],
                if s == *status { 1.0 } else { 0.0 },
            );
        }
    }
    let truth = sim.ground_truth("contoso", at);
    assert_same(
        &served,
        &truth_of(
            &truth,
            &[
                names::ADFS_RELYING_PARTY_SUCCESSFUL_SIGN_INS,
                names::ADFS_RELYING_PARTY_FAILED_SIGN_INS,
                names::ADFS_RELYING_PARTY_SIGN_INS,
                names::ADFS_RELYING_PARTY_UNIQUE_USERS,
                names::ADFS_RELYING_PARTY_SIGN_IN_SUCCESS_RATIO,
                names::ADFS_RELYING_PARTY_MIGRATION_STATUS,
            ],
        ),
    );
    // Unique users are per period, not sums of shorter periods.
    let d30_total: f64 = truth
        .by_name(names::ADFS_RELYING_PARTY_UNIQUE_USERS)
        .iter()
        .filter(|s| s.labels["period"] == "30d")
        .map(|s| s.value)
        .sum();
    assert!(d30_total > 0.0);
    sim.shutdown().await;
}
