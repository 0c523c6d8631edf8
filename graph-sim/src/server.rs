//! The HTTP side: starting and stopping a simulator, and the pipeline every request goes
//! through (route match → faults → handler → common headers → request log).
//!
//! A simulator serves up to three listeners: the main one (Graph, the token endpoint and the
//! federated issuer; HTTPS when [`SimConfig::tls`] is set, §12) and, when managed identities
//! are configured, the IMDS (§11.6) and App Service (§11.7) identity endpoints, each on its own
//! loopback port as on a real host. Routing never looks at the `Host` header, so the simulator
//! answers under whatever name a proxy presents it.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderName, CONTENT_LENGTH};
use axum::http::{HeaderMap, Method, Response, StatusCode};
use axum::Router;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::assertion::ReplayCache;
use crate::config::SimConfig;
use crate::faults::{self, FaultControl, FaultKind};
use crate::federation::FederatedIssuer;
use crate::graph;
use crate::graph::errors::GraphError;
use crate::ground_truth::{self, GroundTruth, TimedSample};
use crate::managed_identity;
use crate::reply::Reply;
use crate::reports_throttle::ReportsThrottler;
use crate::routes::{self, PathMatch, RouteKind, Verb};
use crate::tenant::activity_log::ActivityLog;
use crate::tenant::Tenant;
use crate::throttle::Throttler;
use crate::time::UtcTime;
use crate::tls::{self, TlsListener};
use crate::token::{self, TokenIssuer};

/// Largest request body read (token requests are tiny; `$batch` bodies stay well below this).
const MAX_BODY_BYTES: usize = 1 << 20;

/// How long `shutdown` waits for open connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Delay between the partial body and the dropped connection of a `DropMidBody` fault, so
/// the client has really received part of the body.
const DROP_DELAY: Duration = Duration::from_millis(20);

/// Longest `client-request-id` echoed back; longer values are treated as absent.
const MAX_CLIENT_REQUEST_ID: usize = 256;

/// Header names used on every response.
static REQUEST_ID: HeaderName = HeaderName::from_static("request-id");
/// See [`REQUEST_ID`].
static CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("client-request-id");

/// One request as the simulator saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRecord {
    /// Route name (`token`, `applications`, …, or `unknown`).
    pub route: String,
    /// HTTP method.
    pub method: String,
    /// Path and query exactly as received.
    pub path_and_query: String,
    /// Status sent (200 for body faults, which break the body, not the status).
    pub status: u16,
    /// When the request arrived.
    pub at: SystemTime,
    /// The `client-request-id` header, if the client sent one.
    pub client_request_id: Option<String>,
    /// Whether an `Authorization: Bearer …` header was present.
    pub had_bearer: bool,
    /// For a request that came inside a `$batch` (§9): the `request-id` of that batch. Inner
    /// requests are logged (before their batch) like direct calls, so per-route counts see
    /// them; `None` for a direct request, the batch itself included.
    pub in_batch: Option<String>,
    /// Bytes of the response body (of an inner request: of its `body` as embedded in the
    /// batch, which the batch's own count includes). Bodies that faults stream or cut are
    /// counted as generated before the fault.
    pub body_bytes: u64,
}

/// Bounded log of requests, oldest dropped first.
#[derive(Debug)]
pub(crate) struct RequestLog {
    /// Maximum number of records kept.
    capacity: usize,
    /// The records, oldest first.
    records: Mutex<VecDeque<RequestRecord>>,
}

impl RequestLog {
    /// An empty log keeping at most `capacity` records.
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            records: Mutex::new(VecDeque::new()),
        }
    }

    /// Appends a record, dropping the oldest beyond capacity.
    fn push(&self, record: RequestRecord) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.push_back(record);
        while records.len() > self.capacity {
            records.pop_front();
        }
    }

    /// A copy of the records, oldest first.
    fn snapshot(&self) -> Vec<RequestRecord> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.iter().cloned().collect()
    }
}

