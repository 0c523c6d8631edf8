//! The managed identity endpoints: IMDS (§11.6) and App Service / Container Apps (§11.7).

use graph_sim::{FaultKind, FaultRule, SimHandle, SimManagedIdentity};
use serde_json::Value;

use crate::common::{config, get, http, start};
use crate::token::jwt_claims;

const GRAPH: &str = "https://graph.microsoft.com";

/// The host's system-assigned identity.
const SYSTEM: &str = "5e29463d-71da-4fe0-8e69-999b57db23b0";

/// Two user-assigned identities.
const USER_A: &str = "a1a1a1a1-0000-4000-8000-0000000000a1";
/// See [`USER_A`].
const USER_B: &str = "b2b2b2b2-0000-4000-8000-0000000000b2";

fn user(client_id: &str, object_id: &str, name: &str) -> SimManagedIdentity {
    SimManagedIdentity::user_assigned(client_id, object_id, name, &["AuditLog.Read.All"])
}

/// A simulator whose host has the given identities.
async fn start_with(identities: Vec<SimManagedIdentity>) -> SimHandle {
    let mut cfg = config();
    cfg.managed_identities = identities;
    start(cfg).await
}

/// GET the IMDS endpoint with `query` (after the `?`), with or without `Metadata: true`.
async fn imds(sim: &SimHandle, query: &str, metadata: Option<&str>) -> reqwest::Response {
    let url = format!("{}?{query}", sim.imds_endpoint().expect("imds served"));
    let mut request = http().get(url);
    if let Some(value) = metadata {
        request = request.header("Metadata", value);
    }
    request.send().await.expect("imds request")
}

/// The `{"error", "error_description"}` of an identity endpoint error.
async fn identity_error(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error json");
    (
        status,
        body["error"].as_str().expect("error").to_owned(),
        body["error_description"]
            .as_str()
            .expect("error_description")
            .to_owned(),
    )
}

#[tokio::test]
async fn imds_answers_with_string_lifetimes_and_a_token_graph_accepts() {
    let sim = start_with(vec![SimManagedIdentity::system_assigned(
        SYSTEM,
        "0b0b0b0b-0000-4000-8000-000000000001",
        &["Application.Read.All"],
    )])
    .await;
    let response = imds(
        &sim,
        "api-version=2018-02-01&resource=https://graph.microsoft.com",
        Some("true"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "access_token",
            "expires_in",
            "expires_on",
            "not_before",
            "refresh_token",
            "resource",
            "token_type"
        ]
    );
    assert_eq!(body["refresh_token"], "");
    assert_eq!(body["resource"], GRAPH);
    assert_eq!(body["token_type"], "Bearer");
    let as_number = |field: &str| -> u64 {
        body[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} is a string: {body}"))
            .parse()
            .expect("numeric string")
    };
    assert_eq!(as_number("expires_in"), 3599);
    assert_eq!(as_number("expires_on") - as_number("not_before"), 3599);
    let token = body["access_token"].as_str().expect("token");
    let claims = jwt_claims(token);
    assert_eq!(claims["appid"], SYSTEM);
    assert_eq!(claims["aud"], GRAPH);
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(
        get(&sim, token, "/v1.0/applications?$top=1").await.status(),
        200
    );
    assert!(sim
        .requests()
        .iter()
        .any(|r| r.route == "imds" && r.status == 200));
    sim.shutdown().await;
}

#[tokio::test]
async fn imds_refuses_requests_without_the_metadata_header_or_a_resource() {
    let sim = start_with(vec![user(USER_A, "o-a", "a")]).await;
    let query = "api-version=2018-02-01&resource=https://graph.microsoft.com";
    for metadata in [None, Some("True"), Some("false")] {
        let (status, error, text) = identity_error(imds(&sim, query, metadata).await).await;
        assert_eq!(
            (status, error.as_str(), text.as_str()),
            (
                400,
                "bad_request_102",
                "Required metadata header not specified"
            ),
            "{metadata:?}"
        );
    }
    // A scope is not a resource.
    let (status, error, text) = identity_error(
        imds(
            &sim,
            "api-version=2018-02-01&resource=https://graph.microsoft.com/.default",
            Some("true"),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, error.as_str()),
        (400, "invalid_resource"),
        "{text}"
    );
    assert!(text.starts_with("AADSTS500011"), "{text}");
    let (status, _, text) =
        identity_error(imds(&sim, "resource=https://graph.microsoft.com", Some("true")).await)
            .await;
    assert_eq!(status, 400);
    assert!(text.contains("api-version"), "{text}");
    let (status, _, text) =
        identity_error(imds(&sim, "api-version=2018-02-01", Some("true")).await).await;
    assert_eq!(status, 400);
    assert!(text.contains("resource"), "{text}");
    let post = http()
        .post(sim.imds_endpoint().expect("imds"))
        .header("Metadata", "true")
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), 405);
    sim.shutdown().await;
}

