//! Authentication methods usage: registration and reset activity per method, SSPR registration
//! counts, and MFA versus single-factor sign-ins.
//!
//! Reads three reports (reference §6.3–§6.5; Entra ID P1/P2), all through the tenant's
//! reports budget:
//! * `/beta/reports/getCredentialUsageSummary(period='D1'|'D7'|'D30')` — `Reports.Read.All`;
//! * `/beta/reports/getCredentialUserRegistrationCount` — `Reports.Read.All`; its counts use
//!   the schema keys `registrationStatus` / `registrationCount`, not the doc example's
//!   (Appendix B.7);
//! * `/beta/reports/authenticationMethods/userMfaSignInSummary` — permission UNCONFIRMED
//!   (`AuditLog.Read.All` or `Reports.Read.All`). It returns one row per day, today's still
//!   growing; the latest complete day is served, with its date in a `_fact_timestamp_seconds`
//!   companion.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::breakdown::{self, top_n};
use super::{parse_timestamp, utc_date, CollectError, Collector, CollectorInfo};
use crate::auth::BoxFuture;
use crate::config::Config;
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient, Service};
use crate::runtime::unix_now;

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "auth_methods_usage",
    description: "Authentication methods usage: registration and reset activity per method, SSPR registration counts, MFA versus single-factor sign-ins",
    default_enabled: true,
    default_interval: Duration::from_secs(3600),
    metrics: METRICS,
    build: |config: &Config| {
        Box::new(AuthMethodsUsage {
            max_methods: config.breakdowns.methods,
        })
    },
};

const USAGE_SOURCE: &str = "/beta/reports/getCredentialUsageSummary(period='D1'|'D7'|'D30')";
const REGISTRATION_SOURCE: &str = "/beta/reports/getCredentialUserRegistrationCount";
const MFA_SOURCE: &str = "/beta/reports/authenticationMethods/userMfaSignInSummary";

macro_rules! usage_endpoint {
    ($name:ident, $period:literal) => {
        static $name: Endpoint = Endpoint {
            path: concat!(
                "/beta/reports/getCredentialUsageSummary(period='",
                $period,
                "')"
            ),
            permission: "Reports.Read.All",
            service: Service::Reports,
        };
    };
}
usage_endpoint!(USAGE_D1, "D1");
usage_endpoint!(USAGE_D7, "D7");
usage_endpoint!(USAGE_D30, "D30");

static REGISTRATION_COUNT: Endpoint = Endpoint {
    path: REGISTRATION_SOURCE,
    permission: "Reports.Read.All",
    service: Service::Reports,
};

static MFA_SUMMARY: Endpoint = Endpoint {
    path: MFA_SOURCE,
    permission: "AuditLog.Read.All or Reports.Read.All (UNCONFIRMED)",
    service: Service::Reports,
};

/// `entra_auth_methods_usage_successes`.
pub static USAGE_SUCCESSES: MetricSpec = MetricSpec {
    name: "entra_auth_methods_usage_successes",
    kind: MetricKind::Gauge,
    help: "Successful registration or reset (feature) activities per method over the period (1d, 7d or 30d), capped by breakdowns.methods (Graph beta getCredentialUsageSummary).",
    labels: &["tenant", "period", "feature", "method"],
    source: USAGE_SOURCE,
    permission: "Reports.Read.All",
};

/// `entra_auth_methods_usage_failures`.
pub static USAGE_FAILURES: MetricSpec = MetricSpec {
    name: "entra_auth_methods_usage_failures",
    kind: MetricKind::Gauge,
    help: "Failed registration or reset (feature) activities per method over the period (Graph beta getCredentialUsageSummary).",
    labels: &["tenant", "period", "feature", "method"],
    source: USAGE_SOURCE,
    permission: "Reports.Read.All",
};

/// `entra_auth_methods_credential_registration_users`.
pub static REGISTRATION_USERS: MetricSpec = MetricSpec {
    name: "entra_auth_methods_credential_registration_users",
    kind: MetricKind::Gauge,
    help: "Users per self-service registration status: registered, enabled, capable, mfaRegistered (Graph beta getCredentialUserRegistrationCount).",
    labels: &["tenant", "status"],
    source: REGISTRATION_SOURCE,
    permission: "Reports.Read.All",
};

