//! `graph-sim`: an offline simulator of Microsoft Graph and the Entra ID token endpoint for
//! `entra-exporter`'s demo mode and integration tests.
//!
//! It generates a deterministic tenant from a seed ([`Tenant`]): app registrations, service
//! principals, their credentials and their last sign-ins. It serves them the way Graph does
//! (paging, `$select`, `$count`, throttling, error bodies and their quirks, as described in
//! the shared Graph reference), issues client-credentials tokens, injects faults on demand
//! ([`FaultRule`]) and computes the metrics an exporter should derive ([`GroundTruth`]).
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

pub mod cli;
mod config;
mod faults;
mod graph;
mod ground_truth;
mod reply;
mod reports_throttle;
mod rng;
mod routes;
mod server;
pub mod tenant;
mod throttle;
mod time;
mod token;

pub use config::WorkforceInsights;
pub use config::{
    Quirks, RateScale, SimClient, SimConfig, ALL_ROLES, DEFAULT_ACTIVITY_RATE,
    DEFAULT_APPLICATIONS, DEFAULT_EXTRA_SERVICE_PRINCIPALS, DEFAULT_MAX_CREDENTIALS_PER_APP,
    DEFAULT_RELYING_PARTIES, DEFAULT_REQUEST_LOG_CAPACITY, DEFAULT_SEED, DEFAULT_TOKEN_LIFETIME,
    DEFAULT_USERS, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_DOMAIN, DEMO_TENANT_ID,
    GRAPH_JSON_CONTENT_TYPE,
};
pub use faults::{FaultControl, FaultKind, FaultParseError, FaultRule};
pub use ground_truth::{names as metric_names, GroundTruth, Sample, TimedSample};
pub use reports_throttle::ReportsThrottleConfig;
pub use server::{RequestRecord, SimHandle, Simulator};
pub use tenant::Tenant;
pub use throttle::ThrottleConfig;
pub use time::UtcTime;
