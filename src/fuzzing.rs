//! Entry points for the cargo-fuzz targets in `fuzz/` (see `docs/fuzzing.md`).
//!
//! Each function takes the fuzzer's bytes and hands them to the exporter's real parser; none
//! re-implements one. A Graph page goes twice: straight into the page type the collector reads
//! (fast, so the fuzzer learns the JSON shape), and, when that parses, through the collector
//! itself against a loopback HTTP server that answers every request with the same bytes. That
//! second pass is what reaches `GraphClient::for_each_page` (the OData envelope, `nextLink`
//! resolution, loop and foreign-host checks) and each collector's aggregation and rendering.
//!
//! Not an API: hidden from the docs and free to change together with the targets.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use bytes::Bytes;

use crate::auth::{AccessToken, BoxFuture, TokenError, TokenProvider, TokenSource};
use crate::collectors;
use crate::config::{Config, FileConfig, GraphOptions, Overrides, Secret};
use crate::graph::{parse_page, GraphClient, Owned, Row};
use crate::telemetry::Telemetry;

/// Every collector name, in the order of [`collectors::REGISTRY`]; one fuzz target each.
pub const COLLECTORS: [&str; 12] = [
    "credentials",
    "service_principal_sign_ins",
    "app_credential_sign_ins",
    "user_insights",
    "application_sign_in_summary",
    "adfs_relying_parties",
    "auth_methods_registration",
    "auth_methods_usage",
    "sign_ins",
    "directory_audits",
    "provisioning",
    "custom_security_attribute_audits",
];

/// One Graph collection page as `collector` reads it: parsed into each row type the collector
/// uses, then, if any of them accepts it, served as every page of a full poll of the collector,
/// whose families are rendered as `/metrics` would.
///
/// # Panics
/// If `collector` is not one of [`COLLECTORS`].
pub fn graph_page(collector: &str, bytes: &[u8]) {
    use collectors::*;
    let parsed = match collector {
        "credentials" => page::<credentials::DirectoryObject<'static>>(bytes),
        "service_principal_sign_ins" => {
            page::<Owned<service_principal_sign_ins::Activity>>(bytes)
                | page::<Owned<service_principal_sign_ins::ServicePrincipal>>(bytes)
        }
        "app_credential_sign_ins" => page::<Owned<app_credential_sign_ins::Activity>>(bytes),
        "user_insights" => {
            page::<Owned<user_insights::CountRow>>(bytes)
                | page::<Owned<user_insights::InactiveRow>>(bytes)
                | page::<Owned<user_insights::RequestsRow>>(bytes)
                | page::<Owned<user_insights::MfaRow>>(bytes)
                | page::<Owned<user_insights::AuthenticationRow>>(bytes)
                | page::<Owned<user_insights::UserCountRow>>(bytes)
                | page::<Owned<user_insights::SummaryRow>>(bytes)
        }
        "application_sign_in_summary" => page::<Owned<application_sign_in_summary::Summary>>(bytes),
        "adfs_relying_parties" => page::<Owned<adfs_relying_parties::Summary>>(bytes),
        "auth_methods_registration" => page::<auth_methods_registration::Details<'static>>(bytes),
        "auth_methods_usage" => {
            page::<Owned<auth_methods_usage::Usage>>(bytes)
                | page::<Owned<auth_methods_usage::RegistrationCount>>(bytes)
                | page::<Owned<auth_methods_usage::MfaDay>>(bytes)
        }
        "sign_ins" => page::<Owned<sign_ins::SignIn>>(bytes),
        // The custom security attribute audits have the directoryAudit shape and share its type.
        "directory_audits" | "custom_security_attribute_audits" => {
            page::<Owned<directory_audits::Audit>>(bytes)
        }
        "provisioning" => page::<Owned<provisioning::ProvisioningEvent>>(bytes),
        other => panic!("no collector {other:?}"),
    };
    if parsed {
        let _ = poll(collector, bytes);
    }
}

/// Parses `bytes` as a page of `T` as `for_each_page` does; on failure builds the message it
/// would log. Whether the page parsed.
fn page<R: Row>(bytes: &[u8]) -> bool {
    match parse_page::<R>(bytes, &mut |_| {}) {
        Ok(_) => true,
        Err(e) => {
            let _ = crate::graph::describe_json_error(&e, bytes, "application/json");
            false
        }
    }
}

/// A Graph error body (reference §10.1) under an HTTP status: the first two bytes are the
/// status, the rest the body, turned into the error message a collector reports.
pub fn graph_error_body(bytes: &[u8]) {
    let Some((status, body)) = status_and_rest(bytes) else {
        return;
    };
    let error = crate::graph::error::api_error(
        "/v1.0/applications",
        "Application.Read.All",
        status,
        None,
        body,
    );
    let _ = error.to_string();
}

