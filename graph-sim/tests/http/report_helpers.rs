//! Helpers of the identity-and-access report tests (§2, §3, §6): a config without the §10.2
//! budget, fetching within one report hour, and comparing ground truth with samples built
//! from the served JSON.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use graph_sim::{GroundTruth, ReportsThrottleConfig, SimConfig, SimHandle};
use serde_json::Value;

use crate::common::{all_pages, config, get};

/// Demo defaults with a fixed tenant "now" and no reports budget, for tests making many calls.
pub fn reports_config() -> SimConfig {
    SimConfig {
        reports_throttle: ReportsThrottleConfig::disabled(),
        ..config()
    }
}

/// The wall clock, Unix seconds.
pub fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Runs `fetch` until it starts and ends within the same clock hour (the reports refresh at
/// the top of each hour), returning its result and the instant it started: the `at` for the
/// ground truth.
pub async fn within_one_hour<T, F, Fut>(mut fetch: F) -> (T, f64)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    loop {
        let before = now_secs();
        let result = fetch().await;
        let after = now_secs();
        if (before / 3_600.0).floor() == (after / 3_600.0).floor() {
            return (result, before);
        }
    }
}

/// Every item of every page from `path`.
pub async fn items(sim: &SimHandle, token: &str, path: &str) -> Vec<Value> {
    all_pages(sim, token, path)
        .await
        .into_iter()
        .flat_map(|mut p| match p["value"].take() {
            Value::Array(items) => items,
            other => panic!("value is not an array: {other}"),
        })
        .collect()
}

/// GET `path` and return the status and the error code (for error replies).
pub async fn status_and_code(sim: &SimHandle, token: &str, path: &str) -> (u16, String) {
    let response = get(sim, token, path).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, code)
}

/// Samples keyed by (name, labels).
pub type SampleMap = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// Adds a sample built from served JSON, asserting it is new.
pub fn put(map: &mut SampleMap, name: &str, tenant: &str, labels: &[(&str, &str)], value: f64) {
    let mut l: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    l.insert("tenant".to_owned(), tenant.to_owned());
    assert!(
        map.insert((name.to_owned(), l), value).is_none(),
        "duplicate {name} {labels:?}"
    );
}

/// The ground truth's samples of the families `names`.
pub fn truth_of(truth: &GroundTruth, names: &[&str]) -> SampleMap {
    truth
        .samples
        .iter()
        .filter(|s| names.contains(&s.name.as_str()))
        .map(|s| ((s.name.clone(), s.labels.clone()), s.value))
        .collect()
}

/// Asserts two sample maps are equal (values within 1e-9), naming the first difference.
pub fn assert_same(served: &SampleMap, truth: &SampleMap) {
    for (key, v) in truth {
        let have = served
            .get(key)
            .unwrap_or_else(|| panic!("served JSON lacks {key:?} = {v}"));
        assert!((have - v).abs() < 1e-9, "{key:?}: served {have}, truth {v}");
    }
    for key in served.keys() {
        assert!(truth.contains_key(key), "ground truth lacks {key:?}");
    }
}
