//! `/beta/reports/userInsights/{daily|monthly}/{metric}` (§1): shapes and doc-vs-schema traps,
//! removed and nonexistent segments, the permission typo, workforce tenants, paging, filters,
//! the partial current day, and the ground truth and history against a walk of the served
//! JSON using the latest-complete-period rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graph_sim::metric_names as names;
use graph_sim::tenant::insights::Period;
use graph_sim::{Quirks, SimClient, SimConfig, SimHandle, WorkforceInsights};
use serde_json::Value;

use crate::common::{
    all_pages, config, demo_token, get, get_json, graph_error, start, start_with_quirks, token_for,
};
use crate::ground_truth::parse_graph_date;

/// Root of the user-insight collections.
const ROOT: &str = "/beta/reports/userInsights";

/// The §1.2 matrix: (period, metric, element type, properties).
const MATRIX: &[(&str, &str, &str, &[&str])] = &[
    ("daily", "activeUsers", "activeUsersMetric", ACTIVE_USERS),
    (
        "daily",
        "authentications",
        "authenticationsMetric",
        AUTHENTICATIONS,
    ),
    (
        "daily",
        "inactiveUsers",
        "dailyInactiveUsersMetric",
        DAILY_INACTIVE,
    ),
    (
        "daily",
        "inactiveUsersByApplication",
        "dailyInactiveUsersByApplicationMetric",
        DAILY_INACTIVE,
    ),
    (
        "daily",
        "mfaCompletions",
        "mfaCompletionMetric",
        MFA_COMPLETIONS,
    ),
    (
        "daily",
        "mfaTelecomFraud",
        "mfaTelecomFraudMetric",
        TELECOM_FRAUD,
    ),
    ("daily", "signUps", "userSignUpMetric", SIGN_UPS),
    ("daily", "summary", "insightSummary", SUMMARY),
    ("daily", "userCount", "userCountMetric", USER_COUNT),
    ("monthly", "activeUsers", "activeUsersMetric", ACTIVE_USERS),
    (
        "monthly",
        "authentications",
        "authenticationsMetric",
        AUTHENTICATIONS,
    ),
    (
        "monthly",
        "inactiveUsers",
        "monthlyInactiveUsersMetric",
        MONTHLY_INACTIVE,
    ),
    (
        "monthly",
        "inactiveUsersByApplication",
        "monthlyInactiveUsersByApplicationMetric",
        MONTHLY_INACTIVE,
    ),
    (
        "monthly",
        "mfaCompletions",
        "mfaCompletionMetric",
        MFA_COMPLETIONS,
    ),
    (
        "monthly",
        "mfaRegisteredUsers",
        "mfaUserCountMetric",
        MFA_REGISTERED,
    ),
    ("monthly", "requests", "userRequestsMetric", REQUESTS),
    ("monthly", "signUps", "userSignUpMetric", SIGN_UPS),
    ("monthly", "summary", "insightSummary", SUMMARY),
];

const ACTIVE_USERS: &[&str] = &[
    "id", "factDate", "appId", "appName", "country", "language", "os", "count",
];
const AUTHENTICATIONS: &[&str] = &[
    "id",
    "factDate",
    "appid",
    "os",
    "country",
    "browser",
    "authFlow",
    "identityProvider",
    "language",
    "attemptsCount",
    "successCount",
];
const DAILY_INACTIVE: &[&str] = &[
    "id",
    "factDate",
    "appId",
    "inactive1DayCount",
    "inactive30DayCount",
    "inactive60DayCount",
    "inactive90DayCount",
];
const MONTHLY_INACTIVE: &[&str] = &[
    "id",
    "factDate",
    "appId",
    "inactiveCalendarMonthCount",
    "inactive30DayCount",
    "inactive60DayCount",
    "inactive90DayCount",
];
const MFA_COMPLETIONS: &[&str] = &[
    "id",
    "factDate",
    "appId",
    "mfaMethod",
    "os",
    "country",
    "identityProvider",
    "language",
    "attemptsCount",
    "successCount",
];
const TELECOM_FRAUD: &[&str] = &[
    "id",
    "factDate",
    "captchaShownUserCount",
    "captchaSuccessCount",
    "captchaFailureCount",
    "captchaNotTriggeredUserCount",
    "telecomBlockedUserCount",
];
const SIGN_UPS: &[&str] = &[
    "id",
    "factDate",
    "appId",
    "os",
    "browser",
    "country",
    "identityProvider",
    "language",
    "count",
];
const SUMMARY: &[&str] = &[
    "id",
    "factDate",
    "appId",
    "os",
    "activeUsers",
    "authenticationRequests",
    "authenticationCompletions",
    "securityTextRequests",
    "securityTextCompletions",
    "securityVoiceRequests",
    "securityVoiceCompletions",
];
const USER_COUNT: &[&str] = &["id", "factDate", "language", "count"];
const MFA_REGISTERED: &[&str] = &["id", "factDate", "mfaType", "count"];
const REQUESTS: &[&str] = &[
    "id",
    "factDate",
    "appId",
    "browser",
    "country",
    "identityProvider",
    "language",
    "requestCount",
];

