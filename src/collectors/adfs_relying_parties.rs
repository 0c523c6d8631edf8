//! AD FS application activity: sign-ins, unique users and migration readiness per AD FS relying
//! party, as the "Usage & insights → AD FS application activity" page shows them.
//!
//! Reads `/v1.0/reports/getRelyingPartyDetailedSummary(period='D1'|'D7'|'D30')` (reference §3;
//! `Reports.Read.All`): the three periods in one JSON batch (§9), each inner request taking
//! its slot of the tenant's reports budget. The
//! success ratio is computed from the counts, because the scale of `signInSuccessRate` (0–1 or
//! 0–100) is UNCONFIRMED. Migration status is a state set: one series per status, 1 for the
//! relying party's current one.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Deserialize;

use super::breakdown::{top_n, OTHER};
use super::{CollectError, Collector, CollectorInfo};
use crate::auth::BoxFuture;
use crate::config::Config;
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::batch::BatchGet;
use crate::graph::{Endpoint, GraphClient, Service};

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "adfs_relying_parties",
    description: "AD FS relying parties: sign-ins, unique users and migration readiness over 1, 7 and 30 days",
    default_enabled: true,
    default_interval: Duration::from_secs(3600),
    metrics: METRICS,
    build: |config: &Config| {
        Box::new(AdfsRelyingParties {
            max_parties: config.breakdowns.applications,
        })
    },
};

const SOURCE: &str = "/v1.0/reports/getRelyingPartyDetailedSummary(period='D1'|'D7'|'D30')";
const PERMISSION: &str = "Reports.Read.All";

macro_rules! endpoint {
    ($name:ident, $period:literal) => {
        static $name: Endpoint = Endpoint {
            path: concat!(
                "/v1.0/reports/getRelyingPartyDetailedSummary(period='",
                $period,
                "')"
            ),
            permission: PERMISSION,
            service: Service::Reports,
        };
    };
}
endpoint!(D1, "D1");
endpoint!(D7, "D7");
endpoint!(D30, "D30");

macro_rules! spec {
    ($name:ident, $metric:literal, $help:literal) => {
        #[doc = concat!("`", $metric, "`.")]
        pub static $name: MetricSpec = MetricSpec {
            name: $metric,
            kind: MetricKind::Gauge,
            help: concat!(
                $help,
                " Per AD FS relying party over the period (1d, 7d or 30d), capped by breakdowns.applications (Graph getRelyingPartyDetailedSummary)."
            ),
            labels: &["tenant", "period", "relying_party_id", "relying_party"],
            source: SOURCE,
            permission: PERMISSION,
        };
    };
}

spec!(
    SUCCESSFUL,
    "entra_adfs_relying_party_successful_sign_ins",
    "Successful AD FS sign-ins."
);
spec!(
    FAILED,
    "entra_adfs_relying_party_failed_sign_ins",
    "Failed AD FS sign-ins."
);
spec!(
    TOTAL,
    "entra_adfs_relying_party_sign_ins",
    "All AD FS sign-ins."
);
spec!(
    UNIQUE_USERS,
    "entra_adfs_relying_party_unique_users",
    "Distinct users who signed in."
);
spec!(
    SUCCESS_RATIO,
    "entra_adfs_relying_party_sign_in_success_ratio",
    "Successful over all sign-ins, 0 to 1; absent without sign-ins."
);

/// `entra_adfs_relying_party_migration_status`.
pub static MIGRATION_STATUS: MetricSpec = MetricSpec {
    name: "entra_adfs_relying_party_migration_status",
    kind: MetricKind::Gauge,
    help: "Readiness to move the relying party to Entra ID: 1 for its current status (ready, needs_review, additional_steps_required, unknown), 0 for the others (Graph getRelyingPartyDetailedSummary).",
    labels: &["tenant", "relying_party_id", "relying_party", "status"],
    source: SOURCE,
    permission: PERMISSION,
};

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[
    &SUCCESSFUL,
    &FAILED,
    &TOTAL,
    &UNIQUE_USERS,
    &SUCCESS_RATIO,
    &MIGRATION_STATUS,
];

/// The `status` label values, from Graph's `migrationStatus` enum.
const STATUSES: [(&str, &str); 4] = [
    ("ready", "ready"),
    ("needsReview", "needs_review"),
    ("additionalStepsRequired", "additional_steps_required"),
    ("unknownFutureValue", "unknown"),
];

