//! The binary's command line: `--config.check` exit codes and messages.

use std::process::Command;

fn check(yaml: &str, env: &[(&str, &str)]) -> (bool, String) {
    check_with_args(yaml, env, &[])
}

fn check_with_args(yaml: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_entra-exporter"));
    cmd.arg("--config.file")
        .arg(&path)
        .arg("--config.check")
        .args(args);
    // The machine's own Azure variables must not leak into the cases.
    for name in entra_exporter::config::APP_ENV
        .iter()
        .chain(entra_exporter::config::HOST_ENV.iter())
    {
        cmd.env_remove(name);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_valid_config_exits_zero() {
    let (ok, text) = check(
        "tenants:\n  - tenant_id: contoso.onmicrosoft.com\n    client_id: c\n    auth:\n      client_secret: s\ncollectors:\n  credentials:\n    interval: 30m\n",
        &[],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("configuration is valid: 1 tenant(s)")
            && text.contains(
                "contoso.onmicrosoft.com: credential client_secret (auto: auth.client_secret is set); collectors: credentials"
            ),
        "{text}"
    );
}

#[test]
fn the_azure_sdk_variables_are_enough() {
    let (ok, text) = check(
        "",
        &[
            ("AZURE_TENANT_ID", "7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
        ],
    );
    assert!(ok, "{text}");
}

#[test]
fn an_invalid_config_exits_non_zero_naming_the_key() {
    let (ok, text) = check(
        "tenants:\n  - tenant_id: contoso.onmicrosoft.com\n    client_id: c\n    auth:\n      client_secret: s\ncollectors:\n  credentials:\n    intervall: 30m\n",
        &[],
    );
    assert!(!ok);
    assert!(
        text.contains("collectors.credentials: unknown field `intervall`"),
        "{text}"
    );
    assert!(text.contains("line 8"), "{text}");

    let (ok, text) = check(
        "tenants:\n  - client_id: c\n    auth:\n      client_secret: s\n",
        &[],
    );
    assert!(!ok);
    assert!(
        text.contains("config key tenants[0].tenant_id: missing"),
        "{text}"
    );
}

#[test]
fn a_missing_file_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_entra-exporter"))
        .args(["--config.file", "/nonexistent/entra.yaml", "--config.check"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read config file /nonexistent/entra.yaml"),
        "{err}"
    );
}

#[test]
fn shards_split_the_tenants_so_each_is_watched_exactly_once() {
    let labels: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
    let mut yaml = String::from("tenants:\n");
    for (i, label) in labels.iter().enumerate() {
        yaml.push_str(&format!(
            "  - name: {label}\n    tenant_id: tenant{i}.example.com\n    client_id: c\n    auth:\n      client_secret: s\n"
        ));
    }
    let mut owners = std::collections::BTreeMap::<String, Vec<u32>>::new();
    for index in 0..3u32 {
        let (ok, text) = check_with_args(
            &yaml,
            &[],
            &["--shard.index", &index.to_string(), "--shard.count", "3"],
        );
        assert!(ok, "{text}");
        for line in text.lines() {
            if let Some((label, _)) = line.trim().split_once(": credential ") {
                owners.entry(label.to_owned()).or_default().push(index);
            }
        }
    }
    for label in &labels {
        assert_eq!(
            owners.get(label).map(Vec::len),
            Some(1),
            "{label} must belong to exactly one replica: {owners:?}"
        );
    }
    assert!(
        owners
            .values()
            .map(|v| v[0])
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1,
        "twelve tenants should not all land on one replica: {owners:?}"
    );

    let (ok, text) = check_with_args(&yaml, &[], &["--shard.index", "3", "--shard.count", "3"]);
    assert!(!ok);
    assert!(
        text.contains("--shard.index: 3 is not below --shard.count 3"),
        "{text}"
    );
}