/// The role, and its doc typo (Appendix B.2).
const ROLE: &str = "Insights-UserMetric.Read.All";
/// See [`ROLE`].
const TYPO_ROLE: &str = "Insights-UserMetrics.Read.All";

/// Seconds in a day.
const DAY: i64 = 86_400;

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), written for this test.
fn date_of_day(z: i64) -> String {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The wall clock, Unix seconds.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Today (UTC) as `YYYY-MM-DD`.
fn today() -> String {
    date_of_day(now().div_euclid(DAY as f64) as i64)
}

/// Sleeps past the next day boundary shifted by `offset_secs` if it is less than a minute
/// away, so a test never straddles a roll-over of the served dates.
async fn avoid_roll_over(offset_secs: i64) {
    let into = (now() - offset_secs as f64).rem_euclid(DAY as f64);
    if into > (DAY - 60) as f64 {
        tokio::time::sleep(Duration::from_secs_f64(DAY as f64 - into + 1.0)).await;
    }
}

/// Every item of every page of `path`.
async fn items(sim: &SimHandle, token: &str, path: &str) -> Vec<Value> {
    all_pages(sim, token, path)
        .await
        .into_iter()
        .flat_map(|mut p| match p["value"].take() {
            Value::Array(items) => items,
            other => panic!("value is not an array: {other}"),
        })
        .collect()
}

/// A string field, `None` when null.
fn text<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    let v = &item[key];
    assert!(v.is_null() || v.is_string(), "{key}: {v}");
    v.as_str()
}