/// `entra_auth_methods_credential_registration_eligible_users`.
pub static REGISTRATION_ELIGIBLE: MetricSpec = MetricSpec {
    name: "entra_auth_methods_credential_registration_eligible_users",
    kind: MetricKind::Gauge,
    help: "Enabled user accounts the registration counts are out of (totalUserCount, Graph beta getCredentialUserRegistrationCount).",
    labels: &["tenant"],
    source: REGISTRATION_SOURCE,
    permission: "Reports.Read.All",
};

/// `entra_auth_methods_sign_ins`.
pub static SIGN_INS: MetricSpec = MetricSpec {
    name: "entra_auth_methods_sign_ins",
    kind: MetricKind::Gauge,
    help: "User sign-ins on the latest complete day by authentication: single_factor or multi_factor (Graph beta authenticationMethods/userMfaSignInSummary).",
    labels: &["tenant", "authentication"],
    source: MFA_SOURCE,
    permission: "AuditLog.Read.All or Reports.Read.All (UNCONFIRMED)",
};

/// `entra_auth_methods_sign_ins_fact_timestamp_seconds`.
pub static SIGN_INS_FACT: MetricSpec = MetricSpec {
    name: "entra_auth_methods_sign_ins_fact_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Midnight UTC of the day entra_auth_methods_sign_ins describes (Graph beta authenticationMethods/userMfaSignInSummary).",
    labels: &["tenant"],
    source: MFA_SOURCE,
    permission: "AuditLog.Read.All or Reports.Read.All (UNCONFIRMED)",
};

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[
    &USAGE_SUCCESSES,
    &USAGE_FAILURES,
    &REGISTRATION_USERS,
    &REGISTRATION_ELIGIBLE,
    &SIGN_INS,
    &SIGN_INS_FACT,
];

/// `credentialUsageSummary` (§6.3).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Usage {
    #[serde(default)]
    feature: Option<String>,
    #[serde(default)]
    auth_method: Option<String>,
    #[serde(default)]
    successful_activity_count: Option<f64>,
    #[serde(default)]
    failure_activity_count: Option<f64>,
}

/// `credentialUserRegistrationCount` (§6.4).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegistrationCount {
    #[serde(default)]
    total_user_count: Option<f64>,
    #[serde(default)]
    user_registration_counts: Vec<StatusCount>,
}

/// One `userRegistrationCount`, with the schema's key names (Appendix B.7).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusCount {
    #[serde(default)]
    registration_status: Option<String>,
    #[serde(default)]
    registration_count: Option<f64>,
}

/// `userMfaSignInSummary` (§6.5).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MfaDay {
    #[serde(default)]
    created_date_time: Option<String>,
    #[serde(default)]
    single_factor_sign_ins: Option<f64>,
    #[serde(default)]
    multi_factor_sign_ins: Option<f64>,
}

/// The usage collector.
pub struct AuthMethodsUsage {
    /// Method label values kept per (period, feature); the rest fold into `other`.
    max_methods: usize,
}

