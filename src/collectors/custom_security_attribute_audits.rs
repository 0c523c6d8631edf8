//! Custom security attribute audit logs as counters by category, activity and result.
//!
//! Reads `/beta/auditLogs/customSecurityAttributeAudits` (`CustomSecAttributeAuditLogs.Read.All`)
//! incrementally; the events have the `directoryAudit` shape, so the directory audit
//! collector's code serves it. Off by default: the permission is rarely granted, and the log
//! exists only where custom security attributes are used.

use std::time::Duration;

use super::activity::StreamSpec;
use super::directory_audits::{AuditLog, Audits};
use super::CollectorInfo;
use crate::config::Config;
use crate::exposition::{MetricKind, MetricSpec};
use crate::graph::{Endpoint, Service};

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "custom_security_attribute_audits",
    description:
        "Custom security attribute audit logs as counters by category, activity and result",
    default_enabled: false,
    default_interval: Duration::from_secs(300),
    metrics: METRICS,
    build: |config: &Config| Box::new(Audits::new(&LOG, config)),
};

const PERMISSION: &str = "CustomSecAttributeAuditLogs.Read.All";

static ENDPOINT: Endpoint = Endpoint {
    path: "/beta/auditLogs/customSecurityAttributeAudits",
    permission: PERMISSION,
    service: Service::Reports,
};

/// `entra_custom_security_attribute_audit_events_total`.
pub static EVENTS: MetricSpec = MetricSpec {
    name: "entra_custom_security_attribute_audit_events_total",
    kind: MetricKind::Counter,
    help: "Custom security attribute audit events by category, activity (capped first-come by breakdowns.activities) and result, counted once per event since start-up (Graph beta auditLogs/customSecurityAttributeAudits).",
    labels: &["tenant", "category", "activity", "result"],
    source: "/beta/auditLogs/customSecurityAttributeAudits",
    permission: PERMISSION,
};

/// Every family this collector emits (plus the shared stream families).
pub static METRICS: &[&MetricSpec] = &[&EVENTS];

static LOG: AuditLog = AuditLog {
    name: "custom_security_attribute_audits",
    stream: StreamSpec {
        log: "custom_security_attribute_audits",
        endpoint: &ENDPOINT,
        time_property: "activityDateTime",
        filter: None,
    },
    events: &EVENTS,
};
