//! HTTP endpoints: `/metrics`, `/healthz`, `/readyz` and a landing page.
//!
//! Handlers only read snapshots; nothing here waits on Graph, and nothing here returns a 5xx
//! because Graph failed.
//!
//! `/metrics` serves a body rendered ahead of time, as a static file server would: a
//! background task renders it (and a gzip copy) whenever a snapshot changes, and the handler
//! only clones [`Bytes`]. Two things are not static:
//! - [`Value::SecondsUntil`](crate::exposition::Value) samples (time until a credential
//!   expires) are computed from the clock at render time, so while `/metrics` is being
//!   scraped the task renders again every [`REFRESH`]; only the families that follow the
//!   clock are rendered and compressed again (see [`BodyCache`]).
//! - The self-metrics (collector health, Graph request and token counters) are folded into
//!   the same render rather than rendered per request: they change only while collectors
//!   poll, a scrape sees them at most [`REFRESH`] old while scraped steadily (a Prometheus
//!   scrape interval is 10 s or more), and per request they would cost a registry gather and a
//!   second gzip stream for every scrape.
//!
//! A scrape after a pause (the body is older than [`STALE`]) waits for a new render, which
//! is small then because the unchanged families are cached; so no scrape ever sees values
//! more than [`STALE`] old, and steady scraping never waits.
//!
//! The gzip copy is made only while clients ask for it ([`GZIP_WANTED`]); the first gzip
//! scrape after a quiet spell waits for a render that makes one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use tokio::sync::{oneshot, watch, Notify};
use tower_http::compression::CompressionLayer;

use crate::collectors;
use crate::exposition::{Body, BodyCache};
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

/// While `/metrics` is scraped, the body is rendered again this often, so time-until-expiry
/// values are never more than this old (plus one render's time).
pub const REFRESH: Duration = Duration::from_secs(1);

/// A scrape that finds the body older than this waits for a new one. Longer than
/// [`REFRESH`] plus a render, so steady scraping never waits.
pub const STALE: Duration = Duration::from_secs(2);

/// The renderer keeps refreshing for this long after the last scrape, then sleeps until a
/// snapshot changes or a scrape comes.
const HOT: Duration = Duration::from_secs(5);

/// After a scrape that accepted gzip, renders make a gzip copy for this long. Prometheus
/// always accepts gzip, so in practice this is "always"; a client that never asks for gzip
/// (curl, a test) does not pay for compressing every render.
const GZIP_WANTED: Duration = Duration::from_secs(600);

/// A scrape waiting for a fresh body gives up after this and serves the one it has, so a
/// stuck render degrades freshness, never availability.
const STALE_WAIT: Duration = Duration::from_secs(10);

/// Unix time in seconds; replaceable so tests can drive the clock.
pub type Clock = Arc<dyn Fn() -> f64 + Send + Sync>;

/// A rendered body and when it was rendered.
struct Rendered {
    /// The bytes served.
    body: Body,
    /// Monotonic time the render started (its `now`), for the freshness checks.
    started: tokio::time::Instant,
    /// How long the render took, so the next one can start early enough to be ready when
    /// this one turns [`REFRESH`] old.
    took: Duration,
    /// [`Snapshots::generation`] before the render read the snapshots: every update up to
    /// it is in this body.
    generation: u64,
    /// Counts renders, so a waiting scrape can tell a new one from the one it saw.
    seq: u64,
}

/// Shared by the handlers and the renderer task.
struct Shared {
    /// Snapshots, self-metrics and readiness.
    app: Arc<AppState>,
    /// The current body; handlers clone the `Arc`, the renderer replaces it.
    body: watch::Sender<Arc<Rendered>>,
    /// Woken by a scrape that found the body older than [`REFRESH`].
    wanted: Notify,
    /// Milliseconds from `epoch` to the last `/metrics` request; the renderer refreshes
    /// only while this is recent, so an unscraped exporter renders only on changes.
    last_scrape_ms: AtomicU64,
    /// Milliseconds from `epoch` to the last `/metrics` request that accepted gzip, plus
    /// one, so 0 means "never"; renders make a gzip copy only while this is recent.
    last_gzip_ms: AtomicU64,
    /// Origin of `last_scrape_ms` and `last_gzip_ms`.
    epoch: tokio::time::Instant,
    /// Unix time for rendering.
    clock: Clock,
}

