//! Configuration: the YAML file, the Azure SDKs' environment variables and the command line,
//! merged and validated once at start-up into a [`Config`] the rest of the exporter trusts.
//!
//! Precedence, highest first: command-line flags (and their `ENTRA_EXPORTER_*` variables),
//! the config file, the Azure SDK variables ([`auth::APP_ENV`], [`auth::HOST_ENV`]), then
//! [`defaults`]. The app variables fill in fields of the one tenant a single-tenant setup has;
//! with several tenants each must be spelled out in the file, because one set of variables
//! cannot describe several apps. Credentials are resolved in [`auth`].
//!
//! Decoding is strict: an unknown key is an error that names the key and its line.

mod auth;
pub mod position;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use url::Url;

use crate::collectors;

pub use auth::{
    AssertionForm, AuthMode, CertificateCredential, Credential, FileAuth, FileManagedIdentity,
    ManagedIdentity, ManagedIdentityEndpoint, UserAssignedIdentity, APP_ENV, HOST_ENV,
    IMDS_ENDPOINT,
};

/// Every default in one place; `docs/configuration.md` documents the same values.
pub mod defaults {
    use std::time::Duration;

    /// Where `/metrics` listens.
    pub const LISTEN_ADDRESS: &str = "0.0.0.0:9725";
    /// `/readyz` turns ready after every collector's first poll, or after this long.
    pub const READY_DEADLINE: Duration = Duration::from_secs(120);
    /// Per-request timeout for Graph and token calls.
    pub const GRAPH_TIMEOUT: Duration = Duration::from_secs(30);
    /// Retries of one Graph request on 429, 503, 504, timeouts and dropped connections.
    pub const GRAPH_MAX_RETRIES: u32 = 5;
    /// First exponential-backoff delay when Graph gives no `Retry-After`.
    pub const GRAPH_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
    /// Longest exponential-backoff delay.
    pub const GRAPH_MAX_BACKOFF: Duration = Duration::from_secs(60);
    /// `Retry-After` values above this are capped, so a bogus hour-long value cannot stall a collector.
    pub const GRAPH_MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
    /// Largest response body accepted; larger ones are refused, not buffered.
    pub const GRAPH_MAX_BODY_BYTES: u64 = 256 * 1024 * 1024;
    /// Pages read from one collection before paging is refused: 100 times what 1,000,000
    /// users need at 1,000 rows a page, 10 times what they need at 100, so only a server that
    /// keeps handing out new nextLinks reaches it.
    pub const GRAPH_MAX_PAGES: u64 = 100_000;
    /// The cloud used when neither `cloud` nor explicit URLs are given.
    pub const CLOUD: super::Cloud = super::Cloud::Global;
    /// Requests per [`REPORTS_BUDGET_WINDOW`] to the identity-and-access reports service, per
    /// tenant: Graph's documented limit (reference §10.2: 5 requests per 10 s per app per tenant).
    pub const REPORTS_BUDGET_REQUESTS: u32 = 5;
    /// Window of the reports budget.
    pub const REPORTS_BUDGET_WINDOW: Duration = Duration::from_secs(10);
    /// Distinct applications (or relying parties) kept as label values per report; the rest
    /// are summed into `other`.
    pub const BREAKDOWN_APPLICATIONS: usize = 100;
    /// Distinct operating systems kept as label values.
    pub const BREAKDOWN_OPERATING_SYSTEMS: usize = 20;
    /// Distinct countries kept as label values.
    pub const BREAKDOWN_COUNTRIES: usize = 60;
    /// Distinct authentication or MFA methods kept as label values.
    pub const BREAKDOWN_METHODS: usize = 40;
    /// Distinct sign-in error codes kept as label values.
    pub const BREAKDOWN_ERROR_CODES: usize = 60;
    /// Distinct audit activities and provisioning target systems kept as label values.
    pub const BREAKDOWN_ACTIVITIES: usize = 100;
    /// Activity logs are read up to this long before now: the newest events are still arriving.
    pub const ACTIVITY_SAFETY_LAG: Duration = Duration::from_secs(60);
    /// Each read starts this long before the watermark, to catch events that arrived late;
    /// events seen twice are counted once. Lag plus overlap must exceed Graph's worst lateness.
    pub const ACTIVITY_OVERLAP: Duration = Duration::from_secs(10 * 60);
    /// On a first start without saved state, read this far back (zero: from start-up).
    pub const ACTIVITY_INITIAL_LOOKBACK: Duration = Duration::ZERO;
    /// Longest time range one read covers; a backlog is caught up in windows of this size.
    pub const ACTIVITY_MAX_WINDOW: Duration = Duration::from_secs(3600);
}

/// A Microsoft cloud: which authority issues tokens and which Graph root serves them (reference §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Global Azure, including Microsoft 365 GCC moderate.
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    UsgovDod,
    /// Azure operated by 21Vianet.
    China,
}

impl Cloud {
    /// The Entra authority host for this cloud.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com/",
            Cloud::Usgov | Cloud::UsgovDod => "https://login.microsoftonline.us/",
            Cloud::China => "https://login.partner.microsoftonline.cn/",
        }
    }

    /// The Microsoft Graph root for this cloud.
    pub fn graph_root(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com/",
            Cloud::Usgov => "https://graph.microsoft.us/",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us/",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/",
        }
    }
}

