//! HTTP endpoints: `/metrics`, `/healthz`, `/readyz` and a landing page.
//!
//! Handlers only read snapshots; nothing here waits on Graph, and nothing here returns a 5xx
//! because Graph failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

use crate::collectors;
use crate::runtime::{unix_now, Snapshots};
use crate::telemetry::Telemetry;

/// What the handlers read.
pub struct AppState {
    /// Every collector's last snapshot and health.
    pub snapshots: Arc<Snapshots>,
    /// Live self-metrics.
    pub telemetry: Telemetry,
    /// When serving began, for the readiness deadline.
    pub started: Instant,
    /// Ready after this long even if some first poll has not finished.
    pub ready_deadline: Duration,
}

/// The exporter's routes; gzip is applied when the client accepts it.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/", get(index))
        .layer(CompressionLayer::new().gzip(true))
        .with_state(state)
}

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut body = String::with_capacity(64 * 1024);
    state.snapshots.render(unix_now(), &mut body);
    state.telemetry.render(&mut body);
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.snapshots.all_polled() {
        (StatusCode::OK, "ready\n").into_response()
    } else if state.started.elapsed() >= state.ready_deadline {
        (
            StatusCode::OK,
            "ready (deadline passed before every first poll)\n",
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for every collector's first poll\n",
        )
            .into_response()
    }
}

async fn index(State(state): State<Arc<AppState>>) -> Html<String> {
    let mut rows = String::new();
    let now = unix_now();
    for s in state.snapshots.states() {
        let status = match s.up {
            None => "pending",
            Some(true) => "up",
            Some(false) => "down",
        };
        let last = s
            .last_success
            .map(|t| format!("{:.0} s ago", (now - t).max(0.0)))
            .unwrap_or_else(|| "never".into());
        let description = collectors::info(s.collector)
            .map(|i| i.description)
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr><td>{}</td><td title=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&s.tenant),
            escape(description),
            s.collector,
            status,
            humantime::format_duration(s.interval),
            last,
            escape(s.last_error.as_deref().unwrap_or("")),
        ));
    }
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>entra-exporter</title></head><body>\
         <h1>entra-exporter {}</h1><p><a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a></p>\
         <table border=\"1\" cellpadding=\"4\"><tr><th>tenant</th><th>collector</th><th>status</th><th>interval</th><th>last success</th><th>last error</th></tr>\n{rows}</table></body></html>\n",
        env!("CARGO_PKG_VERSION")
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
