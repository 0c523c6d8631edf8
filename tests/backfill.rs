//! `entra-exporter backfill` round trip: the binary writes the simulator's history as
//! OpenMetrics, `promtool tsdb create-blocks-from openmetrics` turns it into blocks, a real
//! Prometheus serves them, and its queries return the simulator's daily and monthly values.
//! Also: a failure part-way leaves no file behind.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::prometheus::start_prometheus;
use common::*;
use graph_sim::{FaultKind, FaultRule, Quirks, SimConfig, SimHandle};
use serde_json::Value;

const DAY: f64 = 86_400.0;

/// A config file pointing one tenant at `sim`, with the test reports budget.
fn write_config(dir: &Path, sim: &SimHandle, label: &str, max_retries: u32) -> std::path::PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "graph:\n  max_retries: {max_retries}\n  max_backoff: 100ms\n  reports_budget:\n    requests: 5\n    window: 1s\n\
             tenants:\n  - name: {label}\n    tenant_id: {}\n    client_id: {}\n    auth:\n      client_secret: {}\n    authority_host: {}\n    graph_base_url: {}\n",
            sim.tenant().tenant_id,
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
            sim.base_url(),
            sim.base_url()
        ),
    )
    .unwrap();
    path
}

/// Runs the binary's `backfill` in a blocking thread; returns (success, stderr).
async fn backfill(config: &Path, out: &Path) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_entra-exporter"));
    cmd.arg("backfill")
        .arg("--config.file")
        .arg(config)
        .arg("--out")
        .arg(out)
        .arg("--label")
        .arg("job=entra-backfill");
    let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `(labels without __name__) → (timestamp → value)` from a Prometheus matrix or vector.
fn points(body: &Value) -> BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>> {
    assert_eq!(body["status"], "success", "{body}");
    let mut out: BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>> = BTreeMap::new();
    for series in body["data"]["result"].as_array().unwrap() {
        let labels: BTreeMap<String, String> = series["metric"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "__name__")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let values: Vec<&Value> = match series.get("values") {
            Some(v) => v.as_array().unwrap().iter().collect(),
            None => vec![&series["value"]],
        };
        for v in values {
            let ts = v[0].as_f64().unwrap() as i64;
            let value: f64 = v[1].as_str().unwrap().parse().unwrap();
            out.entry(labels.clone()).or_default().insert(ts, value);
        }
    }
    out
}