/// A secret string: `Debug` never shows the value, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Errors from loading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid YAML of the expected shape; the message has the key and line.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde's message, which names the key path and the line and column.
        message: String,
    },
    /// The config file is not valid YAML of the expected shape, at a known place.
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// `config key <key>: <what is wrong>`, or only what is wrong at the top level.
        message: String,
    },
    /// The `--web.config.file` is unreadable or invalid.
    #[error(transparent)]
    Web(#[from] crate::web_config::WebConfigError),
    /// A value is missing or wrong after merging all sources.
    #[error("config key {key}: {reason}")]
    Invalid {
        /// Dotted key path, e.g. `tenants[0].tenant_id`.
        key: String,
        /// What is wrong and what to do about it.
        reason: String,
    },
    /// As [`ConfigError::Invalid`], at the place in the config file where the key is written,
    /// or where its closest enclosing key is when the key itself is not written.
    #[error("{path}:{line}:{column}{enclosing}: config key {key}: {reason}")]
    InvalidAt {
        /// The config file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Empty when the key itself is at that place, else ` (in <enclosing key>)`.
        enclosing: String,
        /// Dotted key path, e.g. `tenants[0].tenant_id`.
        key: String,
        /// What is wrong and what to do about it.
        reason: String,
    },
}

impl ConfigError {
    /// Adds the key's place in the config file `text` read from `path`, when it has one.
    fn located_in(self, text: &str, path: &Path) -> ConfigError {
        let ConfigError::Invalid { key, reason } = self else {
            return self;
        };
        let found = position::KeyPositions::of(text)
            .and_then(|positions| positions.locate(&key).map(|(k, p)| (k.to_owned(), p)));
        match found {
            Some((written, at)) => ConfigError::InvalidAt {
                path: path.to_owned(),
                line: at.line,
                column: at.column,
                enclosing: if written == key {
                    String::new()
                } else {
                    format!(" (in {written})")
                },
                key,
                reason,
            },
            None => ConfigError::Invalid { key, reason },
        }
    }
}

/// Reads the config file at `path` (none: defaults and the environment alone), merges it with
/// the environment (`env`) and the command line (`overrides`), and checks the result. Errors
/// found after parsing carry the key's line and column in the file.
pub fn load(
    path: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let Some(path) = path else {
        return Config::resolve(FileConfig::default(), env, overrides);
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file = FileConfig::parse(&text, path)?;
    Config::resolve(file, env, overrides).map_err(|e| e.located_in(&text, path))
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The config file as written, before defaults and the environment are applied.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// HTTP server settings.
    #[serde(default)]
    pub web: FileWeb,
    /// Graph client settings shared by every tenant.
    #[serde(default)]
    pub graph: FileGraph,
    /// The tenants to watch.
    #[serde(default)]
    pub tenants: Vec<FileTenant>,
    /// Per-collector settings, keyed by collector name.
    #[serde(default)]
    pub collectors: BTreeMap<String, FileCollector>,
    /// Caps on breakdown label values.
    #[serde(default)]
    pub breakdowns: FileBreakdowns,
    /// Incremental reading of the activity logs.
    #[serde(default)]
    pub activity_logs: FileActivityLogs,
}

/// `breakdowns:` section: how many distinct values each breakdown label may take.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBreakdowns {
    /// Applications and AD FS relying parties.
    pub applications: Option<usize>,
    /// Operating systems.
    pub operating_systems: Option<usize>,
    /// Countries.
    pub countries: Option<usize>,
    /// Authentication and MFA methods.
    pub methods: Option<usize>,
    /// Sign-in error codes.
    pub error_codes: Option<usize>,
    /// Audit activities and provisioning target systems.
    pub activities: Option<usize>,
}

/// `activity_logs:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileActivityLogs {
    /// Read up to now minus this.
    #[serde(default, deserialize_with = "duration_or_zero")]
    pub safety_lag: Option<Duration>,
    /// Re-read this much before the watermark.
    #[serde(default, deserialize_with = "duration_or_zero")]
    pub overlap: Option<Duration>,
    /// First window on start-up without state.
    #[serde(default, deserialize_with = "duration_or_zero")]
    pub initial_lookback: Option<Duration>,
    /// Longest range per read.
    #[serde(default, deserialize_with = "duration")]
    pub max_window: Option<Duration>,
    /// Directory for the watermark across restarts.
    pub state_directory: Option<PathBuf>,
}

/// `web:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWeb {
    /// `host:port` to listen on.
    pub listen_address: Option<SocketAddr>,
    /// How long `/readyz` waits for first polls before reporting ready anyway.
    #[serde(default, deserialize_with = "duration")]
    pub ready_deadline: Option<Duration>,
}

/// `graph:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileGraph {
    /// Per-request timeout.
    #[serde(default, deserialize_with = "duration")]
    pub timeout: Option<Duration>,
    /// Retries per request.
    pub max_retries: Option<u32>,
    /// Longest backoff between retries.
    #[serde(default, deserialize_with = "duration")]
    pub max_backoff: Option<Duration>,
    /// Cap on an honoured `Retry-After`.
    #[serde(default, deserialize_with = "duration")]
    pub max_retry_after: Option<Duration>,
    /// Largest accepted response body, in bytes.
    pub max_body_bytes: Option<u64>,
    /// Pages read from one collection before paging stops with an error.
    pub max_pages: Option<u64>,
    /// Pacing of requests to the identity-and-access reports service.
    #[serde(default)]
    pub reports_budget: FileBudget,
    /// PEM file of extra CA certificates to trust, e.g. a TLS-inspecting proxy's.
    pub ca_file: Option<PathBuf>,
}

