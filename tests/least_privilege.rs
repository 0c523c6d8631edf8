//! The permissions `docs/authentication.md` lists per collector are the least privilege: with
//! the simulator accepting only each endpoint's least-privileged permission (strict mode), an
//! app granted exactly the documented set runs every collector, and taking any one permission
//! away takes down exactly the collectors that list it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use entra_exporter::config::{FileAuth, FileTenant};
use graph_sim::{SimClient, SimConfig};

const WAIT: Duration = Duration::from_secs(90);

/// Collector → the permissions the generated table in docs/authentication.md lists. An item
/// written "A or B" is satisfied by whichever the collector already needs, else by A.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/authentication.md"),
    )
    .unwrap();
    let start = doc
        .find("BEGIN GENERATED PERMISSIONS TABLE")
        .expect("table markers");
    let end = doc
        .find("END GENERATED PERMISSIONS TABLE")
        .expect("table markers");
    let mut out = BTreeMap::new();
    for row in doc[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let collector = cells[0]
            .trim_start_matches("| ")
            .trim_matches('`')
            .to_owned();
        let role = |text: &str| {
            text.split_whitespace()
                .find(|w| w.ends_with(".Read.All"))
                .map(str::to_owned)
        };
        let items: Vec<&str> = cells[2].split(", ").collect();
        let mut needed: BTreeSet<String> = items
            .iter()
            .filter(|i| !i.contains(" or "))
            .filter_map(|i| role(i))
            .collect();
        for alternatives in items.iter().filter(|i| i.contains(" or ")) {
            let options: Vec<String> = alternatives.split(" or ").filter_map(role).collect();
            if !options.iter().any(|o| needed.contains(o)) {
                needed.insert(options[0].clone());
            }
        }
        assert!(!needed.is_empty(), "{collector} lists no permission");
        out.insert(collector, needed);
    }
    assert!(out.len() >= 10, "the table lists every collector: {out:?}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_permissions_suffice_and_each_one_is_needed() {
    let per_collector = documented();
    let all: BTreeSet<String> = per_collector.values().flatten().cloned().collect();
    // One app with every documented permission, and one per permission without it.
    let mut grants: Vec<(String, BTreeSet<String>)> = vec![("full".into(), all.clone())];
    for missing in &all {
        let mut set = all.clone();
        set.remove(missing);
        grants.push((format!("without-{missing}"), set));
    }
    let clients: Vec<SimClient> = grants
        .iter()
        .enumerate()
        .map(|(i, (_, roles))| {
            let roles: Vec<&str> = roles.iter().map(String::as_str).collect();
            SimClient::new(format!("00000000-0000-4000-8000-{i:012}"), "secret", &roles)
        })
        .collect();
    let sim = start_sim(SimConfig {
        clients: clients.clone(),
        strict_least_privilege: true,
        ..small_tenant()
    })
    .await;
    let tenants: Vec<FileTenant> = grants
        .iter()
        .zip(&clients)
        .map(|((label, _), client)| FileTenant {
            auth: FileAuth {
                client_secret: Some("secret".into()),
                ..FileAuth::default()
            },
            ..tenant_at(&sim, label, &client.client_id)
        })
        .collect();
    let mut config = config_with(tenants);
    config.update_collectors(|c| c.enabled = true);
    let exporter = Exporter::start(config).await;
    let m = exporter
        .wait_for(
            "every collector of every app to finish its first poll",
            WAIT,
            |m| {
                grants.iter().all(|(label, _)| {
                    per_collector
                        .keys()
                        .all(|collector| m.up(label, collector).is_some())
                })
            },
        )
        .await;
    for (label, granted) in &grants {
        for (collector, needed) in &per_collector {
            let expected = if needed.is_subset(granted) { 1.0 } else { 0.0 };
            assert_eq!(
                m.up(label, collector),
                Some(expected),
                "{collector} with {label} (needs {needed:?}):\n{}",
                logs()
            );
        }
    }
    exporter.stop().await;
}