/// A non-null count field.
fn count(item: &Value, key: &str) -> u64 {
    item[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count: {item}"))
}

/// A client holding every role but the user-insights one, plus the given extras.
fn client(id: &str, roles: &[&str]) -> SimClient {
    let mut all = vec![
        "Application.Read.All",
        "Directory.Read.All",
        "Reports.Read.All",
        "AuditLog.Read.All",
    ];
    all.extend_from_slice(roles);
    SimClient::new(id, "s", &all)
}

#[tokio::test]
async fn every_path_serves_its_type_with_the_schema_keys() {
    avoid_roll_over(0).await;
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let app_ids: BTreeSet<String> =
        items(&sim, &token, "/v1.0/applications?$select=appId&$top=999")
            .await
            .iter()
            .map(|a| a["appId"].as_str().expect("appId").to_owned())
            .collect();
    for (period, metric, type_name, keys) in MATRIX {
        let path = format!("{ROOT}/{period}/{metric}");
        let first = get_json(&sim, &token, &path).await;
        assert_eq!(
            first["@odata.context"],
            format!(
                "{}/beta/$metadata#Collection(microsoft.graph.{type_name})",
                sim.base_url()
            ),
            "{path}"
        );
        let all = items(&sim, &token, &path).await;
        assert!(!all.is_empty(), "{path}");
        let want: BTreeSet<&str> = keys.iter().copied().collect();
        for item in &all {
            let have: BTreeSet<&str> = item
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(have, want, "{path}");
            let id = item["id"].as_str().expect("id is a string");
            assert!(id.parse::<u32>().is_ok(), "{id}");
            let date = item["factDate"].as_str().expect("factDate");
            assert_eq!(date.len(), 10, "{date}");
            parse_graph_date(&format!("{date}T00:00:00Z"));
            if *period == "monthly" {
                assert!(date.ends_with("-01"), "{path}: {date}");
            }
            // The trap of Appendix B.1: only authentications spells it `appid`.
            let app_key = if *metric == "authentications" {
                "appid"
            } else {
                "appId"
            };
            if let Some(app) = item.get(app_key).and_then(Value::as_str) {
                assert!(
                    app_ids.contains(app),
                    "{path}: {app} is not an app registration"
                );
            }
            for (attempts, successes) in [
                ("attemptsCount", "successCount"),
                ("authenticationRequests", "authenticationCompletions"),
                ("securityTextRequests", "securityTextCompletions"),
                ("securityVoiceRequests", "securityVoiceCompletions"),
            ] {
                if item.get(attempts).is_some() {
                    assert!(count(item, successes) <= count(item, attempts), "{item}");
                }
            }
            if *metric == "summary" {
                let os = item["os"].as_str().expect("summary os");
                assert!(
                    ["WINDOWS", "MACOS", "LINUX", "IOS", "ANDROID"].contains(&os),
                    "{os}"
                );
            }
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn ids_repeat_across_items() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    for metric in [
        "daily/activeUsers",
        "daily/userCount",
        "monthly/inactiveUsers",
    ] {
        let all = items(&sim, &token, &format!("{ROOT}/{metric}")).await;
        let ids: BTreeSet<&str> = all.iter().map(|i| i["id"].as_str().expect("id")).collect();
        assert!(ids.len() < all.len(), "{metric}: ids do not repeat");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn paths_are_case_insensitive_and_unknown_or_removed_ones_fail() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let lower = get_json(&sim, &token, "/beta/reports/userinsights/DAILY/SignUps").await;
    assert!(lower["@odata.context"]
        .as_str()
        .is_some_and(|c| c.ends_with("(microsoft.graph.userSignUpMetric)")));

    for (path, segment) in [
        ("daily/requests", "requests"),
        ("daily/mfaRegisteredUsers", "mfaRegisteredUsers"),
        ("monthly/userCount", "userCount"),
        ("monthly/mfaTelecomFraud", "mfaTelecomFraud"),
        ("weekly/activeUsers", "weekly"),
        ("daily/nope", "nope"),
        ("daily/activeUsersBreakdown", "activeUsersBreakdown"),
        ("monthly/activeusersbreakdown", "activeusersbreakdown"),
    ] {
        let response = get(&sim, &token, &format!("{ROOT}/{path}")).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            graph_error(&body),
            (
                "BadRequest",
                format!("Resource not found for the segment '{segment}'.").as_str()
            ),
            "{path}"
        );
    }
    sim.shutdown().await;

    let sim = start_with_quirks(Quirks {
        insights_removed_metric_status: 404,
        case_insensitive_paths: false,
        ..Quirks::default()
    })
    .await;
    let token = demo_token(&sim).await;
    let response = get(
        &sim,
        &token,
        &format!("{ROOT}/monthly/activeUsersBreakdown"),
    )
    .await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(graph_error(&body).0, "Request_ResourceNotFound");
    let response = get(&sim, &token, &format!("{ROOT}/Daily/activeUsers")).await;
    assert_eq!(response.status(), 400, "case-sensitive paths");
    sim.shutdown().await;
}

#[tokio::test]
async fn only_the_singular_role_is_accepted() {
    const TYPO: &str = "4e4e4e4e-1111-4222-8333-444444444444";
    const RIGHT: &str = "4e4e4e4e-1111-4222-8333-555555555555";
    let mut cfg = config();
    cfg.clients.push(client(TYPO, &[TYPO_ROLE]));
    cfg.clients.push(SimClient::new(RIGHT, "s", &[ROLE]));
    let sim = start(cfg).await;

    let token = token_for(&sim, TYPO, "s").await;
    for (period, metric, ..) in MATRIX {
        let response = get(&sim, &token, &format!("{ROOT}/{period}/{metric}")).await;
        assert_eq!(response.status(), 403, "{period}/{metric}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            graph_error(&body),
            (
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation."
            )
        );
    }
    let token = token_for(&sim, RIGHT, "s").await;
    get_json(&sim, &token, &format!("{ROOT}/monthly/summary")).await;
    // The role opens nothing else.
    assert_eq!(get(&sim, &token, "/v1.0/applications").await.status(), 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn workforce_tenants_serve_nothing_or_403() {
    let sim = start(SimConfig {
        external_id: false,
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    for (period, metric, type_name, _) in MATRIX {
        let page = get_json(&sim, &token, &format!("{ROOT}/{period}/{metric}")).await;
        assert_eq!(page["value"], Value::Array(Vec::new()));
        assert!(page["@odata.context"]
            .as_str()
            .is_some_and(|c| c.ends_with(&format!("(microsoft.graph.{type_name})"))));
        assert!(page.get("@odata.nextLink").is_none());
    }
    let truth = sim.ground_truth("t", now());
    assert!(truth
        .samples
        .iter()
        .all(|s| !s.name.starts_with("entra_external_id_")));
    assert!(sim.user_insights_history("t").is_empty());
    sim.shutdown().await;

    let sim = start(SimConfig {
        external_id: false,
        quirks: Quirks {
            insights_workforce: WorkforceInsights::Forbidden,
            ..Quirks::default()
        },
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let response = get(&sim, &token, &format!("{ROOT}/daily/activeUsers")).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        graph_error(&body),
        (
            "Forbidden",
            "User insights are only available for Microsoft Entra External ID tenants."
        )
    );
    sim.shutdown().await;
}

/// An item without its time-dependent counts when it is dated today (today's rows grow
/// while the test runs).
fn stable(item: &Value, today: &str) -> Value {
    if item["factDate"] == today {
        let mut keep = serde_json::Map::new();
        for key in ["id", "factDate", "appId", "appid", "os"] {
            if let Some(v) = item.get(key) {
                keep.insert(key.to_owned(), v.clone());
            }
        }
        Value::Object(keep)
    } else {
        item.clone()
    }
}

#[tokio::test]
async fn pages_follow_absolute_next_links() {
    avoid_roll_over(0).await;
    let sim = start_with_quirks(Quirks {
        insights_default_page_size: 100,
        insights_max_page_size: 500,
        ..Quirks::default()
    })
    .await;
    let token = demo_token(&sim).await;
    let today = today();
    let path = format!("{ROOT}/daily/authentications");

    let first = get_json(&sim, &token, &path).await;
    assert_eq!(first["value"].as_array().map(Vec::len), Some(100));
    let whole: Vec<Value> = items(&sim, &token, &format!("{path}?$top=500"))
        .await
        .iter()
        .map(|i| stable(i, &today))
        .collect();
    assert!(whole.len() > 1_000, "{}", whole.len());

    let query = "$top=7&$filter=os%20eq%20'Windows'";
    let pages = all_pages(&sim, &token, &format!("{path}?{query}")).await;
    assert!(pages.len() > 3);
    for page in &pages[..pages.len() - 1] {
        assert_eq!(page["value"].as_array().map(Vec::len), Some(7));
        let next = page["@odata.nextLink"].as_str().expect("nextLink");
        assert!(
            // The client's own query options, as sent (reqwest escapes the quotes), then
            // the token.
            next.starts_with(&format!(
                "{}{path}?{}&$skiptoken=",
                sim.base_url(),
                query.replace('\'', "%27")
            )),
            "{next}"
        );
    }
    let paged: Vec<Value> = pages
        .iter()
        .flat_map(|p| p["value"].as_array().into_iter().flatten())
        .map(|i| stable(i, &today))
        .collect();
    let windows: Vec<Value> = whole
        .iter()
        .filter(|i| i["os"] == "Windows")
        .cloned()
        .collect();
    assert_eq!(paged, windows);

    for (top, code) in [
        ("501", "Request_UnsupportedQuery"),
        ("0", "Request_UnsupportedQuery"),
    ] {
        let response = get(&sim, &token, &format!("{path}?$top={top}")).await;
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.expect("json");
        assert_eq!(graph_error(&body).0, code);
    }
    for option in [
        "$select=id",
        "$orderby=factDate",
        "$count=true",
        "$expand=failures",
    ] {
        let response = get(&sim, &token, &format!("{path}?{option}")).await;
        assert_eq!(response.status(), 400, "{option}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(graph_error(&body).0, "Request_UnsupportedQuery", "{option}");
    }
    let response = get(&sim, &token, &format!("{path}?$skiptoken=garbage")).await;
    assert_eq!(response.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_on_fact_date_and_properties() {
    avoid_roll_over(0).await;
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let today_day = now().div_euclid(DAY as f64) as i64;
    let (from, to) = (date_of_day(today_day - 6), date_of_day(today_day - 2));

    let all = items(&sim, &token, &format!("{ROOT}/daily/signUps")).await;
    let ranged = items(
        &sim,
        &token,
        &format!("{ROOT}/daily/signUps?$filter=factDate ge {from} and factDate le {to}"),
    )
    .await;
    let expected: Vec<&Value> = all
        .iter()
        .filter(|i| {
            let d = i["factDate"].as_str().unwrap_or_default();
            d >= from.as_str() && d <= to.as_str()
        })
        .collect();
    assert_eq!(ranged.iter().collect::<Vec<_>>(), expected);
    let dates: BTreeSet<&str> = ranged
        .iter()
        .map(|i| i["factDate"].as_str().expect("date"))
        .collect();
    assert_eq!(dates.len(), 5);

    let yesterday = date_of_day(today_day - 1);
    for (op, n) in [("eq", 1), ("lt", 28), ("le", 29), ("gt", 1), ("ge", 2)] {
        let rows = items(
            &sim,
            &token,
            &format!("{ROOT}/daily/userCount?$filter=factDate {op} {yesterday}"),
        )
        .await;
        assert_eq!(rows.len(), n, "{op}");
    }

    let auths = items(&sim, &token, &format!("{ROOT}/daily/authentications")).await;
    let app = auths[0]["appid"].as_str().expect("appid").to_owned();
    for (filter, keep) in [
        (
            format!("appid eq '{app}' and os eq 'iOS'"),
            Box::new(|i: &Value| i["appid"] == app.as_str() && i["os"] == "iOS")
                as Box<dyn Fn(&Value) -> bool>,
        ),
        (
            format!("country eq 'US' and factDate lt {yesterday}"),
            Box::new(|i: &Value| {
                i["country"] == "US" && i["factDate"].as_str() < Some(yesterday.as_str())
            }),
        ),
        (
            "attemptsCount eq 3".to_owned(),
            Box::new(|i: &Value| i["attemptsCount"] == 3),
        ),
    ] {
        let got = items(
            &sim,
            &token,
            &format!("{ROOT}/daily/authentications?$filter={filter}"),
        )
        .await;
        let got: Vec<Value> = got.iter().map(|i| stable(i, &today())).collect();
        let want: Vec<Value> = auths
            .iter()
            .filter(|i| keep(i))
            .map(|i| stable(i, &today()))
            .collect();
        assert!(!want.is_empty(), "{filter}");
        assert_eq!(got, want, "{filter}");
    }
    let sms = items(
        &sim,
        &token,
        &format!("{ROOT}/monthly/mfaCompletions?$filter=mfaMethod eq 'Sms'"),
    )
    .await;
    assert!(!sms.is_empty() && sms.iter().all(|i| i["mfaMethod"] == "Sms"));
    let summary = items(
        &sim,
        &token,
        &format!("{ROOT}/monthly/summary?$filter=os eq 'MACOS'"),
    )
    .await;
    assert!(!summary.is_empty() && summary.iter().all(|i| i["os"] == "MACOS"));

    for (path, filter, code) in [
        (
            "daily/activeUsers",
            "os eq 'Windows'",
            "Request_UnsupportedQuery",
        ),
        (
            "daily/authentications",
            "browser eq 'Edge'",
            "Request_UnsupportedQuery",
        ),
        (
            "daily/authentications",
            "os ge 'A'",
            "Request_UnsupportedQuery",
        ),
        (
            "daily/authentications",
            "factDate ge '2025-01-01'",
            "BadRequest",
        ),
        ("daily/authentications", "colour eq 'red'", "BadRequest"),
        (
            "daily/authentications",
            "os eq 'a' or os eq 'b'",
            "BadRequest",
        ),
    ] {
        let response = get(&sim, &token, &format!("{ROOT}/{path}?$filter={filter}")).await;
        assert_eq!(response.status(), 400, "{filter}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(graph_error(&body).0, code, "{filter}");
    }
    sim.shutdown().await;

    let sim = start_with_quirks(Quirks {
        insights_reject_fact_date_filter: true,
        ..Quirks::default()
    })
    .await;
    let token = demo_token(&sim).await;
    let response = get(
        &sim,
        &token,
        &format!("{ROOT}/monthly/requests?$filter=factDate ge {from}"),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(graph_error(&body).0, "Request_UnsupportedQuery");
    get_json(
        &sim,
        &token,
        &format!("{ROOT}/monthly/requests?$filter=requestCount eq 1"),
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn today_is_partial_and_the_lag_hides_it() {
    avoid_roll_over(0).await;
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let today = today();
    let users = items(&sim, &token, &format!("{ROOT}/daily/userCount")).await;
    assert_eq!(users.len(), 30);
    assert_eq!(
        users[0]["factDate"],
        today.as_str(),
        "newest first, today included"
    );
    let monthly = items(&sim, &token, &format!("{ROOT}/monthly/inactiveUsers")).await;
    assert_eq!(monthly.len(), 12);
    assert_eq!(monthly[0]["factDate"], format!("{}-01", &today[..7]));
    // Newest row: the 90-day count is not computed yet.
    assert!(monthly[0]["inactive90DayCount"].is_null());
    assert!(monthly[1]["inactive90DayCount"].is_u64());

    // Today's rows hold only part of the day: at most what the full day will have.
    let served: HashMap<(String, Option<String>), u64> = items(
        &sim,
        &token,
        &format!("{ROOT}/daily/activeUsers?$filter=factDate eq {today}"),
    )
    .await
    .iter()
    .map(|i| {
        (
            (
                text(i, "appId").unwrap_or_default().to_owned(),
                text(i, "os").map(str::to_owned),
            ),
            count(i, "count"),
        )
    })
    .collect();
    assert!(!served.is_empty());
    // At the next midnight today is complete.
    let end_of_day = (now().div_euclid(DAY as f64) + 1.0) * DAY as f64;
    let full = sim.tenant().user_insights.rows(Period::Daily, end_of_day);
    let mut fewer = 0;
    for row in full
        .active_users
        .iter()
        .filter(|r| r.fact_date.to_string() == today)
    {
        let key = (
            row.app_id.clone().unwrap_or_default(),
            row.os.map(str::to_owned),
        );
        let partial = served[&key];
        assert!(partial <= row.count, "{key:?}");
        fewer += u64::from(partial < row.count);
    }
    assert!(fewer > 0 || now().rem_euclid(DAY as f64) > 86_000.0);
    sim.shutdown().await;

    let lag = 30;
    avoid_roll_over(lag * 3_600).await;
    let sim = start_with_quirks(Quirks {
        insights_lag_hours: lag as u32,
        ..Quirks::default()
    })
    .await;
    let token = demo_token(&sim).await;
    let users = items(&sim, &token, &format!("{ROOT}/daily/userCount")).await;
    let newest = (now() - (lag * 3_600) as f64).div_euclid(DAY as f64) as i64 - 1;
    assert_eq!(users[0]["factDate"], date_of_day(newest).as_str());
    assert_eq!(
        users.last().map(|u| u["factDate"].clone()),
        Some(Value::from(date_of_day(
            now().div_euclid(DAY as f64) as i64 - 29
        )))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn monthly_rows_add_up_the_days() {
    avoid_roll_over(0).await;
    let sim = start_with_quirks(Quirks {
        insights_daily_retention_days: 70,
        ..Quirks::default()
    })
    .await;
    let token = demo_token(&sim).await;
    // The previous month lies entirely within 70 days of daily rows.
    let today = today();
    let first = format!("{}-01", &today[..7]);
    let previous = {
        let first_day = (parse_graph_date(&format!("{first}T00:00:00Z")) as i64).div_euclid(DAY);
        format!("{}-01", &date_of_day(first_day - 1)[..7])
    };
    let daily = items(
        &sim,
        &token,
        &format!("{ROOT}/daily/signUps?$filter=factDate ge {previous} and factDate lt {first}"),
    )
    .await;
    let monthly = items(
        &sim,
        &token,
        &format!("{ROOT}/monthly/signUps?$filter=factDate eq {previous}"),
    )
    .await;
    let key = |i: &Value| {
        (
            text(i, "appId").map(str::to_owned),
            text(i, "os").map(str::to_owned),
        )
    };
    let mut sums: BTreeMap<_, u64> = BTreeMap::new();
    for i in &daily {
        *sums.entry(key(i)).or_default() += count(i, "count");
    }
    let months: BTreeMap<_, u64> = monthly
        .iter()
        .map(|i| (key(i), count(i, "count")))
        .collect();
    assert_eq!(months, sums);

    // Unique users: the month's count is at least its busiest day, far below the sum.
    let daily = items(
        &sim,
        &token,
        &format!("{ROOT}/daily/activeUsers?$filter=factDate ge {previous} and factDate lt {first}"),
    )
    .await;
    let monthly = items(
        &sim,
        &token,
        &format!("{ROOT}/monthly/activeUsers?$filter=factDate eq {previous}"),
    )
    .await;
    let mut per_day: BTreeMap<&str, u64> = BTreeMap::new();
    for i in &daily {
        *per_day
            .entry(i["factDate"].as_str().expect("date"))
            .or_default() += count(i, "count");
    }
    let month: u64 = monthly.iter().map(|i| count(i, "count")).sum();
    let busiest = per_day.values().copied().max().unwrap_or(0);
    let total: u64 = per_day.values().sum();
    assert!(
        month >= busiest && month < total / 2,
        "{month} {busiest} {total}"
    );
    sim.shutdown().await;
}

/// Expected samples keyed by (name, labels).
type Expected = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// Adds `value` to `name{tenant, period?, labels}`.
fn add(out: &mut Expected, name: &str, period: Option<&str>, labels: &[(&str, &str)], value: f64) {
    let mut map = BTreeMap::from([("tenant".to_owned(), "contoso".to_owned())]);
    if let Some(p) = period {
        map.insert("period".to_owned(), p.to_owned());
    }
    for (k, v) in labels {
        map.insert((*k).to_owned(), (*v).to_owned());
    }
    *out.entry((name.to_owned(), map)).or_insert(0.0) += value;
}

/// The reports: (`report` label, metric segment).
const REPORTS: &[(&str, &str)] = &[
    ("active_users", "activeUsers"),
    ("inactive_users", "inactiveUsers"),
    (
        "inactive_users_by_application",
        "inactiveUsersByApplication",
    ),
    ("sign_ups", "signUps"),
    ("requests", "requests"),
    ("mfa_completions", "mfaCompletions"),
    ("authentications", "authentications"),
    ("user_count", "userCount"),
    ("summary", "summary"),
];

/// Label value of a nullable string dimension.
fn dim<'a>(item: &'a Value, key: &str) -> &'a str {
    text(item, key).unwrap_or("unknown")
}

/// The families of one report over `rows` (all dated the same day).
fn families(out: &mut Expected, period: &str, metric: &str, rows: &[&Value]) {
    let p = Some(period);
    for i in rows {
        match metric {
            "activeUsers" => {
                let c = count(i, "count") as f64;
                add(out, names::EXTERNAL_ID_ACTIVE_USERS, p, &[], c);
                add(
                    out,
                    names::EXTERNAL_ID_ACTIVE_USERS_BY_APPLICATION,
                    p,
                    &[("app_id", dim(i, "appId"))],
                    c,
                );
            }
            "inactiveUsers" | "inactiveUsersByApplication" => {
                for (key, window) in [
                    ("inactive1DayCount", "1d"),
                    ("inactiveCalendarMonthCount", "calendar_month"),
                    ("inactive30DayCount", "30d"),
                    ("inactive60DayCount", "60d"),
                    ("inactive90DayCount", "90d"),
                ] {
                    let Some(v) = i.get(key).and_then(Value::as_u64) else {
                        continue;
                    };
                    if metric == "inactiveUsers" {
                        add(
                            out,
                            names::EXTERNAL_ID_INACTIVE_USERS,
                            p,
                            &[("window", window)],
                            v as f64,
                        );
                    } else {
                        add(
                            out,
                            names::EXTERNAL_ID_INACTIVE_USERS_BY_APPLICATION,
                            p,
                            &[("window", window), ("app_id", dim(i, "appId"))],
                            v as f64,
                        );
                    }
                }
            }
            "signUps" => {
                let c = count(i, "count") as f64;
                add(out, names::EXTERNAL_ID_SIGN_UPS, p, &[], c);
                add(
                    out,
                    names::EXTERNAL_ID_SIGN_UPS_BY_OS,
                    p,
                    &[("os", dim(i, "os"))],
                    c,
                );
            }
            "requests" => add(
                out,
                names::EXTERNAL_ID_REQUESTS,
                p,
                &[],
                count(i, "requestCount") as f64,
            ),
            "mfaCompletions" => {
                let (a, s) = (count(i, "attemptsCount"), count(i, "successCount"));
                let m = [("method", dim(i, "mfaMethod"))];
                add(out, names::EXTERNAL_ID_MFA_ATTEMPTS, p, &m, a as f64);
                add(out, names::EXTERNAL_ID_MFA_SUCCESSES, p, &m, s as f64);
                add(out, names::EXTERNAL_ID_MFA_FAILURES, p, &m, (a - s) as f64);
            }
            "authentications" => {
                let (a, s) = (
                    count(i, "attemptsCount") as f64,
                    count(i, "successCount") as f64,
                );
                let os = [("os", dim(i, "os"))];
                let country = [("country", dim(i, "country"))];
                add(out, names::EXTERNAL_ID_AUTHENTICATION_ATTEMPTS, p, &[], a);
                add(out, names::EXTERNAL_ID_AUTHENTICATION_SUCCESSES, p, &[], s);
                add(
                    out,
                    names::EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_OS,
                    p,
                    &os,
                    a,
                );
                add(
                    out,
                    names::EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_OS,
                    p,
                    &os,
                    s,
                );
                add(
                    out,
                    names::EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_COUNTRY,
                    p,
                    &country,
                    a,
                );
                add(
                    out,
                    names::EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_COUNTRY,
                    p,
                    &country,
                    s,
                );
            }
            "userCount" => add(
                out,
                names::EXTERNAL_ID_USERS,
                None,
                &[],
                count(i, "count") as f64,
            ),
            "summary" => {
                for (key, name) in [
                    ("activeUsers", names::EXTERNAL_ID_OVERVIEW_ACTIVE_USERS),
                    (
                        "authenticationRequests",
                        names::EXTERNAL_ID_OVERVIEW_AUTHENTICATION_REQUESTS,
                    ),
                    (
                        "authenticationCompletions",
                        names::EXTERNAL_ID_OVERVIEW_AUTHENTICATION_COMPLETIONS,
                    ),
                    (
                        "securityTextRequests",
                        names::EXTERNAL_ID_OVERVIEW_SMS_MFA_REQUESTS,
                    ),
                    (
                        "securityTextCompletions",
                        names::EXTERNAL_ID_OVERVIEW_SMS_MFA_COMPLETIONS,
                    ),
                    (
                        "securityVoiceRequests",
                        names::EXTERNAL_ID_OVERVIEW_VOICE_MFA_REQUESTS,
                    ),
                    (
                        "securityVoiceCompletions",
                        names::EXTERNAL_ID_OVERVIEW_VOICE_MFA_COMPLETIONS,
                    ),
                ] {
                    add(out, name, p, &[], count(i, key) as f64);
                }
            }
            other => panic!("unexpected metric {other}"),
        }
    }
}

/// Every served row of every report, with the first day of the current period: per period,
/// report label → rows dated before that day, grouped by date.
async fn complete_rows(
    sim: &SimHandle,
    token: &str,
) -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    BTreeMap<String, Vec<Value>>,
)> {
    let today = today();
    let month = format!("{}-01", &today[..7]);
    let mut out = Vec::new();
    for period in ["daily", "monthly"] {
        let start = if period == "daily" { &today } else { &month };
        for (report, metric) in REPORTS {
            if !MATRIX.iter().any(|(p, m, ..)| *p == period && m == metric) {
                continue;
            }
            let mut by_date: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for item in items(sim, token, &format!("{ROOT}/{period}/{metric}")).await {
                let date = item["factDate"].as_str().expect("factDate").to_owned();
                if date.as_str() < start.as_str() {
                    by_date.entry(date).or_default().push(item);
                }
            }
            out.push((period, *report, *metric, by_date));
        }
    }
    out
}

/// Midnight UTC of a `factDate`.
fn midnight(date: &str) -> f64 {
    parse_graph_date(&format!("{date}T00:00:00Z"))
}

/// The ground truth agrees with the served rows under the latest-complete rule.
async fn check_ground_truth(sim: &SimHandle) {
    let token = demo_token(sim).await;
    let mut expected = Expected::new();
    for (period, report, metric, by_date) in complete_rows(sim, &token).await {
        let Some((date, rows)) = by_date.iter().next_back() else {
            continue;
        };
        families(
            &mut expected,
            period,
            metric,
            &rows.iter().collect::<Vec<_>>(),
        );
        add(
            &mut expected,
            names::EXTERNAL_ID_FACT_TIMESTAMP,
            Some(period),
            &[("report", report)],
            midnight(date),
        );
    }
    let truth = sim.ground_truth("contoso", now());
    let got: Expected = truth
        .samples
        .iter()
        .filter(|s| s.name.starts_with("entra_external_id_"))
        .map(|s| ((s.name.clone(), s.labels.clone()), s.value))
        .collect();
    assert_eq!(
        got.len(),
        truth
            .samples
            .iter()
            .filter(|s| s.name.starts_with("entra_external_id_"))
            .count(),
        "duplicate samples"
    );
    assert_eq!(got, expected);
    for name in [
        names::EXTERNAL_ID_USERS,
        names::EXTERNAL_ID_REQUESTS,
        names::EXTERNAL_ID_OVERVIEW_VOICE_MFA_COMPLETIONS,
        names::EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_COUNTRY,
    ] {
        assert!(!truth.by_name(name).is_empty(), "{name}");
    }
}

#[tokio::test]
async fn ground_truth_matches_a_walk_of_the_served_rows() {
    avoid_roll_over(0).await;
    let sim = start(config()).await;
    check_ground_truth(&sim).await;
    let truth = sim.ground_truth("contoso", now());
    // Null dimensions become `unknown`; a null 90-day count has no sample on the newest day
    // only, which is never the latest complete one without a lag.
    assert!(truth
        .by_name(names::EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_OS)
        .iter()
        .any(|s| s.labels["os"] == "unknown"));
    assert!(truth
        .find(
            names::EXTERNAL_ID_INACTIVE_USERS,
            &[("period", "daily"), ("window", "90d")]
        )
        .is_some());
    sim.shutdown().await;

    // With a lag the newest served day is complete but its 90-day count is still null.
    avoid_roll_over(30 * 3_600).await;
    let sim = start_with_quirks(Quirks {
        insights_lag_hours: 30,
        ..Quirks::default()
    })
    .await;
    check_ground_truth(&sim).await;
    let truth = sim.ground_truth("contoso", now());
    assert!(truth
        .find(
            names::EXTERNAL_ID_INACTIVE_USERS,
            &[("period", "daily"), ("window", "90d")]
        )
        .is_none());
    assert!(truth
        .find(
            names::EXTERNAL_ID_INACTIVE_USERS,
            &[("period", "daily"), ("window", "30d")]
        )
        .is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn history_agrees_with_the_served_rows() {
    avoid_roll_over(0).await;
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let mut expected: BTreeMap<(u64, String, BTreeMap<String, String>), f64> = BTreeMap::new();
    let mut dates = BTreeSet::new();
    for (period, _, metric, by_date) in complete_rows(&sim, &token).await {
        for (date, rows) in &by_date {
            let mut one = Expected::new();
            families(&mut one, period, metric, &rows.iter().collect::<Vec<_>>());
            let ts = midnight(date);
            dates.insert((period, ts as u64));
            for ((name, labels), v) in one {
                *expected.entry((ts as u64, name, labels)).or_insert(0.0) += v;
            }
        }
    }
    // 29 complete days, 11 complete months.
    assert_eq!(dates.iter().filter(|(p, _)| *p == "daily").count(), 29);
    assert_eq!(dates.iter().filter(|(p, _)| *p == "monthly").count(), 11);

    let history = sim.user_insights_history("contoso");
    assert!(history
        .windows(2)
        .all(|w| w[0].timestamp_unix_seconds <= w[1].timestamp_unix_seconds));
    let got: BTreeMap<(u64, String, BTreeMap<String, String>), f64> = history
        .iter()
        .map(|t| {
            (
                (
                    t.timestamp_unix_seconds as u64,
                    t.sample.name.clone(),
                    t.sample.labels.clone(),
                ),
                t.sample.value,
            )
        })
        .collect();
    assert_eq!(got.len(), history.len(), "duplicate samples");
    assert!(history
        .iter()
        .all(|t| t.sample.name != names::EXTERNAL_ID_FACT_TIMESTAMP));
    assert_eq!(got, expected);
    sim.shutdown().await;
}