/// `graph.reports_budget:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBudget {
    /// Requests allowed per window; 0 turns pacing off.
    pub requests: Option<u32>,
    /// The window.
    #[serde(default, deserialize_with = "duration")]
    pub window: Option<Duration>,
}

/// One entry of `tenants:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTenant {
    /// Value of the `tenant` label; defaults to the tenant id.
    pub name: Option<String>,
    /// Directory (tenant) id or verified domain.
    pub tenant_id: Option<String>,
    /// Application (client) id of the exporter's app registration; for a managed identity,
    /// the client id of a user-assigned identity.
    pub client_id: Option<String>,
    /// How to sign in.
    #[serde(default)]
    pub auth: FileAuth,
    /// National cloud.
    pub cloud: Option<Cloud>,
    /// Authority host override, e.g. `https://login.microsoftonline.us/`.
    #[serde(default, deserialize_with = "url")]
    pub authority_host: Option<Url>,
    /// Graph root override, e.g. a simulator's address.
    #[serde(default, deserialize_with = "url")]
    pub graph_base_url: Option<Url>,
    /// Per-tenant collector settings, over the top-level `collectors:`.
    #[serde(default)]
    pub collectors: BTreeMap<String, FileCollector>,
}

/// One entry of `collectors:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCollector {
    /// Whether the collector runs.
    pub enabled: Option<bool>,
    /// Time between polls, e.g. `1h` or `30m`.
    #[serde(default, deserialize_with = "duration")]
    pub interval: Option<Duration>,
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    let value = humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?} ({e}); write it like \"30s\", \"15m\" or \"1h\""
        ))
    })?;
    if value.is_zero() {
        return Err(serde::de::Error::custom(
            "duration must be greater than zero",
        ));
    }
    Ok(Some(value))
}

/// A humantime duration where zero is allowed (a lag or lookback of zero means none).
fn duration_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "invalid duration {text:?} ({e}); write it like \"0s\", \"2m\" or \"1h\""
        ))
    })
}

fn url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    let text = String::deserialize(d)?;
    let value = Url::parse(&text)
        .map_err(|e| serde::de::Error::custom(format!("invalid URL {text:?}: {e}")))?;
    if !matches!(value.scheme(), "https" | "http") || value.host().is_none() {
        return Err(serde::de::Error::custom(format!(
            "invalid URL {text:?}: must be an http(s) URL with a host"
        )));
    }
    Ok(Some(value))
}

impl FileConfig {
    /// Parses YAML text; `path` only labels error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(FileConfig::default());
        }
        serde_norway::from_str(text).map_err(|e| parse_error(&e, text, path))
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }
}

/// serde's error as `file:line:column: config key <key>: <reason>`, like the errors found
/// after parsing. serde names the enclosing struct (`tenants[0]` for a misspelt key in it);
/// when a key starts exactly where the error is, that key is named instead.
fn parse_error(e: &serde_norway::Error, text: &str, path: &Path) -> ConfigError {
    let message = e.to_string();
    let Some(location) = e.location() else {
        return ConfigError::Parse {
            path: path.to_owned(),
            message,
        };
    };
    let at = position::Position {
        line: location.line(),
        column: location.column(),
    };
    let suffix = format!(" at line {} column {}", at.line, at.column);
    let body = message.strip_suffix(&suffix).unwrap_or(&message);
    let is_key_path = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
    };
    let (key, reason) = match body.split_once(": ") {
        Some((key, reason)) if is_key_path(key) => (key, reason),
        _ => ("", body),
    };
    let positions = position::KeyPositions::of(text);
    // Of the keys written there, the least specific one inside serde's: a sequence item and
    // its first key start at the same place, and an error about the item is not about that key.
    let key = positions
        .as_ref()
        .and_then(|p| {
            p.keys_at(at)
                .filter(|written| written.starts_with(key))
                .min_by_key(|written| written.len())
        })
        .unwrap_or(key);
    ConfigError::Syntax {
        path: path.to_owned(),
        line: at.line,
        column: at.column,
        message: if key.is_empty() {
            reason.to_owned()
        } else {
            format!("config key {key}: {reason}")
        },
    }
}

/// Settings that come from the command line and override the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--web.listen-address`.
    pub listen_address: Option<SocketAddr>,
    /// `--shard.index` / `--shard.count`: watch only this replica's share of the tenants.
    pub shard: Option<Shard>,
    /// `--web.config.file`: TLS, basic auth and headers, in exporter-toolkit's format.
    pub web_config_file: Option<PathBuf>,
}

/// One replica's share of the tenants when a deployment is split across several processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This replica's index, from 0 (a StatefulSet's pod ordinal).
    pub index: u32,
    /// How many replicas share the tenants.
    pub count: u32,
}

