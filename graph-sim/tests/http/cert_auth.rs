//! Certificate credentials at the token endpoint (§11.2, §11.4): both assertion forms, and
//! every way an assertion is refused.

use graph_sim::{SimClient, SimConfig, DEMO_TENANT_DOMAIN};
use jsonwebtoken::Header;
use serde_json::{json, Value};

use crate::common::{config, get, start, token_request};
use crate::keys::{assertion, header, now, sign, ClientKey, Form, TestCertificate};
use crate::token::{jwt_claims, token_error};

/// Client id of the certificate-only app.
const CLIENT: &str = "c3e7a1b2-0000-4000-8000-00000000c001";

const SCOPE: &str = "https://graph.microsoft.com/.default";

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A config whose app has no secret, only `cert`.
fn cert_config(cert: &TestCertificate) -> SimConfig {
    let mut cfg = config();
    cfg.clients.push(
        SimClient::new(CLIENT, "", &["Application.Read.All"]).with_certificate(cert.sim.clone()),
    );
    cfg
}

/// The token request form for `assertion`.
fn form(assertion: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", CLIENT.to_owned()),
        ("scope", SCOPE.to_owned()),
        ("grant_type", "client_credentials".to_owned()),
        ("client_assertion_type", JWT_BEARER.to_owned()),
        ("client_assertion", assertion.to_owned()),
    ]
}

/// Posts `assertion` and returns the response.
async fn present(sim: &graph_sim::SimHandle, assertion: &str) -> reqwest::Response {
    let form = form(assertion);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    token_request(sim, &pairs).await
}

/// Posts `assertion`, expects an error and returns (status, code, description); checks that
/// the assertion is never echoed.
async fn refused(sim: &graph_sim::SimHandle, assertion: &str) -> (u16, u64, String) {
    let (status, _, code, description) = token_error(present(sim, assertion).await).await;
    assert!(!description.contains(assertion), "{description}");
    (status, code, description)
}

/// Claims of a valid assertion for the simulator's token URL.
fn claims(sim: &graph_sim::SimHandle) -> Value {
    let now = now();
    json!({
        "aud": sim.token_url(),
        "iss": CLIENT,
        "sub": CLIENT,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": now,
        "exp": now + 600,
    })
}

