//! `/beta/reports/servicePrincipalSignInActivities` and `/beta/reports/appCredentialSignInActivities`
//! (§4, §5): shapes and doc-vs-schema traps, permissions, the licence error, `$filter`,
//! paging, and the sign-in ground truth against a walk of the served JSON.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use graph_sim::metric_names as names;
use graph_sim::{Quirks, SimClient, SimConfig, SimHandle};
use serde_json::Value;

use crate::common::{all_pages, config, demo_token, get, get_json, graph_error, start, token_for};
use crate::ground_truth::parse_graph_date;

/// Path of the service principal report.
const SP_REPORT: &str = "/beta/reports/servicePrincipalSignInActivities";
/// Path of the credential report.
const CREDENTIAL_REPORT: &str = "/beta/reports/appCredentialSignInActivities";
/// The four specific activity objects of §4, with their `activity` label.
const SP_KINDS: [(&str, &str); 4] = [
    ("delegatedClientSignInActivity", "delegated_client"),
    ("delegatedResourceSignInActivity", "delegated_resource"),
    (
        "applicationAuthenticationClientSignInActivity",
        "app_only_client",
    ),
    (
        "applicationAuthenticationResourceSignInActivity",
        "app_only_resource",
    ),
];

/// Every item of every page from `path`, asserting no id is served twice.
async fn items(sim: &SimHandle, token: &str, path: &str) -> Vec<Value> {
    let pages = all_pages(sim, token, path).await;
    let items: Vec<Value> = pages
        .into_iter()
        .flat_map(|mut p| match p["value"].take() {
            Value::Array(items) => items,
            other => panic!("value is not an array: {other}"),
        })
        .collect();
    let ids: HashSet<&str> = items
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), items.len(), "an item was served twice");
    items
}

/// Base64 (standard alphabet, no padding) decoded to text.
fn decode_id(id: &str) -> String {
    assert!(!id.ends_with('='), "padded id {id}");
    let bytes = STANDARD_NO_PAD
        .decode(id)
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    String::from_utf8(bytes).expect("utf-8 id")
}

/// `lastSignInDateTime` of a `signInActivity`, checking its shape.
fn last_sign_in(activity: &Value) -> Option<f64> {
    let object = activity.as_object().expect("signInActivity is an object");
    let date = &object["lastSignInDateTime"];
    let request = &object["lastSignInRequestId"];
    assert_eq!(date.is_null(), request.is_null(), "{activity}");
    if let Some(r) = request.as_str() {
        assert!(uuid::Uuid::parse_str(r).is_ok(), "{r}");
    }
    date.as_str().map(parse_graph_date)
}

/// A client holding every role but `AuditLog.Read.All`.
const NO_AUDIT_LOG: &str = "3d3d3d3d-2222-4333-8444-555555555555";

#[tokio::test]
async fn service_principal_report_shapes_and_ids() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;

    let first = get_json(&sim, &token, SP_REPORT).await;
    assert_eq!(
        first["@odata.context"],
        format!(
            "{}/beta/$metadata#reports/servicePrincipalSignInActivities",
            sim.base_url()
        )
    );
    assert_eq!(first["value"].as_array().map(Vec::len), Some(100));
    let next = first["@odata.nextLink"].as_str().expect("nextLink");
    assert!(
        next.starts_with(&format!("{}{SP_REPORT}?$skiptoken=", sim.base_url())),
        "{next}"
    );

    let report = items(&sim, &token, SP_REPORT).await;
    let directory = all_pages(
        &sim,
        &token,
        "/v1.0/servicePrincipals?$select=appId&$top=999",
    )
    .await;
    let sp_app_ids: HashSet<&str> = directory
        .iter()
        .flat_map(|p| p["value"].as_array().into_iter().flatten())
        .map(|s| s["appId"].as_str().expect("appId"))
        .collect();
    let report_app_ids: HashSet<&str> = report
        .iter()
        .map(|i| i["appId"].as_str().expect("appId"))
        .collect();
    assert_eq!(report_app_ids, sp_app_ids);

    let mut never = 0;
    for item in &report {
        let app_id = item["appId"].as_str().expect("appId");
        assert_eq!(decode_id(item["id"].as_str().expect("id")), app_id);
        let specific: Vec<f64> = SP_KINDS
            .iter()
            .filter_map(|(field, _)| last_sign_in(&item[*field]))
            .collect();
        let latest = specific.iter().copied().reduce(f64::max);
        assert_eq!(last_sign_in(&item["lastSignInActivity"]), latest, "{item}");
        if latest.is_none() {
            never += 1;
        }
        let keys: Vec<&str> = item
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), 7, "{keys:?}");
    }
    assert!(never > 0 && never < report.len() / 3, "{never}");
    sim.shutdown().await;
}