impl Shared {
    fn touch(&self, gzip: bool) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_scrape_ms.fetch_max(ms, Ordering::Relaxed);
        if gzip {
            self.last_gzip_ms.fetch_max(ms + 1, Ordering::Relaxed);
        }
    }

    fn scraped_within(&self, window: Duration) -> bool {
        let last = Duration::from_millis(self.last_scrape_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last) < window
    }

    fn gzip_wanted(&self) -> bool {
        match self.last_gzip_ms.load(Ordering::Relaxed) {
            0 => false,
            ms => {
                let last = Duration::from_millis(ms - 1);
                self.epoch.elapsed().saturating_sub(last) < GZIP_WANTED
            }
        }
    }

    /// Renders the current snapshots with `cache` at `now` (Unix seconds), which was read at
    /// `started`; runs on a blocking thread.
    fn render(&self, cache: &mut BodyCache, started: tokio::time::Instant, now: f64) -> Rendered {
        let timer = Instant::now();
        let generation = self.app.snapshots.generation();
        let (snapshots, health) = self.app.snapshots.parts();
        let mut tail = String::new();
        self.app.telemetry.render(&mut tail);
        let body = cache.render(&snapshots, &health, &tail, now, self.gzip_wanted());
        Rendered {
            body,
            started,
            took: timer.elapsed(),
            generation,
            seq: 0,
        }
    }
}

/// Router state: the shared part, plus the guard whose drop stops the renderer once the
/// server (every clone of the router) is gone.
struct Served {
    /// See [`Shared`].
    shared: Arc<Shared>,
    /// Dropped with the router; the renderer task ends when it is.
    _renderer: oneshot::Sender<()>,
}

/// The exporter's routes. Must be called inside a Tokio runtime: it starts the task that
/// renders `/metrics`, which stops when the router is dropped.
pub fn router(state: Arc<AppState>) -> Router {
    router_with_clock(state, Arc::new(unix_now))
}

/// [`router`] with the Unix clock `/metrics` renders time-until values against.
pub fn router_with_clock(state: Arc<AppState>, clock: Clock) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(metrics).with_state(serve_metrics(state.clone(), clock)),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        // The landing page is rendered per request and small; gzip it on the fly.
        .route("/", get(index).layer(CompressionLayer::new().gzip(true)))
        .with_state(state)
}

/// Renders the first body and starts the renderer task.
fn serve_metrics(state: Arc<AppState>, clock: Clock) -> Arc<Served> {
    let mut cache = BodyCache::new();
    let started = tokio::time::Instant::now();
    let shared = Arc::new(Shared {
        app: state,
        body: watch::Sender::new(Arc::new(Rendered {
            body: Body {
                identity: Bytes::new(),
                gzip: None,
                now: 0.0,
            },
            started,
            took: Duration::ZERO,
            generation: 0,
            seq: 0,
        })),
        wanted: Notify::new(),
        last_scrape_ms: AtomicU64::new(0),
        last_gzip_ms: AtomicU64::new(0),
        epoch: started,
        clock,
    });
    // The one render on the caller's thread, before any request: it is tiny, since no poll
    // has finished yet, and it means no request ever renders.
    let first = shared.render(&mut cache, started, (shared.clock)());
    shared.body.send_replace(Arc::new(first));
    let (guard, stop) = oneshot::channel();
    tokio::spawn(render_loop(shared.clone(), cache, stop));
    Arc::new(Served {
        shared,
        _renderer: guard,
    })
}

/// Renders whenever a snapshot changes, a scrape wants a fresher body, or (while scraped)
/// the body is about to turn [`REFRESH`] old; stops when `stop` resolves.
async fn render_loop(shared: Arc<Shared>, mut cache: BodyCache, mut stop: oneshot::Receiver<()>) {
    let mut seq = 0;
    loop {
        let due = {
            let current = shared.body.borrow();
            current.started + REFRESH.saturating_sub(current.took)
        };
        let hot = shared.scraped_within(HOT);
        tokio::select! {
            _ = &mut stop => return,
            _ = shared.app.snapshots.changed() => {}
            _ = shared.wanted.notified() => {}
            _ = tokio::time::sleep_until(due), if hot => {}
        }
        let task = {
            let shared = shared.clone();
            let started = tokio::time::Instant::now();
            let now = (shared.clock)();
            tokio::task::spawn_blocking(move || {
                let rendered = shared.render(&mut cache, started, now);
                (cache, rendered)
            })
        };
        tokio::select! {
            _ = &mut stop => return,
            done = task => match done {
                Ok((c, mut rendered)) => {
                    cache = c;
                    seq += 1;
                    rendered.seq = seq;
                    tracing::debug!(
                        generation = rendered.generation,
                        bytes = rendered.body.identity.len(),
                        gzip_bytes = rendered.body.gzip.as_ref().map_or(0, Bytes::len),
                        seconds = rendered.took.as_secs_f64(),
                        "rendered /metrics"
                    );
                    shared.body.send_replace(Arc::new(rendered));
                }
                Err(e) => {
                    // A panic in rendering loses the cache; the next render starts afresh.
                    tracing::error!(error = %e, "rendering /metrics failed; serving the previous body");
                    cache = BodyCache::new();
                }
            },
        }
    }
}

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

