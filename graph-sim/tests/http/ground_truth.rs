//! The ground truth agrees with a direct walk of the served JSON, parsed here with
//! serde_json and an independent date parser.

use std::collections::{BTreeMap, HashMap};

use graph_sim::metric_names as names;
use graph_sim::SimConfig;
use serde_json::Value;

use crate::common::{all_pages, config, demo_token, start};

/// Unix seconds of `YYYY-MM-DDTHH:MM:SS[.fffffff]Z` (days-from-civil, written for this test).
pub(crate) fn parse_graph_date(text: &str) -> f64 {
    let body = text
        .strip_suffix('Z')
        .unwrap_or_else(|| panic!("no Z: {text}"));
    let (date, time) = body.split_once('T').expect("T");
    let mut d = date.split('-').map(|p| p.parse::<i64>().expect("date"));
    let (y, m, day) = (
        d.next().unwrap_or(0),
        d.next().unwrap_or(0),
        d.next().unwrap_or(0),
    );
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut t = hms.split(':').map(|p| p.parse::<i64>().expect("time"));
    let (hh, mm, ss) = (
        t.next().unwrap_or(0),
        t.next().unwrap_or(0),
        t.next().unwrap_or(0),
    );
    // Days since 1970-01-01 by counting from year 0 with March-based years.
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let days = 365 * y + y.div_euclid(4) - y.div_euclid(100)
        + y.div_euclid(400)
        + (153 * (m - 3) + 2) / 5
        + day
        - 1
        - 719_468;
    let fraction = if frac.is_empty() {
        0.0
    } else {
        format!("0.{frac}").parse::<f64>().expect("fraction")
    };
    (days * 86_400 + hh * 3_600 + mm * 60 + ss) as f64 + fraction
}

#[test]
fn date_parser_sanity() {
    assert_eq!(parse_graph_date("1970-01-01T00:00:00Z"), 0.0);
    assert_eq!(parse_graph_date("2025-06-03T07:41:12Z"), 1_748_936_472.0);
    assert_eq!(parse_graph_date("2000-03-01T00:00:00Z"), 951_868_800.0);
    assert!(
        (parse_graph_date("2025-06-03T07:41:12.6195833Z") - 1_748_936_472.619_583_3).abs() < 1e-6
    );
}

#[tokio::test]
async fn ground_truth_matches_a_walk_of_the_served_json() {
    let sim = start(SimConfig {
        applications: 1_200,
        extra_service_principals: 300,
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let at = 1_750_000_000.5;
    let truth = sim.ground_truth("contoso", at);

    let mut counts: BTreeMap<(&str, &str), (f64, f64)> = BTreeMap::new();
    let mut expiries: HashMap<(String, String), (f64, BTreeMap<String, String>)> = HashMap::new();
    let mut earliest: HashMap<(String, &str), f64> = HashMap::new();
    let mut objects = HashMap::new();
    for (collection, object) in [
        ("applications", "application"),
        ("servicePrincipals", "service_principal"),
    ] {
        let path = format!(
            "/v1.0/{collection}?$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=999"
        );
        let pages = all_pages(&sim, &token, &path).await;
        let items: Vec<&Value> = pages
            .iter()
            .flat_map(|p| p["value"].as_array().into_iter().flatten())
            .collect();
        objects.insert(object, items.len() as f64);
        for item in items {
            let app_id = item["appId"].as_str().expect("appId").to_owned();
            let name = item["displayName"]
                .as_str()
                .expect("displayName")
                .to_owned();
            for (field, credential_type) in [
                ("passwordCredentials", "client_secret"),
                ("keyCredentials", "certificate"),
            ] {
                for cred in item[field].as_array().expect("credential array") {
                    let entry = counts.entry((object, credential_type)).or_default();
                    entry.0 += 1.0;
                    let Some(end) = cred["endDateTime"].as_str() else {
                        entry.1 += 1.0;
                        continue;
                    };
                    let end = parse_graph_date(end);
                    let labels = BTreeMap::from([
                        ("tenant".to_owned(), "contoso".to_owned()),
                        ("app_id".to_owned(), app_id.clone()),
                        ("app_name".to_owned(), name.clone()),
                        ("object".to_owned(), object.to_owned()),
                        ("credential_type".to_owned(), credential_type.to_owned()),
                        (
                            "key_id".to_owned(),
                            cred["keyId"].as_str().expect("keyId").to_owned(),
                        ),
                        (
                            "credential_name".to_owned(),
                            cred["displayName"].as_str().unwrap_or("").to_owned(),
                        ),
                    ]);
                    let key = (labels["key_id"].clone(), object.to_owned());
                    assert!(
                        expiries.insert(key, (end, labels)).is_none(),
                        "duplicate keyId"
                    );
                    let e = earliest
                        .entry((app_id.clone(), object))
                        .or_insert(f64::INFINITY);
                    *e = e.min(end);
                }
            }
        }
    }

    assert_eq!(
        truth.find(names::APPLICATIONS, &[]).map(|s| s.value),
        Some(objects["application"])
    );
    assert_eq!(
        truth.find(names::SERVICE_PRINCIPALS, &[]).map(|s| s.value),
        Some(objects["service_principal"])
    );
    for object in ["application", "service_principal"] {
        for credential_type in ["client_secret", "certificate"] {
            let (total, without) = counts
                .get(&(object, credential_type))
                .copied()
                .unwrap_or_default();
            let labels = [
                ("tenant", "contoso"),
                ("object", object),
                ("credential_type", credential_type),
            ];
            assert_eq!(
                truth.find(names::CREDENTIALS, &labels).map(|s| s.value),
                Some(total)
            );
            assert_eq!(
                truth
                    .find(names::CREDENTIALS_WITHOUT_EXPIRY, &labels)
                    .map(|s| s.value),
                Some(without)
            );
        }
    }
    assert!(counts.values().all(|(total, _)| *total > 0.0), "{counts:?}");

    let expiry_samples = truth.by_name(names::CREDENTIAL_EXPIRY);
    assert_eq!(expiry_samples.len(), expiries.len());
    for s in expiry_samples {
        let (end, labels) = &expiries[&(s.labels["key_id"].clone(), s.labels["object"].clone())];
        assert_eq!(&s.labels, labels);
        assert!((s.value - end).abs() < 1e-6, "{} vs {end}", s.value);
        let remaining = truth
            .find(
                names::CREDENTIAL_EXPIRY_REMAINING,
                &[
                    ("key_id", &s.labels["key_id"]),
                    ("object", &s.labels["object"]),
                ],
            )
            .expect("remaining-time sample");
        assert!((remaining.value - (end - at)).abs() < 1e-6);
    }
    let earliest_samples = truth.by_name(names::EARLIEST_EXPIRY);
    assert_eq!(earliest_samples.len(), earliest.len());
    for s in earliest_samples {
        let object = if s.labels["object"] == "application" {
            "application"
        } else {
            "service_principal"
        };
        let expected = earliest[&(s.labels["app_id"].clone(), object)];
        assert!((s.value - expected).abs() < 1e-6);
    }
    sim.shutdown().await;
}