#[tokio::test]
async fn credential_report_matches_the_directory_credentials() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;

    // keyId|origin → (appId, object id, keyType, keyUsage, start, end)
    let mut expected: HashMap<String, (String, String, &str, String, Value, Value)> =
        HashMap::new();
    let mut app_objects = HashMap::new();
    for (collection, origin) in [
        ("applications", "application"),
        ("servicePrincipals", "servicePrincipal"),
    ] {
        let path = format!(
            "/v1.0/{collection}?$select=id,appId,passwordCredentials,keyCredentials&$top=999"
        );
        for page in all_pages(&sim, &token, &path).await {
            for object in page["value"].as_array().expect("value") {
                let app_id = object["appId"].as_str().expect("appId").to_owned();
                let id = object["id"].as_str().expect("id").to_owned();
                if origin == "application" {
                    app_objects.insert(app_id.clone(), id.clone());
                }
                for (field, key_type) in [
                    ("passwordCredentials", "clientSecret"),
                    ("keyCredentials", "certificate"),
                ] {
                    for c in object[field].as_array().expect("credentials") {
                        let usage = c["usage"].as_str().unwrap_or("sign").to_ascii_lowercase();
                        let key = format!("{}|{origin}", c["keyId"].as_str().expect("keyId"));
                        let previous = expected.insert(
                            key,
                            (
                                app_id.clone(),
                                id.clone(),
                                key_type,
                                usage,
                                c["startDateTime"].clone(),
                                c["endDateTime"].clone(),
                            ),
                        );
                        assert!(previous.is_none(), "duplicate keyId");
                    }
                }
            }
        }
    }

    let report = items(&sim, &token, &format!("{CREDENTIAL_REPORT}?$top=1000")).await;
    assert_eq!(report.len(), expected.len());
    let mut by_type = HashMap::new();
    for item in &report {
        let id = decode_id(item["id"].as_str().expect("id"));
        let (key_id, origin) = id.split_once('|').expect("keyId|origin");
        assert_eq!(item["keyId"], key_id);
        assert_eq!(item["credentialOrigin"], origin);
        let (app_id, object_id, key_type, usage, start, end) = expected
            .get(&id)
            .unwrap_or_else(|| panic!("{id} not in the directory"));
        assert_eq!(item["appId"], app_id.as_str());
        assert_eq!(item["keyType"], *key_type);
        assert_eq!(item["keyUsage"], usage.as_str());
        assert_eq!(&item["createdDateTime"], start);
        assert_eq!(&item["expirationDateTime"], end);
        assert!(item.get("expirationDate").is_none(), "stale doc name");
        if origin == "application" {
            assert_eq!(item["appObjectId"], object_id.as_str());
        } else {
            assert_eq!(item["servicePrincipalObjectId"], object_id.as_str());
            assert_eq!(
                item["appObjectId"].as_str(),
                app_objects.get(app_id).map(String::as_str)
            );
        }
        let used = last_sign_in(&item["signInActivity"]);
        assert_eq!(used.is_some(), item["resourceId"].is_string(), "{item}");
        if let (Some(used), Some(end)) = (used, end.as_str()) {
            assert!(used < parse_graph_date(end), "used after expiry: {item}");
        }
        *by_type.entry((*key_type, used.is_some())).or_insert(0) += 1;
    }
    for key_type in ["clientSecret", "certificate"] {
        for used in [true, false] {
            assert!(
                by_type.get(&(key_type, used)).is_some_and(|n| *n > 0),
                "{by_type:?}"
            );
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn roles_licence_and_version_errors() {
    let mut cfg = config();
    cfg.clients.push(SimClient::new(
        NO_AUDIT_LOG,
        "s",
        &[
            "Directory.Read.All",
            "Reports.Read.All",
            "Application.Read.All",
        ],
    ));
    let sim = start(cfg).await;
    let token = token_for(&sim, NO_AUDIT_LOG, "s").await;
    for path in [SP_REPORT, CREDENTIAL_REPORT] {
        let response = get(&sim, &token, path).await;
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(graph_error(&body).0, "Authorization_RequestDenied");
    }
    let token = demo_token(&sim).await;
    let response = get(
        &sim,
        &token,
        "/v1.0/reports/servicePrincipalSignInActivities",
    )
    .await;
    assert_eq!(response.status(), 400, "beta only");
    sim.shutdown().await;

    let sim = start(SimConfig {
        premium_licence: false,
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    for path in [SP_REPORT, CREDENTIAL_REPORT] {
        let response = get(&sim, &token, path).await;
        assert_eq!(response.status(), 403, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            graph_error(&body),
            (
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license"
            )
        );
    }
    assert_eq!(get(&sim, &token, "/v1.0/applications").await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn filters_top_and_paging() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let all_credentials = items(&sim, &token, &format!("{CREDENTIAL_REPORT}?$top=1000")).await;

    // Small pages visit every item once, in the same order, and keep the other options.
    let small = items(&sim, &token, &format!("{CREDENTIAL_REPORT}?$top=7")).await;
    assert_eq!(small, all_credentials);
    let pages = all_pages(&sim, &token, &format!("{SP_REPORT}?$top=50")).await;
    assert!(pages.len() > 2);
    for page in &pages[..pages.len() - 1] {
        assert_eq!(page["value"].as_array().map(Vec::len), Some(50));
        let next = page["@odata.nextLink"].as_str().expect("nextLink");
        assert!(next.contains("$top=50&$skiptoken="), "{next}");
    }
    assert!(pages[pages.len() - 1].get("@odata.nextLink").is_none());

    // An app with several credentials, filtered by appId, paged one at a time.
    let mut per_app: HashMap<&str, usize> = HashMap::new();
    for c in &all_credentials {
        *per_app
            .entry(c["appId"].as_str().expect("appId"))
            .or_default() += 1;
    }
    let (app_id, n) = per_app
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(a, n)| (a.to_string(), *n))
        .expect("an app with credentials");
    assert!(n > 1);
    let filtered = items(
        &sim,
        &token,
        &format!("{CREDENTIAL_REPORT}?$filter=appId%20eq%20'{app_id}'&$top=1"),
    )
    .await;
    assert_eq!(filtered.len(), n);
    assert!(filtered.iter().all(|c| c["appId"] == app_id.as_str()));

    let key_id = all_credentials[3]["keyId"].as_str().expect("keyId");
    let by_key = get_json(
        &sim,
        &token,
        &format!(
            "{CREDENTIAL_REPORT}?$filter=keyId eq '{}'",
            key_id.to_uppercase()
        ),
    )
    .await;
    assert_eq!(by_key["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(by_key["value"][0], all_credentials[3]);

    let sp = get_json(
        &sim,
        &token,
        &format!("{SP_REPORT}?$filter=appId eq '00000003-0000-0000-c000-000000000000'"),
    )
    .await;
    let value = sp["value"].as_array().expect("value");
    assert_eq!(value.len(), 1);
    assert_eq!(
        value[0]["id"],
        "MDAwMDAwMDMtMDAwMC0wMDAwLWMwMDAtMDAwMDAwMDAwMDAw"
    );
    let none = get_json(
        &sim,
        &token,
        &format!("{SP_REPORT}?$filter=appId eq '11111111-1111-4111-8111-111111111111'"),
    )
    .await;
    assert_eq!(none["value"].as_array().map(Vec::len), Some(0));

    for (path, code) in [
        (format!("{SP_REPORT}?$filter=keyId eq 'x'"), "BadRequest"),
        (format!("{SP_REPORT}?$filter=appId ne 'x'"), "BadRequest"),
        (format!("{SP_REPORT}?$top=1001"), "Request_UnsupportedQuery"),
        (
            format!("{SP_REPORT}?$orderby=appId"),
            "Request_UnsupportedQuery",
        ),
        (
            format!("{CREDENTIAL_REPORT}?$select=keyId"),
            "Request_UnsupportedQuery",
        ),
        (
            format!("{CREDENTIAL_REPORT}?$skiptoken=garbage"),
            "Request_BadRequest",
        ),
    ] {
        let response = get(&sim, &token, &path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(graph_error(&body).0, code, "{path}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn sign_in_ground_truth_matches_a_walk_of_the_served_json() {
    for include_never in [true, false] {
        let sim = start(SimConfig {
            applications: 800,
            extra_service_principals: 250,
            quirks: Quirks {
                sp_activity_include_never_signed_in: include_never,
                ..Quirks::default()
            },
            ..config()
        })
        .await;
        let token = demo_token(&sim).await;
        let at = sim.tenant().now.as_f64() + 42.5;
        let truth = sim.ground_truth("contoso", at);
        let label = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            std::iter::once(("tenant", "contoso"))
                .chain(pairs.iter().copied())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        };

        // Service principals: the report joined with the directory listing.
        let directory = all_pages(
            &sim,
            &token,
            "/v1.0/servicePrincipals?$select=appId&$top=999",
        )
        .await;
        let sp_app_ids: Vec<String> = directory
            .iter()
            .flat_map(|p| p["value"].as_array().into_iter().flatten())
            .map(|s| s["appId"].as_str().expect("appId").to_owned())
            .collect();
        let report = items(&sim, &token, &format!("{SP_REPORT}?$top=1000")).await;
        let mut expected_last = BTreeMap::new();
        let mut any_by_app = HashMap::new();
        for item in &report {
            let app_id = item["appId"].as_str().expect("appId");
            let any = last_sign_in(&item["lastSignInActivity"]);
            assert!(include_never || any.is_some(), "never-signed-in SP listed");
            any_by_app.insert(app_id.to_owned(), any);
            let kinds = std::iter::once(("lastSignInActivity", "any")).chain(SP_KINDS);
            for (field, activity) in kinds {
                if let Some(t) = last_sign_in(&item[field]) {
                    expected_last.insert(label(&[("app_id", app_id), ("activity", activity)]), t);
                }
            }
        }
        let samples = truth.by_name(names::SERVICE_PRINCIPAL_LAST_SIGN_IN);
        assert_eq!(samples.len(), expected_last.len());
        for s in samples {
            let t = expected_last.get(&s.labels).expect("sample in the report");
            assert!((s.value - t).abs() < 1e-6, "{s:?} vs {t}");
        }
        for (window, days) in [("30d", 30.0), ("90d", 90.0)] {
            let since = at - days * 86_400.0;
            let stale = sp_app_ids
                .iter()
                .filter(|a| {
                    !any_by_app
                        .get(*a)
                        .copied()
                        .flatten()
                        .is_some_and(|t| t >= since)
                })
                .count() as f64;
            assert_eq!(
                truth
                    .find(
                        names::SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN,
                        &[("window", window)]
                    )
                    .map(|s| &s.labels),
                Some(&label(&[("window", window)]))
            );
            assert_eq!(
                truth
                    .find(
                        names::SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN,
                        &[("window", window)]
                    )
                    .map(|s| s.value),
                Some(stale),
                "{window}"
            );
            assert!(stale > 0.0 && stale < sp_app_ids.len() as f64);
        }

        // Credentials.
        let report = items(&sim, &token, &format!("{CREDENTIAL_REPORT}?$top=1000")).await;
        let mut expected_used = BTreeMap::new();
        let mut never_used: BTreeMap<(&str, &str), f64> = BTreeMap::new();
        for item in &report {
            let object = match item["credentialOrigin"].as_str() {
                Some("application") => "application",
                Some("servicePrincipal") => "service_principal",
                other => panic!("credentialOrigin {other:?}"),
            };
            let credential_type = match item["keyType"].as_str() {
                Some("clientSecret") => "client_secret",
                Some("certificate") => "certificate",
                other => panic!("keyType {other:?}"),
            };
            match last_sign_in(&item["signInActivity"]) {
                Some(t) => {
                    let labels = label(&[
                        ("app_id", item["appId"].as_str().expect("appId")),
                        ("object", object),
                        ("credential_type", credential_type),
                        ("key_id", item["keyId"].as_str().expect("keyId")),
                    ]);
                    assert!(expected_used.insert(labels, t).is_none());
                }
                None => *never_used.entry((object, credential_type)).or_default() += 1.0,
            }
        }
        let samples = truth.by_name(names::CREDENTIAL_LAST_SIGN_IN);
        assert_eq!(samples.len(), expected_used.len());
        for s in samples {
            let t = expected_used.get(&s.labels).expect("sample in the report");
            assert!((s.value - t).abs() < 1e-6, "{s:?} vs {t}");
        }
        assert_eq!(truth.by_name(names::CREDENTIALS_NEVER_USED).len(), 4);
        for object in ["application", "service_principal"] {
            for credential_type in ["client_secret", "certificate"] {
                let labels = [("object", object), ("credential_type", credential_type)];
                let sample = truth
                    .find(names::CREDENTIALS_NEVER_USED, &labels)
                    .expect("never-used sample");
                assert_eq!(sample.labels, label(&labels));
                assert_eq!(
                    sample.value,
                    never_used
                        .get(&(object, credential_type))
                        .copied()
                        .unwrap_or(0.0),
                    "{object} {credential_type}"
                );
            }
        }
        sim.shutdown().await;
    }
}