#[tokio::test]
async fn current_and_legacy_assertions_get_tokens_marked_as_certificate_auth() {
    let key = ClientKey::generate();
    let cert = key.valid_certificate();
    let sim = start(cert_config(&cert)).await;
    let domain_url = format!("{}/{DEMO_TENANT_DOMAIN}/oauth2/v2.0/token", sim.base_url());
    for (form, aud) in [
        (Form::Current, sim.token_url()),
        (Form::Legacy, sim.token_url()),
        (Form::Current, domain_url),
    ] {
        let response = present(&sim, &assertion(&key, &cert, form, CLIENT, &aud)).await;
        assert_eq!(response.status(), 200, "{form:?} {aud}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["expires_in"].as_u64(), Some(3599));
        let token = body["access_token"].as_str().expect("token");
        let claims = jwt_claims(token);
        assert_eq!(claims["appid"], CLIENT);
        assert_eq!(claims["appidacr"], "2");
        assert_eq!(claims["roles"], json!(["Application.Read.All"]));
        let apps = get(&sim, token, "/v1.0/applications?$top=1").await;
        assert_eq!(apps.status(), 200);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_signature_unknown_thumbprint_and_expired_certificate_are_700027() {
    let key = ClientKey::generate();
    let cert = key.valid_certificate();
    let other = ClientKey::generate();
    let unregistered = other.valid_certificate();
    let expired = key.certificate((2020, 1, 1), (2021, 1, 1));
    let mut cfg = cert_config(&cert);
    cfg.clients[1].certificates.push(expired.sim.clone());
    let sim = start(cfg).await;
    let url = sim.token_url();

    // Signed by another key, naming the registered certificate.
    let (status, code, text) = refused(
        &sim,
        &sign(&other, header(&cert, Form::Current), &claims(&sim)),
    )
    .await;
    assert_eq!((status, code), (401, 700_027), "{text}");
    assert!(
        text.contains("did not match the expected signature value"),
        "{text}"
    );
    assert!(text.contains(&cert.sim.thumbprint()) || text.contains("Thumbprint"));

    // A certificate the app does not have.
    for form in [Form::Current, Form::Legacy] {
        let (status, code, text) =
            refused(&sim, &assertion(&other, &unregistered, form, CLIENT, &url)).await;
        assert_eq!((status, code), (401, 700_027), "{text}");
        assert!(text.contains("The key was not found"), "{text}");
        assert!(text.contains("not registered on application"), "{text}");
    }

    // The registered certificate has expired.
    let (status, code, text) =
        refused(&sim, &assertion(&key, &expired, Form::Legacy, CLIENT, &url)).await;
    assert_eq!((status, code), (401, 700_027), "{text}");
    assert!(text.contains("is expired on application"), "{text}");
    assert!(text.contains("The key used is expired"), "{text}");
    assert!(text.contains(&expired.sim.thumbprint()), "{text}");
    assert!(text.contains("End=01/01/2021 00:00:00"), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
async fn audience_issuer_and_time_range_are_checked() {
    let key = ClientKey::generate();
    let cert = key.valid_certificate();
    let sim = start(cert_config(&cert)).await;
    let with = |change: &dyn Fn(&mut Value)| {
        let mut c = claims(&sim);
        change(&mut c);
        sign(&key, header(&cert, Form::Current), &c)
    };

    // The Graph URL, the global login host and a list of two are all wrong audiences.
    for aud in [
        json!("https://graph.microsoft.com"),
        json!(format!(
            "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
            sim.tenant().tenant_id
        )),
    ] {
        let (status, code, text) = refused(&sim, &with(&|c| c["aud"] = aud.clone())).await;
        assert_eq!((status, code), (401, 50_012), "{text}");
        assert!(text.contains("audience claim does not match"), "{text}");
        assert!(
            text.contains(&sim.token_url()),
            "names the expected aud: {text}"
        );
    }
    let (_, code, _) = refused(
        &sim,
        &with(&|c| c["aud"] = json!([sim.token_url(), "https://example.test"])),
    )
    .await;
    assert_eq!(code, 5_002_741);

    let (_, code, text) = refused(&sim, &with(&|c| c["iss"] = json!("someone-else"))).await;
    assert_eq!(code, 700_021, "{text}");
    let (_, code, _) = refused(&sim, &with(&|c| c["sub"] = json!("someone-else"))).await;
    assert_eq!(code, 700_021);

    // Expired an hour ago, and not valid for another hour (beyond the 5-minute skew).
    let (status, code, text) = refused(
        &sim,
        &with(&|c| {
            c["nbf"] = json!(now() - 7200);
            c["exp"] = json!(now() - 3600);
        }),
    )
    .await;
    assert_eq!((status, code), (401, 700_024), "{text}");
    assert!(
        text.contains("Client assertion is not within its valid time range. Current time: "),
        "{text}"
    );
    assert!(text.contains("expiry time of assertion "), "{text}");
    let (_, code, _) = refused(&sim, &with(&|c| c["nbf"] = json!(now() + 3600))).await;
    assert_eq!(code, 700_024);
    // Within the skew still passes.
    let response = present(&sim, &with(&|c| c["exp"] = json!(now() - 60))).await;
    assert_eq!(response.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_replayed_or_jti_less_assertion_is_refused_unless_the_quirk_allows_it() {
    let key = ClientKey::generate();
    let cert = key.valid_certificate();
    let sim = start(cert_config(&cert)).await;
    let once = assertion(&key, &cert, Form::Current, CLIENT, &sim.token_url());
    assert_eq!(present(&sim, &once).await.status(), 200);
    let (status, code, text) = refused(&sim, &once).await;
    assert_eq!((status, code), (401, 50_027), "{text}");
    assert!(text.contains("already used"), "{text}");
    let mut no_jti = claims(&sim);
    no_jti.as_object_mut().expect("object").remove("jti");
    let (_, code, _) = refused(&sim, &sign(&key, header(&cert, Form::Current), &no_jti)).await;
    assert_eq!(code, 50_027);
    sim.shutdown().await;

    let mut cfg = cert_config(&cert);
    cfg.quirks.assertion_replay_error_code = None;
    let sim = start(cfg).await;
    let reused = assertion(&key, &cert, Form::Legacy, CLIENT, &sim.token_url());
    for _ in 0..2 {
        assert_eq!(present(&sim, &reused).await.status(), 200);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn x5c_must_name_the_registered_certificate() {
    let key = ClientKey::generate();
    let cert = key.valid_certificate();
    let other = key.certificate((2021, 1, 1), (2098, 1, 1));
    let sim = start(cert_config(&cert)).await;
    let with_x5c = |x5c: Vec<String>| {
        let mut h: Header = header(&cert, Form::Current);
        h.x5c = Some(x5c);
        sign(&key, h, &claims(&sim))
    };
    assert_eq!(present(&sim, &with_x5c(cert.x5c())).await.status(), 200);
    let (_, code, text) = refused(&sim, &with_x5c(other.x5c())).await;
    assert_eq!(code, 700_027, "{text}");
    assert!(text.contains("x5c"), "{text}");

    // Malformed assertions and assertion types.
    let (status, code, _) = refused(&sim, "not.a.jwt").await;
    assert_eq!((status, code), (400, 50_027));
    let response = token_request(
        &sim,
        &[
            ("client_id", CLIENT),
            ("scope", SCOPE),
            ("grant_type", "client_credentials"),
            ("client_assertion", "x.y.z"),
        ],
    )
    .await;
    let (status, _, code, text) = token_error(response).await;
    assert_eq!((status, code), (400, 900_144), "{text}");
    assert!(text.contains("client_assertion_type"), "{text}");
    sim.shutdown().await;
}
