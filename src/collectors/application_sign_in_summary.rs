//! Application activity: successful and failed sign-ins per application over the last 7 and
//! 30 days, as the "Usage & insights → Microsoft Entra application activity" page shows them.
//!
//! Reads `/beta/reports/getAzureADApplicationSignInSummary(period='D7'|'D30')` (reference §2.1;
//! `Reports.Read.All`, Entra ID P1/P2): both periods in one JSON batch (§9), each inner
//! request taking its slot of the tenant's reports budget. The item `id` carries the appId; the schema has no `appId` property (Appendix B.5).
//! The success ratio is computed from the two counts rather than read from
//! `successPercentage`, whose type the docs and schema disagree on (Int32 vs Double).

use std::collections::HashMap;
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
    name: "application_sign_in_summary",
    description: "Successful and failed sign-ins per application over 7 and 30 days",
    default_enabled: true,
    default_interval: Duration::from_secs(3600),
    metrics: METRICS,
    build: |config: &Config| {
        Box::new(ApplicationSignInSummary {
            max_apps: config.breakdowns.applications,
        })
    },
};

const SOURCE: &str = "/beta/reports/getAzureADApplicationSignInSummary(period='D7'|'D30')";
const PERMISSION: &str = "Reports.Read.All";

static D7: Endpoint = Endpoint {
    path: "/beta/reports/getAzureADApplicationSignInSummary(period='D7')",
    permission: PERMISSION,
    service: Service::Reports,
};

static D30: Endpoint = Endpoint {
    path: "/beta/reports/getAzureADApplicationSignInSummary(period='D30')",
    permission: PERMISSION,
    service: Service::Reports,
};

/// `entra_application_successful_sign_ins`.
pub static SUCCESSFUL: MetricSpec = MetricSpec {
    name: "entra_application_successful_sign_ins",
    kind: MetricKind::Gauge,
    help: "Successful sign-ins to the application over the period (7d or 30d), capped by breakdowns.applications with the rest in app_id=\"other\" (Graph beta getAzureADApplicationSignInSummary).",
    labels: &["tenant", "period", "app_id", "app"],
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_application_failed_sign_ins`.
pub static FAILED: MetricSpec = MetricSpec {
    name: "entra_application_failed_sign_ins",
    kind: MetricKind::Gauge,
    help: "Failed sign-ins to the application over the period (7d or 30d) (Graph beta getAzureADApplicationSignInSummary).",
    labels: &["tenant", "period", "app_id", "app"],
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_application_sign_in_success_ratio`.
pub static SUCCESS_RATIO: MetricSpec = MetricSpec {
    name: "entra_application_sign_in_success_ratio",
    kind: MetricKind::Gauge,
    help: "Successful over all sign-ins to the application over the period, 0 to 1; absent without sign-ins (Graph beta getAzureADApplicationSignInSummary).",
    labels: &["tenant", "period", "app_id", "app"],
    source: SOURCE,
    permission: PERMISSION,
};

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[&SUCCESSFUL, &FAILED, &SUCCESS_RATIO];

/// `applicationSignInSummary` (§2.1).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    /// The appId.
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    app_display_name: Option<String>,
    #[serde(default)]
    successful_sign_in_count: Option<f64>,
    #[serde(default)]
    failed_sign_in_count: Option<f64>,
}

/// Counts of one application: display name, successes, failures.
#[derive(Default)]
struct Counts {
    name: String,
    ok: f64,
    failed: f64,
}

/// The application sign-in summary collector.
pub struct ApplicationSignInSummary {
    /// Applications kept per period; the rest fold into `other`.
    max_apps: usize,
}

impl Collector for ApplicationSignInSummary {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let tenant = graph.tenant();
            let mut ok = Family::new(&SUCCESSFUL);
            let mut failed = Family::new(&FAILED);
            let mut ratio = Family::new(&SUCCESS_RATIO);
            // Both periods in one JSON batch (§9); each inner request still counts against
            // the reports budget.
            let mut periods: [HashMap<String, Counts>; 2] = Default::default();
            let gets = periods
                .iter_mut()
                .zip([&D7, &D30])
                .map(|(apps, endpoint)| {
                    BatchGet::new(endpoint, "", move |page: Vec<Summary>| {
                        for s in page {
                            let Some(id) = s.id.filter(|id| !id.is_empty()) else {
                                continue;
                            };
                            let c = apps.entry(id).or_default();
                            c.name = s.app_display_name.unwrap_or_default();
                            c.ok += s.successful_sign_in_count.unwrap_or(0.0);
                            c.failed += s.failed_sign_in_count.unwrap_or(0.0);
                        }
                    })
                })
                .collect();
            graph.for_each_page_batched(gets).await?;
            for (period, apps) in ["7d", "30d"].into_iter().zip(periods) {
                let kept = top_n(
                    apps,
                    self.max_apps,
                    |c| c.ok + c.failed,
                    |a, b| {
                        a.ok += b.ok;
                        a.failed += b.failed;
                    },
                );
                for (app_id, c) in kept {
                    let name = if app_id == OTHER { OTHER } else { &c.name };
                    let labels = [tenant, period, app_id.as_str(), name];
                    ok.gauge(labels, c.ok);
                    failed.gauge(labels, c.failed);
                    if c.ok + c.failed > 0.0 {
                        ratio.gauge(labels, c.ok / (c.ok + c.failed));
                    }
                }
            }
            Ok(vec![ok, failed, ratio])
        })
    }
}