/// A `Retry-After` header value with a configured cap (`graph.max_retry_after`, any duration
/// the config accepts), and the backoff that applies without one: the first 8 bytes are the cap
/// in seconds, the next the attempt number and the jitter, the rest the header value.
pub fn retry_after(bytes: &[u8]) {
    if bytes.len() < 17 {
        return;
    }
    let cap = Duration::from_secs(u64::from_le_bytes(
        bytes[..8].try_into().unwrap_or_default(),
    ));
    let attempt = u32::from(bytes[8]);
    // The jitter as `retry::jitter` makes it: 53 random bits scaled into [0, 1).
    let bits = u64::from_le_bytes(bytes[9..17].try_into().unwrap_or_default());
    let random = (bits >> 11) as f64 / (1u64 << 53) as f64;
    let options = GraphOptions {
        max_backoff: cap,
        max_retry_after: cap,
        ..GraphOptions::default()
    };
    let _ = crate::graph::retry::backoff(attempt, &options, random);
    if let Ok(value) = std::str::from_utf8(&bytes[17..]) {
        let _ = crate::graph::retry::parse_retry_after(value, cap);
    }
}

/// A token endpoint answer (reference §11.3–11.7): the first two bytes are the HTTP status,
/// the rest the body.
pub fn token_response(bytes: &[u8]) {
    let Some((status, body)) = status_and_rest(bytes) else {
        return;
    };
    match crate::auth::oauth::parse_token_response(status, body, "fuzz") {
        Ok(token) => assert!(!token.expires_in.is_zero()),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// A certificate credential file, PEM or PKCS#12; the first byte says whether the password
/// `fuzz` is configured (lowest bit set), the rest is the file.
pub fn certificate(bytes: &[u8]) {
    let Some((&flags, file)) = bytes.split_first() else {
        return;
    };
    let password = Secret::new("fuzz");
    let password = (flags & 1 == 1).then_some(&password);
    if let Err(e) =
        crate::auth::certificate::from_bytes(file, Path::new("fuzz/credential.pem"), password)
    {
        let _ = e.to_string();
    }
}

/// A config file (YAML), parsed and resolved with an empty environment as `--config.check`
/// does. Inputs naming a file it would be unsafe to read (a device, `/proc`, anything large)
/// are skipped: such a file is the operator's own choice, not a parser bug.
pub fn config_yaml(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let file = match FileConfig::parse(text, Path::new("fuzz.yaml")) {
        Ok(f) => f,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let mut paths: Vec<&Path> = Vec::new();
    paths.extend(file.graph.ca_file.as_deref());
    paths.extend(file.activity_logs.state_directory.as_deref());
    for t in &file.tenants {
        let a = &t.auth;
        for p in [
            &a.client_secret_file,
            &a.certificate_file,
            &a.certificate_password_file,
            &a.federated_token_file,
        ] {
            paths.extend(p.as_deref());
        }
    }
    if !paths.iter().all(|p| safe_to_read(Path::new("."), p)) {
        return;
    }
    if let Err(e) = Config::resolve(file, &|_| None, &Overrides::default()) {
        let _ = e.to_string();
    }
}

/// A `--web.config.file` (YAML, exporter-toolkit format), parsed and validated. Relative
/// file names resolve in an empty scratch directory; inputs naming an unsafe file are skipped
/// as in [`config_yaml`].
pub fn web_config_yaml(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let dir = scratch_dir();
    if let Ok(value) = serde_norway::from_str::<serde_norway::Value>(text) {
        let mut strings = Vec::new();
        collect_strings(&value, &mut strings);
        if !strings.iter().all(|s| safe_to_read(dir, Path::new(s))) {
            return;
        }
    }
    if let Err(e) = crate::web_config::WebConfig::parse(text, &dir.join("web.yml")) {
        let _ = e.to_string();
    }
}

/// An `Authorization` header as a `/metrics` client sends it, decoded for basic auth.
pub fn basic_auth_header(bytes: &[u8]) {
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = crate::web_config::decode_basic(text);
    }
}

/// The HTTP status in the first two bytes (big-endian, folded into 0–999) and the rest.
fn status_and_rest(bytes: &[u8]) -> Option<(u16, &[u8])> {
    if bytes.len() < 2 {
        return None;
    }
    Some((u16::from_be_bytes([bytes[0], bytes[1]]) % 1000, &bytes[2..]))
}

/// Whether reading `path` (relative to `base`) is harmless: missing, a directory, or a regular
/// file of at most 1 MiB outside `/proc`, `/sys` and `/dev`.
fn safe_to_read(base: &Path, path: &Path) -> bool {
    let Ok(real) = std::fs::canonicalize(base.join(path)) else {
        return true;
    };
    if ["/proc", "/sys", "/dev"]
        .iter()
        .any(|p| real.starts_with(p))
    {
        return false;
    }
    match std::fs::metadata(&real) {
        Ok(m) => m.is_dir() || (m.is_file() && m.len() <= 1 << 20),
        Err(_) => true,
    }
}

fn collect_strings<'a>(value: &'a serde_norway::Value, out: &mut Vec<&'a str>) {
    use serde_norway::Value;
    match value {
        Value::String(s) => out.push(s),
        Value::Sequence(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Mapping(map) => {
            for (k, v) in map {
                collect_strings(k, out);
                collect_strings(v, out);
            }
        }
        Value::Tagged(tagged) => collect_strings(&tagged.value, out),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// An empty directory for relative file names in fuzzed configs.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("entra-exporter-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

/// The loopback Graph and a client for it, shared by every poll of one fuzzing process.
struct Harness {
    /// Runs the server and the polls.
    runtime: tokio::runtime::Runtime,
    /// What the server answers to every request.
    body: Arc<Mutex<Bytes>>,
    /// Client for the server, with a fixed token, no retries and no reports budget, so a poll
    /// never sleeps.
    graph: Arc<GraphClient>,
    /// Settings the collectors are built from: breakdown caps of 2, so a few rows already fold
    /// into `other`, and an activity-log window of 20 years, so seed events are counted.
    config: Config,
}

/// Settings for [`Harness::config`].
const HARNESS_CONFIG: &str = "\
tenants:
  - tenant_id: fuzz.example.com
    client_id: fuzz
    auth:
      client_secret: fuzz
breakdowns: {applications: 2, operating_systems: 2, countries: 2, methods: 2, error_codes: 2, activities: 2}
activity_logs: {safety_lag: 0s, overlap: 0s, initial_lookback: 7300days, max_window: 7300days}
";

/// A token source that never fails, standing in for the identity platform.
struct FixedToken;

impl TokenSource for FixedToken {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async {
            Ok(AccessToken {
                token: Secret::new("fuzz-token"),
                expires_in: Duration::from_secs(3600),
            })
        })
    }

    fn kind(&self) -> &'static str {
        "fuzz"
    }
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let body = Arc::new(Mutex::new(Bytes::new()));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind the loopback Graph");
        let root = format!("http://{}/", listener.local_addr().expect("local address"));
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(body.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });

        let file = FileConfig::parse(HARNESS_CONFIG, Path::new("harness.yaml")).expect("config");
        let config = Config::resolve(file, &|_| None, &Overrides::default()).expect("config");
        let options = GraphOptions {
            max_retries: 0,
            max_body_bytes: 16 << 20,
            reports_budget: None,
            ..GraphOptions::default()
        };
        let telemetry = Telemetry::new();
        let tokens = Arc::new(TokenProvider::new(
            Box::new(FixedToken),
            "fuzz".into(),
            telemetry.clone(),
        ));
        let graph = Arc::new(GraphClient::new(
            crate::http_client(&config).expect("HTTP client"),
            url::Url::parse(&root).expect("root URL"),
            tokens,
            options,
            telemetry,
            "fuzz".into(),
        ));
        Harness {
            runtime,
            body,
            graph,
            config,
        }
    })
}