impl AuthMethodsUsage {
    async fn usage(&self, graph: &GraphClient, out: &mut [Family]) -> Result<(), CollectError> {
        let tenant = graph.tenant();
        for (period, endpoint) in [("1d", &USAGE_D1), ("7d", &USAGE_D7), ("30d", &USAGE_D30)] {
            // feature → method → (successes, failures)
            let mut by_feature: HashMap<String, HashMap<String, (f64, f64)>> = HashMap::new();
            graph
                .for_each_page(endpoint, "", |page: Vec<Usage>| {
                    for u in page {
                        let feature = breakdown::label(u.feature.as_deref()).to_owned();
                        let method = breakdown::label(u.auth_method.as_deref()).to_owned();
                        let c = by_feature
                            .entry(feature)
                            .or_default()
                            .entry(method)
                            .or_default();
                        c.0 += u.successful_activity_count.unwrap_or(0.0);
                        c.1 += u.failure_activity_count.unwrap_or(0.0);
                    }
                })
                .await?;
            let mut features: Vec<_> = by_feature.into_iter().collect();
            features.sort_by(|a, b| a.0.cmp(&b.0));
            for (feature, methods) in features {
                let kept = top_n(
                    methods,
                    self.max_methods,
                    |c| c.0 + c.1,
                    |a, b| {
                        a.0 += b.0;
                        a.1 += b.1;
                    },
                );
                for (method, (ok, failed)) in kept {
                    let labels = [tenant, period, feature.as_str(), method.as_str()];
                    out[0].gauge(labels, ok);
                    out[1].gauge(labels, failed);
                }
            }
        }
        Ok(())
    }

    async fn registration(
        &self,
        graph: &GraphClient,
        out: &mut [Family],
    ) -> Result<(), CollectError> {
        let tenant = graph.tenant();
        let mut total: Option<f64> = None;
        let mut statuses: Vec<(String, f64)> = Vec::new();
        graph
            .for_each_page(&REGISTRATION_COUNT, "", |page: Vec<RegistrationCount>| {
                for r in page {
                    if let Some(t) = r.total_user_count {
                        *total.get_or_insert(0.0) += t;
                    }
                    for c in r.user_registration_counts {
                        let status = breakdown::label(c.registration_status.as_deref());
                        let n = c.registration_count.unwrap_or(0.0);
                        match statuses.iter_mut().find(|(s, _)| s == status) {
                            Some((_, have)) => *have += n,
                            None => statuses.push((status.to_owned(), n)),
                        }
                    }
                }
            })
            .await?;
        // The status enum is closed (registered, enabled, capable, mfaRegistered), but the
        // values come from the network; cap them like any breakdown.
        statuses.sort_by(|a, b| a.0.cmp(&b.0));
        statuses.truncate(self.max_methods);
        for (status, n) in statuses {
            out[2].gauge([tenant, status.as_str()], n);
        }
        if let Some(t) = total {
            out[3].gauge([tenant], t);
        }
        Ok(())
    }

    async fn mfa_sign_ins(
        &self,
        graph: &GraphClient,
        out: &mut [Family],
    ) -> Result<(), CollectError> {
        let tenant = graph.tenant();
        let today = utc_date(unix_now());
        // (day, single, multi) of the newest complete day.
        let mut latest: Option<(String, f64, f64)> = None;
        graph
            .for_each_page(&MFA_SUMMARY, "", |page: Vec<MfaDay>| {
                for d in page {
                    let Some(when) = d.created_date_time.as_deref() else {
                        continue;
                    };
                    if when.len() < 10 || parse_timestamp(when).is_none() {
                        continue;
                    }
                    let day = &when[..10];
                    if day >= today.as_str() {
                        continue; // today is still growing
                    }
                    let single = d.single_factor_sign_ins.unwrap_or(0.0);
                    let multi = d.multi_factor_sign_ins.unwrap_or(0.0);
                    match latest.as_mut() {
                        Some((have, s, m)) if have.as_str() == day => {
                            *s += single;
                            *m += multi;
                        }
                        Some((have, _, _)) if have.as_str() > day => {}
                        _ => latest = Some((day.to_owned(), single, multi)),
                    }
                }
            })
            .await?;
        if let Some((day, single, multi)) = latest {
            out[4].gauge([tenant, "single_factor"], single);
            out[4].gauge([tenant, "multi_factor"], multi);
            if let Some(ts) = super::parse_date(&day) {
                out[5].gauge([tenant], ts);
            }
        }
        Ok(())
    }
}

impl Collector for AuthMethodsUsage {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut out: Vec<Family> = METRICS.iter().map(|s| Family::new(s)).collect();
            self.usage(graph, &mut out).await?;
            self.registration(graph, &mut out).await?;
            self.mfa_sign_ins(graph, &mut out).await?;
            Ok(out)
        })
    }
}