/// `relyingPartyDetailedSummary` (§3); only the fields used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    #[serde(default)]
    relying_party_id: Option<String>,
    #[serde(default)]
    relying_party_name: Option<String>,
    #[serde(default)]
    successful_sign_in_count: Option<f64>,
    #[serde(default)]
    failed_sign_in_count: Option<f64>,
    #[serde(default)]
    total_sign_in_count: Option<f64>,
    #[serde(default)]
    unique_user_count: Option<f64>,
    #[serde(default)]
    migration_status: Option<String>,
}

/// Counts of one relying party in one period.
#[derive(Default)]
struct Counts {
    name: String,
    ok: f64,
    failed: f64,
    total: f64,
    users: f64,
}

/// The AD FS relying party collector.
pub struct AdfsRelyingParties {
    /// Relying parties kept per period; the rest fold into `other`.
    max_parties: usize,
}

impl Collector for AdfsRelyingParties {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let tenant = graph.tenant();
            let mut families: Vec<Family> = METRICS.iter().map(|s| Family::new(s)).collect();
            // Relying party id → (name, status label), from whichever period lists it.
            let mut status: HashMap<String, (String, &'static str)> = HashMap::new();
            // Relying parties that kept their own label in at least one period.
            let mut kept: HashSet<String> = HashSet::new();
            // The three periods in one JSON batch (§9); each inner request still counts
            // against the reports budget.
            let mut periods: [Vec<Summary>; 3] = Default::default();
            let gets = periods
                .iter_mut()
                .zip([&D1, &D7, &D30])
                .map(|(rows, endpoint)| {
                    BatchGet::new(endpoint, "", move |page: Vec<Summary>| rows.extend(page))
                })
                .collect();
            graph.for_each_page_batched(gets).await?;
            for (period, rows) in ["1d", "7d", "30d"].into_iter().zip(periods) {
                let mut parties: HashMap<String, Counts> = HashMap::new();
                for s in rows {
                    let Some(id) = s.relying_party_id.filter(|id| !id.is_empty()) else {
                        continue;
                    };
                    let name = s.relying_party_name.unwrap_or_default();
                    let state = s
                        .migration_status
                        .as_deref()
                        .and_then(|m| STATUSES.iter().find(|(g, _)| *g == m))
                        .map_or("unknown", |(_, label)| *label);
                    status.insert(id.clone(), (name.clone(), state));
                    let ok = s.successful_sign_in_count.unwrap_or(0.0);
                    let failed = s.failed_sign_in_count.unwrap_or(0.0);
                    let c = parties.entry(id).or_default();
                    c.name = name;
                    c.ok += ok;
                    c.failed += failed;
                    c.total += s.total_sign_in_count.unwrap_or(ok + failed);
                    c.users += s.unique_user_count.unwrap_or(0.0);
                }
                let merge = |a: &mut Counts, b: Counts| {
                    a.ok += b.ok;
                    a.failed += b.failed;
                    a.total += b.total;
                    // Unique users of several parties can overlap; the sum is an upper bound.
                    a.users += b.users;
                };
                for (id, c) in top_n(parties, self.max_parties, |c| c.total, merge) {
                    let name = if id == OTHER { OTHER } else { c.name.as_str() };
                    let labels = [tenant, period, id.as_str(), name];
                    if id != OTHER {
                        kept.insert(id.clone());
                    }
                    families[0].gauge(labels, c.ok);
                    families[1].gauge(labels, c.failed);
                    families[2].gauge(labels, c.total);
                    families[3].gauge(labels, c.users);
                    if c.ok + c.failed > 0.0 {
                        families[4].gauge(labels, c.ok / (c.ok + c.failed));
                    }
                }
            }
            // Status is per relying party, not per period, and cannot be summed; it is served
            // for the parties that have their own label in some period, so it shares their cap.
            let mut ids: Vec<_> = status
                .into_iter()
                .filter(|(id, _)| kept.contains(id))
                .collect();
            ids.sort_by(|a, b| a.0.cmp(&b.0));
            for (id, (name, current)) in ids {
                for (_, label) in STATUSES {
                    let value = if label == current { 1.0 } else { 0.0 };
                    families[5].gauge([tenant, id.as_str(), name.as_str(), label], value);
                }
            }
            Ok(families)
        })
    }
}
