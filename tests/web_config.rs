//! `--web.config.file`: TLS and basic auth on `/metrics`, checked with a real Prometheus
//! scraping over TLS with the right password, and refused with a wrong one.

mod common;

use std::time::{Duration, Instant};

use common::prometheus::start_prometheus;
use common::*;
use entra_exporter::web_config::WebConfig;

const WAIT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_over_tls_with_basic_auth_and_a_wrong_password_gets_401() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = common::certs::ca_and_server(&["127.0.0.1"]);
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();
    std::fs::write(dir.path().join("server.pem"), cert).unwrap();
    std::fs::write(dir.path().join("server.key"), key).unwrap();
    // Cost 4 keeps the test fast; real files use 10 or more.
    let hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let web_file = dir.path().join("web.yml");
    // Relative paths resolve against the web config file, as in exporter-toolkit.
    std::fs::write(
        &web_file,
        format!(
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  min_version: TLS12\n\
             http_server_config:\n  headers:\n    X-Frame-Options: deny\n\
             basic_auth_users:\n  prometheus: {hash}\n"
        ),
    )
    .unwrap();

    let sim = start_sim(small_tenant()).await;
    let mut config = only(
        config_for(
            &sim,
            "t",
            graph_sim::DEMO_CLIENT_ID,
            graph_sim::DEMO_CLIENT_SECRET,
        ),
        &["credentials"],
    );
    config.web = Some(WebConfig::load(&web_file).unwrap());
    let exporter = Exporter::start(config).await;
    let https = exporter.url.replace("http://", "https://");
    let address = https.trim_start_matches("https://").to_owned();

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    // Wait for the listener, then check each answer.
    let deadline = Instant::now() + WAIT;
    let ok = loop {
        match client
            .get(format!("{https}/metrics"))
            .basic_auth("prometheus", Some(PASSWORD))
            .send()
            .await
        {
            Ok(r) if r.status() == 200 => break r,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("no 200 from the TLS listener: {other:?}"),
        }
    };
    assert_eq!(ok.headers()["x-frame-options"], "deny");
    for (user, password) in [("prometheus", "wrong"), ("nobody", PASSWORD)] {
        let r = client
            .get(format!("{https}/metrics"))
            .basic_auth(user, Some(password))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{user}/{password}");
        assert_eq!(r.headers()["www-authenticate"], "Basic");
    }
    let r = client.get(format!("{https}/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 401, "no credentials");
    let r = client.get(format!("{https}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200, "probes need no password");
    assert!(
        reqwest::get(format!("{}/metrics", exporter.url))
            .await
            .is_err(),
        "plain HTTP is not served on the TLS port"
    );

    // A real Prometheus: one job with the right password, one with a wrong one.
    let job = |name: &str, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    \
             tls_config:\n      ca_file: {}\n    basic_auth:\n      username: prometheus\n      password: '{password}'\n    \
             static_configs:\n      - targets: ['{address}']\n",
            dir.path().join("ca.pem").display()
        )
    };
    let prometheus_yml = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n{}{}",
        job("right", PASSWORD),
        job("wrong", "not the password")
    );
    let data = dir.path().join("data");
    let prometheus = start_prometheus(dir.path(), &data, &prometheus_yml).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let targets: serde_json::Value = reqwest::get(format!("{}/api/v1/targets", prometheus.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let health = |job: &str| {
            targets["data"]["activeTargets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["labels"]["job"] == job)
                .map(|t| {
                    (
                        t["health"].as_str().unwrap_or("").to_owned(),
                        t["lastError"].as_str().unwrap_or("").to_owned(),
                    )
                })
        };
        if let (Some((right, _)), Some((wrong, error))) = (health("right"), health("wrong")) {
            if right == "up" && wrong == "down" {
                assert!(
                    error.contains("401"),
                    "the wrong password is refused with 401: {error}"
                );
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape as expected: {targets}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // And what it scraped is the exporter's data.
    let body: serde_json::Value = reqwest::get(format!(
        "{}/api/v1/query?query=entra_collector_up{{job=\"right\"}}",
        prometheus.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        body["data"]["result"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
    exporter.stop().await;
}

#[test]
fn bad_web_configs_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "tls_server_config:\n  key_file: k\n",
            "tls_server_config.cert_file: missing",
        ),
        (
            "tls_server_config:\n  cert_file: nope.pem\n  key_file: nope.key\n",
            "tls_server_config.cert_file: cannot read",
        ),
        (
            "basic_auth_users:\n  alice: plain-text\n",
            "basic_auth_users.alice: is not a bcrypt hash",
        ),
        (
            "http_server_config:\n  headers:\n    Server: x\n",
            "http_server_config.headers.Server: cannot be set",
        ),
        ("tls_server_confg: {}\n", "unknown field `tls_server_confg`"),
    ];
    for (yaml, expected) in cases {
        let path = dir.path().join("web.yml");
        std::fs::write(&path, yaml).unwrap();
        let err = WebConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{yaml}: expected {expected:?} in {err:?}"
        );
        assert!(err.contains("web.yml"), "{err}");
    }
}