/// The loopback Graph's only handler: the current fuzz input, as JSON.
async fn answer(State(body): State<Arc<Mutex<Bytes>>>) -> impl IntoResponse {
    let body = body.lock().unwrap_or_else(|e| e.into_inner()).clone();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

/// One full poll of a fresh `collector` with every Graph response set to `bytes`: the
/// exposition text on success, the error message otherwise.
fn poll(collector: &str, bytes: &[u8]) -> Result<String, String> {
    let h = harness();
    *h.body.lock().unwrap_or_else(|e| e.into_inner()) = Bytes::copy_from_slice(bytes);
    let info = collectors::info(collector).expect("registered collector");
    let instance = (info.build)(&h.config);
    let families = h
        .runtime
        .block_on(instance.collect(&h.graph))
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    crate::exposition::render(&families, crate::runtime::unix_now(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_collector_has_a_target() {
        let registered: Vec<&str> = collectors::REGISTRY.iter().map(|c| c.name).collect();
        assert_eq!(registered, COLLECTORS);
    }

    #[test]
    fn a_page_goes_through_the_collector_and_its_paging() {
        let audit = br#"{"value":[{"id":"1","activityDateTime":"2025-06-02T10:00:00Z","category":"UserManagement","activityDisplayName":"Add user","result":"success"}]}"#;
        let text = poll("directory_audits", audit).unwrap();
        assert!(
            text.contains(r#"entra_directory_audit_events_total{tenant="fuzz",category="UserManagement",activity="Add user",result="success"} 1"#),
            "{text}"
        );
        // The same page again as its own nextLink: caught as a loop, nothing published.
        let looping = br#"{"value":[],"@odata.nextLink":"/v1.0/applications?$skiptoken=x"}"#;
        assert!(poll("credentials", looping)
            .unwrap_err()
            .contains("loops back"));
        graph_page(
            "user_insights",
            br#"{"value":[{"factDate":"2025-06-01","count":3}]}"#,
        );
        graph_page("sign_ins", b"not json");
    }
}
