//! Secrets never leak: with every log line of every crate captured at trace level, tenants
//! signing in with a secret, a wrong secret, an encrypted certificate key and a federated
//! token, under token and Graph faults, no log line, `/metrics` or landing page contains a
//! secret, a password, a private key or any JWT (access tokens, client assertions and
//! federated tokens all start with `eyJ`).

mod common;

use std::time::Duration;

use common::certs::TestCertificate;
use common::*;
use entra_exporter::config::{AuthMode, FileAuth, FileTenant};
use graph_sim::{FaultKind, FaultRule, FederatedCredential, SimCertificate, SimClient, SimConfig};

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "s3cr3t~VALUE~never-logged";
const WRONG_SECRET: &str = "wr0ng~VALUE~never-logged";
const PASSWORD: &str = "p4ss~phrase~never-logged";
const CERT_APP: &str = "6b8d2f4c-3e5a-4b7c-9d0e-1f2a3b4c5d6e";
const FED_APP: &str = "7c9e3a5d-4f6b-4c8d-8e1f-2a3b4c5d6e7f";
const SUBJECT: &str = "system:serviceaccount:monitoring:entra-exporter";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_token_or_key_reaches_logs_metrics_or_pages() {
    // Everything, from every crate (reqwest, hyper, rustls included).
    init_log_capture_with("trace");
    let cert = TestCertificate::valid();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = graph_sim::federated_issuer_for(listener.local_addr().unwrap(), false);
    let clients = vec![
        SimClient::new(graph_sim::DEMO_CLIENT_ID, SECRET, graph_sim::ALL_ROLES),
        SimClient::new(CERT_APP, "", graph_sim::ALL_ROLES)
            .with_certificate(SimCertificate::from_der(cert.cert_der.clone()).unwrap()),
        SimClient::new(FED_APP, "", graph_sim::ALL_ROLES)
            .with_federated(FederatedCredential::new(issuer, SUBJECT)),
    ];
    let sim = graph_sim::Simulator::start(
        SimConfig {
            clients,
            ..small_tenant()
        },
        listener,
    )
    .await
    .unwrap();
    // Faults that make the exporter log errors, retry and refresh its tokens.
    for rule in [
        FaultRule::new("token", FaultKind::Status(500)).times(2),
        FaultRule::new("applications", FaultKind::Status(401)).times(2),
        FaultRule::new("applications", FaultKind::Status(503)).times(2),
        FaultRule::new("servicePrincipals", FaultKind::MalformedJson).times(1),
    ] {
        sim.faults().inject(rule);
    }

    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("cert.pem");
    std::fs::write(&pem, cert.pem_with_encrypted_key(PASSWORD)).unwrap();
    let token = sim.mint_federated_token(
        SUBJECT,
        graph_sim::DEFAULT_FEDERATED_AUDIENCE,
        Duration::from_secs(3600),
    );
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &token).unwrap();

    let tenant = |label: &str, client: &str, auth: FileAuth| FileTenant {
        auth,
        ..tenant_at(&sim, label, client)
    };
    let tenants = vec![
        tenant(
            "secret",
            graph_sim::DEMO_CLIENT_ID,
            FileAuth {
                client_secret: Some(SECRET.into()),
                ..FileAuth::default()
            },
        ),
        tenant(
            "wrong",
            graph_sim::DEMO_CLIENT_ID,
            FileAuth {
                client_secret: Some(WRONG_SECRET.into()),
                ..FileAuth::default()
            },
        ),
        tenant(
            "cert",
            CERT_APP,
            FileAuth {
                certificate_file: Some(pem),
                certificate_password: Some(PASSWORD.into()),
                ..FileAuth::default()
            },
        ),
        tenant(
            "federated",
            FED_APP,
            FileAuth {
                mode: AuthMode::WorkloadIdentity,
                federated_token_file: Some(token_file),
                ..FileAuth::default()
            },
        ),
    ];
    let config = with_interval(
        only(config_with(tenants), &["credentials"]),
        Duration::from_millis(200),
    );
    let debug = format!("{config:?}");
    let exporter = Exporter::start(config).await;
    let m = exporter
        .wait_for("every good tenant up after the faults", WAIT, |m| {
            ["secret", "cert", "federated"]
                .iter()
                .all(|t| m.up(t, "credentials") == Some(1.0))
                && m.up("wrong", "credentials") == Some(0.0)
        })
        .await;
    let landing = reqwest::get(format!("{}/", exporter.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The faults really happened and were logged, so the check below has something to read.
    let logs = logs();
    assert!(
        logs.contains("AADSTS7000215"),
        "the wrong secret was refused"
    );
    assert!(logs.contains("TRACE"), "trace-level output was captured");
    exporter.stop().await;

    for (place, text) in [
        ("logs", logs.as_str()),
        ("/metrics", m.text.as_str()),
        ("landing page", landing.as_str()),
        ("config debug output", debug.as_str()),
    ] {
        for needle in [
            SECRET,
            WRONG_SECRET,
            PASSWORD,
            token.as_str(),
            "PRIVATE KEY",
            "eyJ",
        ] {
            if let Some(at) = text.find(needle) {
                let start = at.saturating_sub(200);
                panic!(
                    "{place} contains {needle:?}: …{}…",
                    &text[start..(at + needle.len()).min(text.len())]
                );
            }
        }
    }
}
