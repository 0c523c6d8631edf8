//! Secret and certificate expiry on applications and service principals.
//!
//! Two list calls per poll, `/v1.0/applications` and `/v1.0/servicePrincipals`, each with
//! `$select` and `$top=999` (reference §7), never a request per app. Credentials without an
//! end date get no expiry series; they are counted instead.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{parse_timestamp, CollectError, Collector, CollectorInfo};
use crate::auth::BoxFuture;
use crate::exposition::{Family, Labels, MetricKind, MetricSpec, Value};
use crate::graph::{Endpoint, GraphClient, Row, Service};

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "credentials",
    description: "Client secret and certificate expiry on applications and service principals",
    default_enabled: true,
    default_interval: Duration::from_secs(3600),
    metrics: METRICS,
    build: |_| Box::new(CredentialsCollector),
};

static APPLICATIONS: Endpoint = Endpoint {
    path: "/v1.0/applications",
    permission: "Application.Read.All",
    service: Service::Other,
};

pub(super) static SERVICE_PRINCIPALS: Endpoint = Endpoint {
    path: "/v1.0/servicePrincipals",
    permission: "Application.Read.All",
    service: Service::Other,
};

/// Only the fields we use, at the largest page size directory lists allow.
const QUERY: &str = "$select=id,appId,displayName,passwordCredentials,keyCredentials&$top=999";

const SOURCE: &str = "/v1.0/applications, /v1.0/servicePrincipals";
const PERMISSION: &str = "Application.Read.All";
const CREDENTIAL_LABELS: &[&str] = &[
    "tenant",
    "app_id",
    "app_name",
    "object",
    "credential_type",
    "key_id",
    "credential_name",
];

