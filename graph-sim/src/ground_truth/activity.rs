//! Ground truth of the activity logs (§8 sign-ins; directory audits, provisioning and custom
//! security attribute audits, modelled on Graph's documentation), computed from the event
//! streams of [`crate::tenant::activity_log`], not from the served JSON. Counts cover the
//! events whose timestamp `t` satisfies `from ≤ t ≤ to` (Unix seconds, rounded to the nearest
//! 100 ns tick), whether or not they have arrived yet (late arrival only delays listing).
//!
//! Families, all labelled `tenant`, only label sets with at least one event:
//!
//! * `entra_sign_ins_total{app_id, app, event_type, result, error_code}`: every sign-in;
//!   `event_type` ∈ `interactive_user`, `non_interactive_user`, `service_principal`,
//!   `managed_identity`; `result` = `success` when `status.errorCode` is 0, else `failure`;
//!   `error_code` the code as a string (`"0"` for success); `app_id`/`app` the row's
//!   `appId`/`appDisplayName`;
//! * `entra_sign_ins_by_conditional_access_total{event_type, status}` (`conditionalAccessStatus`;
//!   null → `unknown`);
//! * `entra_sign_ins_by_client_app_total{client_app}`, `entra_sign_ins_by_country_total{country}`
//!   and `entra_sign_ins_by_os_total{os}` over user sign-ins (`clientAppUsed`,
//!   `location.countryOrRegion`, `deviceDetail.operatingSystem`; null or empty → `unknown`);
//! * `entra_risky_sign_ins_total{risk_level}` over user sign-ins whose `riskLevelDuringSignIn`
//!   is `low`, `medium`, `high` or `hidden`;
//! * `entra_directory_audit_events_total{category, activity, result}`;
//! * `entra_provisioning_events_total{target_system, action, status}` (`targetSystem.displayName`,
//!   `provisioningAction`, `provisioningStatusInfo.status`);
//! * `entra_custom_security_attribute_audit_events_total{category, activity, result}`;
//! * `entra_activity_log_events_total{log}`: every event per log stream, `log` ∈
//!   `sign_ins_interactive_user`, `sign_ins_non_interactive_user`, `sign_ins_service_principal`,
//!   `sign_ins_managed_identity`, `directory_audits`, `provisioning`,
//!   `custom_security_attribute_audits`.
//!
//! Separately: the number of distinct `userId`s over user sign-ins in a range
//! ([`distinct_users`]) and `entra_application_last_sign_in_timestamp_seconds{app_id, app}`, the
//! newest `createdDateTime` per app over all sign-in types within the retention window ending
//! at an instant ([`last_sign_in`]).

use std::collections::{BTreeMap, HashSet};

use super::{sample, GroundTruth};
use crate::tenant::activity_log::{
    count_before, event_tick, ActivityLog, AuditActivity, Group, LogKind, RiskLevel, Source,
    CSA_ACTIVITIES, DAY_TICKS, DIRECTORY_ACTIVITIES, PROVISIONING_JOBS, TICKS,
};
use crate::tenant::Tenant;

/// Metric names of these families.
pub mod names {
    /// Sign-ins per app, event type, result and error code.
    pub const SIGN_INS: &str = "entra_sign_ins_total";
    /// Sign-ins per event type and conditional access status.
    pub const SIGN_INS_BY_CONDITIONAL_ACCESS: &str = "entra_sign_ins_by_conditional_access_total";
    /// User sign-ins per client app.
    pub const SIGN_INS_BY_CLIENT_APP: &str = "entra_sign_ins_by_client_app_total";
    /// User sign-ins per country.
    pub const SIGN_INS_BY_COUNTRY: &str = "entra_sign_ins_by_country_total";
    /// User sign-ins per operating system.
    pub const SIGN_INS_BY_OS: &str = "entra_sign_ins_by_os_total";
    /// Risky user sign-ins per risk level.
    pub const RISKY_SIGN_INS: &str = "entra_risky_sign_ins_total";
    /// Directory audit events per category, activity and result.
    pub const DIRECTORY_AUDIT_EVENTS: &str = "entra_directory_audit_events_total";
    /// Provisioning events per target system, action and status.
    pub const PROVISIONING_EVENTS: &str = "entra_provisioning_events_total";
    /// Custom security attribute audit events per category, activity and result.
    pub const CUSTOM_SECURITY_ATTRIBUTE_AUDIT_EVENTS: &str =
        "entra_custom_security_attribute_audit_events_total";
    /// Events per log (`log`: `sign_ins_<event type>`, `directory_audits`, `provisioning`,
    /// `custom_security_attribute_audits`).
    pub const ACTIVITY_LOG_EVENTS: &str = "entra_activity_log_events_total";
    /// Newest sign-in per application, Unix seconds.
    pub const APPLICATION_LAST_SIGN_IN: &str = "entra_application_last_sign_in_timestamp_seconds";
}

/// Unix seconds to ticks, rounded to the nearest tick.
fn to_ticks(unix: f64) -> i64 {
    let secs = unix.floor();
    (secs as i64)
        .saturating_mul(TICKS)
        .saturating_add(((unix - secs) * TICKS as f64).round() as i64)
}

