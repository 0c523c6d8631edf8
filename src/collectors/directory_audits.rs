//! Directory audit logs as counters: audit events by category, activity and result (role
//! assignments, password resets, application changes, …).
//!
//! Reads `/v1.0/auditLogs/directoryAudits` (`AuditLog.Read.All`) as an incremental stream
//! (see [`super::activity`]) through the tenant's reports budget. The same code serves the
//! custom security attribute audit log, whose events have the same shape.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;

use super::activity::{self, Admission, Counters, Event, StreamSpec, Streams};
use super::breakdown;
use super::{CollectError, Collector, CollectorInfo};
use crate::auth::BoxFuture;
use crate::config::{ActivityOptions, Config};
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient, Service};
use crate::runtime::unix_now;

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "directory_audits",
    description: "Directory audit logs as counters by category, activity and result",
    default_enabled: true,
    default_interval: Duration::from_secs(120),
    metrics: METRICS,
    build: |config: &Config| Box::new(Audits::new(&DIRECTORY, config)),
};

static ENDPOINT: Endpoint = Endpoint {
    path: "/v1.0/auditLogs/directoryAudits",
    permission: "AuditLog.Read.All",
    service: Service::Reports,
};

/// `entra_directory_audit_events_total`.
pub static EVENTS: MetricSpec = MetricSpec {
    name: "entra_directory_audit_events_total",
    kind: MetricKind::Counter,
    help: "Directory audit events by category, activity (activityDisplayName, capped first-come by breakdowns.activities) and result, counted once per event since start-up (Graph auditLogs/directoryAudits).",
    labels: &["tenant", "category", "activity", "result"],
    source: "/v1.0/auditLogs/directoryAudits",
    permission: "AuditLog.Read.All",
};

/// Every family this collector emits (plus the shared stream families).
pub static METRICS: &[&MetricSpec] = &[&EVENTS];

static DIRECTORY: AuditLog = AuditLog {
    name: "directory_audits",
    stream: StreamSpec {
        log: "directory_audits",
        endpoint: &ENDPOINT,
        time_property: "activityDateTime",
        filter: None,
    },
    events: &EVENTS,
};

/// Distinct categories kept as labels (Graph's list is short; the cap guards against drift).
const MAX_CATEGORIES: usize = 50;

/// An audit log with the `directoryAudit` shape.
pub struct AuditLog {
    /// Collector name, for the state file.
    pub name: &'static str,
    /// The stream.
    pub stream: StreamSpec,
    /// The counter family.
    pub events: &'static MetricSpec,
}

/// `directoryAudit` / `customSecurityAttributeAudit`; only the fields counted.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Audit {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    activity_date_time: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    activity_display_name: Option<String>,
    #[serde(default)]
    result: Option<String>,
}

impl Event for Audit {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn time(&self) -> Option<&str> {
        self.activity_date_time.as_deref()
    }
}

/// (category, activity, result) → count of one window.
type Delta = HashMap<(String, String, String), f64>;

struct State {
    streams: Streams,
    tallies: Tallies,
}

struct Tallies {
    categories: Admission,
    activities: Admission,
    counts: Counters,
}

/// A collector for an audit log of the `directoryAudit` shape.
pub struct Audits {
    log: &'static AuditLog,
    options: ActivityOptions,
    state: Mutex<State>,
}

impl Audits {
    /// A collector for `log`.
    pub fn new(log: &'static AuditLog, config: &Config) -> Self {
        Audits {
            log,
            options: config.activity.clone(),
            state: Mutex::new(State {
                streams: Streams::default(),
                tallies: Tallies {
                    categories: Admission::new(MAX_CATEGORIES),
                    activities: Admission::new(config.breakdowns.activities),
                    counts: Counters::new(log.events),
                },
            }),
        }
    }
}

impl Tallies {
    fn commit(&mut self, delta: Delta) {
        for ((category, activity, result), n) in delta {
            let category = self.categories.label(&category);
            let activity = self.activities.label(&activity);
            self.counts.add(vec![category, activity, result], n);
        }
    }
}

impl Collector for Audits {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut guard = self.state.lock().await;
            let State { streams, tallies } = &mut *guard;
            streams.load(&self.options, graph.tenant(), self.log.name)?;
            activity::read_new(
                graph,
                &self.log.stream,
                streams,
                &self.options,
                unix_now(),
                |d: &mut Delta, e: Audit, _| {
                    let key = (
                        breakdown::label(e.category.as_deref()).to_owned(),
                        breakdown::label(e.activity_display_name.as_deref()).to_owned(),
                        breakdown::label(e.result.as_deref()).to_owned(),
                    );
                    *d.entry(key).or_default() += 1.0;
                },
                |d| tallies.commit(d),
            )
            .await?;
            let mut out = vec![tallies.counts.family(graph.tenant())];
            out.extend(streams.families(graph.tenant()));
            Ok(out)
        })
    }
}
