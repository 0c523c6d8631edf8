//! Fault injection over HTTP.

use std::time::{Duration, Instant};

use graph_sim::{FaultKind, FaultRule, SimConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use serde_json::Value;

use crate::common::{config, demo_token, get, graph_error, start, token_request};

#[tokio::test]
async fn status_fault_with_skip_and_times() {
    let sim = start(SimConfig {
        faults: vec!["applications:status=503:skip=1:times=2"
            .parse()
            .expect("rule")],
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = get(&sim, &token, "/v1.0/applications?$top=1").await;
        statuses.push(response.status().as_u16());
        if response.status() == 503 {
            let body: Value = response.json().await.expect("json");
            assert_eq!(graph_error(&body).0, "serviceNotAvailable");
        }
    }
    assert_eq!(statuses, vec![200, 503, 503, 200]);
    assert!(sim.faults().active().is_empty());
    let logged: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.route == "applications")
        .map(|r| r.status)
        .collect();
    assert_eq!(logged, statuses);
    sim.shutdown().await;
}

#[tokio::test]
async fn throttle_fault_sends_retry_after_verbatim() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    for value in ["2.5", "garbage", "-1"] {
        sim.faults().inject(
            FaultRule::new(
                "servicePrincipals",
                FaultKind::Throttle {
                    retry_after: Some(value.to_owned()),
                },
            )
            .times(1),
        );
        let response = get(&sim, &token, "/v1.0/servicePrincipals").await;
        assert_eq!(response.status(), 429);
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some(value)
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(graph_error(&body).0, "TooManyRequests");
    }
    sim.faults()
        .inject(FaultRule::new("*", FaultKind::Throttle { retry_after: None }).times(1));
    let response = get(&sim, &token, "/v1.0/servicePrincipals").await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(
        get(&sim, &token, "/v1.0/servicePrincipals").await.status(),
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn token_route_faults_use_the_aadsts_shape() {
    let sim = start(config()).await;
    sim.faults()
        .inject("token:status=500:times=1".parse().expect("rule"));
    let form = [
        ("client_id", DEMO_CLIENT_ID),
        ("client_secret", DEMO_CLIENT_SECRET),
        ("scope", "https://graph.microsoft.com/.default"),
        ("grant_type", "client_credentials"),
    ];
    let response = token_request(&sim, &form).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.expect("json");
    assert!(body["error_codes"][0].is_u64());
    assert!(body["error_description"]
        .as_str()
        .unwrap_or_default()
        .starts_with("AADSTS"));
    assert_eq!(token_request(&sim, &form).await.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_and_truncated_bodies_do_not_parse() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let whole = get(&sim, &token, "/v1.0/applications?$top=3")
        .await
        .bytes()
        .await
        .expect("body");

    sim.faults()
        .inject("applications:malformed:times=1".parse().expect("rule"));
    let response = get(&sim, &token, "/v1.0/applications?$top=3").await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.expect("body");
    assert!(serde_json::from_slice::<Value>(&body).is_err());

    sim.faults()
        .inject("applications:truncated:times=1".parse().expect("rule"));
    let response = get(&sim, &token, "/v1.0/applications?$top=3").await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.expect("body");
    assert_eq!(body.len(), whole.len() / 2);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_mid_body_breaks_the_stream() {
    let sim = start(SimConfig {
        faults: vec![FaultRule::new("applications", FaultKind::DropMidBody).times(1)],
        ..config()
    })
    .await;
    let token = demo_token(&sim).await;
    let response = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().await.is_err(),
        "the body must not complete"
    );
    // The next request is served normally on a new connection.
    let response = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(response.status(), 200);
    assert!(response.json::<Value>().await.is_ok());
    sim.shutdown().await;
}

#[tokio::test]
async fn latency_delays_then_serves_and_wildcards_match_every_route() {
    let sim = start(config()).await;
    sim.faults()
        .inject(FaultRule::new("*", FaultKind::Latency(Duration::from_millis(300))).times(2));
    let started = Instant::now();
    let token = demo_token(&sim).await;
    let response = get(&sim, &token, "/v1.0/applications?$top=1").await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
    let routes: Vec<String> = sim.requests().iter().map(|r| r.route.clone()).collect();
    assert_eq!(routes, vec!["token", "applications"]);
    sim.shutdown().await;
}
