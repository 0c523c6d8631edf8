//! `/beta/reports/getAzureADApplicationSignInSummary(period=)` and
//! `/beta/reports/applicationSignInDetailedSummary` (§2): function-segment parsing, period
//! validation, trap B.5, the licence and delegated-only 403s, paging, filters, and the ground
//! truth against a walk of the served JSON.

use std::collections::{BTreeMap, HashMap, HashSet};

use graph_sim::metric_names as names;
use graph_sim::{Quirks, SimClient, SimConfig};
use serde_json::Value;

use crate::common::{demo_token, get_json, start, token_for};
use crate::ground_truth::parse_graph_date;
use crate::report_helpers::{
    assert_same, items, put, reports_config, status_and_code, truth_of, within_one_hour, SampleMap,
};

/// The summary path for `period`.
fn summary(period: &str) -> String {
    format!("/beta/reports/getAzureADApplicationSignInSummary(period='{period}')")
}

/// The detailed summary path.
const DETAILED: &str = "/beta/reports/applicationSignInDetailedSummary";

/// A client with every role but `Reports.Read.All`.
const NO_REPORTS: &str = "4e4e4e4e-3333-4444-8555-666666666666";

#[tokio::test]
async fn summary_shapes_ids_and_trap_b5() {
    let sim = start(reports_config()).await;
    let token = demo_token(&sim).await;
    let apps: HashMap<String, String> = items(&sim, &token, "/v1.0/applications?$top=999")
        .await
        .into_iter()
        .map(|a| {
            (
                a["appId"].as_str().expect("appId").to_owned(),
                a["displayName"].as_str().expect("displayName").to_owned(),
            )
        })
        .collect();

    let (pages, _) = within_one_hour(|| async {
        (
            get_json(&sim, &token, &summary("D7")).await,
            get_json(&sim, &token, &summary("D30")).await,
        )
    })
    .await;
    let mut by_period = Vec::new();
    for page in [&pages.0, &pages.1] {
        assert_eq!(
            page["@odata.context"],
            format!(
                "{}/beta/$metadata#Collection(applicationSignInSummary)",
                sim.base_url()
            )
        );
        assert!(page.get("@odata.nextLink").is_none(), "served in one page");
        let rows = page["value"].as_array().expect("value");
        assert!(!rows.is_empty());
        let mut seen = HashMap::new();
        for row in rows {
            let obj = row.as_object().expect("object");
            let keys: HashSet<&str> = obj.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                HashSet::from([
                    "@odata.type",
                    "id",
                    "appDisplayName",
                    "successfulSignInCount",
                    "failedSignInCount",
                    "successPercentage"
                ])
            );
            assert!(obj.get("appId").is_none(), "trap B.5: no appId property");
            assert_eq!(
                row["@odata.type"],
                "#microsoft.graph.applicationSignInSummary"
            );
            let id = row["id"].as_str().expect("id");
            assert_eq!(
                apps.get(id).map(String::as_str),
                row["appDisplayName"].as_str(),
                "id is the appId"
            );
            let s = row["successfulSignInCount"].as_u64().expect("Int64");
            let f = row["failedSignInCount"].as_u64().expect("Int64");
            assert!(s + f > 0);
            let pct = row["successPercentage"].as_f64().expect("Double");
            let expected = (10_000.0 * s as f64 / (s + f) as f64).round() / 100.0;
            assert!((pct - expected).abs() < 1e-9, "{row}");
            assert!(seen.insert(id.to_owned(), (s, f)).is_none());
        }
        by_period.push(seen);
    }
    // Every app active in the last 7 days is active in the last 30, with at least as many.
    let (d7, d30) = (&by_period[0], &by_period[1]);
    assert!(
        d7.len() < d30.len() && d30.len() < apps.len(),
        "some apps are idle"
    );
    for (id, (s, f)) in d7 {
        let (s30, f30) = d30[id];
        assert!(s30 >= *s && f30 >= *f);
    }
    // Some apps are noisy, most are not.
    let noisy = d30
        .values()
        .filter(|(s, f)| *f as f64 > 0.2 * (*s + *f) as f64)
        .count();
    assert!(noisy > 3 && noisy < d30.len() / 4, "{noisy}");
    // Whole percentages are written like the doc example's `100`.
    let raw = crate::common::get(&sim, &token, &summary("D30"))
        .await
        .text()
        .await
        .expect("body");
    assert!(
        !raw.contains("\"successPercentage\":100.0"),
        "100 not 100.0"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn function_segments_and_periods_are_validated() {
    let sim = start(reports_config()).await;
    let token = demo_token(&sim).await;
    for ok in [
        "/beta/reports/getAzureADApplicationSignInSummary(period='D7')",
        "/BETA/REPORTS/getazureadapplicationsigninsummary(period='D30')",
        "/beta/reports/getAzureADApplicationSignInSummary( period = 'D7' )",
        "/beta/reports/getAzureADApplicationSignInSummary(period=%27D7%27)",
    ] {
        assert_eq!(status_and_code(&sim, &token, ok).await.0, 200, "{ok}");
    }
    for bad in ["D1", "d7", "X", "D7 ", "", "d30", "D90"] {
        assert_eq!(
            status_and_code(&sim, &token, &summary(bad)).await,
            (400, "BadRequest".to_owned()),
            "period {bad:?}"
        );
    }
    for malformed in [
        "/beta/reports/getAzureADApplicationSignInSummary",
        "/beta/reports/getAzureADApplicationSignInSummary()",
        "/beta/reports/getAzureADApplicationSignInSummary(period=D7)",
        "/beta/reports/getAzureADApplicationSignInSummary(period='D7)",
        "/beta/reports/getAzureADApplicationSignInSummary(period='D7',period='D7')",
        "/beta/reports/getAzureADApplicationSignInSummary(days='D7')",
        "/beta/reports/getAzureADApplicationSignInSummary(period='D7'",
        "/v1.0/reports/getAzureADApplicationSignInSummary(period='D7')",
    ] {
        assert_eq!(
            status_and_code(&sim, &token, malformed).await,
            (400, "BadRequest".to_owned()),
            "{malformed}"
        );
    }
    // No query options are documented: OData options are refused.
    let (status, code) = status_and_code(&sim, &token, &format!("{}?$top=5", summary("D7"))).await;
    assert_eq!((status, code.as_str()), (400, "Request_UnsupportedQuery"));
    sim.shutdown().await;
}

#[tokio::test]
async fn licence_roles_and_delegated_only() {
    let mut cfg = SimConfig {
        premium_licence: false,
        ..reports_config()
    };
    cfg.clients.push(SimClient::new(
        NO_REPORTS,
        "s",
        &[
            "Application.Read.All",
            "Directory.Read.All",
            "AuditLog.Read.All",
        ],
    ));
    let sim = start(cfg).await;
    let token = demo_token(&sim).await;
    assert_eq!(
        status_and_code(&sim, &token, &summary("D7")).await,
        (
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant".to_owned()
        )
    );
    let other = token_for(&sim, NO_REPORTS, "s").await;
    assert_eq!(
        status_and_code(&sim, &other, &summary("D7")).await,
        (403, "Authorization_RequestDenied".to_owned())
    );
    sim.shutdown().await;

    // §2.2 is delegated-only: the app-only demo token is refused even with the role.
    let sim = start(reports_config()).await;
    let token = demo_token(&sim).await;
    assert_eq!(
        status_and_code(&sim, &token, DETAILED).await,
        (403, "Authorization_RequestDenied".to_owned())
    );
    sim.shutdown().await;
}

/// A config whose app-only tokens may read the detailed summary.
fn detailed_config() -> SimConfig {
    SimConfig {
        quirks: Quirks {
            app_sign_in_detailed_summary_app_only: true,
            ..Quirks::default()
        },
        ..reports_config()
    }
}

#[tokio::test]
async fn detailed_summary_pages_filters_and_agrees_with_history() {
    let sim = start(detailed_config()).await;
    let token = demo_token(&sim).await;
    let first = get_json(&sim, &token, DETAILED).await;
    assert_eq!(
        first["@odata.context"],
        format!(
            "{}/beta/$metadata#reports/applicationSignInDetailedSummary",
            sim.base_url()
        )
    );
    assert_eq!(first["value"].as_array().map(Vec::len), Some(100));
    assert!(first["@odata.nextLink"]
        .as_str()
        .is_some_and(|l| l.starts_with(&format!("{}{DETAILED}?$skiptoken=", sim.base_url()))));

    let all_rows = format!("{DETAILED}?$top=1000");
    let (rows, at) = within_one_hour(|| items(&sim, &token, &all_rows)).await;
    assert!(rows.len() > 3_000, "{}", rows.len());
    let today = (at / 86_400.0).floor() as i64;
    let mut ids = HashSet::new();
    // (appId, day) → (successes, failures)
    let mut per_day: HashMap<(String, i64), (u64, u64)> = HashMap::new();
    let mut codes = HashSet::new();
    for row in &rows {
        assert!(ids.insert(row["id"].as_str().expect("id").to_owned()));
        assert!(uuid::Uuid::parse_str(row["id"].as_str().unwrap_or_default()).is_ok());
        let when = parse_graph_date(row["aggregatedEventDateTime"].as_str().expect("date"));
        assert_eq!(when % 86_400.0, 0.0, "midnight UTC");
        let day = (when / 86_400.0) as i64;
        assert!(day <= today && day > today - 30, "30-day retention");
        let count = row["signInCount"].as_u64().expect("Int64");
        assert!(count > 0);
        let status = &row["status"];
        let code = status["errorCode"].as_i64().expect("Int32");
        assert_eq!(status["failureReason"].is_null(), code == 0, "{row}");
        assert!(status["additionalDetails"].is_null());
        codes.insert(code);
        let entry = per_day
            .entry((row["appId"].as_str().expect("appId").to_owned(), day))
            .or_default();
        if code == 0 {
            entry.0 += count;
        } else {
            entry.1 += count;
        }
    }
    for code in [0, 50126, 50074, 50076, 53003, 700016, 50053, 50055] {
        assert!(codes.contains(&code), "error code {code} never served");
    }
    // Complete days agree with the backfill history.
    let history = sim.application_sign_in_history_at("contoso", at);
    let mut from_history: HashMap<(String, i64), (u64, u64)> = HashMap::new();
    for h in &history {
        let day = (h.timestamp_unix_seconds / 86_400.0) as i64;
        let e = from_history
            .entry((h.sample.labels["app_id"].clone(), day))
            .or_default();
        if h.sample.name == names::APPLICATION_DAILY_SUCCESSFUL_SIGN_INS {
            e.0 += h.sample.value as u64;
        } else {
            e.1 += h.sample.value as u64;
        }
    }
    for ((app, day), counts) in &from_history {
        if *day > today - 30 {
            assert_eq!(
                per_day
                    .get(&(app.clone(), *day))
                    .copied()
                    .unwrap_or_default(),
                *counts,
                "{app} day {day}"
            );
        }
    }
    for ((app, day), counts) in &per_day {
        if *day < today {
            assert_eq!(from_history.get(&(app.clone(), *day)), Some(counts));
        }
    }

    // Filters: one app over a date range, AND in any case, unquoted dates.
    let app = rows[0]["appId"].as_str().expect("appId").to_owned();
    let name = rows[0]["appDisplayName"].as_str().expect("name").to_owned();
    // `YYYY-MM-DD` of a day since the epoch (civil_from_days).
    let date = |days: i64| {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let dd = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("{y:04}-{m:02}-{dd:02}")
    };
    let filter = format!(
        "appId eq '{app}' AND aggregatedEventDateTime ge {} and aggregatedEventDateTime lt {}",
        date(today - 10),
        date(today - 3)
    );
    let filtered = items(
        &sim,
        &token,
        &format!("{DETAILED}?$top=1000&$filter={filter}"),
    )
    .await;
    let expected: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            let day = parse_graph_date(r["aggregatedEventDateTime"].as_str().unwrap_or_default())
                / 86_400.0;
            r["appId"] == app.as_str() && day >= (today - 10) as f64 && day < (today - 3) as f64
        })
        .collect();
    assert_eq!(filtered.iter().collect::<Vec<_>>(), expected);
    let by_name = items(
        &sim,
        &token,
        &format!(
            "{DETAILED}?$top=1000&$filter=appDisplayName eq '{}' and status/errorCode eq 0",
            name.replace('\'', "''")
        ),
    )
    .await;
    assert!(!by_name.is_empty());
    assert!(by_name
        .iter()
        .all(|r| r["appDisplayName"] == name.as_str() && r["status"]["errorCode"] == 0));
    for bad in [
        "appId ne 'x'",
        "aggregatedEventDateTime gt '2024-06-01'",
        "signInCount gt 3",
    ] {
        assert_eq!(
            status_and_code(&sim, &token, &format!("{DETAILED}?$filter={bad}"))
                .await
                .0,
            400,
            "{bad}"
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn summary_page_size_quirk_pages_the_same_rows() {
    let sim = start(SimConfig {
        quirks: Quirks {
            app_sign_in_summary_page_size: Some(40),
            ..Quirks::default()
        },
        ..reports_config()
    })
    .await;
    let token = demo_token(&sim).await;
    let ((paged, whole), _) = within_one_hour(|| async {
        let paged = items(&sim, &token, &summary("D30")).await;
        let first = get_json(&sim, &token, &summary("D30")).await;
        (paged, first)
    })
    .await;
    assert_eq!(whole["value"].as_array().map(Vec::len), Some(40));
    assert!(whole["@odata.nextLink"].as_str().is_some_and(|l| l
        .contains("/beta/reports/getAzureADApplicationSignInSummary(period='D30')?$skiptoken=")));
    let ids: HashSet<&str> = paged.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), paged.len());
    assert!(paged.len() > 80);
    sim.shutdown().await;
}

