//! entra-exporter: Microsoft Entra ID usage & insights reports and activity logs, read from
//! Microsoft Graph and served as Prometheus metrics.
//!
//! The layout follows the data: [`config`] → [`auth`] (tokens) → [`graph`] (HTTP to Graph) →
//! [`collectors`] (one per report family) → [`runtime`] (polling into snapshots) →
//! [`server`] (`/metrics`). [`run`] wires them together; `main.rs` only parses arguments.

pub mod auth;
pub mod backfill;
pub mod cli;
pub mod collectors;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod exposition;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod http_body;
pub mod runtime;
pub mod server;
pub mod telemetry;
pub mod web_config;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;

use auth::TokenProvider;
use config::Config;
use graph::GraphClient;
use runtime::{CollectorState, Job, Snapshots};
use telemetry::Telemetry;

/// Why the exporter could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}; choose another --web.listen-address")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
    /// The HTTP client could not be built (TLS roots, say).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    /// A tenant's credential could not be set up (its token URL or HTTP client).
    #[error("tenant {tenant}: cannot set up the credential: {reason}")]
    Credential {
        /// Tenant label.
        tenant: String,
        /// Why.
        reason: String,
    },
}

/// Identifies the exporter to Graph, which helps Microsoft support read its logs.
const USER_AGENT: &str = concat!("entra-exporter/", env!("CARGO_PKG_VERSION"));

/// Runs the exporter on `listener` until `shutdown` completes, then stops every collector.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let telemetry = Telemetry::new();
    let http = http_client(&config)?;

    let mut states = Vec::new();
    let mut jobs = Vec::new();
    for tenant in &config.tenants {
        let graph = graph_client(&http, &config, tenant, &telemetry)?;
        for settings in tenant.collectors.iter().filter(|c| c.enabled) {
            let Some(info) = collectors::info(settings.name) else {
                continue;
            };
            jobs.push(Job {
                slot: states.len(),
                collector: (info.build)(&config),
                graph: graph.clone(),
                interval: settings.interval,
                name: info.name,
            });
            states.push(CollectorState {
                tenant: tenant.label.clone(),
                collector: info.name,
                interval: settings.interval,
                families: Arc::default(),
                up: None,
                duration_seconds: 0.0,
                last_success: None,
                last_error: None,
            });
        }
    }

    let snapshots = Arc::new(Snapshots::new(states));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = runtime::spawn(jobs, snapshots.clone(), stopped);
    let state = Arc::new(server::AppState {
        snapshots,
        telemetry,
        started: Instant::now(),
        ready_deadline: config.ready_deadline,
    });
    let mut app = server::router(state);
    let served = match config.web {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(web) => {
            let tls = web.tls.clone();
            app = app.layer(axum::middleware::from_fn_with_state(
                Arc::new(web),
                web_config::guard,
            ));
            match tls {
                None => {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown)
                        .await
                }
                Some(acceptor) => {
                    let listener = web_config::TlsListener::new(listener, acceptor)
                        .map_err(RunError::Serve)?;
                    axum::serve(listener, app)
                        .with_graceful_shutdown(shutdown)
                        .await
                }
            }
        }
    };
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    served.map_err(RunError::Serve)
}

/// The HTTP client shared by every tenant's token and Graph requests.
pub fn http_client(config: &Config) -> Result<reqwest::Client, RunError> {
    let mut builder = reqwest::Client::builder();
    for root in &config.graph.extra_roots {
        builder = builder.add_root_certificate(root.clone());
    }
    builder
        .user_agent(USER_AGENT)
        .connect_timeout(config.graph.timeout)
        // Graph does not redirect; refusing redirects keeps the token on the configured host.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| RunError::HttpClient(e.to_string()))
}

/// A Graph client for `tenant`, with its own token cache and reports budget.
pub fn graph_client(
    http: &reqwest::Client,
    config: &Config,
    tenant: &config::TenantConfig,
    telemetry: &Telemetry,
) -> Result<Arc<GraphClient>, RunError> {
    let source = auth::source_for(http, tenant, config.graph.timeout).map_err(|reason| {
        RunError::Credential {
            tenant: tenant.label.clone(),
            reason,
        }
    })?;
    tracing::info!(
        tenant = %tenant.label,
        credential = source.kind(),
        why = %tenant.credential_reason,
        "using credential"
    );
    let tokens = Arc::new(TokenProvider::new(
        source,
        tenant.label.clone(),
        telemetry.clone(),
    ));
    Ok(Arc::new(GraphClient::new(
        http.clone(),
        tenant.graph_root.clone(),
        tokens,
        config.graph.clone(),
        telemetry.clone(),
        tenant.label.clone(),
    )))
}

/// Binds `address`, with an error that says what to do.
pub async fn bind(address: std::net::SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| RunError::Bind {
            address: address.to_string(),
            source,
        })
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

/// A titled group of metric families, as `docs/metrics.md` lists them.
pub struct MetricGroup {
    /// Heading: the collector name, or `exporter` for self-metrics.
    pub name: &'static str,
    /// One line under the heading.
    pub description: &'static str,
    /// The families.
    pub metrics: &'static [&'static exposition::MetricSpec],
    /// Whether `/metrics` serves them (false: only `backfill` writes them).
    pub live: bool,
}

/// Every metric the exporter can emit, grouped by collector; the single list that
/// `docs/metrics.md` is checked against.
pub fn metric_catalogue() -> Vec<MetricGroup> {
    let mut groups: Vec<MetricGroup> = collectors::REGISTRY
        .iter()
        .map(|c| MetricGroup {
            name: c.name,
            description: c.description,
            metrics: c.metrics,
            live: true,
        })
        .collect();
    groups.push(MetricGroup {
        name: "activity logs (every activity-log collector)",
        description: "Per log stream of sign_ins, directory_audits, provisioning and custom_security_attribute_audits: ingestion progress",
        metrics: collectors::activity::STREAM_METRICS,
        live: true,
    });
    groups.push(MetricGroup {
        name: "exporter",
        description: "The exporter's own health: per-collector success, Graph requests and retries, token refreshes, build info",
        metrics: telemetry::METRICS,
        live: true,
    });
    groups.push(MetricGroup {
        name: "backfill",
        description: "Written only by `entra-exporter backfill`, timestamped per day, beside the user_insights families",
        metrics: backfill::METRICS,
        live: false,
    });
    groups
}