/// Where a simulator is reachable, fixed once its listeners are bound.
#[derive(Debug)]
struct Endpoints {
    /// `http(s)://127.0.0.1:PORT` of the main listener.
    base_url: String,
    /// `http` or `https`.
    scheme: &'static str,
    /// The IMDS token URL, when managed identities are configured.
    imds_url: Option<String>,
    /// The App Service identity endpoint, when managed identities are configured.
    identity_url: Option<String>,
}

/// Shared state of a running simulator.
#[derive(Debug)]
pub(crate) struct SimState {
    /// The configuration it was started with.
    pub config: SimConfig,
    /// The generated tenant.
    pub tenant: Tenant,
    /// The tenant's activity logs (sign-ins, audits, provisioning).
    pub activity: ActivityLog,
    /// `http://127.0.0.1:PORT` (`https` with TLS), no trailing slash.
    pub base_url: String,
    /// Scheme of the main listener: `http` or `https`.
    pub scheme: &'static str,
    /// The simulated workload identity issuer (§11.5).
    pub federation: FederatedIssuer,
    /// Certificate assertions seen, for `jti` replay detection (§11.2).
    pub replay: ReplayCache,
    /// IMDS token URL (§11.6), when served.
    pub imds_url: Option<String>,
    /// App Service identity endpoint (§11.7), when served.
    pub identity_url: Option<String>,
    /// The current `IDENTITY_HEADER` value (§11.7); tests rotate it.
    pub identity_header: RwLock<String>,
    /// Faults of the IMDS listener.
    pub imds_faults: FaultControl,
    /// Faults of the App Service identity listener.
    pub identity_faults: FaultControl,
    /// Issues and verifies access tokens.
    pub tokens: TokenIssuer,
    /// Directory resource-unit buckets.
    pub throttle: Throttler,
    /// Identity and access reports budget (§10.2).
    pub reports_throttle: ReportsThrottler,
    /// Active fault rules.
    pub faults: FaultControl,
    /// Requests received.
    log: RequestLog,
}

/// Everything a handler may look at for one request.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// The simulator.
    pub sim: &'a SimState,
    /// Request method.
    pub method: &'a Method,
    /// Parameters captured by the route pattern.
    pub params: Vec<(&'static str, String)>,
    /// The raw query string (without `?`), as received.
    pub raw_query: &'a str,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// Request body.
    pub body: &'a [u8],
    /// Fresh GUID identifying this request (`request-id`).
    pub request_id: &'a str,
    /// `client-request-id` to echo: the client's, else `request_id`.
    pub client_request_id: &'a str,
    /// The client's own `client-request-id`, if it sent one.
    pub client_request_id_sent: Option<&'a str>,
    /// Seconds the identity platform's clock is off the host's for this request (a `skew`
    /// fault); tokens issued now carry it.
    pub clock_skew: i64,
    /// For an inner request of a `$batch` whose token was checked on arrival of the batch:
    /// those claims. Graph checks the token once, when the batch arrives; checking it again
    /// for each inner request would refuse the last ones of a slow batch whose token expired
    /// while the first ones were served.
    pub batch_claims: Option<crate::token::Claims>,
}

impl Ctx<'_> {
    /// A captured path parameter, or "".
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// A request header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `scheme://host` as the client addressed the simulator: the `Host` header when it is a
    /// plausible host name (behind a proxy, `graph.microsoft.us`, §12), else the base URL.
    /// Links the simulator hands out use it, as Graph's point back at the host called.
    pub fn origin(&self) -> String {
        match self.header("host").filter(|h| host_is_plausible(h)) {
            Some(host) => format!("{}://{}", self.sim.scheme, host.to_ascii_lowercase()),
            None => self.sim.base_url.clone(),
        }
    }
}