#[tokio::test]
async fn ground_truth_matches_the_served_summaries() {
    let sim = start(reports_config()).await;
    let token = demo_token(&sim).await;
    let (pages, at) = within_one_hour(|| async {
        let mut pages = Vec::new();
        for period in ["D7", "D30"] {
            pages.push((period, items(&sim, &token, &summary(period)).await));
        }
        pages
    })
    .await;
    let mut served = SampleMap::new();
    for (period, rows) in &pages {
        let period = if *period == "D7" { "7d" } else { "30d" };
        for row in rows {
            let labels = [
                ("period", period),
                ("app_id", row["id"].as_str().expect("id")),
                ("app", row["appDisplayName"].as_str().expect("name")),
            ];
            let s = row["successfulSignInCount"].as_f64().expect("s");
            let f = row["failedSignInCount"].as_f64().expect("f");
            put(
                &mut served,
                names::APPLICATION_SUCCESSFUL_SIGN_INS,
                "contoso",
                &labels,
                s,
            );
            put(
                &mut served,
                names::APPLICATION_FAILED_SIGN_INS,
                "contoso",
                &labels,
                f,
            );
            put(
                &mut served,
                names::APPLICATION_SIGN_IN_SUCCESS_RATIO,
                "contoso",
                &labels,
                s / (s + f),
            );
        }
    }
    let truth = sim.ground_truth("contoso", at);
    assert_same(
        &served,
        &truth_of(
            &truth,
            &[
                names::APPLICATION_SUCCESSFUL_SIGN_INS,
                names::APPLICATION_FAILED_SIGN_INS,
                names::APPLICATION_SIGN_IN_SUCCESS_RATIO,
            ],
        ),
    );

    // The history covers the complete days the detailed summary lists (its 30-day retention
    // ends with today's partial day), every listed app every day.
    let history = sim.application_sign_in_history_at("contoso", at);
    let today = (at / 86_400.0).floor();
    let mut days: BTreeMap<i64, usize> = BTreeMap::new();
    for h in &history {
        assert_eq!(h.timestamp_unix_seconds % 86_400.0, 0.0);
        let day = h.timestamp_unix_seconds / 86_400.0;
        assert!(day < today && day >= today - 29.0);
        *days.entry(day as i64).or_default() += 1;
        assert_eq!(h.sample.labels["tenant"], "contoso");
    }
    assert_eq!(days.len(), 29);
    assert_eq!(
        days.values().collect::<HashSet<_>>().len(),
        1,
        "same apps every day"
    );
    sim.shutdown().await;
}