/// A label value, `unknown` when empty.
fn or_unknown(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// Adds one to a counter.
fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K) {
    *map.entry(key).or_insert(0) += 1;
}

/// The activity-log counters over `[from, to]` (see the module docs).
pub(crate) fn truth(
    log: &ActivityLog,
    tenant: &Tenant,
    tenant_label: &str,
    from: f64,
    to: f64,
) -> GroundTruth {
    let lo = to_ticks(from);
    let hi = to_ticks(to).saturating_add(1);
    let all = |_: &Source| true;

    let mut sign_ins: BTreeMap<(String, String, &str, &str, String), u64> = BTreeMap::new();
    let mut by_ca: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut by_client: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_country: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_os: BTreeMap<String, u64> = BTreeMap::new();
    let mut risky: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_log: BTreeMap<&str, u64> = BTreeMap::new();
    log.for_each_event(tenant, LogKind::SignIns, lo, hi, &all, &mut |ev| {
        let (f, _) = log.sign_in_facts(tenant, &ev);
        let (app_id, app) = log.source_app(tenant, &ev.source).unwrap_or(("", ""));
        let result = if f.error_code == 0 {
            "success"
        } else {
            "failure"
        };
        bump(
            &mut sign_ins,
            (
                app_id.to_owned(),
                app.to_owned(),
                f.event_type.label(),
                result,
                f.error_code.to_string(),
            ),
        );
        bump(&mut by_ca, (f.event_type.label(), f.ca_status.graph_name()));
        bump(&mut per_log, f.event_type.log_label());
        if f.event_type.is_user() {
            bump(&mut by_client, or_unknown(f.client_app));
            bump(&mut by_country, or_unknown(Some(f.country.code)));
            bump(&mut by_os, or_unknown(f.operating_system));
            if f.risk != RiskLevel::None {
                bump(&mut risky, f.risk.graph_name());
            }
        }
    });

    let audits = |kind: LogKind, table: &[AuditActivity]| {
        let mut counts: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
        log.for_each_event(tenant, kind, lo, hi, &all, &mut |ev| {
            let (f, _) = log.audit_facts(tenant, &ev);
            if let Some(a) = table.get(ev.source.entity as usize) {
                bump(&mut counts, (a.category, a.activity, f.result.graph_name()));
            }
        });
        counts
    };
    let directory = audits(LogKind::DirectoryAudits, &DIRECTORY_ACTIVITIES);
    let csa = audits(LogKind::CustomSecurityAttributeAudits, &CSA_ACTIVITIES);
    let mut provisioning: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    log.for_each_event(tenant, LogKind::Provisioning, lo, hi, &all, &mut |ev| {
        let (f, _) = log.provisioning_facts(tenant, &ev);
        if let Some(job) = PROVISIONING_JOBS.get(ev.source.entity as usize) {
            bump(
                &mut provisioning,
                (job.target, f.action.graph_name(), f.status.graph_name()),
            );
        }
    });

    for (log_label, counts) in [
        ("directory_audits", directory.values().sum::<u64>()),
        ("provisioning", provisioning.values().sum()),
        ("custom_security_attribute_audits", csa.values().sum()),
    ] {
        if counts > 0 {
            per_log.insert(log_label, counts);
        }
    }

    let mut samples = Vec::new();
    let mut push = |name: &str, labels: &[(&str, &str)], value: u64| {
        samples.push(sample(name, tenant_label, labels, value as f64));
    };
    for ((app_id, app, event_type, result, code), n) in &sign_ins {
        push(
            names::SIGN_INS,
            &[
                ("app_id", app_id),
                ("app", app),
                ("event_type", event_type),
                ("result", result),
                ("error_code", code),
            ],
            *n,
        );
    }
    for ((event_type, status), n) in &by_ca {
        push(
            names::SIGN_INS_BY_CONDITIONAL_ACCESS,
            &[("event_type", event_type), ("status", status)],
            *n,
        );
    }
    for (client, n) in &by_client {
        push(names::SIGN_INS_BY_CLIENT_APP, &[("client_app", client)], *n);
    }
    for (country, n) in &by_country {
        push(names::SIGN_INS_BY_COUNTRY, &[("country", country)], *n);
    }
    for (os, n) in &by_os {
        push(names::SIGN_INS_BY_OS, &[("os", os)], *n);
    }
    for (level, n) in &risky {
        push(names::RISKY_SIGN_INS, &[("risk_level", level)], *n);
    }
    for ((category, activity, result), n) in &directory {
        push(
            names::DIRECTORY_AUDIT_EVENTS,
            &[
                ("category", category),
                ("activity", activity),
                ("result", result),
            ],
            *n,
        );
    }
    for ((target, action, status), n) in &provisioning {
        push(
            names::PROVISIONING_EVENTS,
            &[
                ("target_system", target),
                ("action", action),
                ("status", status),
            ],
            *n,
        );
    }
    for ((category, activity, result), n) in &csa {
        push(
            names::CUSTOM_SECURITY_ATTRIBUTE_AUDIT_EVENTS,
            &[
                ("category", category),
                ("activity", activity),
                ("result", result),
            ],
            *n,
        );
    }
    for (log_label, n) in &per_log {
        push(names::ACTIVITY_LOG_EVENTS, &[("log", log_label)], *n);
    }
    GroundTruth { samples }
}

