//! The exporter's own metrics: per-collector health, Graph requests and retries, token
//! refreshes, build info.
//!
//! Counters that many tasks bump live in a `prometheus` registry; per-collector health is
//! rendered from the collector states (see [`crate::runtime`]). Both are described by
//! [`MetricSpec`]s so `docs/metrics.md` covers them too.

use prometheus::{CounterVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::exposition::{MetricKind, MetricSpec};

/// `entra_collector_up`.
pub static COLLECTOR_UP: MetricSpec = MetricSpec {
    name: "entra_collector_up",
    kind: MetricKind::Gauge,
    help: "1 if the collector's last poll of Microsoft Graph succeeded, 0 if it failed (its last good values are still served).",
    labels: &["tenant", "collector"],
    source: "-",
    permission: "-",
};

/// `entra_collector_duration_seconds`.
pub static COLLECTOR_DURATION: MetricSpec = MetricSpec {
    name: "entra_collector_duration_seconds",
    kind: MetricKind::Gauge,
    help: "Wall time of the collector's last poll, including retries.",
    labels: &["tenant", "collector"],
    source: "-",
    permission: "-",
};

/// `entra_collector_last_success_timestamp_seconds`.
pub static COLLECTOR_LAST_SUCCESS: MetricSpec = MetricSpec {
    name: "entra_collector_last_success_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Unix time the collector last completed a poll; absent until the first success.",
    labels: &["tenant", "collector"],
    source: "-",
    permission: "-",
};

/// `entra_collector_interval_seconds`.
pub static COLLECTOR_INTERVAL: MetricSpec = MetricSpec {
    name: "entra_collector_interval_seconds",
    kind: MetricKind::Gauge,
    help: "Configured time between the collector's polls; staleness alerts compare the last success against it.",
    labels: &["tenant", "collector"],
    source: "-",
    permission: "-",
};

/// `entra_graph_requests_total`.
pub static GRAPH_REQUESTS: MetricSpec = MetricSpec {
    name: "entra_graph_requests_total",
    kind: MetricKind::Counter,
    help: "HTTP requests sent to Microsoft Graph, by endpoint and response status (\"error\" when no response arrived).",
    labels: &["tenant", "endpoint", "status"],
    source: "-",
    permission: "-",
};

/// `entra_graph_retries_total`.
pub static GRAPH_RETRIES: MetricSpec = MetricSpec {
    name: "entra_graph_retries_total",
    kind: MetricKind::Counter,
    help: "Microsoft Graph requests retried, by endpoint and reason (throttled, unavailable, timeout, connection, unauthorized).",
    labels: &["tenant", "endpoint", "reason"],
    source: "-",
    permission: "-",
};

/// `entra_graph_reports_budget_wait_seconds_total`.
pub static REPORTS_BUDGET_WAIT: MetricSpec = MetricSpec {
    name: "entra_graph_reports_budget_wait_seconds_total",
    kind: MetricKind::Counter,
    help: "Time collectors spent waiting for the tenant's identity-and-access reports budget (5 requests per 10 s per app per tenant) before sending a request.",
    labels: &["tenant"],
    source: "-",
    permission: "-",
};

/// `entra_token_refreshes_total`.
pub static TOKEN_REFRESHES: MetricSpec = MetricSpec {
    name: "entra_token_refreshes_total",
    kind: MetricKind::Counter,
    help: "Access token requests to the Entra token endpoint, by result (success or error).",
    labels: &["tenant", "result"],
    source: "-",
    permission: "-",
};

/// `entra_build_info`.
pub static BUILD_INFO: MetricSpec = MetricSpec {
    name: "entra_build_info",
    kind: MetricKind::Gauge,
    help: "Always 1; labels carry the exporter's version.",
    labels: &["version"],
    source: "-",
    permission: "-",
};

/// Every self-metric, for the docs check.
pub static METRICS: &[&MetricSpec] = &[
    &COLLECTOR_UP,
    &COLLECTOR_DURATION,
    &COLLECTOR_LAST_SUCCESS,
    &COLLECTOR_INTERVAL,
    &GRAPH_REQUESTS,
    &GRAPH_RETRIES,
    &REPORTS_BUDGET_WAIT,
    &TOKEN_REFRESHES,
    &BUILD_INFO,
];

/// Live counters shared by every task; cheap to clone.
#[derive(Clone)]
pub struct Telemetry {
    /// Registry that `/metrics` gathers from.
    registry: Registry,
    /// See [`GRAPH_REQUESTS`].
    pub graph_requests: IntCounterVec,
    /// See [`GRAPH_RETRIES`].
    pub graph_retries: IntCounterVec,
    /// See [`REPORTS_BUDGET_WAIT`].
    pub reports_budget_wait: CounterVec,
    /// See [`TOKEN_REFRESHES`].
    pub token_refreshes: IntCounterVec,
}

fn counter(registry: &Registry, spec: &MetricSpec) -> IntCounterVec {
    let vec = IntCounterVec::new(Opts::new(spec.name, spec.help), spec.labels)
        .expect("static metric spec is valid");
    registry
        .register(Box::new(vec.clone()))
        .expect("metric registered once");
    vec
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    /// A fresh registry with every self-metric registered.
    pub fn new() -> Self {
        let registry = Registry::new();
        let graph_requests = counter(&registry, &GRAPH_REQUESTS);
        let graph_retries = counter(&registry, &GRAPH_RETRIES);
        let token_refreshes = counter(&registry, &TOKEN_REFRESHES);
        let reports_budget_wait = CounterVec::new(
            Opts::new(REPORTS_BUDGET_WAIT.name, REPORTS_BUDGET_WAIT.help),
            REPORTS_BUDGET_WAIT.labels,
        )
        .expect("static metric spec is valid");
        registry
            .register(Box::new(reports_budget_wait.clone()))
            .expect("metric registered once");
        let build = IntGaugeVec::new(
            Opts::new(BUILD_INFO.name, BUILD_INFO.help),
            BUILD_INFO.labels,
        )
        .expect("static metric spec is valid");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        registry
            .register(Box::new(build))
            .expect("metric registered once");
        Telemetry {
            registry,
            graph_requests,
            graph_retries,
            reports_budget_wait,
            token_refreshes,
        }
    }

    /// Appends the registry's metrics in the text format.
    pub fn render(&self, out: &mut String) {
        let families = self.registry.gather();
        if let Ok(text) = TextEncoder::new().encode_to_string(&families) {
            out.push_str(&text);
        }
    }
}
