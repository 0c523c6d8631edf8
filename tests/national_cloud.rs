//! A national cloud config sends every request to that cloud's hosts (reference §12).
//!
//! The exporter is configured with nothing but `cloud: usgov`. Its requests leave through an
//! HTTPS proxy (`HTTPS_PROXY`, as in a locked-down network) that records which host each
//! tunnel asks for, and reach a simulator serving TLS for `login.microsoftonline.us` and
//! `graph.microsoft.us` with a test CA the exporter trusts through `graph.ca_file`. The
//! simulator stands for the US Government cloud, so a token scoped to another cloud's Graph is
//! refused. This test owns its process's environment, so it lives in a file of its own.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use entra_exporter::config::{Cloud, FileAuth, FileConfig, FileTenant, Overrides};
use graph_sim::{SimConfig, SimTls};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(30);

/// A CA and a server certificate for the US Government hosts, made at test time.
fn certificates() -> (String, SimTls) {
    let (ca, cert_pem, key_pem) =
        common::certs::ca_and_server(&["login.microsoftonline.us", "graph.microsoft.us"]);
    (ca, SimTls { cert_pem, key_pem })
}

/// A CONNECT proxy that tunnels every request to `upstream` and records the requested hosts.
async fn start_proxy(upstream: SocketAddr) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut request_line = String::new();
                if client.read_line(&mut request_line).await.is_err() {
                    return;
                }
                // Skip the rest of the CONNECT request's headers.
                loop {
                    let mut line = String::new();
                    match client.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                let mut parts = request_line.split_whitespace();
                let (Some("CONNECT"), Some(target)) = (parts.next(), parts.next()) else {
                    let _ = client
                        .get_mut()
                        .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                        .await;
                    return;
                };
                record.lock().unwrap().push(target.to_owned());
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                if client
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(client.get_mut(), &mut server).await;
            });
        }
    });
    (address, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn us_government_cloud_talks_only_to_its_own_hosts() {
    let (ca_pem, tls) = certificates();
    let sim = start_sim(SimConfig {
        tls: Some(tls),
        graph_audience: "https://graph.microsoft.us".into(),
        ..small_tenant()
    })
    .await;
    let (proxy, seen) = start_proxy(sim.local_addr()).await;
    // SAFETY of the environment change: this test binary runs this one test only.
    std::env::set_var("HTTPS_PROXY", format!("http://{proxy}"));
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let file = FileConfig {
        graph: entra_exporter::config::FileGraph {
            ca_file: Some(ca_file),
            ..Default::default()
        },
        tenants: vec![FileTenant {
            name: Some("t".into()),
            tenant_id: Some(sim.tenant().tenant_id.clone()),
            client_id: Some(graph_sim::DEMO_CLIENT_ID.into()),
            cloud: Some(Cloud::Usgov),
            auth: FileAuth {
                client_secret: Some(graph_sim::DEMO_CLIENT_SECRET.into()),
                ..FileAuth::default()
            },
            ..FileTenant::default()
        }],
        ..FileConfig::default()
    };
    let overrides = Overrides {
        listen_address: Some("127.0.0.1:0".parse().unwrap()),
        ..Overrides::default()
    };
    let config = entra_exporter::config::Config::resolve(file, &|_| None, &overrides).unwrap();
    assert_eq!(
        config.tenants[0].scope(),
        "https://graph.microsoft.us/.default"
    );

    let exporter = Exporter::start(only(config, &["credentials"])).await;
    let m = exporter
        .wait_for(
            "the collector to succeed through the US Gov hosts",
            WAIT,
            |m| m.up("t", "credentials") == Some(1.0),
        )
        .await;
    assert_matches_truth(
        &m,
        &sim.ground_truth("t", unix_now()),
        &["entra_app_credentials"],
        0.0,
    );
    exporter.stop().await;

    let hosts: std::collections::BTreeSet<String> = seen.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        hosts.into_iter().collect::<Vec<_>>(),
        ["graph.microsoft.us:443", "login.microsoftonline.us:443"],
        "every tunnel goes to the US Government cloud's hosts and nowhere else"
    );
}
