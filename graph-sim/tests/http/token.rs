//! The token endpoint (§11.1, §11.3, §11.4).

use base64::Engine as _;
use graph_sim::{
    SimClient, SimConfig, ALL_ROLES, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_DOMAIN,
};
use serde_json::Value;

use crate::common::{config, http, start, token_request};

const SCOPE: &str = "https://graph.microsoft.com/.default";

/// The JSON payload of a JWT, decoded without verification.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims json")
}

/// Checks the §11.4 error shape and returns (status, error, code, description).
pub async fn token_error(response: reqwest::Response) -> (u16, String, u64, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("error json");
    for field in [
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
        "error_uri",
    ] {
        assert!(!body[field].is_null(), "missing {field} in {body}");
    }
    let code = body["error_codes"][0].as_u64().expect("numeric code");
    let description = body["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    for line in ["\r\nTrace ID: ", "\r\nCorrelation ID: ", "\r\nTimestamp: "] {
        assert!(description.contains(line), "{description}");
    }
    let ts = body["timestamp"].as_str().unwrap_or_default();
    assert_eq!(ts.len(), 20, "{ts}");
    assert_eq!(&ts[10..11], " ");
    assert!(ts.ends_with('Z'));
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        code,
        description,
    )
}

#[tokio::test]
async fn issues_bearer_tokens_with_numeric_lifetimes_and_app_claims() {
    let sim = start(config()).await;
    let response = token_request(
        &sim,
        &[
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"].as_u64(), Some(3599));
    assert_eq!(body["ext_expires_in"].as_u64(), Some(3599));
    let claims = jwt_claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["tid"], sim.tenant().tenant_id);
    assert_eq!(claims["appid"], DEMO_CLIENT_ID);
    assert_eq!(claims["azp"], DEMO_CLIENT_ID);
    assert_eq!(claims["idtyp"], "app");
    let roles: Vec<&str> = claims["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(roles, ALL_ROLES);
    let lifetime = claims["exp"].as_u64().unwrap_or(0) - claims["iat"].as_u64().unwrap_or(0);
    assert_eq!(lifetime, 3599);
    sim.shutdown().await;
}

#[tokio::test]
async fn accepts_basic_auth_domain_tenants_and_every_graph_scope() {
    let sim = start(config()).await;
    let url = format!("{}/{DEMO_TENANT_DOMAIN}/oauth2/v2.0/token", sim.base_url());
    let own_scope = format!("{}/.default", sim.base_url());
    for scope in [
        SCOPE,
        "00000003-0000-0000-c000-000000000000/.default",
        own_scope.as_str(),
    ] {
        let response = http()
            .post(&url)
            .basic_auth(DEMO_CLIENT_ID, Some(DEMO_CLIENT_SECRET))
            .form(&[("scope", scope), ("grant_type", "client_credentials")])
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200, "{scope}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn every_documented_error_code() {
    let mut cfg = config();
    cfg.clients.push(SimClient {
        secret_expired: true,
        ..SimClient::new(
            "0a0a0a0a-1111-4222-8333-444444444444",
            "expired~secret",
            &["Application.Read.All"],
        )
    });
    let sim = start(cfg).await;
    let base = |over: &[(&'static str, &'static str)]| {
        let mut form = vec![
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
        ];
        for (k, v) in over {
            form.retain(|(fk, _)| fk != k);
            if !v.is_empty() {
                form.push((k, v));
            }
        }
        form
    };
    // (form, expected status, expected `error`, expected AADSTS code)
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str, u64);
    let cases: Vec<Case> = vec![
        (
            base(&[("client_secret", "wrong~secret")]),
            401,
            "invalid_client",
            7_000_215,
        ),
        (
            base(&[
                ("client_id", "0a0a0a0a-1111-4222-8333-444444444444"),
                ("client_secret", "expired~secret"),
            ]),
            401,
            "invalid_client",
            7_000_222,
        ),
        (
            base(&[("client_secret", "")]),
            401,
            "invalid_client",
            7_000_218,
        ),
        (
            base(&[("client_id", "99999999-9999-4999-8999-999999999999")]),
            400,
            "unauthorized_client",
            700_016,
        ),
        (
            base(&[("scope", "https://graph.microsoft.com/User.Read")]),
            400,
            "invalid_scope",
            70_011,
        ),
        (
            base(&[("grant_type", "password")]),
            400,
            "unsupported_grant_type",
            70_003,
        ),
    ];
    for (form, status, error, code) in cases {
        let (got_status, got_error, got_code, description) =
            token_error(token_request(&sim, &form).await).await;
        assert_eq!(
            (got_status, got_error.as_str(), got_code),
            (status, error, code),
            "{form:?}: {description}"
        );
        assert!(!description.contains(DEMO_CLIENT_SECRET));
        assert!(!description.contains("wrong~secret"));
        assert!(!description.contains("expired~secret"));
    }

    let unknown_tenant = http()
        .post(format!(
            "{}/11111111-2222-4333-8444-555555555555/oauth2/v2.0/token",
            sim.base_url()
        ))
        .form(&base(&[]))
        .send()
        .await
        .expect("send");
    let (status, error, code, _) = token_error(unknown_tenant).await;
    assert_eq!(
        (status, error.as_str(), code),
        (400, "invalid_request", 90_002)
    );

    let get = http().get(sim.token_url()).send().await.expect("send");
    let (status, _, code, _) = token_error(get).await;
    assert_eq!((status, code), (400, 900_561));
    sim.shutdown().await;
}

#[tokio::test]
async fn descriptions_never_echo_a_secret_from_any_field() {
    let sim = start(config()).await;
    let secret = "hunter2~very-secret-value";
    let response = token_request(
        &sim,
        &[
            ("client_id", secret),
            ("client_secret", secret),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    let text = response.text().await.expect("body");
    assert!(text.contains("AADSTS700016"), "{text}");
    assert!(!text.contains(secret), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_client_status_is_configurable() {
    let mut cfg = SimConfig { ..config() };
    cfg.quirks.invalid_client_status = 400;
    let sim = start(cfg).await;
    let response = token_request(
        &sim,
        &[
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", "nope"),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(response.status(), 400);
    sim.shutdown().await;
}