/// Whether a `Host` header value can be put into a URL as is: a DNS name or IP literal with
/// an optional port, nothing that could add a path or user info.
fn host_is_plausible(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Generates the tenant and serves it on an already-bound listener (tests bind
    /// `127.0.0.1:0`) until the returned handle is shut down or dropped. With managed
    /// identities configured it also binds and serves the IMDS and App Service identity
    /// endpoints on loopback ports of their own.
    pub async fn start(config: SimConfig, listener: TcpListener) -> io::Result<SimHandle> {
        let addr = listener.local_addr()?;
        let acceptor = config.tls.as_ref().map(tls::acceptor).transpose()?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let (imds_listener, identity_listener) = if config.managed_identities.is_empty() {
            (None, None)
        } else {
            (
                Some(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?),
                Some(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?),
            )
        };
        let url_of = |l: &Option<TcpListener>, path: &str| -> io::Result<Option<String>> {
            l.as_ref()
                .map(|l| Ok(format!("{}{path}", base_url_for(l.local_addr()?, "http"))))
                .transpose()
        };
        let endpoints = Endpoints {
            base_url: base_url_for(addr, scheme),
            scheme,
            imds_url: url_of(&imds_listener, managed_identity::IMDS_PATH)?,
            identity_url: url_of(&identity_listener, managed_identity::IDENTITY_PATH)?,
        };
        let state = tokio::task::spawn_blocking(move || SimState::new(config, endpoints))
            .await
            .map_err(io::Error::other)?;
        let state = Arc::new(state);
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        let main = match acceptor {
            Some(acceptor) => Served::start(TlsListener::new(listener, acceptor)?, addr, app),
            None => Served::start(listener, addr, app),
        };
        let imds = imds_listener
            .map(|l| {
                let addr = l.local_addr()?;
                Ok::<_, io::Error>(Served::start(
                    l,
                    addr,
                    managed_identity::imds_router(Arc::clone(&state)),
                ))
            })
            .transpose()?;
        let identity = identity_listener
            .map(|l| {
                let addr = l.local_addr()?;
                Ok::<_, io::Error>(Served::start(
                    l,
                    addr,
                    managed_identity::identity_router(Arc::clone(&state)),
                ))
            })
            .transpose()?;
        tracing::debug!(base_url = %state.base_url, "graph-sim started");
        Ok(SimHandle {
            state,
            main,
            imds,
            identity,
        })
    }
}

/// One listener being served, and how to stop it.
#[derive(Debug)]
struct Served {
    /// The listener's address.
    addr: SocketAddr,
    /// Fires the graceful shutdown.
    stop: Option<oneshot::Sender<()>>,
    /// The server task.
    task: Option<JoinHandle<io::Result<()>>>,
}

impl Served {
    /// Serves `app` on `listener` until stopped.
    fn start<L>(listener: L, addr: SocketAddr, app: Router) -> Self
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            // Either an explicit shutdown or the handle being dropped ends the server.
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move { server.await });
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Asks the server to stop accepting.
    fn signal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits (up to the grace period) for open requests to finish, then cuts the rest.
    async fn finish(&mut self) {
        self.signal();
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
                Ok(Ok(Err(e))) => {
                    tracing::warn!(error = %e, "graph-sim server ended with an error")
                }
                Ok(_) => {}
                Err(_) => task.abort(),
            }
        }
    }
}

/// The [`SimHandle::federated_issuer`] a simulator started on a listener bound to `addr` will
/// have (`https` when it is started with [`SimConfig::tls`]). The issuer URL contains the port,
/// so a test binds its listener first and uses this to register a [`crate::FederatedCredential`]
/// before [`Simulator::start`].
pub fn federated_issuer_for(addr: SocketAddr, tls: bool) -> String {
    let base_url = base_url_for(addr, if tls { "https" } else { "http" });
    FederatedIssuer::new(&base_url).url().to_owned()
}

