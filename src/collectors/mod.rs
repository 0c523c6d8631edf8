//! Collectors: one per Graph report family, each in its own file.
//!
//! A collector turns Graph responses into a complete set of metric families for one tenant.
//! It knows nothing of HTTP serving or scheduling: [`crate::runtime`] calls it on its interval
//! and swaps the result in whole, or keeps the previous result if it fails.

pub mod activity;
pub mod adfs_relying_parties;
pub mod app_credential_sign_ins;
pub mod application_sign_in_summary;
pub mod auth_methods_registration;
pub mod auth_methods_usage;
pub mod breakdown;
pub mod credentials;
pub mod custom_security_attribute_audits;
pub mod directory_audits;
pub mod provisioning;
pub mod service_principal_sign_ins;
pub mod sign_ins;
pub mod user_insights;

use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

use crate::auth::BoxFuture;
use crate::config::Config;
use crate::exposition::{Family, MetricSpec};
use crate::graph::{GraphClient, GraphError};

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A Graph call failed; the message says which endpoint, why and what to do. Boxed:
    /// the error is large and travels by value through every collector.
    #[error(transparent)]
    Graph(Box<GraphError>),
    /// The activity-log state file could not be read or written.
    #[error("state file {path}: {reason}")]
    State {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
}

impl From<GraphError> for CollectError {
    fn from(e: GraphError) -> Self {
        CollectError::Graph(Box::new(e))
    }
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
    /// Builds an instance from the validated configuration (breakdown limits, say).
    pub build: fn(&Config) -> Box<dyn Collector>,
}

/// Every collector the exporter knows.
pub static REGISTRY: &[&CollectorInfo] = &[
    &credentials::INFO,
    &service_principal_sign_ins::INFO,
    &app_credential_sign_ins::INFO,
    &user_insights::INFO,
    &application_sign_in_summary::INFO,
    &adfs_relying_parties::INFO,
    &auth_methods_registration::INFO,
    &auth_methods_usage::INFO,
    &sign_ins::INFO,
    &directory_audits::INFO,
    &provisioning::INFO,
    &custom_security_attribute_audits::INFO,
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

/// Unix seconds of midnight UTC of a Graph `Edm.Date` (`YYYY-MM-DD`); `None` when it is not one.
pub(crate) fn parse_date(text: &str) -> Option<f64> {
    if text.len() != 10 {
        return None;
    }
    parse_timestamp(&format!("{text}T00:00:00Z"))
}

/// The UTC calendar date of Unix time `now`, as `YYYY-MM-DD`.
pub(crate) fn utc_date(now: f64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(now.max(0.0) as u64);
    let mut text = humantime::format_rfc3339_seconds(t).to_string();
    text.truncate(10);
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_date("2025-06-02"), Some(1_748_822_400.0));
        assert_eq!(utc_date(1_748_822_400.0 + 86_399.0), "2025-06-02");
        assert_eq!(parse_date("2025-6-2"), None);
        assert_eq!(parse_date("yesterday!"), None);
    }
}