/// Distinct users over the user sign-ins in `[from, to]`.
pub(crate) fn distinct_users(log: &ActivityLog, tenant: &Tenant, from: f64, to: f64) -> u64 {
    let mut users = HashSet::new();
    let user_apps = |s: &Source| s.group == Group::UserApp;
    log.for_each_event(
        tenant,
        LogKind::SignIns,
        to_ticks(from),
        to_ticks(to).saturating_add(1),
        &user_apps,
        &mut |ev| {
            if let Some(u) = log.sign_in_facts(tenant, &ev).0.user {
                users.insert(u);
            }
        },
    );
    users.len() as u64
}

/// The newest sign-in per app (all sign-in types) with a timestamp in
/// `[to − retention, to]`.
pub(crate) fn last_sign_in(
    log: &ActivityLog,
    tenant: &Tenant,
    tenant_label: &str,
    to: f64,
) -> GroundTruth {
    let lo = to_ticks(to) - i64::from(log.retention_days) * DAY_TICKS;
    let hi = to_ticks(to).min(log.end_tick).saturating_add(1);
    let mut newest: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    for &group in LogKind::SignIns.groups() {
        for entity in 0..log.entities(tenant, group) as u32 {
            let source = Source {
                group,
                entity,
                kind: 0,
            };
            let Some(app) = log.source_app(tenant, &source) else {
                continue;
            };
            let weights = group.weights();
            let mut day = (hi - 1).div_euclid(DAY_TICKS);
            while hi > lo && day * DAY_TICKS + DAY_TICKS > lo {
                let start = day * DAY_TICKS;
                let counts = log.day_counts(tenant, group, entity, day);
                let found = counts
                    .iter()
                    .take(group.kinds())
                    .filter_map(|&n| {
                        let top = count_before(n, (hi - start).min(DAY_TICKS), weights);
                        let bottom = count_before(n, (lo - start).max(0), weights);
                        (top > bottom).then(|| start + event_tick(top - 1, n, weights))
                    })
                    .max();
                if let Some(t) = found {
                    let slot = newest.entry(app).or_insert(t);
                    *slot = (*slot).max(t);
                    break;
                }
                day -= 1;
            }
        }
    }
    let samples = newest
        .into_iter()
        .map(|((app_id, app), t)| {
            sample(
                names::APPLICATION_LAST_SIGN_IN,
                tenant_label,
                &[("app_id", app_id), ("app", app)],
                t as f64 / TICKS as f64,
            )
        })
        .collect();
    GroundTruth { samples }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    #[test]
    fn counts_add_up_and_ranges_compose() {
        let config = SimConfig {
            applications: 30,
            extra_service_principals: 40,
            users: 200,
            activity_rate: 2.0,
            ..SimConfig::default()
        };
        let tenant = Tenant::generate(&config);
        let log = ActivityLog::new(&config, &tenant);
        let at = 1_750_000_000.0;
        let whole = truth(&log, &tenant, "t", at - 7_200.0, at);
        let first = truth(&log, &tenant, "t", at - 7_200.0, at - 3_600.0 - 1e-7);
        let second = truth(&log, &tenant, "t", at - 3_600.0, at);
        let total = |gt: &GroundTruth, name: &str| -> f64 {
            gt.by_name(name).iter().map(|s| s.value).sum()
        };
        for name in [
            names::SIGN_INS,
            names::DIRECTORY_AUDIT_EVENTS,
            names::PROVISIONING_EVENTS,
            names::CUSTOM_SECURITY_ATTRIBUTE_AUDIT_EVENTS,
        ] {
            assert!(total(&whole, name) > 0.0, "{name}");
            assert_eq!(
                total(&whole, name),
                total(&first, name) + total(&second, name),
                "{name}"
            );
        }
        assert_eq!(
            total(&whole, names::SIGN_INS),
            total(&whole, names::SIGN_INS_BY_CONDITIONAL_ACCESS)
        );
        let user: f64 = whole
            .by_name(names::SIGN_INS)
            .iter()
            .filter(|s| s.labels["event_type"].ends_with("interactive_user"))
            .map(|s| s.value)
            .sum();
        for name in [
            names::SIGN_INS_BY_CLIENT_APP,
            names::SIGN_INS_BY_COUNTRY,
            names::SIGN_INS_BY_OS,
        ] {
            assert_eq!(total(&whole, name), user, "{name}");
        }
        let users = distinct_users(&log, &tenant, at - 7_200.0, at);
        assert!(users > 10 && users <= 200, "{users}");
        let last = last_sign_in(&log, &tenant, "t", at);
        assert!(!last.samples.is_empty());
        assert!(last.samples.iter().all(|s| s.value <= at));
    }
}