/// The simulator's history of `name` in the same shape, with the backfill's extra label.
fn expected(
    history: &[graph_sim::TimedSample],
    name: &str,
    filter: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>> {
    let mut out: BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>> = BTreeMap::new();
    for t in history
        .iter()
        .filter(|t| t.sample.name == name && filter(&t.sample.labels))
    {
        let mut labels = t.sample.labels.clone();
        labels.insert("job".into(), "entra-backfill".into());
        out.entry(labels)
            .or_default()
            .insert(t.timestamp_unix_seconds as i64, t.sample.value);
    }
    out
}

type Points = BTreeMap<BTreeMap<String, String>, BTreeMap<i64, f64>>;

/// Equal series and points, or a panic naming the first few differences.
fn assert_same(what: &str, served: &Points, want: &Points) {
    let mut diffs = Vec::new();
    for (labels, points) in want {
        match served.get(labels) {
            None => diffs.push(format!("missing series {labels:?}")),
            Some(got) => {
                for (ts, v) in points {
                    if got.get(ts) != Some(v) {
                        diffs.push(format!(
                            "{labels:?} at {ts}: served {:?}, want {v}",
                            got.get(ts)
                        ));
                    }
                }
                for ts in got.keys().filter(|ts| !points.contains_key(ts)) {
                    diffs.push(format!(
                        "{labels:?} at {ts}: served {}, want nothing",
                        got[ts]
                    ));
                }
            }
        }
    }
    for labels in served.keys().filter(|l| !want.contains_key(*l)) {
        diffs.push(format!("unexpected series {labels:?}"));
    }
    assert!(
        diffs.is_empty(),
        "{what}: Prometheus disagrees with the simulator's history in {} place(s), e.g.:\n{}",
        diffs.len(),
        diffs.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_round_trips_through_promtool_and_prometheus() {
    // Graph documents applicationSignInDetailedSummary as delegated-only (§2.2); whether
    // app-only tokens really fail is UNCONFIRMED, so this tenant lets them read it.
    let sim = start_sim(SimConfig {
        quirks: Quirks {
            app_sign_in_detailed_summary_app_only: true,
            ..Quirks::default()
        },
        ..small_tenant()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "history", 3);
    let out = dir.path().join("history.om");
    let (ok, stderr) = backfill(&config, &out).await;
    assert!(ok, "backfill failed:\n{stderr}");
    let now = unix_now();

    let data = dir.path().join("data");
    let created = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&out)
        .arg(&data)
        .output()
        .expect("promtool is installed");
    assert!(
        created.status.success(),
        "promtool refused the file: {}\n{}",
        String::from_utf8_lossy(&created.stdout),
        String::from_utf8_lossy(&created.stderr)
    );
    let prometheus = start_prometheus(
        dir.path(),
        &data,
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
    )
    .await;
    let mut history = sim.user_insights_history_at("history", now);
    history.extend(sim.application_sign_in_history_at("history", now));
    let http = reqwest::Client::new();

    // Daily: a range query over the past 30 days, one step per day at midnight UTC.
    let today = (now / DAY).floor() * DAY;
    let start = today - 31.0 * DAY;
    let daily_filter =
        |l: &BTreeMap<String, String>| l.get("period").map(String::as_str) == Some("daily");
    for name in [
        "entra_external_id_active_users",
        "entra_external_id_authentication_attempts_by_country",
        "entra_external_id_mfa_failures",
        "entra_external_id_users",
        "entra_application_daily_successful_sign_ins",
        "entra_application_daily_failed_sign_ins",
    ] {
        let want = expected(&history, name, |l| {
            daily_filter(l) || !l.contains_key("period")
        });
        assert!(
            want.values().map(BTreeMap::len).sum::<usize>() >= 25,
            "{name}: the simulator keeps about 30 days"
        );
        let query = if name == "entra_external_id_users" || name.starts_with("entra_application_") {
            name.to_owned()
        } else {
            format!("{name}{{period=\"daily\"}}")
        };
        let body: Value = http
            .get(format!("{}/api/v1/query_range", prometheus.url))
            .query(&[
                ("query", query.as_str()),
                ("start", &format!("{start}")),
                ("end", &format!("{today}")),
                ("step", "86400"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_same(name, &points(&body), &want);
    }

    // Monthly: an instant query at each month's timestamp.
    let monthly = expected(&history, "entra_external_id_active_users", |l| {
        l.get("period").map(String::as_str) == Some("monthly")
    });
    let months: Vec<i64> = monthly.values().flat_map(|p| p.keys().copied()).collect();
    assert!(months.len() >= 11, "about 12 months: {months:?}");
    let mut served = BTreeMap::new();
    for ts in &months {
        let body: Value = http
            .get(format!("{}/api/v1/query", prometheus.url))
            .query(&[
                (
                    "query",
                    "entra_external_id_active_users{period=\"monthly\"}",
                ),
                ("time", &ts.to_string()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (labels, p) in points(&body) {
            served.entry(labels).or_insert_with(BTreeMap::new).extend(p);
        }
    }
    assert_same("monthly active users", &served, &monthly);
    drop(prometheus);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_application_history_is_skipped_with_a_warning() {
    // The default simulator refuses app-only tokens on the delegated-only report.
    let sim = start_sim(small_tenant()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "skipped", 3);
    let out = dir.path().join("history.om");
    let (ok, stderr) = backfill(&config, &out).await;
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("application sign-in history skipped") && stderr.contains("delegated"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("entra_external_id_active_users{"),
        "user insights are written"
    );
    assert!(
        !text.contains("entra_application_daily_"),
        "no application history"
    );
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_part_way_leaves_no_file() {
    let sim = start_sim(small_tenant()).await;
    // The daily reports succeed, then every user-insight request fails: part-way.
    sim.faults().inject(FaultRule {
        skip: 8,
        ..FaultRule::new("userInsights", FaultKind::Status(500))
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "broken", 0);
    let out = dir.path().join("history.om");
    std::fs::write(&out, "previous contents\n").unwrap();
    let (ok, stderr) = backfill(&config, &out).await;
    assert!(!ok, "backfill must fail:\n{stderr}");
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(
        stderr.contains("userInsights"),
        "the error names the report: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "previous contents\n",
        "the destination is untouched"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().all(|f| !f.contains("partial")),
        "no temporary file is left: {files:?}"
    );
}
