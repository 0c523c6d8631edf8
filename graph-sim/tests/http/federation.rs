//! Workload identity federation (§11.5): the simulator's own OIDC issuer, its tokens at the
//! token endpoint, and the federated identity credential match.

use std::time::Duration;

use graph_sim::{
    federated_issuer_for, FederatedCredential, FederatedMismatch, SimClient, SimConfig, SimHandle,
    Simulator, DEFAULT_FEDERATED_AUDIENCE,
};
use jsonwebtoken::{Algorithm, Header};
use serde_json::{json, Value};

use crate::common::{config, get, http, token_request};
use crate::keys::{now, sign, ClientKey};
use crate::token::{jwt_claims, token_error};

/// Client id of the federated app.
const CLIENT: &str = "f3d0a1b2-0000-4000-8000-00000000f001";

/// The workload the app trusts.
const SUBJECT: &str = "system:serviceaccount:monitoring:entra-exporter";

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Starts a simulator whose app trusts `SUBJECT` from the simulator's own issuer; `tweak`
/// adjusts the config. The issuer URL depends on the port, so the listener is bound first.
async fn start_federated(tweak: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let issuer = federated_issuer_for(listener.local_addr().expect("addr"), false);
    let mut cfg = config();
    cfg.clients.push(
        SimClient::new(CLIENT, "", &["Application.Read.All"])
            .with_federated(FederatedCredential::new(issuer, SUBJECT)),
    );
    tweak(&mut cfg);
    let sim = Simulator::start(cfg, listener).await.expect("start");
    assert_eq!(
        sim.federated_issuer(),
        format!("{}/federation/issuer", sim.base_url())
    );
    sim
}

/// Exchanges `token` at the token endpoint.
async fn exchange(sim: &SimHandle, token: &str) -> reqwest::Response {
    token_request(
        sim,
        &[
            ("client_id", CLIENT),
            ("scope", "https://graph.microsoft.com/.default"),
            ("grant_type", "client_credentials"),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", token),
        ],
    )
    .await
}

#[tokio::test]
async fn a_matching_federated_token_gets_a_graph_token() {
    let sim = start_federated(|_| {}).await;
    let token = sim.mint_federated_token(
        SUBJECT,
        DEFAULT_FEDERATED_AUDIENCE,
        Duration::from_secs(3600),
    );
    let minted = jwt_claims(&token);
    assert_eq!(minted["iss"], sim.federated_issuer());
    assert_eq!(minted["sub"], SUBJECT);
    assert_eq!(minted["aud"], json!([DEFAULT_FEDERATED_AUDIENCE]));
    // The projected token is reused until kubelet rotates it: no replay check applies.
    for _ in 0..2 {
        let response = exchange(&sim, &token).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let access = body["access_token"].as_str().expect("token");
        let claims = jwt_claims(access);
        assert_eq!(claims["appid"], CLIENT);
        assert_eq!(claims["appidacr"], "2");
        assert_eq!(
            get(&sim, access, "/v1.0/applications?$top=1")
                .await
                .status(),
            200
        );
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn the_issuer_serves_discovery_and_the_key_its_tokens_name() {
    let sim = start_federated(|_| {}).await;
    let issuer = sim.federated_issuer();
    let discovery: Value = http()
        .get(format!("{issuer}/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(discovery["issuer"], issuer);
    let jwks_uri = discovery["jwks_uri"].as_str().expect("jwks_uri");
    let jwks: Value = http()
        .get(jwks_uri)
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let token = sim.mint_federated_token(SUBJECT, "api://x", Duration::from_secs(60));
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(jwks["keys"][0]["kid"].as_str(), header.kid.as_deref());
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_mismatch_names_issuer_subject_and_audience() {
    let sim = start_federated(|_| {}).await;
    let hour = Duration::from_secs(3600);
    for (subject, audience) in [
        (
            "system:serviceaccount:default:other",
            DEFAULT_FEDERATED_AUDIENCE,
        ),
        (SUBJECT, "api://SomethingElse"),
    ] {
        let token = sim.mint_federated_token(subject, audience, hour);
        let (status, error, code, text) = token_error(exchange(&sim, &token).await).await;
        assert_eq!(
            (status, error.as_str(), code),
            (400, "invalid_request", 70_021),
            "{text}"
        );
        assert!(
            text.contains("No matching federated identity record found for presented assertion."),
            "{text}"
        );
        assert!(
            text.contains(&format!("Assertion Issuer: '{}'", sim.federated_issuer())),
            "{text}"
        );
        assert!(
            text.contains(&format!("Assertion Subject: '{subject}'")),
            "{text}"
        );
        assert!(
            text.contains(&format!("Assertion Audience: '{audience}'")),
            "{text}"
        );
    }
    sim.shutdown().await;

    let sim = start_federated(|c| c.quirks.federated_mismatch = FederatedMismatch::PerClaim).await;
    let token = sim.mint_federated_token(
        "system:serviceaccount:x:y",
        DEFAULT_FEDERATED_AUDIENCE,
        hour,
    );
    let (status, _, code, text) = token_error(exchange(&sim, &token).await).await;
    assert_eq!((status, code), (401, 700_213), "{text}");
    assert!(
        text.contains("subject 'system:serviceaccount:x:y'"),
        "{text}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_and_forged_federated_tokens_are_refused() {
    let sim = start_federated(|c| c.quirks.assertion_clock_skew = Duration::ZERO).await;
    let token = sim.mint_federated_token(SUBJECT, DEFAULT_FEDERATED_AUDIENCE, Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, code, text) = token_error(exchange(&sim, &token).await).await;
    assert_eq!((status, code), (401, 700_024), "{text}");
    assert!(text.contains("not within its valid time range"), "{text}");

    // Right claims, wrong key.
    let forger = ClientKey::generate();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = jsonwebtoken::decode_header(&token).expect("header").kid;
    let forged = sign(
        &forger,
        header,
        &json!({
            "iss": sim.federated_issuer(),
            "sub": SUBJECT,
            "aud": [DEFAULT_FEDERATED_AUDIENCE],
            "iat": now(),
            "exp": now() + 600,
        }),
    );
    let (_, _, code, text) = token_error(exchange(&sim, &forged).await).await;
    assert_eq!(code, 700_027, "{text}");
    assert!(!text.contains(&forged), "the assertion is never echoed");
    sim.shutdown().await;
}
