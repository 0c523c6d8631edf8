//! Every credential type end to end: the simulator verifies each credential for real (assertion
//! signatures against the registered certificate, federated tokens against the app's federated
//! credential records, managed identity endpoints with their quirks), and the exporter's
//! metrics must match the simulator's ground truth.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::certs::TestCertificate;
use common::*;
use entra_exporter::config::{AssertionForm, AuthMode, FileAuth, FileManagedIdentity, FileTenant};
use graph_sim::{
    FaultKind, FaultRule, FederatedCredential, SimCertificate, SimClient, SimConfig, SimHandle,
    SimManagedIdentity, ALL_ROLES,
};

const WAIT: Duration = Duration::from_secs(30);
/// An app registration with no secret at all: only its certificate or federated credential
/// can sign it in.
const APP: &str = "5a7c1e3b-2d4f-4a6b-8c9d-0e1f2a3b4c5d";
/// The Kubernetes service account the federated credential trusts.
const SUBJECT: &str = "system:serviceaccount:monitoring:entra-exporter";

/// Starts a small simulated tenant whose only client is `client`, plus `identities`.
async fn sim_with(client: SimClient, identities: Vec<SimManagedIdentity>) -> SimHandle {
    start_sim(SimConfig {
        clients: vec![client],
        managed_identities: identities,
        ..small_tenant()
    })
    .await
}

/// Runs the credentials collector for `tenant` and checks it against the ground truth.
async fn assert_collects(sim: &SimHandle, config: entra_exporter::config::Config) {
    let exporter = Exporter::start(with_interval(
        only(config, &["credentials"]),
        Duration::from_millis(300),
    ))
    .await;
    let m = exporter
        .wait_for("the credentials collector to succeed", WAIT, |m| {
            m.up("t", "credentials") == Some(1.0)
        })
        .await;
    let truth = sim.ground_truth("t", unix_now());
    assert_matches_truth(
        &m,
        &truth,
        &[
            "entra_app_credentials",
            "entra_app_credential_expiry_timestamp_seconds",
        ],
        0.0,
    );
    exporter.stop().await;
}

