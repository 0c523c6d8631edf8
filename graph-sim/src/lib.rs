//! `graph-sim`: an offline simulator of Microsoft Graph and the Entra ID token endpoint for
//! `entra-exporter`'s demo mode and integration tests.
//!
//! It generates a deterministic tenant from a seed ([`Tenant`]): app registrations, service
//! principals, their credentials and their last sign-ins. It serves them the way Graph does
//! (paging, `$select`, `$count`, throttling, error bodies and their quirks, as described in
//! the shared Graph reference), issues client-credentials tokens, injects faults on demand
//! ([`FaultRule`]) and computes the metrics an exporter should derive ([`GroundTruth`]).
//!
//! Every credential type a daemon uses is verified for real (reference §11):
//!
//! * client secrets, and certificate assertions checked against the public certificates
//!   registered on a [`SimClient`] ([`SimCertificate`]; PS256 + `x5t#S256` or RS256 + `x5t`,
//!   with signature, thumbprint, certificate expiry, `aud`, `iss`/`sub`, `exp`/`nbf` and `jti`
//!   replay checks);
//! * workload identity federation: the simulator runs its own OIDC issuer
//!   ([`SimHandle::federated_issuer`], [`SimHandle::mint_federated_token`]) and matches tokens
//!   against the app's [`FederatedCredential`]s;
//! * managed identities ([`SimManagedIdentity`]): IMDS and the App Service identity endpoint,
//!   each on its own loopback listener ([`SimHandle::imds_endpoint`],
//!   [`SimHandle::identity_endpoint`]), with their own fault injection.
//!
//! For national clouds (§12) the simulator can serve HTTPS ([`SimTls`]) and stand for another
//! cloud's Graph host ([`SimConfig::graph_audience`]); it routes on the path alone, so it
//! answers under whatever host name a proxy presents it, and its links follow that host.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use graph_sim::{SimConfig, Simulator};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let sim = Simulator::start(SimConfig::demo(), listener).await?;
//! println!("Graph root: {}/v1.0", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod assertion;
mod cert;
pub mod cli;
mod config;
mod faults;
mod federation;
mod graph;
mod ground_truth;
mod managed_identity;
mod reply;
mod reports_throttle;
mod rng;
mod routes;
mod server;
pub mod tenant;
mod throttle;
mod time;
mod tls;
mod token;

pub use cert::{CertificateError, SimCertificate};
pub use config::WorkforceInsights;
pub use config::{
    FederatedCredential, FederatedMismatch, Quirks, RateScale, SimClient, SimConfig,
    SimManagedIdentity, SimTls, ALL_ROLES, DEFAULT_ACTIVITY_RATE, DEFAULT_APPLICATIONS,
    DEFAULT_EXTRA_SERVICE_PRINCIPALS, DEFAULT_FEDERATED_AUDIENCE, DEFAULT_MAX_CREDENTIALS_PER_APP,
    DEFAULT_RELYING_PARTIES, DEFAULT_REQUEST_LOG_CAPACITY, DEFAULT_SEED, DEFAULT_TOKEN_LIFETIME,
    DEFAULT_USERS, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_DOMAIN, DEMO_TENANT_ID,
    GLOBAL_GRAPH_AUDIENCE, GRAPH_JSON_CONTENT_TYPE,
};
pub use faults::{FaultControl, FaultKind, FaultParseError, FaultRule, SLOW_BODY_CHUNK};
pub use ground_truth::{names as metric_names, GroundTruth, Sample, TimedSample};
pub use reports_throttle::ReportsThrottleConfig;
pub use server::{federated_issuer_for, RequestRecord, SimHandle, Simulator};
pub use tenant::Tenant;
pub use throttle::ThrottleConfig;
pub use time::UtcTime;
pub use tls::TlsSetupError;