/// The URL clients use to reach a listener: unspecified addresses become loopback.
fn base_url_for(addr: SocketAddr, scheme: &str) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    match ip {
        IpAddr::V4(ip) => format!("{scheme}://{ip}:{}", addr.port()),
        IpAddr::V6(ip) => format!("{scheme}://[{ip}]:{}", addr.port()),
    }
}

impl SimState {
    /// Builds the state, generating the tenant.
    fn new(config: SimConfig, endpoints: Endpoints) -> Self {
        let tenant = Tenant::generate(&config);
        let base_url = endpoints.base_url;
        Self {
            scheme: endpoints.scheme,
            federation: FederatedIssuer::new(&base_url),
            replay: ReplayCache::default(),
            imds_url: endpoints.imds_url,
            identity_url: endpoints.identity_url,
            identity_header: RwLock::new(uuid::Uuid::new_v4().to_string()),
            imds_faults: FaultControl::default(),
            identity_faults: FaultControl::default(),
            activity: ActivityLog::new(&config, &tenant),
            tokens: TokenIssuer::new(&config),
            throttle: Throttler::new(config.throttle.clone(), config.users),
            reports_throttle: ReportsThrottler::new(config.reports_throttle.clone()),
            faults: FaultControl::new(config.faults.clone()),
            log: RequestLog::new(config.request_log_capacity),
            tenant,
            base_url,
            config,
        }
    }

    /// Appends a request to the request log.
    pub(crate) fn record(&self, record: RequestRecord) {
        self.log.push(record);
    }
}

