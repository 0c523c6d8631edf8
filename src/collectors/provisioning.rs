//! Provisioning logs as counters: provisioning events by target system, action and status,
//! e.g. failed updates to ServiceNow or Workday.
//!
//! Reads `/v1.0/auditLogs/provisioning` (`AuditLog.Read.All`, Entra ID P1/P2) as an
//! incremental stream (see [`super::activity`]) through the tenant's reports budget.

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
    name: "provisioning",
    description: "Provisioning logs as counters by target system, action and status",
    default_enabled: true,
    default_interval: Duration::from_secs(120),
    metrics: METRICS,
    build: |config: &Config| Box::new(Provisioning::new(config)),
};

static ENDPOINT: Endpoint = Endpoint {
    path: "/v1.0/auditLogs/provisioning",
    permission: "AuditLog.Read.All",
    service: Service::Reports,
};

static STREAM: StreamSpec = StreamSpec {
    log: "provisioning",
    endpoint: &ENDPOINT,
    time_property: "activityDateTime",
    filter: None,
};

/// `entra_provisioning_events_total`.
pub static EVENTS: MetricSpec = MetricSpec {
    name: "entra_provisioning_events_total",
    kind: MetricKind::Counter,
    help: "Provisioning events by target system (targetSystem.displayName, capped first-come by breakdowns.applications), action (create, update, delete, disable, stagedDelete, other) and status (success, warning, failure, skipped), counted once per event since start-up (Graph auditLogs/provisioning).",
    labels: &["tenant", "target_system", "action", "status"],
    source: "/v1.0/auditLogs/provisioning",
    permission: "AuditLog.Read.All",
};

/// Every family this collector emits (plus the shared stream families).
pub static METRICS: &[&MetricSpec] = &[&EVENTS];

/// `provisioningObjectSummary`; only the fields counted.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProvisioningEvent {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    activity_date_time: Option<String>,
    #[serde(default)]
    provisioning_action: Option<String>,
    #[serde(default)]
    provisioning_status_info: Option<StatusInfo>,
    #[serde(default)]
    target_system: Option<System>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusInfo {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct System {
    #[serde(default)]
    display_name: Option<String>,
}

impl Event for ProvisioningEvent {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn time(&self) -> Option<&str> {
        self.activity_date_time.as_deref()
    }
}

/// (target system, action, status) → count of one window.
type Delta = HashMap<(String, String, String), f64>;

struct State {
    streams: Streams,
    targets: Admission,
    counts: Counters,
}

/// The provisioning log collector.
pub struct Provisioning {
    options: ActivityOptions,
    state: Mutex<State>,
}

impl Provisioning {
    fn new(config: &Config) -> Self {
        Provisioning {
            options: config.activity.clone(),
            state: Mutex::new(State {
                streams: Streams::default(),
                targets: Admission::new(config.breakdowns.applications),
                counts: Counters::new(&EVENTS),
            }),
        }
    }
}

impl Collector for Provisioning {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut guard = self.state.lock().await;
            let State {
                streams,
                targets,
                counts,
            } = &mut *guard;
            streams.load(&self.options, graph.tenant(), INFO.name)?;
            activity::read_new(
                graph,
                &STREAM,
                streams,
                &self.options,
                unix_now(),
                |d: &mut Delta, e: ProvisioningEvent, _| {
                    let target = e.target_system.and_then(|s| s.display_name);
                    let status = e.provisioning_status_info.and_then(|s| s.status);
                    let key = (
                        breakdown::label(target.as_deref()).to_owned(),
                        breakdown::label(e.provisioning_action.as_deref()).to_owned(),
                        breakdown::label(status.as_deref()).to_owned(),
                    );
                    *d.entry(key).or_default() += 1.0;
                },
                |d| {
                    for ((target, action, status), n) in d {
                        counts.add(vec![targets.label(&target), action, status], n);
                    }
                },
            )
            .await?;
            let mut out = vec![counts.family(graph.tenant())];
            out.extend(streams.families(graph.tenant()));
            Ok(out)
        })
    }
}