impl Shard {
    /// Whether `tenant_id` belongs to this shard. The hash (FNV-1a, 64-bit, of the lower-cased
    /// tenant id) is fixed, so every replica agrees without talking to the others, and a tenant
    /// only moves when the replica count changes.
    pub fn owns(&self, tenant_id: &str) -> bool {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in tenant_id.to_ascii_lowercase().bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        hash % u64::from(self.count.max(1)) == u64::from(self.index)
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address `/metrics` listens on.
    pub listen_address: SocketAddr,
    /// TLS, basic auth and headers for the HTTP server; `None` serves plain HTTP to anyone.
    pub web: Option<crate::web_config::WebConfig>,
    /// See [`defaults::READY_DEADLINE`].
    pub ready_deadline: Duration,
    /// Graph client behaviour.
    pub graph: GraphOptions,
    /// Tenants this replica watches; empty only when sharding left it none.
    pub tenants: Vec<TenantConfig>,
    /// Every known collector with its settings from the top-level `collectors:`; each
    /// tenant's own list ([`TenantConfig::collectors`]) is what runs.
    pub collectors: Vec<CollectorSettings>,
    /// Caps on breakdown label values.
    pub breakdowns: BreakdownLimits,
    /// Incremental reading of the activity logs.
    pub activity: ActivityOptions,
}

impl Config {
    /// Applies `f` to the top-level collector settings and to every tenant's.
    pub fn update_collectors(&mut self, mut f: impl FnMut(&mut CollectorSettings)) {
        self.collectors.iter_mut().for_each(&mut f);
        for t in &mut self.tenants {
            t.collectors.iter_mut().for_each(&mut f);
        }
    }
}

/// How many distinct values a breakdown label may take before the rest are summed into
/// `other` (see `docs/metrics.md`, "Breakdowns").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakdownLimits {
    /// Applications and AD FS relying parties.
    pub applications: usize,
    /// Operating systems.
    pub operating_systems: usize,
    /// Countries.
    pub countries: usize,
    /// Authentication and MFA methods.
    pub methods: usize,
    /// Sign-in error codes.
    pub error_codes: usize,
    /// Audit activities and provisioning target systems.
    pub activities: usize,
}

impl Default for BreakdownLimits {
    fn default() -> Self {
        BreakdownLimits {
            applications: defaults::BREAKDOWN_APPLICATIONS,
            operating_systems: defaults::BREAKDOWN_OPERATING_SYSTEMS,
            countries: defaults::BREAKDOWN_COUNTRIES,
            methods: defaults::BREAKDOWN_METHODS,
            error_codes: defaults::BREAKDOWN_ERROR_CODES,
            activities: defaults::BREAKDOWN_ACTIVITIES,
        }
    }
}

/// How the activity-log collectors read their logs incrementally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityOptions {
    /// See [`defaults::ACTIVITY_SAFETY_LAG`].
    pub safety_lag: Duration,
    /// See [`defaults::ACTIVITY_OVERLAP`].
    pub overlap: Duration,
    /// See [`defaults::ACTIVITY_INITIAL_LOOKBACK`].
    pub initial_lookback: Duration,
    /// See [`defaults::ACTIVITY_MAX_WINDOW`].
    pub max_window: Duration,
    /// Where watermarks survive restarts; `None` keeps them in memory only.
    pub state_directory: Option<PathBuf>,
}

impl Default for ActivityOptions {
    fn default() -> Self {
        ActivityOptions {
            safety_lag: defaults::ACTIVITY_SAFETY_LAG,
            overlap: defaults::ACTIVITY_OVERLAP,
            initial_lookback: defaults::ACTIVITY_INITIAL_LOOKBACK,
            max_window: defaults::ACTIVITY_MAX_WINDOW,
            state_directory: None,
        }
    }
}

/// A number of requests allowed per sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Requests per window.
    pub requests: u32,
    /// The window.
    pub window: Duration,
}

/// Graph client behaviour shared by every tenant.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries per request.
    pub max_retries: u32,
    /// First backoff delay.
    pub initial_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
    /// Cap on an honoured `Retry-After`.
    pub max_retry_after: Duration,
    /// Largest accepted response body.
    pub max_body_bytes: u64,
    /// Pages read from one collection before paging stops with an error: the bound on a
    /// server that keeps handing out new `@odata.nextLink`s.
    pub max_pages: u64,
    /// Pacing of the identity-and-access reports service per tenant; `None` = no pacing.
    pub reports_budget: Option<Budget>,
    /// Extra trusted CA certificates, besides the built-in roots.
    pub extra_roots: Vec<reqwest::Certificate>,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            timeout: defaults::GRAPH_TIMEOUT,
            max_retries: defaults::GRAPH_MAX_RETRIES,
            initial_backoff: defaults::GRAPH_INITIAL_BACKOFF,
            max_backoff: defaults::GRAPH_MAX_BACKOFF,
            max_retry_after: defaults::GRAPH_MAX_RETRY_AFTER,
            max_body_bytes: defaults::GRAPH_MAX_BODY_BYTES,
            max_pages: defaults::GRAPH_MAX_PAGES,
            reports_budget: Some(Budget {
                requests: defaults::REPORTS_BUDGET_REQUESTS,
                window: defaults::REPORTS_BUDGET_WINDOW,
            }),
            extra_roots: Vec::new(),
        }
    }
}

/// One tenant, ready to authenticate against.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Value of the `tenant` label.
    pub label: String,
    /// Tenant id or domain, as used in the token URL.
    pub tenant_id: String,
    /// How the exporter signs in to this tenant.
    pub credential: Credential,
    /// Why that credential was chosen, for the start-up log.
    pub credential_reason: String,
    /// Every known collector with this tenant's settings.
    pub collectors: Vec<CollectorSettings>,
    /// Authority host, always with a trailing slash.
    pub authority_host: Url,
    /// Graph root, always with a trailing slash.
    pub graph_root: Url,
}