/// A running simulator. Dropping it stops the servers.
#[derive(Debug)]
pub struct SimHandle {
    /// Shared state.
    state: Arc<SimState>,
    /// The main listener (Graph, token endpoint, federated issuer).
    main: Served,
    /// The IMDS listener, when managed identities are configured.
    imds: Option<Served>,
    /// The App Service identity listener, when managed identities are configured.
    identity: Option<Served>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (`https://…` with [`SimConfig::tls`]): Graph roots are
    /// `{base}/v1.0` and `{base}/beta`, the token endpoint is
    /// `{base}/{tenant}/oauth2/v2.0/token`.
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.main.addr
    }

    /// The simulated OIDC issuer of workload identity federation (§11.5),
    /// `{base}/federation/issuer`: the `iss` of [`SimHandle::mint_federated_token`]'s tokens
    /// and the `issuer` a [`crate::FederatedCredential`] names to trust them. It serves
    /// `/.well-known/openid-configuration` and `/openid/v1/jwks` like a cluster issuer.
    pub fn federated_issuer(&self) -> String {
        self.state.federation.url().to_owned()
    }

    /// An RS256 token from [`SimHandle::federated_issuer`] for `subject` and `audience`,
    /// valid for `lifetime` from now: what kubelet writes to `AZURE_FEDERATED_TOKEN_FILE`.
    /// With a zero lifetime and [`crate::Quirks::assertion_clock_skew`] zero, the token is
    /// expired a second later.
    ///
    /// # Panics
    ///
    /// If the issuer's RSA key cannot be generated (the OS random source failed) or signing
    /// fails; neither happens on a working host.
    pub fn mint_federated_token(
        &self,
        subject: &str,
        audience: &str,
        lifetime: Duration,
    ) -> String {
        match self.state.federation.mint(subject, audience, lifetime) {
            Ok(token) => token,
            Err(e) => panic!("graph-sim: {e}"),
        }
    }

    /// The IMDS token URL (§11.6),
    /// `http://127.0.0.1:PORT/metadata/identity/oauth2/token`; `None` without managed
    /// identities.
    pub fn imds_endpoint(&self) -> Option<String> {
        self.state.imds_url.clone()
    }

    /// The App Service / Container Apps identity endpoint (§11.7, `IDENTITY_ENDPOINT`),
    /// `http://127.0.0.1:PORT/msi/token`; `None` without managed identities.
    pub fn identity_endpoint(&self) -> Option<String> {
        self.state.identity_url.clone()
    }

    /// The current `IDENTITY_HEADER` value the App Service endpoint requires in
    /// `X-IDENTITY-HEADER` (§11.7).
    pub fn identity_header(&self) -> String {
        self.state
            .identity_header
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the `IDENTITY_HEADER` value, as the platform does when it rotates it, and
    /// returns the new one; the old one is refused from now on.
    pub fn rotate_identity_header(&self) -> String {
        let fresh = uuid::Uuid::new_v4().to_string();
        *self
            .state
            .identity_header
            .write()
            .unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        fresh
    }

    /// Injects faults into the IMDS endpoint: rules whose route is `imds` or `*` apply, e.g.
    /// `FaultRule::new("imds", FaultKind::Status(410)).times(1)` to test the §11.6 retries.
    /// Independent of [`SimHandle::faults`].
    pub fn imds_faults(&self) -> &FaultControl {
        &self.state.imds_faults
    }

    /// Injects faults into the App Service identity endpoint: rules whose route is
    /// `identity` or `*` apply. Independent of [`SimHandle::faults`].
    pub fn identity_faults(&self) -> &FaultControl {
        &self.state.identity_faults
    }

    /// The token endpoint URL for the simulated tenant.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.state.base_url, self.state.tenant.tenant_id
        )
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.state.config
    }

    /// The generated tenant model.
    pub fn tenant(&self) -> &Tenant {
        &self.state.tenant
    }

    /// The metrics an exporter should derive from this tenant at `at_unix_seconds`, labelled
    /// with `tenant = tenant_label`.
    pub fn ground_truth(&self, tenant_label: &str, at_unix_seconds: f64) -> GroundTruth {
        ground_truth::compute(&self.state.tenant, tenant_label, at_unix_seconds)
    }

    /// The External ID user-insight families (§1) of every complete period served now (daily:
    /// each complete day within retention; monthly: each complete month), each timestamped at
    /// midnight UTC of its `factDate`, oldest first: what a backfill should write. Empty on a
    /// workforce tenant.
    pub fn user_insights_history(&self, tenant_label: &str) -> Vec<TimedSample> {
        self.user_insights_history_at(tenant_label, UtcTime::now().as_f64())
    }

    /// [`SimHandle::user_insights_history`] as it is at `at_unix_seconds`.
    pub fn user_insights_history_at(
        &self,
        tenant_label: &str,
        at_unix_seconds: f64,
    ) -> Vec<TimedSample> {
        ground_truth::user_insights_history(&self.state.tenant, tenant_label, at_unix_seconds)
    }

    /// Each application's daily successful and failed sign-ins (§2 usage model) over the
    /// complete UTC days `applicationSignInDetailedSummary` lists (the 29 before today; its
    /// 30-day retention includes today's partial day), timestamped at each day's midnight, oldest first; apps
    /// without sign-ins in those days are left out. What a backfill should write
    /// (`entra_application_daily_successful_sign_ins` / `…_failed_sign_ins`, labels `app_id`,
    /// `app`, `tenant`).
    pub fn application_sign_in_history(&self, tenant_label: &str) -> Vec<TimedSample> {
        self.application_sign_in_history_at(tenant_label, UtcTime::now().as_f64())
    }

    /// [`SimHandle::application_sign_in_history`] as it is at `at_unix_seconds`.
    pub fn application_sign_in_history_at(
        &self,
        tenant_label: &str,
        at_unix_seconds: f64,
    ) -> Vec<TimedSample> {
        ground_truth::application_history(&self.state.tenant, tenant_label, at_unix_seconds)
    }

    /// The activity-log counters (sign-ins, directory audits, provisioning, custom security
    /// attribute audits) over the events whose timestamp `t` satisfies `from <= t <= to` (Unix
    /// seconds, rounded to the nearest 100 ns), whether or not they have arrived yet; labelled
    /// `tenant = tenant_label`. See the ground-truth module docs for the families.
    pub fn activity_truth(&self, tenant_label: &str, from_unix: f64, to_unix: f64) -> GroundTruth {
        ground_truth::activity_truth(
            &self.state.activity,
            &self.state.tenant,
            tenant_label,
            from_unix,
            to_unix,
        )
    }

    /// Distinct `userId`s over the user sign-ins (interactive and non-interactive) with
    /// `from <= t <= to`.
    pub fn activity_distinct_users(&self, from_unix: f64, to_unix: f64) -> u64 {
        ground_truth::activity_distinct_users(
            &self.state.activity,
            &self.state.tenant,
            from_unix,
            to_unix,
        )
    }

    /// `entra_application_last_sign_in_timestamp_seconds{app_id, app}`: the newest
    /// `createdDateTime` per app over every sign-in type, among events with timestamps in the
    /// retention window ending at `to_unix` (inclusive), whether arrived or not.
    pub fn activity_last_sign_in(&self, tenant_label: &str, to_unix: f64) -> GroundTruth {
        ground_truth::activity_last_sign_in(
            &self.state.activity,
            &self.state.tenant,
            tenant_label,
            to_unix,
        )
    }

    /// Injects and clears faults at run time.
    pub fn faults(&self) -> &FaultControl {
        &self.state.faults
    }

    /// Makes every token issued so far fail with 401 by rotating the signing key.
    pub fn revoke_tokens(&self) {
        self.state.tokens.rotate();
    }

    /// The requests received so far (the most recent `request_log_capacity`), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.state.log.snapshot()
    }

    /// Stops accepting requests, lets open ones finish (up to a few seconds) and returns.
    pub async fn shutdown(mut self) {
        self.main.signal();
        for served in [&mut self.imds, &mut self.identity].into_iter().flatten() {
            served.signal();
        }
        self.main.finish().await;
        for served in [&mut self.imds, &mut self.identity].into_iter().flatten() {
            served.finish().await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.main.signal();
        for served in [&mut self.imds, &mut self.identity].into_iter().flatten() {
            served.signal();
        }
    }
}