#[tokio::test]
async fn imds_selects_user_assigned_identities() {
    let a = user(USER_A, "0a0a0a0a-0000-4000-8000-00000000000a", "identity-a");
    let b = user(USER_B, "0b0b0b0b-0000-4000-8000-00000000000b", "identity-b");
    let sim = start_with(vec![a.clone(), b.clone()]).await;
    let base = "api-version=2018-02-01&resource=https://graph.microsoft.com";
    let (status, error, text) = identity_error(imds(&sim, base, Some("true")).await).await;
    assert_eq!((status, error.as_str()), (400, "invalid_request"));
    assert!(
        text.starts_with("Multiple user assigned identities exist"),
        "{text}"
    );
    for (selector, expected) in [
        (format!("client_id={USER_B}"), USER_B),
        (format!("object_id={}", a.object_id), USER_A),
        (format!("msi_res_id={}", b.resource_id), USER_B),
    ] {
        let response = imds(&sim, &format!("{base}&{selector}"), Some("true")).await;
        assert_eq!(response.status(), 200, "{selector}");
        let body: Value = response.json().await.expect("json");
        let claims = jwt_claims(body["access_token"].as_str().expect("token"));
        assert_eq!(claims["appid"], expected, "{selector}");
        assert_eq!(claims["roles"][0], "AuditLog.Read.All");
    }
    let (status, _, text) = identity_error(
        imds(
            &sim,
            &format!("{base}&client_id=99999999-0000-4000-8000-000000000000"),
            Some("true"),
        )
        .await,
    )
    .await;
    assert_eq!((status, text.as_str()), (400, "Identity not found"));
    sim.shutdown().await;
}

#[tokio::test]
async fn imds_faults_let_clients_test_their_retries() {
    let sim = start_with(vec![user(USER_A, "o-a", "a")]).await;
    let query = "api-version=2018-02-01&resource=https://graph.microsoft.com";
    sim.imds_faults()
        .inject(FaultRule::new("imds", FaultKind::Status(410)).times(1));
    sim.imds_faults()
        .inject(FaultRule::new("*", FaultKind::Status(429)).times(1));
    assert_eq!(imds(&sim, query, Some("true")).await.status(), 410);
    assert_eq!(imds(&sim, query, Some("true")).await.status(), 429);
    assert_eq!(imds(&sim, query, Some("true")).await.status(), 200);
    for status in [404, 500, 503] {
        sim.imds_faults()
            .inject(FaultRule::new("imds", FaultKind::Status(status)).times(1));
        let (got, _, _) = identity_error(imds(&sim, query, Some("true")).await).await;
        assert_eq!(got, status);
    }
    // Graph faults do not touch IMDS.
    sim.faults()
        .inject(FaultRule::new("*", FaultKind::Status(500)));
    assert_eq!(imds(&sim, query, Some("true")).await.status(), 200);
    let statuses: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.route == "imds")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [410, 429, 200, 404, 500, 503, 200]);
    sim.shutdown().await;
}

#[tokio::test]
async fn app_service_requires_the_current_identity_header() {
    let sim = start_with(vec![
        SimManagedIdentity::system_assigned(SYSTEM, "o-sys", &["Reports.Read.All"]),
        user(USER_A, "o-a", "a"),
    ])
    .await;
    let endpoint = sim.identity_endpoint().expect("identity endpoint served");
    assert!(endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/msi/token"));
    assert_ne!(Some(endpoint.as_str()), sim.imds_endpoint().as_deref());
    let call = |header: Option<String>, query: String| {
        let mut request = http().get(format!("{endpoint}?{query}"));
        if let Some(value) = header {
            request = request.header("X-IDENTITY-HEADER", value);
        }
        async move { request.send().await.expect("identity request") }
    };
    let query = format!("resource={GRAPH}&api-version=2019-08-01");
    for header in [None, Some("wrong".to_owned())] {
        let (status, _, text) = identity_error(call(header, query.clone()).await).await;
        assert_eq!(status, 401, "{text}");
        assert!(text.contains("X-IDENTITY-HEADER"), "{text}");
    }
    let response = call(Some(sim.identity_header()), query.clone()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["client_id"], SYSTEM);
    assert_eq!(body["resource"], GRAPH);
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_on"]
        .as_str()
        .expect("string")
        .parse::<u64>()
        .is_ok());
    assert!(body.get("expires_in").is_none());
    let claims = jwt_claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["roles"][0], "Reports.Read.All");

    let response = call(
        Some(sim.identity_header()),
        format!("{query}&client_id={USER_A}"),
    )
    .await;
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["client_id"], USER_A);

    let (status, _, text) = identity_error(
        call(
            Some(sim.identity_header()),
            format!("resource={GRAPH}&api-version=2017-09-01"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("2019-08-01"), "{text}");

    let old = sim.identity_header();
    let new = sim.rotate_identity_header();
    assert_ne!(old, new);
    assert_eq!(call(Some(old), query.clone()).await.status(), 401);
    assert_eq!(call(Some(new), query.clone()).await.status(), 200);

    sim.identity_faults()
        .inject(FaultRule::new("identity", FaultKind::Status(503)).times(1));
    assert_eq!(call(Some(sim.identity_header()), query).await.status(), 503);
    sim.shutdown().await;
}

#[tokio::test]
async fn no_identity_endpoints_without_managed_identities() {
    let sim = start(config()).await;
    assert_eq!(sim.imds_endpoint(), None);
    assert_eq!(sim.identity_endpoint(), None);
    sim.shutdown().await;
}
