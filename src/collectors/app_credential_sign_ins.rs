//! App credential sign-in activity: when each client secret or certificate was last used to
//! sign in, and how many were never used.
//!
//! Reads `/beta/reports/appCredentialSignInActivities` (reference §5; P1/P2 licence). The
//! labels use the same vocabulary as the `credentials` collector, so the series join with the
//! expiry series on `key_id`. The report's docs are stale (Appendix B.6): the schema's
//! `keyType` is `clientSecret`, the docs' `secret`; both are accepted.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::credentials::{zero_per_credential_kind, ObjectKind};
use super::{CollectError, Collector, CollectorInfo, SignInActivity};
use crate::auth::BoxFuture;
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient, Service};

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "app_credential_sign_ins",
    description: "Last use of each client secret and certificate, and counts of unused ones",
    default_enabled: true,
    default_interval: Duration::from_secs(3600),
    metrics: METRICS,
    build: |_| Box::new(AppCredentialSignIns),
};

static ACTIVITIES: Endpoint = Endpoint {
    path: "/beta/reports/appCredentialSignInActivities",
    permission: "AuditLog.Read.All",
    service: Service::Other,
};

const SOURCE: &str = "/beta/reports/appCredentialSignInActivities";

/// `entra_app_credential_last_sign_in_timestamp_seconds`.
pub static LAST_SIGN_IN: MetricSpec = MetricSpec {
    name: "entra_app_credential_last_sign_in_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Last sign-in with a client secret or certificate; joins with the expiry series on key_id (Graph beta appCredentialSignInActivities).",
    labels: &["tenant", "app_id", "object", "credential_type", "key_id"],
    source: SOURCE,
    permission: "AuditLog.Read.All",
};

/// `entra_app_credentials_never_used`.
pub static NEVER_USED: MetricSpec = MetricSpec {
    name: "entra_app_credentials_never_used",
    kind: MetricKind::Gauge,
    help: "Client secrets and certificates the report lists with no sign-in (Graph beta appCredentialSignInActivities).",
    labels: &["tenant", "object", "credential_type"],
    source: SOURCE,
    permission: "AuditLog.Read.All",
};

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[&LAST_SIGN_IN, &NEVER_USED];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Activity {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    key_type: Option<String>,
    #[serde(default)]
    credential_origin: Option<String>,
    #[serde(default)]
    sign_in_activity: Option<SignInActivity>,
}

fn credential_type(key_type: &str) -> Option<&'static str> {
    match key_type {
        "clientSecret" | "secret" => Some("client_secret"),
        "certificate" => Some("certificate"),
        _ => None,
    }
}

fn object(origin: &str) -> Option<ObjectKind> {
    match origin {
        "application" => Some(ObjectKind::Application),
        "servicePrincipal" => Some(ObjectKind::ServicePrincipal),
        _ => None,
    }
}

struct AppCredentialSignIns;

impl Collector for AppCredentialSignIns {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let tenant = graph.tenant();
            let mut last_sign_in = Family::new(&LAST_SIGN_IN);
            let mut never_used: BTreeMap<(ObjectKind, &str), u64> = zero_per_credential_kind();
            let mut unknown = 0u64;
            graph
                .for_each_page(&ACTIVITIES, "", |page: Vec<Activity>| {
                    for a in page {
                        let kind = a.credential_origin.as_deref().and_then(object);
                        let ctype = a.key_type.as_deref().and_then(credential_type);
                        let (Some(kind), Some(ctype)) = (kind, ctype) else {
                            // unknownFutureValue and the like: not a credential we can label.
                            unknown += 1;
                            continue;
                        };
                        match SignInActivity::timestamp(&a.sign_in_activity) {
                            Some(t) => last_sign_in.gauge(
                                [
                                    tenant,
                                    a.app_id.as_deref().unwrap_or_default(),
                                    kind.label(),
                                    ctype,
                                    a.key_id.as_deref().unwrap_or_default(),
                                ],
                                t,
                            ),
                            None => *never_used.entry((kind, ctype)).or_default() += 1,
                        }
                    }
                })
                .await?;
            if unknown > 0 {
                tracing::warn!(tenant, count = unknown, "credential activities with an unknown keyType or credentialOrigin were skipped");
            }
            let mut never = Family::new(&NEVER_USED);
            for ((kind, ctype), count) in never_used {
                never.gauge([tenant, kind.label(), ctype], count as f64);
            }
            Ok(vec![last_sign_in, never])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_schema_and_stale_doc_vocabularies() {
        // The reference's example with the schema names, then the docs' stale ones (Appendix B.6).
        let json = r#"[
          {"id":"OTNk","appId":"3f0c","keyId":"93db","keyType":"clientSecret","keyUsage":"sign",
           "credentialOrigin":"application","expirationDateTime":"2025-07-15T09:12:00Z",
           "signInActivity":{"lastSignInDateTime":"2025-06-02T21:14:09Z"}},
          {"appId":"3f0c","keyId":"k2","keyType":"secret","credentialOrigin":"servicePrincipal",
           "expirationDate":"2025-07-15T09:12:00Z","signInActivity":{"lastSignInDateTime":null}},
          {"appId":"3f0c","keyId":"k3","keyType":"unknownFutureValue","credentialOrigin":"application",
           "signInActivity":{}}
        ]"#;
        let rows: Vec<Activity> = serde_json::from_str(json).unwrap();
        let labels: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.credential_origin
                        .as_deref()
                        .and_then(object)
                        .map(ObjectKind::label),
                    r.key_type.as_deref().and_then(credential_type),
                    SignInActivity::timestamp(&r.sign_in_activity),
                )
            })
            .collect();
        assert_eq!(
            labels,
            vec![
                (
                    Some("application"),
                    Some("client_secret"),
                    Some(1748898849.0)
                ),
                (Some("service_principal"), Some("client_secret"), None),
                (Some("application"), None, None),
            ]
        );
    }
}
