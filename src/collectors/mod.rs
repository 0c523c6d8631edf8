//! Collectors: one per Graph report family, each in its own file.
//!
//! A collector turns Graph responses into a complete set of metric families for one tenant.
//! It knows nothing of HTTP serving or scheduling: [`crate::runtime`] calls it on its interval
//! and swaps the result in whole, or keeps the previous result if it fails.

pub mod app_credential_sign_ins;
pub mod credentials;
pub mod service_principal_sign_ins;

use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

use crate::auth::BoxFuture;
use crate::exposition::{Family, MetricSpec};
use crate::graph::{GraphClient, GraphError};

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A Graph call failed; the message says which endpoint, why and what to do.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// One report family's collector.
pub trait Collector: Send + Sync {
    /// Reads the family from Graph for the client's tenant and returns every metric family
    /// it produces; the `tenant` label comes from [`GraphClient::tenant`].
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>>;
}

/// Static facts about a collector, node_exporter style: a name, whether it runs by default,
/// how often, what it emits, and how to build it.
pub struct CollectorInfo {
    /// Name used in `collectors:` config and the `collector` label.
    pub name: &'static str,
    /// One line for the landing page and docs.
    pub description: &'static str,
    /// Enabled when the config does not say.
    pub default_enabled: bool,
    /// Poll interval when the config does not say.
    pub default_interval: Duration,
    /// Every metric family it can emit.
    pub metrics: &'static [&'static MetricSpec],
    /// Builds an instance.
    pub build: fn() -> Box<dyn Collector>,
}

/// Every collector the exporter knows.
pub static REGISTRY: &[&CollectorInfo] = &[
    &credentials::INFO,
    &service_principal_sign_ins::INFO,
    &app_credential_sign_ins::INFO,
];

/// Looks a collector up by name.
pub fn info(name: &str) -> Option<&'static CollectorInfo> {
    REGISTRY.iter().find(|c| c.name == name).copied()
}

/// Parses a Graph `Edm.DateTimeOffset` (RFC 3339 in UTC, up to 7 fractional digits) into Unix
/// seconds; `None` when it is not one, so a single bad row never fails a whole page.
pub(crate) fn parse_timestamp(text: &str) -> Option<f64> {
    let t = humantime::parse_rfc3339(text).ok()?;
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => Some(d.as_secs_f64()),
        Err(before) => Some(-before.duration().as_secs_f64()),
    }
}

/// Graph's `signInActivity` complex type (reference §4), shared by the sign-in activity
/// reports; only the timestamp is used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignInActivity {
    #[serde(default)]
    last_sign_in_date_time: Option<String>,
}

impl SignInActivity {
    /// `lastSignInDateTime` in Unix seconds, if present and readable.
    pub(crate) fn timestamp(activity: &Option<SignInActivity>) -> Option<f64> {
        activity
            .as_ref()?
            .last_sign_in_date_time
            .as_deref()
            .and_then(parse_timestamp)
    }
}
