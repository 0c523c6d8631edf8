//! Service principal sign-in activity: when each service principal last signed in, per kind of
//! sign-in, and how many have not signed in for 30 or 90 days (stale ones).
//!
//! Reads `/beta/reports/servicePrincipalSignInActivities` (reference §4; P1/P2 licence) and
//! the service principal list, so that service principals the report has never seen count as
//! stale too. No `$top` is sent: the report's maximum page size is undocumented (UNCONFIRMED in
//! the reference), and a wrong guess would fail every poll.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::credentials::SERVICE_PRINCIPALS;
use super::{CollectError, Collector, CollectorInfo, SignInActivity};
use crate::auth::BoxFuture;
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient, Service};
use crate::runtime::unix_now;

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "service_principal_sign_ins",
    description: "Last sign-in of each service principal and counts of stale ones",
    default_enabled: true,
    default_interval: Duration::from_secs(3600),
    metrics: METRICS,
    build: |_| Box::new(ServicePrincipalSignIns),
};

static ACTIVITIES: Endpoint = Endpoint {
    path: "/beta/reports/servicePrincipalSignInActivities",
    permission: "AuditLog.Read.All",
    service: Service::Other,
};

/// Only the appId is needed to know which service principals exist.
const SERVICE_PRINCIPAL_QUERY: &str = "$select=appId&$top=999";

/// `entra_service_principal_last_sign_in_timestamp_seconds`.
pub static LAST_SIGN_IN: MetricSpec = MetricSpec {
    name: "entra_service_principal_last_sign_in_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Last sign-in of a service principal by kind of activity: any, delegated_client, delegated_resource, app_only_client, app_only_resource (Graph beta servicePrincipalSignInActivities).",
    labels: &["tenant", "app_id", "activity"],
    source: "/beta/reports/servicePrincipalSignInActivities",
    permission: "AuditLog.Read.All",
};

/// `entra_service_principals_without_recent_sign_in`.
pub static WITHOUT_RECENT_SIGN_IN: MetricSpec = MetricSpec {
    name: "entra_service_principals_without_recent_sign_in",
    kind: MetricKind::Gauge,
    help: "Service principals with no sign-in of any kind within the window (30d or 90d) at the last poll, never-signed-in ones included (Graph beta servicePrincipalSignInActivities and v1.0 servicePrincipals).",
    labels: &["tenant", "window"],
    source: "/beta/reports/servicePrincipalSignInActivities, /v1.0/servicePrincipals",
    permission: "AuditLog.Read.All, Application.Read.All",
};

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[&LAST_SIGN_IN, &WITHOUT_RECENT_SIGN_IN];

/// Stale-service-principal windows: label value and length.
const WINDOWS: [(&str, f64); 2] = [("30d", 30.0 * 86_400.0), ("90d", 90.0 * 86_400.0)];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Activity {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    last_sign_in_activity: Option<SignInActivity>,
    #[serde(default)]
    delegated_client_sign_in_activity: Option<SignInActivity>,
    #[serde(default)]
    delegated_resource_sign_in_activity: Option<SignInActivity>,
    #[serde(default)]
    application_authentication_client_sign_in_activity: Option<SignInActivity>,
    #[serde(default)]
    application_authentication_resource_sign_in_activity: Option<SignInActivity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServicePrincipal {
    #[serde(default)]
    app_id: Option<String>,
}

struct ServicePrincipalSignIns;

impl Collector for ServicePrincipalSignIns {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let tenant = graph.tenant();
            let mut last_sign_in = Family::new(&LAST_SIGN_IN);
            // appId → latest sign-in of any kind.
            let mut latest: HashMap<String, f64> = HashMap::new();
            graph
                .for_each_page(&ACTIVITIES, "", |page: Vec<Activity>| {
                    for a in page {
                        let Some(app_id) = a.app_id else { continue };
                        let any = SignInActivity::timestamp(&a.last_sign_in_activity);
                        if let Some(t) = any {
                            last_sign_in.gauge([tenant, app_id.as_str(), "any"], t);
                        }
                        let kinds = [
                            ("delegated_client", &a.delegated_client_sign_in_activity),
                            ("delegated_resource", &a.delegated_resource_sign_in_activity),
                            (
                                "app_only_client",
                                &a.application_authentication_client_sign_in_activity,
                            ),
                            (
                                "app_only_resource",
                                &a.application_authentication_resource_sign_in_activity,
                            ),
                        ];
                        for (activity, value) in kinds {
                            if let Some(t) = SignInActivity::timestamp(value) {
                                last_sign_in.gauge([tenant, app_id.as_str(), activity], t);
                            }
                        }
                        if let Some(t) = any {
                            latest.insert(app_id, t);
                        }
                    }
                })
                .await?;

            let now = unix_now();
            let mut stale = [0u64; WINDOWS.len()];
            graph
                .for_each_page(
                    &SERVICE_PRINCIPALS,
                    SERVICE_PRINCIPAL_QUERY,
                    |page: Vec<ServicePrincipal>| {
                        for sp in page {
                            let last = sp.app_id.and_then(|id| latest.get(&id).copied());
                            for (count, (_, window)) in stale.iter_mut().zip(WINDOWS) {
                                if last.is_none_or(|t| t < now - window) {
                                    *count += 1;
                                }
                            }
                        }
                    },
                )
                .await?;
            let mut without = Family::new(&WITHOUT_RECENT_SIGN_IN);
            for (count, (window, _)) in stale.iter().zip(WINDOWS) {
                without.gauge([tenant, window], *count as f64);
            }
            Ok(vec![last_sign_in, without])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_example() {
        let json = r#"{
          "id": "M2YwYzVhMWUtOGQyYi00YzZlLTlhNzEtMmI1ZTRkNmY3YTgw",
          "appId": "3f0c5a1e-8d2b-4c6e-9a71-2b5e4d6f7a80",
          "lastSignInActivity": { "lastSignInDateTime": "2025-06-02T21:14:09Z", "lastSignInRequestId": "b1e0" },
          "delegatedClientSignInActivity": { "lastSignInDateTime": "2025-05-30T08:01:44Z", "lastSignInRequestId": "6c2a" },
          "delegatedResourceSignInActivity": { "lastSignInDateTime": null, "lastSignInRequestId": null },
          "applicationAuthenticationClientSignInActivity": { "lastSignInDateTime": "2025-06-02T21:14:09Z" },
          "applicationAuthenticationResourceSignInActivity": null
        }"#;
        let a: Activity = serde_json::from_str(json).unwrap();
        assert_eq!(
            SignInActivity::timestamp(&a.last_sign_in_activity),
            Some(1748898849.0)
        );
        assert_eq!(
            SignInActivity::timestamp(&a.delegated_resource_sign_in_activity),
            None
        );
        assert_eq!(
            SignInActivity::timestamp(&a.application_authentication_resource_sign_in_activity),
            None
        );
    }
}