async fn metrics(State(served): State<Arc<Served>>, headers: HeaderMap) -> Response {
    let shared = &served.shared;
    let arrived = tokio::time::Instant::now();
    let accepts_gzip = accepts_gzip(&headers);
    shared.touch(accepts_gzip);
    let mut current = shared.body.borrow().clone();
    let age = arrived.saturating_duration_since(current.started);
    // A first gzip scrape after a quiet spell waits for a render with a gzip copy, as a
    // scrape after a pause waits for fresh values.
    let gzip_missing = accepts_gzip && current.body.gzip.is_none();
    if age >= REFRESH || gzip_missing {
        shared.wanted.notify_one();
    }
    if age >= STALE || gzip_missing {
        let mut bodies = shared.body.subscribe();
        let fresh = async {
            // Started no earlier than this request: so after its touch, and with gzip if
            // this request wanted it.
            let seen = current.seq;
            let r = bodies
                .wait_for(|r| r.seq > seen && r.started >= arrived)
                .await;
            r.map(|r| r.clone())
        };
        if let Ok(Ok(r)) = tokio::time::timeout(STALE_WAIT, fresh).await {
            current = r;
        }
    }
    let gzip = current.body.gzip.as_ref().filter(|_| accepts_gzip);
    let mut response = match gzip {
        Some(bytes) => (
            [(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            bytes.clone(),
        )
            .into_response(),
        None => current.body.identity.clone().into_response(),
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    // Caches must not serve one client's encoding to another.
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// Whether `Accept-Encoding` allows gzip: listed (or `*`) with a quality above zero
/// (RFC 9110 §12.5.3; `gzip;q=0` means "not gzip").
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let mut q = 1.0_f32;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        q = v.trim().parse().unwrap_or(0.0);
                    }
                }
            }
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                gzip = Some(q > 0.0);
            } else if coding == "*" {
                any = Some(q > 0.0);
            }
        }
    }
    gzip.or(any).unwrap_or(false)
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

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::exposition::{Family, MetricKind, MetricSpec, Value};
    use crate::runtime::CollectorState;

    static EXPIRY: MetricSpec = MetricSpec {
        name: "entra_test_expiry_remaining_seconds",
        kind: MetricKind::Gauge,
        help: "Seconds until a test credential expires.",
        labels: &["key_id"],
        source: "-",
        permission: "-",
    };

    static COUNT: MetricSpec = MetricSpec {
        name: "entra_test_apps",
        kind: MetricKind::Gauge,
        help: "A fixed test value.",
        labels: &["tenant"],
        source: "-",
        permission: "-",
    };

    /// Unix time 1,000,000 when the test starts, then following Tokio's (paused) clock.
    fn test_clock() -> Clock {
        let origin = tokio::time::Instant::now();
        Arc::new(move || 1_000_000.0 + origin.elapsed().as_secs_f64())
    }

    fn families(apps: f64, keys: &[(&str, f64)]) -> Arc<Vec<Family>> {
        let mut count = Family::new(&COUNT);
        count.gauge(["t"], apps);
        let mut expiry = Family::new(&EXPIRY);
        for (key, expires) in keys {
            expiry.push([*key], Value::SecondsUntil(*expires));
        }
        Arc::new(vec![count, expiry])
    }

    fn app_state(families: Arc<Vec<Family>>) -> Arc<AppState> {
        let snapshots = Snapshots::new(vec![CollectorState {
            tenant: "t".into(),
            collector: "credentials",
            interval: Duration::from_secs(60),
            families,
            up: Some(true),
            duration_seconds: 0.5,
            last_success: Some(999_000.0),
            last_error: None,
        }]);
        Arc::new(AppState {
            snapshots: Arc::new(snapshots),
            telemetry: Telemetry::new(),
            started: Instant::now(),
            ready_deadline: Duration::from_secs(60),
        })
    }

    async fn scrape(served: &Arc<Served>, accept: Option<&str>) -> (HeaderMap, Bytes) {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT_ENCODING, accept.parse().unwrap());
        }
        let response = metrics(State(served.clone()), headers).await;
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (headers, body)
    }

    /// The body as text, gunzipped when the response says it is gzip.
    async fn scrape_text(served: &Arc<Served>, accept: Option<&str>) -> String {
        let (headers, body) = scrape(served, accept).await;
        match headers.get(header::CONTENT_ENCODING) {
            Some(v) if v == "gzip" => {
                let mut text = String::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_string(&mut text)
                    .unwrap();
                text
            }
            _ => String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    fn value(text: &str, key: &str) -> f64 {
        let prefix = format!("entra_test_expiry_remaining_seconds{{key_id=\"{key}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no series for {key} in:\n{text}"))
            .parse()
            .unwrap()
    }

    /// Waits until the renderer publishes a body started at or after `since`.
    async fn next_render(served: &Arc<Served>, since: tokio::time::Instant) {
        let mut bodies = served.shared.body.subscribe();
        bodies.wait_for(|r| r.started >= since).await.unwrap();
    }

    /// Waits until the renderer publishes a body with every snapshot update so far.
    async fn rendered_updates(served: &Arc<Served>) {
        let generation = served.shared.app.snapshots.generation();
        let mut bodies = served.shared.body.subscribe();
        bodies
            .wait_for(|r| r.generation >= generation)
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn gzip_and_identity_are_the_same_text_and_honour_q_zero() {
        let keys = [("a", 1_500_000.0), ("b", 2_000_000.5)];
        let state = app_state(families(3.0, &keys));
        let served = serve_metrics(state.clone(), Arc::new(|| 1_000_000.0));
        assert!(
            served.shared.body.borrow().body.gzip.is_none(),
            "no gzip copy before a client asks for one"
        );
        let (headers, _) = scrape(&served, Some("gzip")).await;
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        state
            .snapshots
            .update(0, |s| s.families = families(3.0, &keys));
        rendered_updates(&served).await;

        let (plain_headers, plain) = scrape(&served, None).await;
        assert!(plain_headers.get(header::CONTENT_ENCODING).is_none());
        assert_eq!(plain_headers[header::CONTENT_TYPE], TEXT_FORMAT);
        assert_eq!(plain_headers[header::VARY], "accept-encoding");
        let (gzip_headers, gzip) = scrape(&served, Some("gzip, deflate, br")).await;
        assert_eq!(gzip_headers[header::CONTENT_ENCODING], "gzip");
        assert_eq!(gzip_headers[header::VARY], "accept-encoding");
        assert!(gzip.len() < plain.len());
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzip[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, plain);

        // The same text the reference renderer produces, then the self-metrics registry.
        let text = String::from_utf8(plain.to_vec()).unwrap();
        let mut expected = String::new();
        state.snapshots.render(1_000_000.0, &mut expected);
        assert!(text.starts_with(&expected), "{text}");
        assert!(text.contains("entra_build_info{version="), "{text}");
        assert_eq!(value(&text, "a"), 500_000.0);

        for (accept, gzipped) in [
            ("gzip;q=0", false),
            ("identity, gzip;q=0.000", false),
            ("*", true),
            ("*;q=0", false),
            ("gzip;q=0, *", false),
            ("br, GZIP;q=0.5", true),
            ("deflate", false),
        ] {
            let (headers, _) = scrape(&served, Some(accept)).await;
            assert_eq!(
                headers.get(header::CONTENT_ENCODING).is_some(),
                gzipped,
                "Accept-Encoding: {accept}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn seconds_until_values_advance_while_scraped() {
        let state = app_state(families(1.0, &[("a", 1_000_100.0)]));
        let served = serve_metrics(state, test_clock());
        let first = value(&scrape_text(&served, Some("gzip")).await, "a");
        assert_eq!(first, 100.0);

        // Scraped just now, so the renderer refreshes on its own one second on.
        let before = tokio::time::Instant::now();
        tokio::time::advance(REFRESH).await;
        next_render(&served, before + REFRESH).await;
        let second = value(&scrape_text(&served, None).await, "a");
        assert_eq!(second, 99.0);

        // After a pause longer than STALE the scrape waits for a fresh render instead of
        // serving old values.
        tokio::time::advance(HOT + STALE).await;
        let third = value(&scrape_text(&served, Some("gzip")).await, "a");
        assert_eq!(third, 99.0 - (HOT + STALE).as_secs_f64());
    }

    #[tokio::test(start_paused = true)]
    async fn a_swapped_snapshot_is_in_the_next_render() {
        let state = app_state(families(1.0, &[("old", 1_000_100.0)]));
        let served = serve_metrics(state.clone(), test_clock());
        let text = scrape_text(&served, None).await;
        assert!(text.contains("entra_test_apps{tenant=\"t\"} 1\n"), "{text}");
        assert!(text.contains("key_id=\"old\""), "{text}");

        state
            .snapshots
            .update(0, |s| s.families = families(2.0, &[("new", 1_000_200.0)]));
        rendered_updates(&served).await;
        for accept in [None, Some("gzip")] {
            let text = scrape_text(&served, accept).await;
            assert!(text.contains("entra_test_apps{tenant=\"t\"} 2\n"), "{text}");
            assert!(text.contains("key_id=\"new\""), "{text}");
            assert!(!text.contains("key_id=\"old\""), "{text}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_renderer_stops_when_the_server_is_dropped() {
        let served = serve_metrics(app_state(families(1.0, &[])), test_clock());
        let shared = Arc::downgrade(&served.shared);
        drop(served);
        for _ in 0..100 {
            if shared.upgrade().is_none() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the renderer task still holds the shared state");
    }
}