/// Percent-decodes one path segment (or other URL component); malformed escapes are kept
/// as they are.
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |c: u8| (c as char).to_digit(16);
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hex(*c)),
                bytes.get(i + 2).and_then(|c| hex(*c)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request pipeline: every request, whatever its path, comes through here.
async fn handle(State(sim): State<Arc<SimState>>, request: Request) -> Response<Body> {
    let at = SystemTime::now();
    let (parts, body) = request.into_parts();
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id_sent = parts
        .headers
        .get(&CLIENT_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_CLIENT_REQUEST_ID);
    let client_request_id = client_request_id_sent.unwrap_or(&request_id).to_owned();
    let had_bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_whitespace().next())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer"));
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());

    let segments: Vec<String> = parts
        .uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let verb = match parts.method {
        Method::GET => Some(Verb::Get),
        Method::POST => Some(Verb::Post),
        _ => None,
    };
    let matched = routes::match_path(&segments, verb, sim.config.quirks.case_insensitive_paths);
    let route_name = matched.name();
    let plan = sim.faults.plan(route_name);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.revoke {
        sim.tokens.rotate();
    }

    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await;
    let raw_query = parts.uri.query().unwrap_or_default();
    let params = match &matched {
        PathMatch::Found { params, .. } => params.clone(),
        _ => Vec::new(),
    };
    let ctx = Ctx {
        sim: &sim,
        method: &parts.method,
        params,
        raw_query,
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        headers: &parts.headers,
        body: body.as_deref().unwrap_or_default(),
        request_id: &request_id,
        client_request_id: &client_request_id,
        client_request_id_sent,
        clock_skew: plan.clock_skew,
        batch_claims: None,
    };
    let is_token = matches!(
        &matched,
        PathMatch::Found { route, .. } if matches!(route.kind, RouteKind::Token(_))
    );
    let is_public = matches!(
        &matched,
        PathMatch::Found { route, .. } if matches!(route.kind, RouteKind::Public(_))
    );
    // What a `nextlink=self` fault points back at: this very request, as the client named it.
    let own_url = format!("{}{path_and_query}", ctx.origin());

    let mut reply = match (&plan.action, body.is_err()) {
        (Some(FaultKind::Status(status)), _) => fault_status(&ctx, is_token, *status),
        (Some(FaultKind::Throttle { retry_after }), _) => {
            fault_throttle(&ctx, is_token, retry_after.as_deref())
        }
        (Some(FaultKind::MalformedJson), _) => malformed(&ctx, is_token),
        (Some(FaultKind::HtmlOk), _) => faults::html_page(),
        (Some(FaultKind::WrongShape), _) => faults::wrong_shape(json_content_type(&ctx, is_token)),
        (Some(FaultKind::HugeBody(_)), _) => Reply::new(
            StatusCode::OK,
            json_content_type(&ctx, is_token),
            Bytes::new(),
        ),
        (_, true) => GraphError::new(413, "Request_BadRequest", "The request body is too large.")
            .to_reply(&request_id, &client_request_id),
        _ => match &matched {
            // `$batch` runs its inner requests through the same steps as direct calls, some
            // of them asynchronous (fault latency), so it is not a plain handler.
            PathMatch::Found { route, .. } if matches!(route.kind, RouteKind::Batch) => {
                graph::batch::serve(&ctx).await
            }
            _ => dispatch(&ctx, &matched),
        },
    };
    if !is_token && !is_public {
        graph::decorate(&sim, &mut reply);
    }
    reply.header(REQUEST_ID.clone(), &request_id);
    reply.header(CLIENT_REQUEST_ID.clone(), &client_request_id);

    let status = reply.status.as_u16();
    tracing::debug!(route = route_name, method = %parts.method, path = %path_and_query, status, "request");
    sim.log.push(RequestRecord {
        route: route_name.to_owned(),
        method: parts.method.to_string(),
        path_and_query,
        status,
        at,
        client_request_id: client_request_id_sent.map(str::to_owned),
        had_bearer,
        in_batch: None,
        body_bytes: reply.body.len() as u64,
    });

    match plan.action {
        Some(FaultKind::TruncatedJson) => truncate(reply),
        Some(FaultKind::DropMidBody) => drop_mid_body(reply),
        Some(FaultKind::SlowBody(gap)) => faults::slow_body(reply, gap),
        Some(FaultKind::HugeBody(bytes)) => sim.faults.huge_body(reply, bytes),
        Some(FaultKind::NextLinkLoop) => faults::with_next_link(reply, &own_url).into_response(),
        Some(FaultKind::NextLinkTo(link)) => faults::with_next_link(reply, &link).into_response(),
        _ => reply.into_response(),
    }
}