/// `entra_app_credential_expiry_timestamp_seconds`.
pub static EXPIRY: MetricSpec = MetricSpec {
    name: "entra_app_credential_expiry_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "End date of a client secret or certificate (passwordCredentials/keyCredentials endDateTime on Graph applications and servicePrincipals).",
    labels: CREDENTIAL_LABELS,
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_app_credential_expiry_remaining_seconds`.
pub static EXPIRY_REMAINING: MetricSpec = MetricSpec {
    name: "entra_app_credential_expiry_remaining_seconds",
    kind: MetricKind::Gauge,
    help: "Seconds from scrape time until a client secret or certificate expires, negative once expired; divide by 86400 for days (Graph applications and servicePrincipals credentials).",
    labels: CREDENTIAL_LABELS,
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_app_credential_earliest_expiry_timestamp_seconds`.
pub static EARLIEST_EXPIRY: MetricSpec = MetricSpec {
    name: "entra_app_credential_earliest_expiry_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Earliest end date among an application's or service principal's credentials, expired ones included (Graph applications and servicePrincipals).",
    labels: &["tenant", "app_id", "app_name", "object"],
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_app_credentials`.
pub static CREDENTIALS: MetricSpec = MetricSpec {
    name: "entra_app_credentials",
    kind: MetricKind::Gauge,
    help: "Client secrets and certificates on Graph applications and servicePrincipals.",
    labels: &["tenant", "object", "credential_type"],
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_app_credentials_without_expiry`.
pub static WITHOUT_EXPIRY: MetricSpec = MetricSpec {
    name: "entra_app_credentials_without_expiry",
    kind: MetricKind::Gauge,
    help: "Client secrets and certificates with no end date on Graph applications and servicePrincipals.",
    labels: &["tenant", "object", "credential_type"],
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_applications`.
pub static APPLICATION_COUNT: MetricSpec = MetricSpec {
    name: "entra_applications",
    kind: MetricKind::Gauge,
    help: "App registrations in the tenant (Graph /v1.0/applications).",
    labels: &["tenant"],
    source: "/v1.0/applications",
    permission: PERMISSION,
};

/// `entra_service_principals`.
pub static SERVICE_PRINCIPAL_COUNT: MetricSpec = MetricSpec {
    name: "entra_service_principals",
    kind: MetricKind::Gauge,
    help: "Service principals (enterprise applications) in the tenant (Graph /v1.0/servicePrincipals).",
    labels: &["tenant"],
    source: "/v1.0/servicePrincipals",
    permission: PERMISSION,
};

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[
    &EXPIRY,
    &EXPIRY_REMAINING,
    &EARLIEST_EXPIRY,
    &CREDENTIALS,
    &WITHOUT_EXPIRY,
    &APPLICATION_COUNT,
    &SERVICE_PRINCIPAL_COUNT,
];

/// An application or service principal, as far as this collector reads it. Strings borrow
/// from the page body; only label values that become series are copied.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[doc(hidden)]
pub struct DirectoryObject<'a> {
    #[serde(default, borrow)]
    app_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    display_name: Option<Cow<'a, str>>,
    // Non-nullable in the schema (reference §7), but a null must not fail the whole page.
    #[serde(default, borrow)]
    password_credentials: Option<Vec<Credential<'a>>>,
    #[serde(default, borrow)]
    key_credentials: Option<Vec<Credential<'a>>>,
}

impl Row for DirectoryObject<'static> {
    type Of<'de> = DirectoryObject<'de>;
}

/// Fields shared by `passwordCredential` and `keyCredential`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credential<'a> {
    #[serde(default, borrow)]
    key_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    display_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    end_date_time: Option<Cow<'a, str>>,
}

/// Which kind of directory object a credential sits on.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ObjectKind {
    Application,
    ServicePrincipal,
}

impl ObjectKind {
    /// Both kinds, in label order.
    pub(super) const ALL: [ObjectKind; 2] = [ObjectKind::Application, ObjectKind::ServicePrincipal];

    /// Value of the `object` label.
    pub(super) fn label(self) -> &'static str {
        match self {
            ObjectKind::Application => "application",
            ObjectKind::ServicePrincipal => "service_principal",
        }
    }
}

/// Values of the `credential_type` label, and whether each is a passwordCredential.
pub(super) const CREDENTIAL_TYPES: [(&str, bool); 2] =
    [("client_secret", true), ("certificate", false)];

/// A map with a default value for every (object, credential_type) pair, so all four series
/// are always served, zeros included.
pub(super) fn zero_per_credential_kind<V: Default>() -> BTreeMap<(ObjectKind, &'static str), V> {
    ObjectKind::ALL
        .iter()
        .flat_map(|k| {
            CREDENTIAL_TYPES
                .iter()
                .map(move |(t, _)| ((*k, *t), V::default()))
        })
        .collect()
}

/// Accumulates one poll's families row by row.
#[doc(hidden)]
pub struct Builder {
    tenant: String,
    expiry: Family,
    remaining: Family,
    earliest: Family,
    /// (object, credential_type) → (all, without expiry).
    counts: BTreeMap<(ObjectKind, &'static str), (u64, u64)>,
    objects: BTreeMap<ObjectKind, u64>,
    unparsed: u64,
}

impl Builder {
    /// An empty poll for `tenant`.
    pub fn new(tenant: &str) -> Self {
        Builder {
            tenant: tenant.to_owned(),
            expiry: Family::new(&EXPIRY),
            remaining: Family::new(&EXPIRY_REMAINING),
            earliest: Family::new(&EARLIEST_EXPIRY),
            counts: zero_per_credential_kind(),
            objects: BTreeMap::from([
                (ObjectKind::Application, 0),
                (ObjectKind::ServicePrincipal, 0),
            ]),
            unparsed: 0,
        }
    }

    /// Adds one application (`service_principal` false) or service principal.
    pub fn add(&mut self, service_principal: bool, object: DirectoryObject<'_>) {
        let kind = if service_principal {
            ObjectKind::ServicePrincipal
        } else {
            ObjectKind::Application
        };
        *self.objects.entry(kind).or_default() += 1;
        let app_id = object.app_id.as_deref().unwrap_or_default();
        let app_name = object.display_name.as_deref().unwrap_or_default();
        let mut earliest: Option<f64> = None;
        for (credential_type, is_password) in CREDENTIAL_TYPES {
            let list = if is_password {
                object.password_credentials.as_deref()
            } else {
                object.key_credentials.as_deref()
            };
            for credential in list.unwrap_or_default() {
                let count = self.counts.entry((kind, credential_type)).or_default();
                count.0 += 1;
                let Some(end) = credential.end_date_time.as_deref() else {
                    count.1 += 1;
                    continue;
                };
                let Some(end) = parse_timestamp(end) else {
                    self.unparsed += 1;
                    continue;
                };
                earliest = Some(earliest.map_or(end, |e: f64| e.min(end)));
                // One packed allocation for both series.
                let labels = Labels::new([
                    self.tenant.as_str(),
                    app_id,
                    app_name,
                    kind.label(),
                    credential_type,
                    credential.key_id.as_deref().unwrap_or_default(),
                    credential.display_name.as_deref().unwrap_or_default(),
                ]);
                self.expiry.push_labels(labels.clone(), Value::Fixed(end));
                self.remaining.push_labels(labels, Value::SecondsUntil(end));
            }
        }
        if let Some(end) = earliest {
            self.earliest
                .gauge([self.tenant.as_str(), app_id, app_name, kind.label()], end);
        }
    }

    /// The families of the poll.
    pub fn finish(self) -> Vec<Family> {
        if self.unparsed > 0 {
            tracing::warn!(
                tenant = %self.tenant, count = self.unparsed,
                "credentials with an endDateTime that is not an RFC 3339 UTC timestamp were skipped"
            );
        }
        let mut credentials = Family::new(&CREDENTIALS);
        let mut without = Family::new(&WITHOUT_EXPIRY);
        for ((kind, credential_type), (all, none)) in &self.counts {
            let labels = [self.tenant.as_str(), kind.label(), credential_type];
            credentials.gauge(labels, *all as f64);
            without.gauge(labels, *none as f64);
        }
        let mut apps = Family::new(&APPLICATION_COUNT);
        apps.gauge(
            [self.tenant.as_str()],
            self.objects[&ObjectKind::Application] as f64,
        );
        let mut sps = Family::new(&SERVICE_PRINCIPAL_COUNT);
        sps.gauge(
            [self.tenant.as_str()],
            self.objects[&ObjectKind::ServicePrincipal] as f64,
        );
        vec![
            self.expiry,
            self.remaining,
            self.earliest,
            credentials,
            without,
            apps,
            sps,
        ]
    }
}

struct CredentialsCollector;

impl Collector for CredentialsCollector {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut builder = Builder::new(graph.tenant());
            graph
                .for_each_row::<DirectoryObject<'static>>(&APPLICATIONS, QUERY, |o| {
                    builder.add(false, o)
                })
                .await?;
            graph
                .for_each_row::<DirectoryObject<'static>>(&SERVICE_PRINCIPALS, QUERY, |o| {
                    builder.add(true, o)
                })
                .await?;
            Ok(builder.finish())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_page(b: &mut Builder, service_principal: bool, json: &str) {
        crate::graph::parse_page::<DirectoryObject<'static>>(json.as_bytes(), &mut |o| {
            b.add(service_principal, o)
        })
        .unwrap();
    }

    #[test]
    fn parses_the_reference_example() {
        let mut b = Builder::new("t");
        add_page(
            &mut b,
            false,
            r#"{"value":[{"id":"1c9e3a57-4d62-4c0f-a3b8-7e5d2f1a9b04","appId":"3f0c5a1e-8d2b-4c6e-9a71-2b5e4d6f7a80","displayName":"entra-exporter",
            "passwordCredentials":[{"customKeyIdentifier":null,"displayName":"ci-secret","endDateTime":"2025-07-15T09:12:00Z","hint":"Q~8","keyId":"93db6bc3-5b1f-4b3c-88d7-7a6e9f0c1d2e","secretText":null,"startDateTime":"2025-01-15T09:12:00Z"}],
            "keyCredentials":[{"customKeyIdentifier":"7Jx3","displayName":"CN=entra-exporter","endDateTime":"2026-01-10T00:00:00.6195833Z","key":null,"keyId":"0b7e","startDateTime":"2025-01-10T00:00:00Z","type":"AsymmetricX509Cert","usage":"Verify"},
                              {"keyId":"nodate","displayName":null,"endDateTime":null}]}]}"#,
        );
        let families = b.finish();
        let expiry = &families[0];
        assert_eq!(expiry.samples.len(), 2);
        assert_eq!(
            expiry.samples[0].0.get(5),
            Some("93db6bc3-5b1f-4b3c-88d7-7a6e9f0c1d2e")
        );
        assert_eq!(expiry.samples[0].1, Value::Fixed(1752570720.0));
        assert_eq!(expiry.samples[1].0.get(4), Some("certificate"));
        let Value::Fixed(v) = expiry.samples[1].1 else {
            panic!()
        };
        assert!((v - 1768003200.6195833).abs() < 1e-6);
        let earliest = &families[2];
        assert_eq!(earliest.samples[0].1, Value::Fixed(1752570720.0));
        let without = &families[4];
        let cert = without
            .samples
            .iter()
            .find(|(l, _)| l.get(1) == Some("application") && l.get(2) == Some("certificate"))
            .unwrap();
        assert_eq!(cert.1, Value::Fixed(1.0));
    }

    #[test]
    fn nulls_and_bad_dates_do_not_fail_the_page() {
        let mut b = Builder::new("t");
        add_page(
            &mut b,
            true,
            r#"{"value":[{"appId":null,"displayName":null,"passwordCredentials":null,"keyCredentials":[{"keyId":"k","endDateTime":"2025-07-15T09:12:00-08:00"}]}]}"#,
        );
        assert_eq!(b.unparsed, 1);
        let families = b.finish();
        assert!(families[0].samples.is_empty());
        assert_eq!(families[6].samples[0].1, Value::Fixed(1.0));
    }
}
