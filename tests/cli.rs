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

/// `--config.check` on `config.yaml` in a fresh directory, with no Azure variables: whether it
/// passed, and its stderr.
fn check_relative(yaml: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_entra-exporter"));
    cmd.current_dir(dir.path())
        .args(["--config.file", "config.yaml", "--config.check"]);
    for name in entra_exporter::config::APP_ENV
        .iter()
        .chain(entra_exporter::config::HOST_ENV.iter())
    {
        cmd.env_remove(name);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_invalid_config_names_the_key_and_its_place_and_exits_non_zero() {
    const TENANT: &str =
        "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      client_secret: s\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "missing tenant id",
            "tenants:\n  - client_id: c\n    auth:\n      client_secret: s\n".into(),
            "config.yaml:2:5 (in tenants[0]): config key tenants[0].tenant_id: missing; set it in the config file or with AZURE_TENANT_ID",
        ),
        (
            "bad duration",
            format!("{TENANT}collectors:\n  credentials:\n    interval: soon\n"),
            "config.yaml:8:5: config key collectors.credentials.interval: invalid duration \"soon\" (expected number at 0); write it like \"30s\", \"15m\" or \"1h\"",
        ),
        (
            "negative duration",
            format!("{TENANT}graph:\n  max_retry_after: -5s\n"),
            "config.yaml:7:3: config key graph.max_retry_after: invalid duration \"-5s\" (expected number at 0); write it like \"30s\", \"15m\" or \"1h\"",
        ),
        (
            "zero interval",
            format!("{TENANT}    collectors:\n      credentials: {{interval: 0s}}\n"),
            "config.yaml:7:20: config key tenants[0].collectors.credentials: duration must be greater than zero",
        ),
        (
            "misspelt key",
            format!("{TENANT}collectors:\n  credentials:\n    intervall: 30m\n"),
            "config.yaml:8:5: config key collectors.credentials.intervall: unknown field `intervall`, expected `enabled` or `interval`",
        ),
        (
            "unknown top-level key",
            format!("{TENANT}bogus: 1\n"),
            "config.yaml:6:1: config key bogus: unknown field `bogus`, expected one of `web`, `graph`, `tenants`, `collectors`, `breakdowns`, `activity_logs`",
        ),
        (
            "unknown collector",
            format!("{TENANT}collectors:\n  nope:\n    enabled: true\n"),
            "config.yaml:7:3: config key collectors.nope: unknown collector; known collectors: credentials, service_principal_sign_ins, app_credential_sign_ins, user_insights, application_sign_in_summary, adfs_relying_parties, auth_methods_registration, auth_methods_usage, sign_ins, directory_audits, provisioning, custom_security_attribute_audits",
        ),
        (
            "bad URL",
            format!("{TENANT}    graph_base_url: ftp://x\n"),
            "config.yaml:2:5: config key tenants[0]: invalid URL \"ftp://x\": must be an http(s) URL with a host",
        ),
        (
            "plain http to a real host",
            format!("{TENANT}    graph_base_url: http://graph.microsoft.com/\n"),
            "config.yaml:6:5: config key tenants[0].graph_base_url: http://graph.microsoft.com/ is plain http to a host that is not loopback; use https (TLS certificates are always verified)",
        ),
        (
            "unreadable certificate file",
            "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      certificate_file: /nonexistent/cert.pem\n".into(),
            "config.yaml:5:7: config key tenants[0].auth.certificate_file: cannot read certificate file /nonexistent/cert.pem: No such file or directory (os error 2)",
        ),
        (
            "secret inline and as a file",
            "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      client_secret: s\n      client_secret_file: /run/secret\n".into(),
            "config.yaml:5:7: config key tenants[0].auth.client_secret: given both inline and as tenants[0].auth.client_secret_file; keep one",
        ),
        (
            "unknown auth mode",
            "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      mode: password\n".into(),
            "config.yaml:5:13: config key tenants[0].auth.mode: unknown variant `password`, expected one of `auto`, `client_secret`, `client_certificate`, `workload_identity`, `managed_identity`",
        ),
        (
            "tenant named twice",
            format!("{TENANT}  - tenant_id: x.com\n    client_id: d\n    auth:\n      client_secret: t\n"),
            "config.yaml:6:5 (in tenants[1]): config key tenants[1].name: tenant name \"x.com\" is used twice; names become the `tenant` label and must be unique",
        ),
    ];
    let mut failures = Vec::new();
    for (what, yaml, expected) in &cases {
        let (ok, stderr) = check_relative(yaml);
        let expected = format!("configuration is invalid: {expected}\n");
        if ok || stderr != expected {
            failures.push(format!(
                "{what}: exit ok={ok}\n  expected {expected:?}\n  got      {stderr:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
