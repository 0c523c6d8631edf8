//! Helpers shared by the HTTP tests: start a simulator on 127.0.0.1:0, get tokens, page.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use graph_sim::{Quirks, SimConfig, SimHandle, Simulator, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};
use serde_json::Value;

/// A fixed tenant "now" (2025-06-03T07:41:12Z) so generated tenants are comparable.
pub fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_748_936_472)
}

/// Demo defaults with a fixed "now".
pub fn config() -> SimConfig {
    SimConfig {
        now: fixed_now(),
        ..SimConfig::demo()
    }
}

/// Starts a simulator on an ephemeral loopback port.
pub async fn start(config: SimConfig) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    Simulator::start(config, listener)
        .await
        .expect("start simulator")
}

/// Starts the demo tenant (fixed "now") with some of Graph's quirks switched.
pub async fn start_with_quirks(quirks: Quirks) -> SimHandle {
    start(SimConfig { quirks, ..config() }).await
}

/// An HTTP client that ignores proxy settings of the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
}

/// Posts a token request with the given form fields.
pub async fn token_request(sim: &SimHandle, form: &[(&str, &str)]) -> reqwest::Response {
    http()
        .post(sim.token_url())
        .form(form)
        .send()
        .await
        .expect("token request")
}

/// A token for `client_id`/`secret`, panicking on failure.
pub async fn token_for(sim: &SimHandle, client_id: &str, secret: &str) -> String {
    let response = token_request(
        sim,
        &[
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("token json");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A token for the demo client.
pub async fn demo_token(sim: &SimHandle) -> String {
    token_for(sim, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET).await
}

/// GET `{base}{path}` with a bearer token.
pub async fn get(sim: &SimHandle, token: &str, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
}

/// GET `{base}{path}` and parse the JSON body, asserting 200.
pub async fn get_json(sim: &SimHandle, token: &str, path: &str) -> Value {
    let response = get(sim, token, path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.expect("json body")
}

/// Follows `@odata.nextLink` from `path`, returning every page.
pub async fn all_pages(sim: &SimHandle, token: &str, path: &str) -> Vec<Value> {
    let mut pages = vec![get_json(sim, token, path).await];
    while let Some(next) = pages.last().and_then(|p| p["@odata.nextLink"].as_str()) {
        let relative = next
            .strip_prefix(sim.base_url())
            .unwrap_or_else(|| panic!("nextLink {next} is not absolute on the simulator"))
            .to_owned();
        pages.push(get_json(sim, token, &relative).await);
        assert!(pages.len() < 10_000, "paging does not end");
    }
    pages
}

/// The Graph error body's `error` object, checking the §10.1 shape.
pub fn graph_error(body: &Value) -> (&str, &str) {
    let error = &body["error"];
    let inner = &error["innerError"];
    let date = inner["date"].as_str().expect("innerError.date");
    assert_eq!(date.len(), 19, "date without zone: {date}");
    assert!(!date.ends_with('Z'));
    assert!(inner["request-id"].is_string());
    assert!(inner["client-request-id"].is_string());
    (
        error["code"].as_str().expect("code"),
        error["message"].as_str().expect("message"),
    )
}
