//! HTTPS and national clouds (§12): a US Government simulator served over TLS under the real
//! host names (a test CA signs them; reqwest's `resolve` plays the proxy), whose token
//! endpoint only hands out tokens for its own Graph host.

use std::net::SocketAddr;

use graph_sim::{SimClient, SimConfig, SimHandle, SimTls, TlsSetupError};
use serde_json::{json, Value};

use crate::common::{config, start};
use crate::keys::{header, now, sign, ClientKey, Form};
use crate::token::{jwt_claims, token_error};

const US_GRAPH: &str = "https://graph.microsoft.us";
const US_LOGIN: &str = "login.microsoftonline.us";
const US_GRAPH_HOST: &str = "graph.microsoft.us";

/// A test CA and a server certificate it signed for loopback and the US Gov host names.
struct TestPki {
    /// The CA certificate the client trusts.
    ca_pem: String,
    /// The simulator's identity.
    tls: SimTls,
}

fn pki() -> TestPki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "graph-sim test CA");
    let ca =
        rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().expect("key"))
            .expect("ca");
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = rcgen::CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        US_LOGIN.to_owned(),
        US_GRAPH_HOST.to_owned(),
    ])
    .expect("leaf params")
    .signed_by(&leaf_key, &ca)
    .expect("leaf");
    TestPki {
        ca_pem: ca.pem(),
        tls: SimTls {
            cert_pem: leaf.pem(),
            key_pem: leaf_key.serialize_pem(),
        },
    }
}

/// A client trusting the test CA, resolving the US Gov hosts to the simulator.
fn client(pki: &TestPki, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).expect("ca"))
        .resolve(US_LOGIN, addr)
        .resolve(US_GRAPH_HOST, addr)
        .build()
        .expect("client")
}

/// Client id of the US Gov app.
const CLIENT: &str = "0d0d0d0d-0000-4000-8000-00000000d001";
const SECRET: &str = "usgov~secret";

fn us_config(pki: &TestPki, cert: Option<&graph_sim::SimCertificate>) -> SimConfig {
    let mut cfg = config();
    cfg.tls = Some(pki.tls.clone());
    cfg.graph_audience = US_GRAPH.to_owned();
    let mut app = SimClient::new(CLIENT, SECRET, &["Application.Read.All"]);
    if let Some(cert) = cert {
        app = app.with_certificate(cert.clone());
    }
    cfg.clients.push(app);
    cfg
}

/// Requests a token at `token_url` for `scope` with the app's secret.
async fn token(http: &reqwest::Client, token_url: &str, scope: &str) -> reqwest::Response {
    http.post(token_url)
        .form(&[
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", scope),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .expect("token request")
}

#[tokio::test]
async fn https_serves_the_us_gov_cloud_and_refuses_global_graph_scopes() {
    let pki = pki();
    let sim: SimHandle = start(us_config(&pki, None)).await;
    assert!(
        sim.base_url().starts_with("https://127.0.0.1:"),
        "{}",
        sim.base_url()
    );
    assert!(sim.token_url().starts_with("https://"));
    let http = client(&pki, sim.local_addr());

    let response = token(
        &http,
        &sim.token_url(),
        "https://graph.microsoft.us/.default",
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let access = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(jwt_claims(&access)["aud"], US_GRAPH);

    for other_cloud in [
        "https://graph.microsoft.com/.default",
        "https://microsoftgraph.chinacloudapi.cn/.default",
    ] {
        let (status, error, code, text) =
            token_error(token(&http, &sim.token_url(), other_cloud).await).await;
        assert_eq!(
            (status, error.as_str(), code),
            (400, "invalid_resource", 500_011),
            "{text}"
        );
        assert!(text.contains("was not found in the tenant"), "{text}");
    }
    let (_, _, code, _) =
        token_error(token(&http, &sim.token_url(), "https://example.test/.default").await).await;
    assert_eq!(code, 70_011);

    // Under the real host names, as through a CONNECT proxy: routing ignores the Host, and
    // the links Graph hands out point back at the host that was called.
    let port = sim.local_addr().port();
    let us_token_url = format!(
        "https://{US_LOGIN}:{port}/{}/oauth2/v2.0/token",
        sim.tenant().tenant_id
    );
    assert_eq!(
        token(&http, &us_token_url, "https://graph.microsoft.us/.default")
            .await
            .status(),
        200
    );
    let page: Value = http
        .get(format!(
            "https://{US_GRAPH_HOST}:{port}/v1.0/applications?$top=1"
        ))
        .bearer_auth(&access)
        .send()
        .await
        .expect("graph")
        .json()
        .await
        .expect("json");
    let next = page["@odata.nextLink"].as_str().expect("nextLink");
    assert!(
        next.starts_with(&format!("https://{US_GRAPH_HOST}:{port}/v1.0/applications")),
        "{next}"
    );
    let follow = http
        .get(next)
        .bearer_auth(&access)
        .send()
        .await
        .expect("next page");
    assert_eq!(follow.status(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_certificate_assertion_may_name_the_login_host_it_was_sent_to() {
    let pki = pki();
    let key = ClientKey::generate();
    let cert = key.valid_certificate();
    let sim = start(us_config(&pki, Some(&cert.sim))).await;
    let http = client(&pki, sim.local_addr());
    let port = sim.local_addr().port();
    let us_token_url = format!(
        "https://{US_LOGIN}:{port}/{}/oauth2/v2.0/token",
        sim.tenant().tenant_id
    );
    let assertion_for = |aud: &str| {
        sign(
            &key,
            header(&cert, Form::Current),
            &json!({
                "aud": aud,
                "iss": CLIENT,
                "sub": CLIENT,
                "jti": uuid::Uuid::new_v4().to_string(),
                "nbf": now(),
                "exp": now() + 600,
            }),
        )
    };
    let exchange = |url: String, assertion: String| {
        let http = http.clone();
        async move {
            http.post(url)
                .form(&[
                    ("client_id", CLIENT),
                    ("scope", "https://graph.microsoft.us/.default"),
                    ("grant_type", "client_credentials"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .expect("token request")
        }
    };
    // Sent to the US login host, naming it: accepted; naming the simulator's base URL too.
    for aud in [us_token_url.clone(), sim.token_url()] {
        let response = exchange(us_token_url.clone(), assertion_for(&aud)).await;
        assert_eq!(response.status(), 200, "{aud}");
    }
    // Naming the global login host instead: refused, and the expected audience is named.
    let global = format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
        sim.tenant().tenant_id
    );
    let (_, _, code, text) =
        token_error(exchange(us_token_url.clone(), assertion_for(&global)).await).await;
    assert_eq!(code, 50_012, "{text}");
    assert!(text.contains(&us_token_url), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_broken_tls_identity_fails_the_start_with_the_reason() {
    let mut cfg = config();
    cfg.tls = Some(SimTls {
        cert_pem: "not a certificate".to_owned(),
        key_pem: String::new(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let err = graph_sim::Simulator::start(cfg, listener)
        .await
        .expect_err("no certificate");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<TlsSetupError>())
        .expect("TlsSetupError inside");
    assert!(inner.to_string().contains("cert_pem"), "{inner}");
}
