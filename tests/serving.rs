//! `/metrics` over HTTP as Prometheus sees it: the pre-rendered body in both encodings, and
//! time-until-expiry values that keep moving between polls.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(30);

/// Values computed from the clock at render time, so two renders may differ in them.
const FOLLOWS_CLOCK: &str = "entra_app_credential_expiry_remaining_seconds";

async fn start_credentials(label: &str) -> (graph_sim::SimHandle, Exporter) {
    let sim = start_sim(small_tenant()).await;
    let exporter = Exporter::start(only(
        config_for(
            &sim,
            label,
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &["credentials"],
    ))
    .await;
    exporter
        .wait_for("first poll", WAIT, |m| {
            m.up(label, "credentials") == Some(1.0)
        })
        .await;
    (sim, exporter)
}

/// GETs `/metrics` with `accept` as Accept-Encoding; returns the headers and raw body (this
/// reqwest is built without gzip support, so nothing is decoded on the way).
async fn get(exporter: &Exporter, accept: Option<&str>) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = reqwest::Client::new().get(format!("{}/metrics", exporter.url));
    if let Some(accept) = accept {
        request = request.header("Accept-Encoding", accept);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

/// Every series but those that follow the clock, keyed by name and labels.
fn fixed_series(m: &Metrics) -> BTreeMap<(String, BTreeMap<String, String>), f64> {
    m.series
        .iter()
        .filter(|s| s.name != FOLLOWS_CLOCK)
        .map(|s| ((s.name.clone(), s.labels.clone()), s.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_identity_bodies_hold_the_same_metrics() {
    let (sim, exporter) = start_credentials("encodings").await;

    let (plain_headers, plain) = get(&exporter, None).await;
    assert!(plain_headers.get("content-encoding").is_none());
    assert_eq!(plain_headers["vary"], "accept-encoding");
    assert_eq!(
        plain_headers["content-length"].to_str().unwrap(),
        plain.len().to_string()
    );
    let (gzip_headers, gzip) = get(&exporter, Some("gzip")).await;
    assert_eq!(gzip_headers["content-encoding"], "gzip");
    assert_eq!(gzip_headers["vary"], "accept-encoding");
    assert_eq!(
        gzip_headers["content-length"].to_str().unwrap(),
        gzip.len().to_string()
    );
    assert!(gzip_headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let mut unzipped = String::new();
    flate2::read::GzDecoder::new(&gzip[..])
        .read_to_string(&mut unzipped)
        .unwrap();

    let plain = Metrics::parse(std::str::from_utf8(&plain).unwrap());
    let unzipped = Metrics::parse(&unzipped);
    assert!(plain.named(FOLLOWS_CLOCK).len() > 10, "{}", plain.text);
    assert_eq!(fixed_series(&plain), fixed_series(&unzipped));
    let keys = |m: &Metrics| -> Vec<BTreeMap<String, String>> {
        m.named(FOLLOWS_CLOCK)
            .iter()
            .map(|s| s.labels.clone())
            .collect()
    };
    assert_eq!(keys(&plain), keys(&unzipped));

    // `q=0` refuses gzip.
    let (headers, body) = get(&exporter, Some("gzip;q=0, identity")).await;
    assert!(headers.get("content-encoding").is_none());
    assert!(std::str::from_utf8(&body).is_ok());

    exporter.stop().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_until_expiry_moves_between_polls() {
    let (sim, exporter) = start_credentials("clock").await;
    let first = exporter.scrape().await;
    let series = first.named(FOLLOWS_CLOCK)[0].clone();
    let labels: Vec<(&str, &str)> = series
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // The credentials collector polls once an hour by default, so the change comes from the clock.
    let later = exporter
        .wait_for("the next render", WAIT, |m| {
            m.value(FOLLOWS_CLOCK, &labels)
                .is_some_and(|v| v < series.value)
        })
        .await;
    let last_poll = |m: &Metrics| {
        m.value(
            "entra_collector_last_success_timestamp_seconds",
            &[("tenant", "clock"), ("collector", "credentials")],
        )
    };
    assert_eq!(last_poll(&first), last_poll(&later), "no poll in between");

    exporter.stop().await;
    sim.shutdown().await;
}
