//! The binary's command line: `--config.check` exit codes and messages.

use std::process::Command;

fn check(yaml: &str, env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_entra-exporter"));
    cmd.arg("--config.file").arg(&path).arg("--config.check");
    for name in [
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
    ] {
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
        "tenants:\n  - tenant_id: contoso.onmicrosoft.com\n    client_id: c\n    client_secret: s\ncollectors:\n  credentials:\n    interval: 30m\n",
        &[],
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("configuration is valid: 1 tenant(s), collectors enabled: credentials"),
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
        "tenants:\n  - tenant_id: contoso.onmicrosoft.com\n    client_id: c\n    client_secret: s\ncollectors:\n  credentials:\n    intervall: 30m\n",
        &[],
    );
    assert!(!ok);
    assert!(
        text.contains("collectors.credentials: unknown field `intervall`"),
        "{text}"
    );
    assert!(text.contains("line 7"), "{text}");

    let (ok, text) = check("tenants:\n  - client_id: c\n    client_secret: s\n", &[]);
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
