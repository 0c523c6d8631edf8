//! The activity logs: `/v1.0/auditLogs/signIns` (§8) and its beta event-type filter,
//! `directoryAudits`, `provisioning` and beta `customSecurityAttributeAudits` (modelled on
//! Graph's documentation). Shapes, newest-first paging with pinned page tokens, time-range
//! filters, late arrival, the licence and role 403s, the reports budget, agreement with the
//! §2 summary, and the ground truth against a walk of the served JSON.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use graph_sim::metric_names as names;
use graph_sim::{Quirks, ReportsThrottleConfig, SimClient, SimConfig};
use serde_json::Value;

use crate::common::{config, demo_token, get, get_json, start, token_for};
use crate::ground_truth::parse_graph_date;
use crate::report_helpers::{
    assert_same, items, now_secs, put, status_and_code, truth_of, within_one_hour, SampleMap,
};

/// A small tenant with busy activity streams and no reports budget.
fn log_config(rate: f64) -> SimConfig {
    SimConfig {
        applications: 25,
        extra_service_principals: 60,
        users: 300,
        activity_rate: rate,
        reports_throttle: ReportsThrottleConfig::disabled(),
        ..config()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix second `t` (civil-from-days, written for these tests).
fn iso(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Counts per label set, built from served rows.
type Counts = BTreeMap<Vec<(&'static str, String)>, f64>;

/// Every event type of the beta filter.
const ALL_TYPES: &str = "signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser' or t eq 'servicePrincipal' or t eq 'managedIdentity')";

/// The property names of a row.
fn keys(row: &Value) -> HashSet<&str> {
    row.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

/// The properties of a v1.0 sign-in (§8 table and example).
const V1_SIGN_IN: [&str; 30] = [
    "id",
    "createdDateTime",
    "userDisplayName",
    "userPrincipalName",
    "userId",
    "appId",
    "appDisplayName",
    "ipAddress",
    "clientAppUsed",
    "correlationId",
    "conditionalAccessStatus",
    "isInteractive",
    "riskDetail",
    "riskLevelAggregated",
    "riskLevelDuringSignIn",
    "riskState",
    "riskEventTypes",
    "riskEventTypes_v2",
    "resourceDisplayName",
    "resourceId",
    "servicePrincipalId",
    "servicePrincipalName",
    "homeTenantId",
    "resourceTenantId",
    "userAgent",
    "status",
    "deviceDetail",
    "location",
    "appliedConditionalAccessPolicies",
    "authenticationAppDeviceDetails",
];

/// Properties the beta rows add.
const BETA_EXTRA: [&str; 7] = [
    "signInEventTypes",
    "userType",
    "authenticationRequirement",
    "clientCredentialType",
    "servicePrincipalCredentialKeyId",
    "managedServiceIdentity",
    "tokenIssuerType",
];

/// Asserts `rows` are strictly newest first (timestamp, and distinct ids).
fn assert_newest_first(rows: &[Value], time: &str) {
    let mut ids = HashSet::new();
    let mut last = f64::INFINITY;
    for row in rows {
        let t = parse_graph_date(row[time].as_str().expect("timestamp"));
        assert!(t <= last, "not newest first: {t} after {last}");
        last = t;
        let id = row["id"].as_str().expect("id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "GUID id {id}");
        assert!(ids.insert(id.to_owned()), "duplicate id {id}");
    }
}

#[tokio::test]
async fn sign_in_shapes_v1_and_beta_event_types() {
    let sim = start(log_config(20.0)).await;
    let token = demo_token(&sim).await;
    let since = iso(now_secs() as i64 - 3 * 3_600);

    let v1 = get_json(
        &sim,
        &token,
        &format!("/v1.0/auditLogs/signIns?$top=200&$filter=createdDateTime ge {since}"),
    )
    .await;
    assert_eq!(
        v1["@odata.context"],
        format!("{}/v1.0/$metadata#auditLogs/signIns", sim.base_url())
    );
    let rows = v1["value"].as_array().expect("value");
    assert_eq!(rows.len(), 200);
    assert_newest_first(rows, "createdDateTime");
    let next = v1["@odata.nextLink"].as_str().expect("nextLink");
    assert!(next.starts_with(&format!("{}/v1.0/auditLogs/signIns?", sim.base_url())));
    assert!(
        next.contains("$top=200") && next.contains("$skiptoken="),
        "{next}"
    );
    let expected: HashSet<&str> = V1_SIGN_IN.into_iter().collect();
    let users = &sim.tenant().reports.users;
    let mut successes = 0;
    for row in rows {
        assert_eq!(keys(row), expected);
        assert_eq!(row["isInteractive"], true);
        let user_id = row["userId"].as_str().expect("userId");
        let slot = users.index_of(user_id).expect("a user of the user model");
        let user = users.user(slot);
        assert_eq!(row["userPrincipalName"], user.user_principal_name);
        assert_eq!(row["userDisplayName"], user.user_display_name);
        assert!(row["servicePrincipalId"].is_null());
        let code = row["status"]["errorCode"].as_i64().expect("errorCode");
        let ca = row["conditionalAccessStatus"].as_str().expect("ca");
        assert!(["success", "failure", "notApplied"].contains(&ca));
        assert_eq!(ca == "failure", code == 53003, "{row}");
        if code == 0 {
            successes += 1;
            assert_eq!(row["status"]["failureReason"], "Other.");
        } else {
            assert!(row["status"]["failureReason"]
                .as_str()
                .is_some_and(|r| r.len() > 10));
        }
        assert_eq!(
            row["location"]["countryOrRegion"].as_str().map(str::len),
            Some(2)
        );
        assert!(row["location"]["geoCoordinates"]["latitude"].is_f64());
        assert!(row["deviceDetail"]["operatingSystem"].is_string());
        assert_eq!(
            row["riskLevelDuringSignIn"].as_str().map(|r| r == "hidden"),
            Some(false)
        );
        assert_eq!(
            row["appliedConditionalAccessPolicies"]
                .as_array()
                .map(Vec::len),
            Some(4)
        );
    }
    assert!(successes > 100, "mostly successes: {successes}");

    // Beta: one event type at a time, the lambda variable is free, `or` combines.
    for (ty, interactive) in [
        ("interactiveUser", true),
        ("nonInteractiveUser", false),
        ("servicePrincipal", false),
        ("managedIdentity", false),
    ] {
        let page = get_json(
            &sim,
            &token,
            &format!(
                "/beta/auditLogs/signIns?$top=50&$filter=signInEventTypes/any(x: x eq '{ty}') and createdDateTime ge {since}"
            ),
        )
        .await;
        assert_eq!(
            page["@odata.context"],
            format!("{}/beta/$metadata#auditLogs/signIns", sim.base_url())
        );
        let rows = page["value"].as_array().expect("value");
        assert!(!rows.is_empty(), "{ty}");
        let beta_keys: HashSet<&str> = V1_SIGN_IN.into_iter().chain(BETA_EXTRA).collect();
        for row in rows {
            assert_eq!(keys(row), beta_keys);
            assert_eq!(row["signInEventTypes"], serde_json::json!([ty]));
            assert_eq!(row["isInteractive"], interactive);
            let workload = ty == "servicePrincipal" || ty == "managedIdentity";
            if workload {
                assert_eq!(row["userId"], "");
                assert!(row["userPrincipalName"].is_null() && row["userDisplayName"].is_null());
                assert!(row["servicePrincipalId"].is_string());
                assert_eq!(row["servicePrincipalName"], row["appDisplayName"]);
                assert!(row["clientAppUsed"].is_null());
                assert_eq!(
                    row["managedServiceIdentity"].is_object(),
                    ty == "managedIdentity"
                );
            } else {
                assert!(users
                    .index_of(row["userId"].as_str().unwrap_or(""))
                    .is_some());
                assert!(row["userType"].is_string());
            }
        }
    }
    // Without the filter beta lists interactive sign-ins only (the quirk's default).
    let page = get_json(&sim, &token, "/beta/auditLogs/signIns?$top=100").await;
    let rows = page["value"].as_array().expect("value");
    assert!(rows
        .iter()
        .all(|r| r["signInEventTypes"] == serde_json::json!(["interactiveUser"])));
    let page = get_json(
        &sim,
        &token,
        &format!(
            "/beta/auditLogs/signIns?$top=400&$filter=({ALL_TYPES}) and createdDateTime ge {since}"
        ),
    )
    .await;
    let seen: HashSet<&str> = page["value"]
        .as_array()
        .expect("value")
        .iter()
        .filter_map(|r| r["signInEventTypes"][0].as_str())
        .collect();
    assert!(seen.len() >= 3, "{seen:?}");
    // v1.0 has no signInEventTypes property.
    let (status, code) = status_and_code(
        &sim,
        &token,
        "/v1.0/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'servicePrincipal')",
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "BadRequest"));
}

#[tokio::test]
async fn every_type_when_the_quirk_says_so_and_risk_hidden_without_p2() {
    let sim = start(SimConfig {
        p2_licence: false,
        quirks: Quirks {
            beta_sign_ins_default_interactive_only: false,
            sign_in_success_failure_reason: None,
            ..Quirks::default()
        },
        ..log_config(20.0)
    })
    .await;
    let token = demo_token(&sim).await;
    let page = get_json(&sim, &token, "/beta/auditLogs/signIns?$top=1000").await;
    let rows = page["value"].as_array().expect("value");
    let types: HashSet<&str> = rows
        .iter()
        .filter_map(|r| r["signInEventTypes"][0].as_str())
        .collect();
    assert!(types.len() >= 3, "{types:?}");
    for row in rows {
        for field in ["riskLevelDuringSignIn", "riskLevelAggregated", "riskDetail"] {
            assert_eq!(row[field], "hidden", "{field}");
        }
        if row["status"]["errorCode"] == 0 {
            assert!(row["status"]["failureReason"].is_null());
        }
    }
}

#[tokio::test]
async fn audit_provisioning_and_custom_attribute_shapes() {
    let sim = start(log_config(20.0)).await;
    let token = demo_token(&sim).await;
    let since = iso(now_secs() as i64 - 6 * 3_600);
    let audits = get_json(
        &sim,
        &token,
        &format!("/v1.0/auditLogs/directoryAudits?$top=500&$filter=activityDateTime ge {since}"),
    )
    .await;
    assert_eq!(
        audits["@odata.context"],
        format!(
            "{}/v1.0/$metadata#auditLogs/directoryAudits",
            sim.base_url()
        )
    );
    let rows = audits["value"].as_array().expect("value");
    assert!(rows.len() > 100, "{}", rows.len());
    assert_newest_first(rows, "activityDateTime");
    let audit_keys: HashSet<&str> = [
        "id",
        "category",
        "correlationId",
        "result",
        "resultReason",
        "activityDisplayName",
        "activityDateTime",
        "loggedByService",
        "operationType",
        "initiatedBy",
        "targetResources",
        "additionalDetails",
    ]
    .into_iter()
    .collect();
    let mut categories = HashSet::new();
    for row in rows {
        assert_eq!(keys(row), audit_keys);
        categories.insert(row["category"].as_str().expect("category").to_owned());
        assert!(["success", "failure", "timeout"].contains(&row["result"].as_str().unwrap_or("")));
        let by = row["initiatedBy"].as_object().expect("initiatedBy");
        assert!(by.contains_key("user") && by.contains_key("app"));
        assert!(by["user"].is_object() || by["app"].is_object(), "{row}");
        assert!(row["targetResources"].is_array());
        if row["activityDisplayName"] == "Add member to role" {
            assert_eq!(row["targetResources"][0]["type"], "Role");
        }
    }
    for c in [
        "UserManagement",
        "GroupManagement",
        "ApplicationManagement",
        "Device",
    ] {
        assert!(categories.contains(c), "{c} in {categories:?}");
    }
    // Category filter.
    let roles = get_json(
        &sim,
        &token,
        &format!("/v1.0/auditLogs/directoryAudits?$filter=category eq 'RoleManagement' and activityDateTime ge {since}"),
    )
    .await;
    assert!(roles["value"]
        .as_array()
        .expect("value")
        .iter()
        .all(|r| r["category"] == "RoleManagement"));

    let provisioning = get_json(
        &sim,
        &token,
        &format!("/v1.0/auditLogs/provisioning?$top=500&$filter=activityDateTime ge {since}"),
    )
    .await;
    let rows = provisioning["value"].as_array().expect("value");
    assert!(rows.len() > 50, "{}", rows.len());
    assert_newest_first(rows, "activityDateTime");
    let mut targets = HashSet::new();
    for row in rows {
        for key in [
            "jobId",
            "cycleId",
            "changeId",
            "durationInMilliseconds",
            "provisioningAction",
            "provisioningStatusInfo",
            "servicePrincipal",
            "sourceSystem",
            "targetSystem",
            "sourceIdentity",
            "targetIdentity",
            "provisioningSteps",
            "initiatedBy",
            "tenantId",
        ] {
            assert!(row.get(key).is_some(), "{key}");
        }
        let status = row["provisioningStatusInfo"]["status"]
            .as_str()
            .expect("status");
        assert!(["success", "warning", "failure", "skipped"].contains(&status));
        assert_eq!(
            row["provisioningStatusInfo"]["errorInformation"].is_object(),
            status == "failure" || status == "warning"
        );
        assert!([
            "create",
            "update",
            "delete",
            "disable",
            "stagedDelete",
            "other"
        ]
        .contains(&row["provisioningAction"].as_str().unwrap_or("")));
        targets.insert(
            row["targetSystem"]["displayName"]
                .as_str()
                .expect("target")
                .to_owned(),
        );
    }
    for t in ["ServiceNow", "Workday", "Salesforce", "Active Directory"] {
        assert!(targets.contains(t), "{t} in {targets:?}");
    }

    let csa = get_json(
        &sim,
        &token,
        &format!(
            "/beta/auditLogs/customSecurityAttributeAudits?$filter=activityDateTime ge {since}"
        ),
    )
    .await;
    assert_eq!(
        csa["@odata.context"],
        format!(
            "{}/beta/$metadata#auditLogs/customSecurityAttributeAudits",
            sim.base_url()
        )
    );
    let rows = csa["value"].as_array().expect("value");
    assert!(!rows.is_empty());
    let mut csa_keys = audit_keys.clone();
    csa_keys.insert("userAgent");
    for row in rows {
        assert_eq!(keys(row), csa_keys);
        assert_eq!(row["category"], "AttributeManagement");
    }
    assert!(rows
        .iter()
        .any(|r| r["activityDisplayName"] == "Update attribute values assigned to a user"));
}

#[tokio::test]
async fn newest_first_paging_and_time_filters() {
    let sim = start(log_config(2.0)).await;
    let token = demo_token(&sim).await;
    let to = now_secs() as i64 - 180;
    let from = to - 10 * 60;
    let window = format!(
        "({ALL_TYPES}) and createdDateTime ge {} and createdDateTime le {}",
        iso(from),
        iso(to)
    );
    let whole = items(
        &sim,
        &token,
        &format!("/beta/auditLogs/signIns?$filter={window}"),
    )
    .await;
    assert!(whole.len() > 60, "{}", whole.len());
    let paged = items(
        &sim,
        &token,
        &format!("/beta/auditLogs/signIns?$top=17&$filter={window}"),
    )
    .await;
    assert_newest_first(&paged, "createdDateTime");
    let ids = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&paged), ids(&whole), "paging changes nothing");
    for row in &paged {
        let t = parse_graph_date(row["createdDateTime"].as_str().expect("t"));
        assert!(t >= from as f64 && t <= to as f64 + 1e-9);
    }

    // ge/le are inclusive, gt/lt exclusive, at 100 ns resolution.
    let pick = &whole[whole.len() / 2];
    let at = pick["createdDateTime"].as_str().expect("t");
    let id = pick["id"].as_str().expect("id");
    let listed = |rows: Vec<Value>| rows.iter().any(|r| r["id"] == id);
    for (clause, expected) in [
        (
            format!("createdDateTime ge {at} and createdDateTime le {at}"),
            true,
        ),
        (format!("createdDateTime eq {at}"), true),
        (
            format!("createdDateTime gt {at} and createdDateTime le {}", iso(to)),
            false,
        ),
        (
            format!(
                "createdDateTime lt {at} and createdDateTime ge {}",
                iso(from)
            ),
            false,
        ),
    ] {
        let rows = items(
            &sim,
            &token,
            &format!("/beta/auditLogs/signIns?$filter=({ALL_TYPES}) and {clause}"),
        )
        .await;
        assert_eq!(listed(rows), expected, "{clause}");
    }

    // A walk stays consistent while new events arrive: the token pins the listing.
    let first = get_json(
        &sim,
        &token,
        &format!("/beta/auditLogs/signIns?$top=5&$filter={ALL_TYPES}"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let next = first["@odata.nextLink"]
        .as_str()
        .expect("nextLink")
        .strip_prefix(sim.base_url())
        .expect("absolute")
        .to_owned();
    let second = get_json(&sim, &token, &next).await;
    let mut both: Vec<Value> = first["value"].as_array().expect("v").clone();
    both.extend(second["value"].as_array().expect("v").iter().cloned());
    assert_eq!(both.len(), 10);
    assert_newest_first(&both, "createdDateTime");

    // Errors: quoted timestamps, unknown clauses, page sizes, order.
    for (query, status, code) in [
        (
            "$filter=createdDateTime ge '2025-06-01T00:00:00Z'",
            400,
            "BadRequest",
        ),
        (
            "$filter=ipAddress eq '203.0.113.1'",
            400,
            "Request_UnsupportedQuery",
        ),
        (
            "$filter=createdDateTime ne 2025-06-01T00:00:00Z",
            400,
            "Request_UnsupportedQuery",
        ),
        ("$top=1001", 400, "Request_UnsupportedQuery"),
        ("$top=0", 400, "Request_UnsupportedQuery"),
        (
            "$orderby=createdDateTime asc",
            400,
            "Request_UnsupportedQuery",
        ),
        ("$skiptoken=garbage", 400, "Request_BadRequest"),
        ("$select=id", 400, "Request_UnsupportedQuery"),
    ] {
        let got = status_and_code(&sim, &token, &format!("/v1.0/auditLogs/signIns?{query}")).await;
        assert_eq!((got.0, got.1.as_str()), (status, code), "{query}");
    }
    let ok = get_json(
        &sim,
        &token,
        "/v1.0/auditLogs/signIns?$top=1000&$orderby=createdDateTime desc",
    )
    .await;
    assert!(ok["value"].as_array().is_some_and(|v| v.len() <= 1000));
    // A token from another log is refused.
    let audits = get_json(&sim, &token, "/v1.0/auditLogs/directoryAudits?$top=1").await;
    let foreign = audits["@odata.nextLink"].as_str().expect("nextLink");
    let token_value = foreign.split("$skiptoken=").nth(1).expect("token");
    let got = status_and_code(
        &sim,
        &token,
        &format!("/v1.0/auditLogs/signIns?$skiptoken={token_value}"),
    )
    .await;
    assert_eq!((got.0, got.1.as_str()), (400, "Directory_ExpiredPageToken"));
}

#[tokio::test]
async fn late_events_appear_after_their_delay_with_the_same_id() {
    let sim = start(SimConfig {
        quirks: Quirks {
            activity_max_lag: Duration::from_secs(3),
            ..Quirks::default()
        },
        ..log_config(300.0)
    })
    .await;
    let token = demo_token(&sim).await;
    let end = now_secs().floor() as i64;
    let start = end - 8;
    let path = format!(
        "/beta/auditLogs/signIns?$filter=({ALL_TYPES}) and createdDateTime ge {} and createdDateTime le {}",
        iso(start),
        iso(end)
    );
    let read = |rows: Vec<Value>| -> HashMap<String, String> {
        rows.into_iter()
            .map(|r| {
                (
                    r["id"].as_str().expect("id").to_owned(),
                    r["createdDateTime"].as_str().expect("t").to_owned(),
                )
            })
            .collect()
    };
    let early = read(items(&sim, &token, &path).await);
    let truth: f64 = sim
        .activity_truth("t", start as f64, end as f64)
        .by_name(names::SIGN_INS)
        .iter()
        .map(|s| s.value)
        .sum();
    assert!(
        (early.len() as f64) < truth,
        "some events have not arrived yet: {} of {truth}",
        early.len()
    );
    tokio::time::sleep(Duration::from_millis(3_300)).await;
    let late = read(items(&sim, &token, &path).await);
    assert_eq!(late.len() as f64, truth, "every event has arrived");
    for (id, t) in &early {
        assert_eq!(late.get(id), Some(t), "same id, same event");
    }
    let newcomers: Vec<f64> = late
        .iter()
        .filter(|(id, _)| !early.contains_key(*id))
        .map(|(_, t)| parse_graph_date(t))
        .collect();
    assert!(!newcomers.is_empty());
    // Only events of the last few seconds before the first read were missing.
    assert!(
        newcomers.iter().all(|t| *t > (end - 4) as f64),
        "{newcomers:?}"
    );
}

#[tokio::test]
async fn licence_and_role_errors() {
    let paths = [
        "/v1.0/auditLogs/signIns",
        "/beta/auditLogs/signIns",
        "/v1.0/auditLogs/directoryAudits",
        "/v1.0/auditLogs/provisioning",
        "/beta/auditLogs/customSecurityAttributeAudits",
    ];
    let sim = start(SimConfig {
        premium_licence: false,
        ..log_config(1.0)
    })
    .await;
    let token = demo_token(&sim).await;
    for path in paths {
        let (status, code) = status_and_code(&sim, &token, path).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant"),
            "{path}"
        );
    }

    let reports_only = "4e4e4e4e-3333-4444-8555-777777777777";
    let audit_only = "4e4e4e4e-3333-4444-8555-888888888888";
    let mut cfg = log_config(1.0);
    cfg.clients
        .push(SimClient::new(reports_only, "s", &["Reports.Read.All"]));
    cfg.clients
        .push(SimClient::new(audit_only, "s", &["AuditLog.Read.All"]));
    let sim = start(cfg).await;
    let reports = token_for(&sim, reports_only, "s").await;
    let audit = token_for(&sim, audit_only, "s").await;
    let demo = demo_token(&sim).await;
    for path in paths {
        let csa = path.contains("customSecurity");
        let (status, code) = status_and_code(&sim, &reports, path).await;
        assert_eq!(
            (status, code.as_str()),
            (403, "Authorization_RequestDenied"),
            "{path}"
        );
        let (status, code) = status_and_code(&sim, &audit, &format!("{path}?$top=1")).await;
        if csa {
            assert_eq!(
                (status, code.as_str()),
                (403, "Authorization_RequestDenied")
            );
        } else {
            assert_eq!(status, 200, "{path}");
        }
        assert_eq!(
            get(&sim, &demo, &format!("{path}?$top=1")).await.status(),
            200
        );
    }
}

#[tokio::test]
async fn the_reports_budget_applies() {
    let sim = start(SimConfig {
        reports_throttle: ReportsThrottleConfig::with_limit(3, Duration::from_secs(30)),
        ..log_config(1.0)
    })
    .await;
    let token = demo_token(&sim).await;
    for path in [
        "/v1.0/auditLogs/signIns?$top=1",
        "/v1.0/auditLogs/directoryAudits?$top=1",
        "/beta/reports/getAzureADApplicationSignInSummary(period='D7')",
    ] {
        assert_eq!(get(&sim, &token, path).await.status(), 200, "{path}");
    }
    for path in [
        "/v1.0/auditLogs/provisioning?$top=1",
        "/beta/auditLogs/customSecurityAttributeAudits?$top=1",
        "/beta/auditLogs/signIns?$top=1",
    ] {
        let response = get(&sim, &token, path).await;
        assert_eq!(response.status(), 429, "{path}");
        assert!(response.headers().get("retry-after").is_some());
    }
}

#[tokio::test]
async fn user_sign_ins_add_up_to_the_d7_summary() {
    let sim = start(SimConfig {
        applications: 12,
        users: 150,
        activity_rate: 0.05,
        quirks: Quirks {
            activity_max_lag: Duration::ZERO,
            ..Quirks::default()
        },
        reports_throttle: ReportsThrottleConfig::disabled(),
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let (summary, at) = within_one_hour(|| async {
        get_json(
            &sim,
            &token,
            "/beta/reports/getAzureADApplicationSignInSummary(period='D7')",
        )
        .await
    })
    .await;
    let cutoff = (at as i64).div_euclid(3_600) * 3_600;
    let rows = items(
        &sim,
        &token,
        &format!(
            "/beta/auditLogs/signIns?$filter=signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser') and createdDateTime ge {} and createdDateTime lt {}",
            iso(cutoff - 7 * 86_400),
            iso(cutoff)
        ),
    )
    .await;
    let mut from_log: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for row in &rows {
        let entry = from_log
            .entry(row["appId"].as_str().expect("appId").to_owned())
            .or_default();
        if row["status"]["errorCode"] == 0 {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    let from_summary: BTreeMap<String, (u64, u64)> = summary["value"]
        .as_array()
        .expect("value")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("id").to_owned(),
                (
                    r["successfulSignInCount"].as_u64().expect("s"),
                    r["failedSignInCount"].as_u64().expect("f"),
                ),
            )
        })
        .collect();
    assert!(!from_summary.is_empty());
    assert_eq!(from_log, from_summary);
}

#[tokio::test]
async fn ground_truth_matches_a_walk_of_the_served_json() {
    let sim = start(log_config(5.0)).await;
    let token = demo_token(&sim).await;
    // Old enough that every event has arrived (lag ≤ 2 min).
    let to = now_secs() as i64 - 180;
    // Sign-ins over 40 minutes; the sparser audit logs over a day, so they are never empty.
    let from = to - 40 * 60;
    let audit_from = to - 86_400;
    let label = "contoso";
    let (lo, hi, audit_lo) = (iso(from), iso(to), iso(audit_from));
    let mut served = SampleMap::new();
    let add = |map: &mut Counts, labels: Vec<(&'static str, String)>| {
        *map.entry(labels).or_insert(0.0) += 1.0;
    };

    let sign_ins = items(
        &sim,
        &token,
        &format!("/beta/auditLogs/signIns?$filter=({ALL_TYPES}) and createdDateTime ge {lo} and createdDateTime le {hi}"),
    )
    .await;
    assert!(sign_ins.len() > 100, "{}", sign_ins.len());
    let mut families: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut users = HashSet::new();
    let mut newest: HashMap<(String, String), f64> = HashMap::new();
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let or_unknown = |v: &Value| {
        let s = text(v);
        if s.is_empty() {
            "unknown".to_owned()
        } else {
            s
        }
    };
    for row in &sign_ins {
        let event_type = match row["signInEventTypes"][0].as_str().expect("type") {
            "interactiveUser" => "interactive_user",
            "nonInteractiveUser" => "non_interactive_user",
            "servicePrincipal" => "service_principal",
            _ => "managed_identity",
        };
        add(
            families.entry(names::ACTIVITY_LOG_EVENTS).or_default(),
            vec![("log", format!("sign_ins_{event_type}"))],
        );
        let code = row["status"]["errorCode"].as_i64().expect("code");
        let app = (text(&row["appId"]), text(&row["appDisplayName"]));
        let t = parse_graph_date(row["createdDateTime"].as_str().expect("t"));
        let slot = newest.entry(app.clone()).or_insert(t);
        *slot = slot.max(t);
        add(
            families.entry(names::SIGN_INS).or_default(),
            vec![
                ("app_id", app.0.clone()),
                ("app", app.1.clone()),
                ("event_type", event_type.to_owned()),
                (
                    "result",
                    if code == 0 { "success" } else { "failure" }.to_owned(),
                ),
                ("error_code", code.to_string()),
            ],
        );
        add(
            families
                .entry(names::SIGN_INS_BY_CONDITIONAL_ACCESS)
                .or_default(),
            vec![
                ("event_type", event_type.to_owned()),
                ("status", or_unknown(&row["conditionalAccessStatus"])),
            ],
        );
        if event_type.ends_with("interactive_user") {
            users.insert(text(&row["userId"]));
            add(
                families.entry(names::SIGN_INS_BY_CLIENT_APP).or_default(),
                vec![("client_app", or_unknown(&row["clientAppUsed"]))],
            );
            add(
                families.entry(names::SIGN_INS_BY_COUNTRY).or_default(),
                vec![("country", or_unknown(&row["location"]["countryOrRegion"]))],
            );
            add(
                families.entry(names::SIGN_INS_BY_OS).or_default(),
                vec![("os", or_unknown(&row["deviceDetail"]["operatingSystem"]))],
            );
            let risk = text(&row["riskLevelDuringSignIn"]);
            if ["low", "medium", "high", "hidden"].contains(&risk.as_str()) {
                add(
                    families.entry(names::RISKY_SIGN_INS).or_default(),
                    vec![("risk_level", risk)],
                );
            }
        }
    }
    for (path, family, log) in [
        (
            "/v1.0/auditLogs/directoryAudits",
            names::DIRECTORY_AUDIT_EVENTS,
            "directory_audits",
        ),
        (
            "/beta/auditLogs/customSecurityAttributeAudits",
            names::CUSTOM_SECURITY_ATTRIBUTE_AUDIT_EVENTS,
            "custom_security_attribute_audits",
        ),
    ] {
        let rows = items(
            &sim,
            &token,
            &format!("{path}?$filter=activityDateTime ge {audit_lo} and activityDateTime le {hi}"),
        )
        .await;
        assert!(!rows.is_empty(), "{path}");
        for row in rows {
            add(
                families.entry(names::ACTIVITY_LOG_EVENTS).or_default(),
                vec![("log", log.to_owned())],
            );
            add(
                families.entry(family).or_default(),
                vec![
                    ("category", text(&row["category"])),
                    ("activity", text(&row["activityDisplayName"])),
                    ("result", text(&row["result"])),
                ],
            );
        }
    }
    let rows = items(
        &sim,
        &token,
        &format!("/v1.0/auditLogs/provisioning?$filter=activityDateTime ge {audit_lo} and activityDateTime le {hi}"),
    )
    .await;
    assert!(!rows.is_empty());
    for row in rows {
        add(
            families.entry(names::ACTIVITY_LOG_EVENTS).or_default(),
            vec![("log", "provisioning".to_owned())],
        );
        add(
            families.entry(names::PROVISIONING_EVENTS).or_default(),
            vec![
                ("target_system", text(&row["targetSystem"]["displayName"])),
                ("action", text(&row["provisioningAction"])),
                ("status", text(&row["provisioningStatusInfo"]["status"])),
            ],
        );
    }
    for (family, counts) in &families {
        for (labels, value) in counts {
            let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            put(&mut served, family, label, &labels, *value);
        }
    }
    let truth = sim.activity_truth(label, from as f64, to as f64);
    let audit_truth = sim.activity_truth(label, audit_from as f64, to as f64);
    let mut want = truth_of(
        &truth,
        &[
            names::SIGN_INS,
            names::SIGN_INS_BY_CONDITIONAL_ACCESS,
            names::SIGN_INS_BY_CLIENT_APP,
            names::SIGN_INS_BY_COUNTRY,
            names::SIGN_INS_BY_OS,
            names::RISKY_SIGN_INS,
        ],
    );
    want.extend(truth_of(
        &audit_truth,
        &[
            names::DIRECTORY_AUDIT_EVENTS,
            names::PROVISIONING_EVENTS,
            names::CUSTOM_SECURITY_ATTRIBUTE_AUDIT_EVENTS,
        ],
    ));
    for (gt, sign_ins) in [(&truth, true), (&audit_truth, false)] {
        want.extend(
            truth_of(gt, &[names::ACTIVITY_LOG_EVENTS])
                .into_iter()
                .filter(|((_, labels), _)| labels["log"].starts_with("sign_ins_") == sign_ins),
        );
    }
    assert_same(&served, &want);
    assert!(truth.samples.iter().all(|s| s.labels["tenant"] == label));

    users.remove("");
    assert_eq!(
        sim.activity_distinct_users(from as f64, to as f64),
        users.len() as u64
    );
    let last = sim.activity_last_sign_in(label, to as f64);
    for s in last.by_name(names::APPLICATION_LAST_SIGN_IN) {
        let key = (s.labels["app_id"].clone(), s.labels["app"].clone());
        match newest.get(&key) {
            Some(t) => assert!((s.value - t).abs() < 1e-6, "{key:?}: {} vs {t}", s.value),
            None => assert!(s.value < from as f64, "{key:?} signed in within the window"),
        }
    }
    for key in newest.keys() {
        assert!(
            last.find(
                names::APPLICATION_LAST_SIGN_IN,
                &[("app_id", &key.0), ("app", &key.1)]
            )
            .is_some(),
            "{key:?}"
        );
    }
}

#[tokio::test]
async fn a_page_stays_cheap_at_a_million_events_a_day() {
    let sim = start(SimConfig {
        activity_rate: 10.0,
        reports_throttle: ReportsThrottleConfig::disabled(),
        ..config()
    })
    .await;
    let now = now_secs();
    let per_day: f64 = sim
        .activity_truth("t", now - 3_600.0, now)
        .by_name(names::SIGN_INS)
        .iter()
        .map(|s| s.value)
        .sum::<f64>()
        * 24.0;
    // The hour's volume, extrapolated; quiet hours see a tenth of the peak.
    assert!(per_day > 50_000.0, "{per_day}");
    let token = demo_token(&sim).await;
    let started = Instant::now();
    let page = get_json(
        &sim,
        &token,
        &format!("/beta/auditLogs/signIns?$filter={ALL_TYPES}"),
    )
    .await;
    let first = started.elapsed();
    assert_eq!(page["value"].as_array().map(Vec::len), Some(1000));
    let next = page["@odata.nextLink"]
        .as_str()
        .expect("nextLink")
        .strip_prefix(sim.base_url())
        .expect("absolute")
        .to_owned();
    let started = Instant::now();
    let second = get_json(&sim, &token, &next).await;
    assert_eq!(second["value"].as_array().map(Vec::len), Some(1000));
    // Unoptimised test builds included: a page must not scan the day.
    assert!(first < Duration::from_secs(5), "{first:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_logs_stop_at_the_configured_end() {
    let end = now_secs().floor() - 600.0;
    let sim = start(SimConfig {
        activity_end: Some(end),
        ..log_config(20.0)
    })
    .await;
    let token = demo_token(&sim).await;
    for (path, time) in [
        ("/beta/auditLogs/signIns", "createdDateTime"),
        ("/v1.0/auditLogs/directoryAudits", "activityDateTime"),
        ("/v1.0/auditLogs/provisioning", "activityDateTime"),
        (
            "/beta/auditLogs/customSecurityAttributeAudits",
            "activityDateTime",
        ),
    ] {
        let query = if path.ends_with("signIns") {
            format!("$filter={ALL_TYPES}&$top=5")
        } else {
            "$top=5".to_owned()
        };
        let page = get_json(&sim, &token, &format!("{path}?{query}")).await;
        let rows = page["value"].as_array().expect("value");
        assert!(!rows.is_empty(), "{path}");
        for row in rows {
            let t = parse_graph_date(row[time].as_str().expect("time"));
            assert!(t <= end, "{path}: {t} after the end {end}");
        }
    }
    let after = sim.activity_truth("t", end + 1e-7, end + 3_600.0);
    assert!(after.samples.is_empty(), "{:?}", after.samples.first());
    let before: f64 = sim
        .activity_truth("t", end - 600.0, end)
        .by_name(names::ACTIVITY_LOG_EVENTS)
        .iter()
        .map(|s| s.value)
        .sum();
    assert!(before > 0.0);
    let last = sim.activity_last_sign_in("t", end + 3_600.0);
    assert!(!last.samples.is_empty());
    assert!(last.samples.iter().all(|s| s.value <= end));
}
