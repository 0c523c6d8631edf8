//! The identity and access reports budget (§10.2: 5 requests per 10 s per app per tenant):
//! the sixth request gets the §10.2 429 with `Retry-After`, succeeds after it, other clients
//! and other services are unaffected, and the request log records the 429s.

use std::time::Duration;

use graph_sim::{ReportsThrottleConfig, SimClient, SimConfig, SimHandle};
use serde_json::Value;

use crate::common::{config, demo_token, get, start, token_for};

/// A second app registration of the same tenant.
const OTHER_APP: &str = "8c8c8c8c-7777-4888-8999-aaaaaaaaaaaa";

/// Report paths that share the budget, one per family.
const REPORTS: [&str; 6] = [
    "/beta/reports/getAzureADApplicationSignInSummary(period='D7')",
    "/v1.0/reports/getRelyingPartyDetailedSummary(period='D1')",
    "/beta/reports/getCredentialUsageSummary(period='D7')",
    "/beta/reports/getCredentialUserRegistrationCount",
    "/beta/reports/authenticationMethods/userMfaSignInSummary",
    "/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=5",
];

/// The `Retry-After` of a 429, after checking the §10.2 body.
async fn throttled(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), 429);
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .expect("integer Retry-After");
    let body: Value = response.json().await.expect("json");
    let error = &body["error"];
    assert_eq!(error["code"], "TooManyRequests");
    assert_eq!(error["message"], "Please retry again later.");
    let inner = &error["innerError"];
    assert_eq!(inner["code"], "429");
    assert_eq!(inner["status"], "429");
    assert_eq!(inner["message"], "Please retry after");
    assert!(inner["request-id"].is_string() && inner["date"].is_string());
    retry_after
}

/// A simulator with the second client.
async fn sim_with(throttle: ReportsThrottleConfig) -> SimHandle {
    let mut cfg = SimConfig {
        reports_throttle: throttle,
        ..config()
    };
    cfg.clients.push(SimClient::new(
        OTHER_APP,
        "s",
        &["Reports.Read.All", "AuditLog.Read.All"],
    ));
    start(cfg).await
}

#[tokio::test]
async fn sixth_request_in_ten_seconds_is_throttled_per_client() {
    let sim = sim_with(ReportsThrottleConfig::default()).await;
    let token = demo_token(&sim).await;
    // Five different reports share one budget.
    for path in &REPORTS[..5] {
        assert_eq!(get(&sim, &token, path).await.status(), 200, "{path}");
    }
    let retry_after = throttled(get(&sim, &token, REPORTS[5]).await).await;
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    // Still throttled: refused requests do not use up the budget, but do not free it either.
    throttled(get(&sim, &token, REPORTS[0]).await).await;
    // Another app of the same tenant has its own budget.
    let other = token_for(&sim, OTHER_APP, "s").await;
    for path in &REPORTS[1..] {
        assert_eq!(get(&sim, &other, path).await.status(), 200, "{path}");
    }
    // Directory routes are outside this service.
    assert_eq!(
        get(&sim, &token, "/v1.0/applications?$top=5")
            .await
            .status(),
        200
    );
    // The request log shows the 429s like any other reply.
    let statuses: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.route != "token" && r.route != "applications")
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 429, 429, 200, 200, 200, 200, 200]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn succeeds_after_retry_after() {
    let sim = sim_with(ReportsThrottleConfig::with_limit(5, Duration::from_secs(2))).await;
    let token = demo_token(&sim).await;
    for path in &REPORTS[..5] {
        assert_eq!(get(&sim, &token, path).await.status(), 200, "{path}");
    }
    let retry_after = throttled(get(&sim, &token, REPORTS[5]).await).await;
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(get(&sim, &token, REPORTS[5]).await.status(), 200);
    sim.shutdown().await;
}