impl TenantConfig {
    /// `{authority}{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> Result<Url, url::ParseError> {
        self.authority_host
            .join(&format!("{}/oauth2/v2.0/token", self.tenant_id))
    }

    /// `{graph root}/.default`: tokens are per cloud (reference §12).
    pub fn scope(&self) -> String {
        format!("{}.default", self.graph_root)
    }
}

/// A collector's resolved settings.
#[derive(Debug, Clone)]
pub struct CollectorSettings {
    /// Collector name, as in `collectors:`.
    pub name: &'static str,
    /// Whether it runs.
    pub enabled: bool,
    /// Time between polls.
    pub interval: Duration,
}

impl Config {
    /// Merges the file, the environment (looked up through `env`) and the overrides, and validates.
    pub fn resolve(
        file: FileConfig,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let listen_address = match overrides.listen_address.or(file.web.listen_address) {
            Some(a) => a,
            None => defaults::LISTEN_ADDRESS
                .parse()
                .map_err(|_| invalid("web.listen_address", "default does not parse"))?,
        };

        let mut graph = GraphOptions {
            timeout: file.graph.timeout.unwrap_or(defaults::GRAPH_TIMEOUT),
            max_retries: file
                .graph
                .max_retries
                .unwrap_or(defaults::GRAPH_MAX_RETRIES),
            initial_backoff: defaults::GRAPH_INITIAL_BACKOFF,
            max_backoff: file
                .graph
                .max_backoff
                .unwrap_or(defaults::GRAPH_MAX_BACKOFF),
            max_retry_after: file
                .graph
                .max_retry_after
                .unwrap_or(defaults::GRAPH_MAX_RETRY_AFTER),
            max_body_bytes: file
                .graph
                .max_body_bytes
                .unwrap_or(defaults::GRAPH_MAX_BODY_BYTES),
            max_pages: file.graph.max_pages.unwrap_or(defaults::GRAPH_MAX_PAGES),
            reports_budget: match file
                .graph
                .reports_budget
                .requests
                .unwrap_or(defaults::REPORTS_BUDGET_REQUESTS)
            {
                0 => None,
                requests => Some(Budget {
                    requests,
                    window: file
                        .graph
                        .reports_budget
                        .window
                        .unwrap_or(defaults::REPORTS_BUDGET_WINDOW),
                }),
            },
            extra_roots: Vec::new(),
        };
        if let Some(path) = &file.graph.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                invalid(
                    "graph.ca_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            graph.extra_roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                invalid(
                    "graph.ca_file",
                    format!("{} holds no PEM certificates: {e}", path.display()),
                )
            })?;
            if graph.extra_roots.is_empty() {
                return Err(invalid(
                    "graph.ca_file",
                    format!("{} holds no PEM certificates", path.display()),
                ));
            }
        }
        if graph.max_pages == 0 {
            return Err(invalid(
                "graph.max_pages",
                "must be at least 1; every collection has a first page",
            ));
        }
        if graph.max_body_bytes < 1024 {
            return Err(invalid(
                "graph.max_body_bytes",
                "must be at least 1024 bytes; Graph pages are often several MiB",
            ));
        }

        let collectors =
            resolve_collectors(&defaults_of_registry(), file.collectors, "collectors")?;

        let mut file_tenants = file.tenants;
        let single = file_tenants.len() <= 1;
        if file_tenants.is_empty() {
            file_tenants.push(FileTenant::default());
        }
        let mut tenants = Vec::with_capacity(file_tenants.len());
        for (i, t) in file_tenants.into_iter().enumerate() {
            let key = |field: &str| format!("tenants[{i}].{field}");
            let from_env = |name: &str| if single { env(name) } else { None };

            let tenant_id = t
                .tenant_id
                .or_else(|| from_env("AZURE_TENANT_ID"))
                .ok_or_else(|| {
                    invalid(
                        key("tenant_id"),
                        "missing; set it in the config file or with AZURE_TENANT_ID",
                    )
                })?;
            validate_tenant_id(&tenant_id).map_err(|reason| invalid(key("tenant_id"), reason))?;
            let client_id = t.client_id.or_else(|| from_env("AZURE_CLIENT_ID"));
            let (credential, credential_reason) = auth::resolve(
                t.auth,
                &auth::Inputs {
                    client_id,
                    app_env: &from_env,
                    host_env: &env,
                    prefix: format!("tenants[{i}]."),
                },
            )?;

            let cloud = t.cloud.unwrap_or(defaults::CLOUD);
            let authority_host = match t.authority_host {
                Some(u) => u,
                None => match from_env("AZURE_AUTHORITY_HOST") {
                    Some(text) => Url::parse(&text).map_err(|e| {
                        invalid("AZURE_AUTHORITY_HOST", format!("invalid URL {text:?}: {e}"))
                    })?,
                    None => Url::parse(cloud.authority_host()).map_err(|e| {
                        invalid(key("cloud"), format!("built-in authority is invalid: {e}"))
                    })?,
                },
            };
            let graph_root = match t.graph_base_url {
                Some(u) => u,
                None => Url::parse(cloud.graph_root()).map_err(|e| {
                    invalid(key("cloud"), format!("built-in Graph root is invalid: {e}"))
                })?,
            };
            require_tls(&authority_host, &key("authority_host"))?;
            require_tls(&graph_root, &key("graph_base_url"))?;
            let label = t.name.unwrap_or_else(|| tenant_id.clone());
            if label.is_empty() {
                return Err(invalid(key("name"), "must not be empty"));
            }
            if tenants.iter().any(|x: &TenantConfig| x.label == label) {
                return Err(invalid(
                    key("name"),
                    format!("tenant name {label:?} is used twice; names become the `tenant` label and must be unique"),
                ));
            }
            let collectors = resolve_collectors(&collectors, t.collectors, &key("collectors"))?;
            tenants.push(TenantConfig {
                label,
                tenant_id,
                credential,
                credential_reason,
                collectors,
                authority_host: with_trailing_slash(authority_host),
                graph_root: with_trailing_slash(graph_root),
            });
        }
        if let Some(shard) = overrides.shard {
            if shard.count == 0 || shard.index >= shard.count {
                return Err(invalid(
                    "--shard.index",
                    format!(
                        "{} is not below --shard.count {}; indexes run from 0 to count - 1",
                        shard.index, shard.count
                    ),
                ));
            }
            tenants.retain(|t| shard.owns(&t.tenant_id));
        }

        let b = file.breakdowns;
        let breakdowns = BreakdownLimits {
            applications: b.applications.unwrap_or(defaults::BREAKDOWN_APPLICATIONS),
            operating_systems: b
                .operating_systems
                .unwrap_or(defaults::BREAKDOWN_OPERATING_SYSTEMS),
            countries: b.countries.unwrap_or(defaults::BREAKDOWN_COUNTRIES),
            methods: b.methods.unwrap_or(defaults::BREAKDOWN_METHODS),
            error_codes: b.error_codes.unwrap_or(defaults::BREAKDOWN_ERROR_CODES),
            activities: b.activities.unwrap_or(defaults::BREAKDOWN_ACTIVITIES),
        };
        for (key, value) in [
            ("applications", breakdowns.applications),
            ("operating_systems", breakdowns.operating_systems),
            ("countries", breakdowns.countries),
            ("methods", breakdowns.methods),
            ("error_codes", breakdowns.error_codes),
            ("activities", breakdowns.activities),
        ] {
            if value == 0 {
                return Err(invalid(
                    format!("breakdowns.{key}"),
                    "must be at least 1; every value beyond the limit is summed into `other`",
                ));
            }
        }

        let a = file.activity_logs;
        let activity = ActivityOptions {
            safety_lag: a.safety_lag.unwrap_or(defaults::ACTIVITY_SAFETY_LAG),
            overlap: a.overlap.unwrap_or(defaults::ACTIVITY_OVERLAP),
            initial_lookback: a
                .initial_lookback
                .unwrap_or(defaults::ACTIVITY_INITIAL_LOOKBACK),
            max_window: a.max_window.unwrap_or(defaults::ACTIVITY_MAX_WINDOW),
            state_directory: a.state_directory,
        };
        if let Some(dir) = &activity.state_directory {
            if dir.exists() && !dir.is_dir() {
                return Err(invalid(
                    "activity_logs.state_directory",
                    format!("{} exists and is not a directory", dir.display()),
                ));
            }
        }

        let web = match &overrides.web_config_file {
            Some(path) => Some(crate::web_config::WebConfig::load(path)?),
            None => None,
        };

        Ok(Config {
            listen_address,
            web,
            ready_deadline: file.web.ready_deadline.unwrap_or(defaults::READY_DEADLINE),
            graph,
            tenants,
            collectors,
            breakdowns,
            activity,
        })
    }
}