/// The `Content-Type` of the route's JSON: the token endpoint's or Graph's.
fn json_content_type<'a>(ctx: &'a Ctx<'_>, is_token: bool) -> &'a str {
    if is_token {
        token::JSON_CONTENT_TYPE
    } else {
        ctx.sim.config.quirks.graph_content_type.as_str()
    }
}

/// Normal handling of a matched (or unmatched) request.
pub(crate) fn dispatch(ctx: &Ctx<'_>, matched: &PathMatch) -> Reply {
    let graph_error = |e: GraphError| e.to_reply(ctx.request_id, ctx.client_request_id);
    match matched {
        PathMatch::Found { route, .. } => match &route.kind {
            RouteKind::Token(handler) => token::serve(ctx, *handler),
            RouteKind::Graph(g) => graph::serve(ctx, g),
            RouteKind::Public(handler) => handler(ctx),
            // Handled (asynchronously) before `dispatch`; kept total for the inner requests,
            // where a nested batch is refused.
            RouteKind::Batch => graph_error(GraphError::new(
                400,
                "BadRequest",
                "A batch request cannot contain another batch request.",
            )),
        },
        PathMatch::WrongMethod(_) => graph_error(GraphError::new(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request uri.",
        )),
        PathMatch::UnknownSegment(segment) => graph_error(GraphError::new(
            ctx.sim.config.quirks.unknown_segment_status,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )),
        PathMatch::NotFound(segment) => graph_error(GraphError::new(
            404,
            "Request_ResourceNotFound",
            format!("Resource not found for the segment '{segment}'."),
        )),
    }
}

