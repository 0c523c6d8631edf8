//! Fault injection over HTTP.

use std::time::{Duration, Instant};

use graph_sim::{FaultKind, FaultRule, SimConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use serde_json::Value;

use crate::common::{config, demo_token, get, get_json, graph_error, start, token_request};

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

#[tokio::test]
async fn slow_body_sends_headers_then_trickles_the_real_body() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let path = "/v1.0/applications?$top=2&$select=id,appId";
    let whole = get(&sim, &token, path).await.bytes().await.expect("body");
    let gap = Duration::from_millis(40);
    sim.faults()
        .inject(FaultRule::new("applications", FaultKind::SlowBody(gap)).times(1));
    let started = Instant::now();
    let mut response = get(&sim, &token, path).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(whole.len() as u64));
    let mut body = Vec::new();
    let mut pieces = 0;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        assert!(chunk.len() <= graph_sim::SLOW_BODY_CHUNK, "{}", chunk.len());
        body.extend_from_slice(&chunk);
        pieces += 1;
    }
    assert_eq!(body, whole.to_vec(), "the real body, only slower");
    let expected_pieces = whole.len().div_ceil(graph_sim::SLOW_BODY_CHUNK);
    assert_eq!(pieces, expected_pieces);
    assert!(started.elapsed() >= gap * (expected_pieces as u32 - 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn html_and_wrong_shape_answer_200_with_bodies_a_collection_parser_refuses() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    sim.faults()
        .inject("applications:html:times=1".parse().expect("rule"));
    let response = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("text");
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = response.text().await.expect("body");
    assert!(body.starts_with("<!DOCTYPE html>"), "{body}");

    sim.faults()
        .inject("applications:wrongshape:times=1".parse().expect("rule"));
    let response = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().expect("text");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.expect("valid JSON");
    assert!(body["value"].is_object(), "{body}");
    sim.shutdown().await;
}

#[tokio::test]
async fn huge_body_streams_without_length_and_stops_when_the_client_does() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    // Read to the end: about the announced size, and valid JSON.
    let size = 4 << 20;
    sim.faults()
        .inject(FaultRule::new("applications", FaultKind::HugeBody(size)).times(1));
    let response = get(&sim, &token, "/v1.0/applications").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), None, "chunked, no length");
    let body = response.bytes().await.expect("body");
    assert!(body.len() as u64 <= size && body.len() as u64 > size - (64 << 10));
    let page: Value = serde_json::from_slice(&body).expect("valid JSON when read whole");
    assert!(page["value"].as_array().is_some_and(|v| v.len() > 1000));
    assert_eq!(sim.faults().streamed_bytes(), body.len() as u64);

    // Stop after 1 MiB of a 1 GiB body: the generator notices and stops.
    sim.faults()
        .inject(FaultRule::new("applications", FaultKind::HugeBody(1 << 30)).times(1));
    let mut response = get(&sim, &token, "/v1.0/applications").await;
    let mut read = 0;
    while read < 1 << 20 {
        read += response.chunk().await.expect("chunk").expect("more").len();
    }
    drop(response);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = sim.faults().streamed_bytes();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = sim.faults().streamed_bytes();
        if now == last {
            break;
        }
        assert!(Instant::now() < deadline, "the generator keeps streaming");
        last = now;
    }
    let second = last - body.len() as u64;
    assert!(
        second < 64 << 20,
        "{second} bytes streamed for a client that read 1 MiB"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn nextlink_faults_rewrite_the_link_of_the_real_page() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    let path = "/v1.0/applications?$top=2&$select=id";
    let real = get_json(&sim, &token, path).await;

    sim.faults()
        .inject("applications:nextlink=self:times=1".parse().expect("rule"));
    let page = get_json(&sim, &token, path).await;
    assert_eq!(page["value"], real["value"]);
    assert_eq!(
        page["@odata.nextLink"].as_str(),
        Some(format!("{}{path}", sim.base_url()).as_str())
    );

    let elsewhere = "http://127.0.0.1:9/v1.0/applications?$skiptoken=x";
    sim.faults().inject(
        format!("applications:times=1:nextlink={elsewhere}")
            .parse()
            .expect("rule"),
    );
    let page = get_json(&sim, &token, path).await;
    assert_eq!(page["value"], real["value"]);
    assert_eq!(page["@odata.nextLink"].as_str(), Some(elsewhere));
    // Errors are left alone.
    sim.faults()
        .inject("applications:nextlink=self:times=1".parse().expect("rule"));
    let response = get(&sim, &token, "/v1.0/applications?$top=0").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert!(body.get("@odata.nextLink").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn revoke_makes_this_and_every_earlier_token_fail() {
    let sim = start(config()).await;
    let token = demo_token(&sim).await;
    assert_eq!(
        get(&sim, &token, "/v1.0/applications?$top=1")
            .await
            .status(),
        200
    );
    sim.faults()
        .inject("applications:revoke:times=1".parse().expect("rule"));
    let response = get(&sim, &token, "/v1.0/applications?$top=1").await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("json");
    assert_eq!(graph_error(&body).0, "InvalidAuthenticationToken");
    assert_eq!(
        get(&sim, &token, "/v1.0/applications?$top=1")
            .await
            .status(),
        401,
        "the old token stays revoked"
    );
    let fresh = demo_token(&sim).await;
    assert_eq!(
        get(&sim, &fresh, "/v1.0/applications?$top=1")
            .await
            .status(),
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn skewed_tokens_have_shifted_times_and_graph_accepts_them() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    let sim = start(config()).await;
    for (rule, skew) in [("token:skew=+10m", 600_i64), ("token:skew=-10m", -600)] {
        sim.faults().clear();
        sim.faults().inject(rule.parse().expect("rule"));
        let response = token_request(
            &sim,
            &[
                ("client_id", DEMO_CLIENT_ID),
                ("client_secret", DEMO_CLIENT_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["expires_in"], 3599,
            "expires_in is relative: unshifted"
        );
        let token = body["access_token"].as_str().expect("token").to_owned();
        let payload = token.split('.').nth(1).expect("JWT payload");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
                .expect("claims");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64;
        let nbf = claims["nbf"].as_i64().expect("nbf");
        assert!(
            (nbf - (now + skew)).abs() <= 5,
            "{rule}: nbf {nbf}, now {now}"
        );
        assert_eq!(claims["exp"].as_i64(), Some(nbf + 3599));
        assert_eq!(
            get(&sim, &token, "/v1.0/applications?$top=1")
                .await
                .status(),
            200,
            "{rule}: Graph runs on the same clock as the token endpoint"
        );
    }
    sim.shutdown().await;
}