/// A tenant entry for `sim` labelled `t` with `auth`.
fn tenant(sim: &SimHandle, client_id: &str, auth: FileAuth) -> FileTenant {
    FileTenant {
        auth,
        ..tenant_at(sim, "t", client_id)
    }
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_in_pem_signs_the_current_ps256_assertion() {
    let cert = TestCertificate::valid();
    let client = SimClient::new(APP, "", ALL_ROLES)
        .with_certificate(SimCertificate::from_der(cert.cert_der.clone()).unwrap());
    let sim = sim_with(client, vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "exporter.pem", cert.pem_with_key());
    let auth = FileAuth {
        mode: AuthMode::ClientCertificate,
        certificate_file: Some(file),
        ..FileAuth::default()
    };
    assert_collects(&sim, config_with(vec![tenant(&sim, APP, auth)])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_key_with_the_legacy_rs256_form_and_the_chain_in_x5c() {
    let cert = TestCertificate::valid();
    let client = SimClient::new(APP, "", ALL_ROLES)
        .with_certificate(SimCertificate::from_der(cert.cert_der.clone()).unwrap());
    let sim = sim_with(client, vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "exporter.pem",
        cert.pem_with_encrypted_key("correct horse"),
    );
    let password = write(dir.path(), "password", "correct horse\n");
    let auth = FileAuth {
        mode: AuthMode::ClientCertificate,
        certificate_file: Some(file),
        certificate_password_file: Some(password),
        assertion: Some(AssertionForm::Legacy),
        send_certificate_chain: Some(true),
        ..FileAuth::default()
    };
    assert_collects(&sim, config_with(vec![tenant(&sim, APP, auth)])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs12_bundle_with_a_password_chosen_by_auto() {
    let cert = TestCertificate::valid();
    let client = SimClient::new(APP, "", ALL_ROLES)
        .with_certificate(SimCertificate::from_der(cert.cert_der.clone()).unwrap());
    let sim = sim_with(client, vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "exporter.pfx", cert.pkcs12("p12-password"));
    let auth = FileAuth {
        certificate_file: Some(file),
        certificate_password: Some("p12-password".into()),
        ..FileAuth::default()
    };
    let config = config_with(vec![tenant(&sim, APP, auth)]);
    assert_eq!(config.tenants[0].credential.mode(), "client_certificate");
    assert_collects(&sim, config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_reported_with_its_date_and_thumbprint() {
    let cert = TestCertificate::expired();
    let registered = SimCertificate::from_der(cert.cert_der.clone()).unwrap();
    let thumbprint = registered.thumbprint();
    let sim = sim_with(
        SimClient::new(APP, "", ALL_ROLES).with_certificate(registered),
        vec![],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "exporter.pem", cert.pem_with_key());
    let auth = FileAuth {
        certificate_file: Some(file.clone()),
        ..FileAuth::default()
    };
    // Start-up goes on (a renewed certificate may be mounted while we run) ...
    let exporter = Exporter::start(only(
        config_with(vec![tenant(&sim, APP, auth)]),
        &["credentials"],
    ))
    .await;
    exporter
        .wait_for("the collector to report down", WAIT, |m| {
            m.up("t", "credentials") == Some(0.0)
        })
        .await;
    // ... and the log says what is wrong and what to do, without any key material.
    let log = wait_for_log("expired on", WAIT).await;
    let line = log
        .lines()
        .find(|l| l.contains("expired on"))
        .unwrap_or_default();
    assert!(
        line.contains(&file.display().to_string())
            && line
                .to_ascii_uppercase()
                .contains(&thumbprint.to_ascii_uppercase())
            && line.contains("upload a new certificate"),
        "{line}"
    );
    assert!(!log.contains("PRIVATE KEY"), "{log}");
    exporter.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_identity_rereads_the_rotated_token_file() {
    // The federated credential names the simulator's own OIDC issuer, whose URL contains the
    // port, so the listener is bound first.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = graph_sim::federated_issuer_for(listener.local_addr().unwrap(), false);
    let client = SimClient::new(APP, "", ALL_ROLES)
        .with_federated(FederatedCredential::new(issuer, SUBJECT));
    let sim = graph_sim::Simulator::start(
        SimConfig {
            clients: vec![client],
            ..small_tenant()
        },
        listener,
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    // First the projected token has the wrong audience: Entra refuses it with AADSTS70021.
    let wrong =
        sim.mint_federated_token(SUBJECT, "api://wrong-audience", Duration::from_secs(3600));
    let token_file = write(dir.path(), "azure-identity-token", &wrong);
    let env = {
        let token_file = token_file.display().to_string();
        move |name: &str| match name {
            "AZURE_FEDERATED_TOKEN_FILE" => Some(token_file.clone()),
            _ => None,
        }
    };
    let config = config_with_env(vec![tenant(&sim, APP, FileAuth::default())], &env);
    assert_eq!(config.tenants[0].credential.mode(), "workload_identity");
    let exporter = Exporter::start(with_interval(
        only(config, &["credentials"]),
        Duration::from_millis(300),
    ))
    .await;
    exporter
        .wait_for("the refused token to take the collector down", WAIT, |m| {
            m.up("t", "credentials") == Some(0.0)
        })
        .await;
    let log = wait_for_log("AADSTS70021", WAIT).await;
    assert!(
        log.contains("no federated credential on the app matches"),
        "the error says what to fix: {log}"
    );

    // Kubelet rotates the file; the next token request reads the new one, no restart needed.
    let right = sim.mint_federated_token(
        SUBJECT,
        graph_sim::DEFAULT_FEDERATED_AUDIENCE,
        Duration::from_secs(3600),
    );
    std::fs::write(&token_file, right).unwrap();
    let m = exporter
        .wait_for("the rotated token to bring the collector up", WAIT, |m| {
            m.up("t", "credentials") == Some(1.0)
        })
        .await;
    assert_matches_truth(
        &m,
        &sim.ground_truth("t", unix_now()),
        &["entra_app_credentials"],
        0.0,
    );
    exporter.stop().await;
}

/// A user-assigned and a system-assigned identity with every Graph permission.
fn identities() -> Vec<SimManagedIdentity> {
    vec![
        SimManagedIdentity::system_assigned(
            "9d1c0b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
            "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            ALL_ROLES,
        ),
        SimManagedIdentity::user_assigned(
            "1e2d3c4b-5a6f-4e7d-9c8b-7a6f5e4d3c2b",
            "2f3e4d5c-6b7a-4f8e-8d9c-0b1a2f3e4d5c",
            "entra-exporter",
            ALL_ROLES,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_on_imds_retries_410_and_selects_the_user_assigned_identity() {
    let sim = sim_with(SimClient::demo(), identities()).await;
    // IMDS is updating: the first answer is 410, which the exporter must retry (§11.6).
    sim.imds_faults()
        .inject(FaultRule::new("imds", FaultKind::Status(410)).times(1));
    let user_assigned = identities()[1].client_id.clone();
    let auth = FileAuth {
        mode: AuthMode::ManagedIdentity,
        managed_identity: FileManagedIdentity {
            client_id: Some(user_assigned.clone()),
            endpoint: Some(url::Url::parse(&sim.imds_endpoint().unwrap()).unwrap()),
            ..FileManagedIdentity::default()
        },
        ..FileAuth::default()
    };
    let mut t = tenant(&sim, "unused", auth);
    t.client_id = None;
    assert_collects(&sim, config_with(vec![t])).await;
    assert!(
        sim.imds_faults().active().is_empty(),
        "the 410 was served and retried past"
    );
    let identity_requests: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.route == "imds")
        .collect();
    assert_eq!(
        identity_requests
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [410, 200],
        "one refused request, then the retry: {identity_requests:?}"
    );
    assert!(
        identity_requests.iter().all(|r| r
            .path_and_query
            .contains(&format!("client_id={user_assigned}"))),
        "{identity_requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_on_app_service_sends_the_identity_header() {
    let sim = sim_with(SimClient::demo(), identities()).await;
    let endpoint = sim.identity_endpoint().unwrap();
    let header = sim.identity_header();
    let env = move |name: &str| match name {
        "IDENTITY_ENDPOINT" => Some(endpoint.clone()),
        "IDENTITY_HEADER" => Some(header.clone()),
        _ => None,
    };
    let mut t = tenant(&sim, "unused", FileAuth::default());
    t.client_id = None;
    let config = config_with_env(vec![t], &env);
    assert!(
        config.tenants[0]
            .credential_reason
            .contains("IDENTITY_ENDPOINT and IDENTITY_HEADER"),
        "{}",
        config.tenants[0].credential_reason
    );
    assert_collects(&sim, config).await;
}