/// The reply of a `Status(n)` fault.
fn fault_status(ctx: &Ctx<'_>, is_token: bool, status: u16) -> Reply {
    if is_token {
        token::TokenError::for_status(status).to_reply(ctx)
    } else {
        GraphError::for_status(status).to_reply(ctx.request_id, ctx.client_request_id)
    }
}

/// The reply of a `Throttle` fault.
fn fault_throttle(ctx: &Ctx<'_>, is_token: bool, retry_after: Option<&str>) -> Reply {
    let mut reply = if is_token {
        token::TokenError::for_status(429).to_reply(ctx)
    } else {
        GraphError::too_many_requests(None).to_reply(ctx.request_id, ctx.client_request_id)
    };
    if let Some(value) = retry_after {
        reply.header(axum::http::header::RETRY_AFTER, value);
    }
    reply
}

/// The reply of a `MalformedJson` fault: what a misbehaving proxy sends, labelled as JSON.
fn malformed(ctx: &Ctx<'_>, is_token: bool) -> Reply {
    let content_type = if is_token {
        token::JSON_CONTENT_TYPE
    } else {
        ctx.sim.config.quirks.graph_content_type.as_str()
    };
    Reply::new(
        StatusCode::OK,
        content_type,
        Bytes::from_static(
            b"<html><head><title>Bad Gateway</title></head><body>upstream sent an invalid response</body></html>",
        ),
    )
}

/// The reply with its body cut in half (and a matching `Content-Length`).
pub(crate) fn truncate(reply: Reply) -> Response<Body> {
    let half = reply.body.slice(..reply.body.len() / 2);
    let body = Body::from(half);
    reply.into_response_with(body)
}

/// The reply's headers and half its body, then an aborted connection. `Content-Length`
/// announces the whole body so the client knows it is missing bytes.
pub(crate) fn drop_mid_body(reply: Reply) -> Response<Body> {
    let full_len = reply.body.len();
    let half = reply.body.slice(..full_len / 2);
    let (mut sender, channel) = http_body_util::Channel::<Bytes, io::Error>::new(1);
    tokio::spawn(async move {
        if !half.is_empty() {
            let _ = sender.send_data(half).await;
        }
        tokio::time::sleep(DROP_DELAY).await;
        sender.abort(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "graph-sim DropMidBody fault",
        ));
    });
    let mut response = reply.into_response_with(Body::new(channel));
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, full_len.into());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("%24count"), "$count");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%ff"), "\u{fffd}");
    }

    #[test]
    fn base_url_uses_loopback_for_unspecified() {
        assert_eq!(
            base_url_for("0.0.0.0:8787".parse().unwrap(), "http"),
            "http://127.0.0.1:8787"
        );
        assert_eq!(
            base_url_for("[::]:1".parse().unwrap(), "http"),
            "http://[::1]:1"
        );
        assert_eq!(
            base_url_for("127.0.0.1:9".parse().unwrap(), "https"),
            "https://127.0.0.1:9"
        );
    }

    #[test]
    fn only_plain_host_names_become_origins() {
        assert!(host_is_plausible("graph.microsoft.us"));
        assert!(host_is_plausible("127.0.0.1:8787"));
        assert!(host_is_plausible("[::1]:1"));
        assert!(!host_is_plausible("evil.example/path"));
        assert!(!host_is_plausible("user@host"));
        assert!(!host_is_plausible(""));
    }
}