/// Refuses plain HTTP to anything but loopback: tokens and secrets travel on these
/// connections, so TLS (always verified) is the only way to a real host. Loopback stays open
/// for the simulator and local test doubles.
fn require_tls(url: &Url, key: &str) -> Result<(), ConfigError> {
    if url.scheme() == "https" {
        return Ok(());
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if loopback {
        Ok(())
    } else {
        Err(invalid(
            key,
            format!("{url} is plain http to a host that is not loopback; use https (TLS certificates are always verified)"),
        ))
    }
}

/// Each registered collector with its built-in default settings.
fn defaults_of_registry() -> Vec<CollectorSettings> {
    collectors::REGISTRY
        .iter()
        .map(|info| CollectorSettings {
            name: info.name,
            enabled: info.default_enabled,
            interval: info.default_interval,
        })
        .collect()
}

/// `base` with the settings in `file` applied over it; `key` names the section in errors.
fn resolve_collectors(
    base: &[CollectorSettings],
    mut file: BTreeMap<String, FileCollector>,
    key: &str,
) -> Result<Vec<CollectorSettings>, ConfigError> {
    let resolved = base
        .iter()
        .map(|b| {
            let s = file.remove(b.name).unwrap_or_default();
            CollectorSettings {
                name: b.name,
                enabled: s.enabled.unwrap_or(b.enabled),
                interval: s.interval.unwrap_or(b.interval),
            }
        })
        .collect();
    if let Some(unknown) = file.keys().next() {
        let known: Vec<&str> = base.iter().map(|c| c.name).collect();
        return Err(invalid(
            format!("{key}.{unknown}"),
            format!("unknown collector; known collectors: {}", known.join(", ")),
        ));
    }
    Ok(resolved)
}

fn validate_tenant_id(id: &str) -> Result<(), String> {
    let lower = id.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "organizations" | "consumers") {
        return Err(format!(
            "{id:?} cannot be used with the client-credentials grant (AADSTS9001023); use the tenant's GUID or verified domain"
        ));
    }
    let is_guid = uuid::Uuid::parse_str(id).is_ok();
    let is_domain = id.contains('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !is_guid && !is_domain {
        return Err(format!(
            "{id:?} is neither a GUID nor a domain name (AADSTS900023 would follow); copy the Directory (tenant) ID from the Entra admin center"
        ));
    }
    Ok(())
}

fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    // Mounted secrets often end with a newline the secret itself does not have.
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn resolve(yaml: &str) -> Result<Config, ConfigError> {
        let file = FileConfig::parse(yaml, Path::new("test.yaml"))?;
        Config::resolve(file, &no_env, &Overrides::default())
    }

    const MINIMAL: &str = "tenants:\n  - tenant_id: contoso.onmicrosoft.com\n    client_id: c1\n    auth:\n      client_secret: s1\n";

    #[test]
    fn minimal_file_gets_defaults() {
        let c = resolve(MINIMAL).unwrap();
        assert_eq!(c.tenants[0].label, "contoso.onmicrosoft.com");
        assert_eq!(
            c.tenants[0].token_url().unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(c.tenants[0].scope(), "https://graph.microsoft.com/.default");
        assert_eq!(c.listen_address.to_string(), defaults::LISTEN_ADDRESS);
        let creds = c
            .collectors
            .iter()
            .find(|c| c.name == "credentials")
            .unwrap();
        assert!(creds.enabled);
    }

    #[test]
    fn azure_sdk_variables_fill_a_single_tenant() {
        let env = |name: &str| match name {
            "AZURE_TENANT_ID" => Some("7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f".to_string()),
            "AZURE_CLIENT_ID" => Some("client".to_string()),
            "AZURE_CLIENT_SECRET" => Some("shh".to_string()),
            "AZURE_AUTHORITY_HOST" => Some("https://login.microsoftonline.us".to_string()),
            _ => None,
        };
        let c = Config::resolve(FileConfig::default(), &env, &Overrides::default()).unwrap();
        let t = &c.tenants[0];
        match &t.credential {
            Credential::ClientSecret { client_id, secret } => {
                assert_eq!(client_id, "client");
                assert_eq!(secret.expose(), "shh");
            }
            other => panic!("expected a client secret, got {other:?}"),
        }
        assert_eq!(
            t.token_url().unwrap().as_str(),
            "https://login.microsoftonline.us/7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f/oauth2/v2.0/token"
        );
    }

    #[test]
    fn national_cloud_sets_both_hosts() {
        let c = resolve(&format!("{MINIMAL}    cloud: usgov-dod\n")).unwrap();
        assert_eq!(
            c.tenants[0].scope(),
            "https://dod-graph.microsoft.us/.default"
        );
        assert_eq!(
            c.tenants[0].authority_host.as_str(),
            "https://login.microsoftonline.us/"
        );
    }

    #[test]
    fn invalid_configs_name_the_key_and_reason() {
        let cases: &[(&str, &str)] = &[
            (
                "tenants:\n  - tenant_id: x.com\n    client_id: c\n    clientsecret: s\n",
                "test.yaml:4:5: config key tenants[0].clientsecret: unknown field `clientsecret`",
            ),
            (
                "collectors:\n  credentials:\n    interval: soon\n",
                "test.yaml:3:5: config key collectors.credentials.interval: invalid duration \"soon\" (expected number at 0); write it like \"30s\", \"15m\" or \"1h\"",
            ),
            (
                &format!("{MINIMAL}collectors:\n  nope:\n    enabled: true\n"),
                "config key collectors.nope: unknown collector; known collectors: credentials",
            ),
            (
                "tenants:\n  - client_id: c\n    auth:\n      client_secret: s\n",
                "config key tenants[0].tenant_id: missing; set it in the config file or with AZURE_TENANT_ID",
            ),
            (
                "tenants:\n  - tenant_id: common\n    client_id: c\n    auth:\n      client_secret: s\n",
                "AADSTS9001023",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      client_secret: s\n      client_secret_file: /x\n",
                "config key tenants[0].auth.client_secret: given both inline and as tenants[0].auth.client_secret_file",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      client_secret_file: /nonexistent/secret\n",
                "config key tenants[0].auth.client_secret_file: cannot read /nonexistent/secret",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      mode: client_certificate\n",
                "config key tenants[0].auth.certificate_file: missing; auth.mode client_certificate needs auth.certificate_file, or AZURE_CLIENT_CERTIFICATE_PATH",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      certificate_file: /nonexistent/cert.pem\n",
                "config key tenants[0].auth.certificate_file: cannot read certificate file /nonexistent/cert.pem",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      mode: workload_identity\n",
                "config key tenants[0].auth.federated_token_file: missing; auth.mode workload_identity needs AZURE_FEDERATED_TOKEN_FILE",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    auth:\n      client_secret: s\n",
                "config key tenants[0].client_id: missing; a client secret needs the app registration's client id",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    auth:\n      mode: managed_identity\n      managed_identity:\n        client_id: a\n        object_id: b\n",
                "config key tenants[0].auth.managed_identity: give at most one of client_id, object_id and resource_id",
            ),
            (
                "tenants:\n  - tenant_id: x.com\n    auth:\n      mode: password\n",
                "unknown variant `password`",
            ),
            (
                &format!("{MINIMAL}    collectors:\n      nope: {{}}\n"),
                "config key tenants[0].collectors.nope: unknown collector",
            ),
            (
                &format!("{MINIMAL}    graph_base_url: ftp://x\n"),
                "must be an http(s) URL with a host",
            ),
            (
                &format!("{MINIMAL}    graph_base_url: http://graph.microsoft.com/\n"),
                "config key tenants[0].graph_base_url: http://graph.microsoft.com/ is plain http to a host that is not loopback; use https",
            ),
            (
                &format!("{MINIMAL}    authority_host: http://login.example.com/\n"),
                "config key tenants[0].authority_host: http://login.example.com/ is plain http",
            ),
            (
                "tenants:\n  - tenant_id: a.com\n    client_id: c\n    auth:\n      client_secret: s\n  - tenant_id: a.com\n    client_id: d\n    auth:\n      client_secret: s\n",
                "config key tenants[1].name: tenant name \"a.com\" is used twice",
            ),
        ];
        for (yaml, expected) in cases {
            let err = resolve(yaml).expect_err(yaml).to_string();
            assert!(
                err.contains(expected),
                "for config\n{yaml}\nexpected error containing {expected:?}, got {err:?}"
            );
        }
    }

    #[test]
    fn parse_errors_carry_the_line() {
        let err = resolve("web:\n  listen_address: [1, 2]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("test.yaml:2:19: config key web.listen_address: "),
            "{err}"
        );
    }

    #[test]
    fn secret_file_newline_is_trimmed_and_secret_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "value-123\n").unwrap();
        let yaml = format!(
            "tenants:\n  - tenant_id: x.com\n    client_id: c\n    auth:\n      client_secret_file: {}\n",
            path.display()
        );
        let c = resolve(&yaml).unwrap();
        let Credential::ClientSecret { secret, .. } = &c.tenants[0].credential else {
            panic!("expected a client secret");
        };
        assert_eq!(secret.expose(), "value-123");
        assert!(!format!("{c:?}").contains("value-123"));
    }

    /// `mode: auto` with only environment variables, as the Azure SDKs' default chain does.
    fn auto_with(vars: &[(&str, &str)]) -> TenantConfig {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([("AZURE_TENANT_ID".to_owned(), "x.com".to_owned())])
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let c = Config::resolve(FileConfig::default(), &env, &Overrides::default()).unwrap();
        c.tenants.into_iter().next().unwrap()
    }

    #[test]
    fn auto_follows_the_default_credential_chain() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "eyJ").unwrap();
        let token = token.to_str().unwrap();

        let t = auto_with(&[
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_FEDERATED_TOKEN_FILE", token),
        ]);
        assert_eq!(t.credential.mode(), "client_secret", "secret comes first");
        assert!(t.credential_reason.contains("AZURE_CLIENT_SECRET"));

        let t = auto_with(&[
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_FEDERATED_TOKEN_FILE", token),
        ]);
        assert_eq!(t.credential.mode(), "workload_identity");

        let t = auto_with(&[]);
        let Credential::ManagedIdentity(mi) = &t.credential else {
            panic!("expected managed identity, got {:?}", t.credential);
        };
        assert!(
            matches!(&mi.endpoint, ManagedIdentityEndpoint::Imds(u) if u.as_str() == IMDS_ENDPOINT)
        );
        assert_eq!(
            mi.user_assigned, None,
            "system-assigned without a client id"
        );

        let t = auto_with(&[
            ("AZURE_CLIENT_ID", "uami"),
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:4141/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ]);
        let Credential::ManagedIdentity(mi) = &t.credential else {
            panic!("expected managed identity");
        };
        assert!(matches!(
            mi.endpoint,
            ManagedIdentityEndpoint::AppService { .. }
        ));
        assert_eq!(
            mi.user_assigned,
            Some(UserAssignedIdentity::ClientId("uami".into())),
            "AZURE_CLIENT_ID selects a user-assigned identity, as in the SDKs"
        );
    }

    #[test]
    fn tenants_override_collectors_one_by_one() {
        let yaml = format!(
            "collectors:\n  sign_ins:\n    enabled: false\n{MINIMAL}    collectors:\n      credentials:\n        interval: 5m\n  - tenant_id: b.com\n    client_id: c\n    auth:\n      client_secret: s\n    collectors:\n      sign_ins:\n        enabled: true\n"
        );
        let c = resolve(&yaml).unwrap();
        let get = |t: usize, name: &str| {
            c.tenants[t]
                .collectors
                .iter()
                .find(|x| x.name == name)
                .cloned()
                .unwrap()
        };
        assert_eq!(get(0, "credentials").interval, Duration::from_secs(300));
        assert!(!get(0, "sign_ins").enabled, "the top-level setting applies");
        assert!(get(1, "sign_ins").enabled, "the tenant's own setting wins");
    }

    #[test]
    fn shards_split_tenants_without_overlap() {
        let ids: Vec<String> = (0..30).map(|i| format!("tenant{i}.example.com")).collect();
        let mut owners = vec![0; ids.len()];
        for index in 0..3 {
            let shard = Shard { index, count: 3 };
            for (i, id) in ids.iter().enumerate() {
                if shard.owns(id) {
                    owners[i] += 1;
                }
            }
        }
        assert!(owners.iter().all(|&n| n == 1), "{owners:?}");
        let bad = Overrides {
            shard: Some(Shard { index: 3, count: 3 }),
            ..Overrides::default()
        };
        let file = FileConfig::parse(MINIMAL, Path::new("t.yaml")).unwrap();
        let err = Config::resolve(file, &no_env, &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--shard.index: 3 is not below --shard.count 3"),
            "{err}"
        );
    }
}
