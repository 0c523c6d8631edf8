//! The metrics an exporter should produce from the simulated tenant, computed from the model
//! (never from the served JSON) so that integration tests compare two independent paths.
//!
//! Families (credentials on applications and service principals):
//!
//! * `entra_app_credential_expiry_timestamp_seconds` and `entra_app_credential_expiry_remaining_seconds`
//!   per credential with an end date;
//! * `entra_app_credential_earliest_expiry_timestamp_seconds` per object with at least one;
//! * `entra_app_credentials` and `entra_app_credentials_without_expiry` per object kind and
//!   credential type (all four combinations, zeros included);
//! * `entra_applications` and `entra_service_principals`.
//!
//! Families (sign-in activity reports, §4 and §5):
//!
//! * `entra_service_principal_last_sign_in_timestamp_seconds` per service principal and kind of
//!   sign-in that happened (`activity`: `any`, `delegated_client`, `delegated_resource`,
//!   `app_only_client`, `app_only_resource`);
//! * `entra_service_principals_without_recent_sign_in` per window (`30d`, `90d`): service
//!   principals (all of `/servicePrincipals`) with no sign-in at all or none since
//!   `at − window`;
//! * `entra_app_credential_last_sign_in_timestamp_seconds` per credential that was used;
//! * `entra_app_credentials_never_used` per object kind and credential type (all four
//!   combinations, zeros included).
//!
//! Families (External ID user insights, §1): `entra_external_id_*`, listed in the
//! `user_insights` submodule.
//!
//! Families (identity and access reports, §2, §3, §6): `entra_application_*`,
//! `entra_adfs_relying_party_*` and `entra_auth_methods_*`, listed in the `identity_reports`
//! submodule.
//!
//! Families (activity logs, §8 and the audit logs modelled on Graph's documentation), over a
//! time range rather than at an instant, so outside [`compute`]: `entra_sign_ins_total`,
//! `entra_sign_ins_by_*_total`, `entra_risky_sign_ins_total`,
//! `entra_directory_audit_events_total`, `entra_provisioning_events_total`,
//! `entra_custom_security_attribute_audit_events_total` and
//! `entra_application_last_sign_in_timestamp_seconds`, listed in the `activity` submodule.

use std::collections::BTreeMap;

use crate::tenant::{CredentialType, ObjectKind, Tenant};
use crate::time::{UtcTime, DAY};

mod activity;
mod identity_reports;
mod user_insights;

pub(crate) use activity::{
    distinct_users as activity_distinct_users, last_sign_in as activity_last_sign_in,
    truth as activity_truth,
};

pub(crate) use identity_reports::application_history;
pub(crate) use user_insights::history as user_insights_history;
pub use user_insights::TimedSample;

/// One expected sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// Label set (always includes `tenant`).
    pub labels: BTreeMap<String, String>,
    /// Expected value.
    pub value: f64,
}

/// Every expected sample of a tenant at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroundTruth {
    /// The samples, grouped by family in the order listed in the module docs.
    pub samples: Vec<Sample>,
}

impl GroundTruth {
    /// The sample named `name` whose labels include every `(key, value)` of `labels`.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Sample> {
        self.samples.iter().find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).is_some_and(|have| have == v))
        })
    }

    /// Every sample named `name`.
    pub fn by_name(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

/// Metric names, so tests and the exporter can refer to them without typos.
pub mod names {
    pub use super::activity::names::*;
    pub use super::identity_reports::names::*;
    pub use super::user_insights::names::*;

    /// Expiry of one credential, Unix seconds.
    pub const CREDENTIAL_EXPIRY: &str = "entra_app_credential_expiry_timestamp_seconds";
    /// Seconds from the scrape to a credential's expiry (negative once expired).
    pub const CREDENTIAL_EXPIRY_REMAINING: &str = "entra_app_credential_expiry_remaining_seconds";
    /// Earliest expiry over an object's credentials, Unix seconds.
    pub const EARLIEST_EXPIRY: &str = "entra_app_credential_earliest_expiry_timestamp_seconds";
    /// Number of credentials per object kind and credential type.
    pub const CREDENTIALS: &str = "entra_app_credentials";
    /// Number of credentials without an end date per object kind and credential type.
    pub const CREDENTIALS_WITHOUT_EXPIRY: &str = "entra_app_credentials_without_expiry";
    /// Number of app registrations.
    pub const APPLICATIONS: &str = "entra_applications";
    /// Number of service principals.
    pub const SERVICE_PRINCIPALS: &str = "entra_service_principals";
    /// Last sign-in of a service principal per kind (`activity`), Unix seconds.
    pub const SERVICE_PRINCIPAL_LAST_SIGN_IN: &str =
        "entra_service_principal_last_sign_in_timestamp_seconds";
    /// Service principals without a sign-in within `window`.
    pub const SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN: &str =
        "entra_service_principals_without_recent_sign_in";
    /// Last sign-in with one credential, Unix seconds.
    pub const CREDENTIAL_LAST_SIGN_IN: &str = "entra_app_credential_last_sign_in_timestamp_seconds";
    /// Credentials in the credential activity report that were never used, per object kind and
    /// credential type.
    pub const CREDENTIALS_NEVER_USED: &str = "entra_app_credentials_never_used";
}

/// The `window` label values of [`names::SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN`] and their
/// length in days.
const SIGN_IN_WINDOWS: [(&str, i64); 2] = [("30d", 30), ("90d", 90)];

/// The `credential_type` label values: secrets, then certificates.
const CREDENTIAL_TYPES: [&str; 2] = ["client_secret", "certificate"];

/// The object kinds, in label order.
const OBJECT_KINDS: [ObjectKind; 2] = [ObjectKind::Application, ObjectKind::ServicePrincipal];

/// Builds a sample.
fn sample(name: &str, tenant_label: &str, labels: &[(&str, &str)], value: f64) -> Sample {
    let mut map = BTreeMap::new();
    map.insert("tenant".to_owned(), tenant_label.to_owned());
    for (k, v) in labels {
        map.insert((*k).to_owned(), (*v).to_owned());
    }
    Sample {
        name: name.to_owned(),
        labels: map,
        value,
    }
}

/// Computes the ground truth of `tenant` at `at_unix_seconds`.
pub fn compute(tenant: &Tenant, tenant_label: &str, at_unix_seconds: f64) -> GroundTruth {
    let mut expiry = Vec::new();
    let mut remaining = Vec::new();
    let mut earliest = Vec::new();
    // [object kind][credential type] → (count, without expiry)
    let mut counts = [[(0u64, 0u64); 2]; 2];

    for holder in tenant.credential_holders() {
        let kind_index = usize::from(holder.kind == ObjectKind::ServicePrincipal);
        let object = holder.kind.label();
        let secrets = holder
            .password_credentials
            .iter()
            .map(|c| (0usize, &c.key_id, &c.display_name, c.end_date_time));
        let certs = holder
            .key_credentials
            .iter()
            .map(|c| (1usize, &c.key_id, &c.display_name, c.end_date_time));
        let mut min_end: Option<UtcTime> = None;
        for (type_index, key_id, display_name, end) in secrets.chain(certs) {
            let entry = &mut counts[kind_index][type_index];
            entry.0 += 1;
            let Some(end) = end else {
                entry.1 += 1;
                continue;
            };
            min_end = Some(min_end.map_or(end, |m| m.min(end)));
            let labels = [
                ("app_id", holder.app_id),
                ("app_name", holder.display_name),
                ("object", object),
                ("credential_type", CREDENTIAL_TYPES[type_index]),
                ("key_id", key_id.as_str()),
                ("credential_name", display_name.as_deref().unwrap_or("")),
            ];
            let end = end.as_f64();
            expiry.push(sample(names::CREDENTIAL_EXPIRY, tenant_label, &labels, end));
            remaining.push(sample(
                names::CREDENTIAL_EXPIRY_REMAINING,
                tenant_label,
                &labels,
                end - at_unix_seconds,
            ));
        }
        if let Some(min_end) = min_end {
            earliest.push(sample(
                names::EARLIEST_EXPIRY,
                tenant_label,
                &[
                    ("app_id", holder.app_id),
                    ("app_name", holder.display_name),
                    ("object", object),
                ],
                min_end.as_f64(),
            ));
        }
    }

    let mut samples = expiry;
    samples.append(&mut remaining);
    samples.append(&mut earliest);
    for (family, pick) in [
        (names::CREDENTIALS, 0usize),
        (names::CREDENTIALS_WITHOUT_EXPIRY, 1),
    ] {
        for (kind_index, kind) in OBJECT_KINDS.iter().enumerate() {
            for (type_index, credential_type) in CREDENTIAL_TYPES.iter().enumerate() {
                let (total, without) = counts[kind_index][type_index];
                let value = if pick == 0 { total } else { without };
                samples.push(sample(
                    family,
                    tenant_label,
                    &[
                        ("object", kind.label()),
                        ("credential_type", credential_type),
                    ],
                    value as f64,
                ));
            }
        }
    }
    samples.push(sample(
        names::APPLICATIONS,
        tenant_label,
        &[],
        tenant.applications.len() as f64,
    ));
    samples.push(sample(
        names::SERVICE_PRINCIPALS,
        tenant_label,
        &[],
        tenant.service_principals.len() as f64,
    ));
    sign_in_activity(tenant, tenant_label, at_unix_seconds, &mut samples);
    user_insights::append(tenant, tenant_label, at_unix_seconds, &mut samples);
    identity_reports::append(tenant, tenant_label, at_unix_seconds, &mut samples);
    GroundTruth { samples }
}

/// Appends the sign-in activity families (§4, §5).
fn sign_in_activity(
    tenant: &Tenant,
    tenant_label: &str,
    at_unix_seconds: f64,
    samples: &mut Vec<Sample>,
) {
    let mut without_recent = [0u64; SIGN_IN_WINDOWS.len()];
    for a in &tenant.service_principal_activity {
        let last = a.last();
        let kinds = [
            ("any", last),
            ("delegated_client", a.delegated_client.as_ref()),
            ("delegated_resource", a.delegated_resource.as_ref()),
            ("app_only_client", a.app_only_client.as_ref()),
            ("app_only_resource", a.app_only_resource.as_ref()),
        ];
        for (activity, sign_in) in kinds {
            if let Some(s) = sign_in {
                samples.push(sample(
                    names::SERVICE_PRINCIPAL_LAST_SIGN_IN,
                    tenant_label,
                    &[("app_id", &a.app_id), ("activity", activity)],
                    s.date_time.as_f64(),
                ));
            }
        }
        for (count, (_, days)) in without_recent.iter_mut().zip(SIGN_IN_WINDOWS) {
            let since = at_unix_seconds - (days * DAY) as f64;
            if last.is_none_or(|s| s.date_time.as_f64() < since) {
                *count += 1;
            }
        }
    }
    for (count, (window, _)) in without_recent.iter().zip(SIGN_IN_WINDOWS) {
        samples.push(sample(
            names::SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN,
            tenant_label,
            &[("window", window)],
            *count as f64,
        ));
    }

    // [object kind][credential type] → never used
    let mut never_used = [[0u64; 2]; 2];
    for c in &tenant.app_credential_activity {
        let type_index = usize::from(c.credential_type == CredentialType::Certificate);
        let Some(s) = &c.last_sign_in else {
            never_used[usize::from(c.origin == ObjectKind::ServicePrincipal)][type_index] += 1;
            continue;
        };
        samples.push(sample(
            names::CREDENTIAL_LAST_SIGN_IN,
            tenant_label,
            &[
                ("app_id", &c.app_id),
                ("object", c.origin.label()),
                ("credential_type", c.credential_type.label()),
                ("key_id", &c.key_id),
            ],
            s.date_time.as_f64(),
        ));
    }
    for (kind_index, kind) in OBJECT_KINDS.iter().enumerate() {
        for (type_index, credential_type) in CREDENTIAL_TYPES.iter().enumerate() {
            samples.push(sample(
                names::CREDENTIALS_NEVER_USED,
                tenant_label,
                &[
                    ("object", kind.label()),
                    ("credential_type", credential_type),
                ],
                never_used[kind_index][type_index] as f64,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;

    #[test]
    fn families_are_complete_and_consistent() {
        let tenant = Tenant::generate(&SimConfig::default());
        let at = tenant.now.as_f64();
        let gt = compute(&tenant, "demo", at);
        assert!(gt.samples.iter().all(|s| s.labels["tenant"] == "demo"));
        assert_eq!(gt.by_name(names::CREDENTIALS).len(), 4);
        assert_eq!(gt.by_name(names::CREDENTIALS_WITHOUT_EXPIRY).len(), 4);
        let expiring = gt.by_name(names::CREDENTIAL_EXPIRY).len() as f64;
        let total: f64 = gt.by_name(names::CREDENTIALS).iter().map(|s| s.value).sum();
        let without: f64 = gt
            .by_name(names::CREDENTIALS_WITHOUT_EXPIRY)
            .iter()
            .map(|s| s.value)
            .sum();
        assert_eq!(expiring, total - without);
        assert_eq!(
            gt.by_name(names::CREDENTIAL_EXPIRY_REMAINING).len() as f64,
            expiring
        );
        for s in gt.by_name(names::CREDENTIAL_EXPIRY) {
            let remaining = gt
                .find(
                    names::CREDENTIAL_EXPIRY_REMAINING,
                    &[("key_id", &s.labels["key_id"])],
                )
                .expect("matching remaining-time sample");
            assert!((remaining.value - (s.value - at)).abs() < 1e-6);
        }
        assert_eq!(
            gt.find(names::APPLICATIONS, &[]).map(|s| s.value),
            Some(tenant.applications.len() as f64)
        );
        assert_eq!(
            gt.by_name(names::SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN)
                .len(),
            2
        );
        assert_eq!(gt.by_name(names::CREDENTIALS_NEVER_USED).len(), 4);
        let used = gt.by_name(names::CREDENTIAL_LAST_SIGN_IN).len() as f64;
        let never: f64 = gt
            .by_name(names::CREDENTIALS_NEVER_USED)
            .iter()
            .map(|s| s.value)
            .sum();
        assert_eq!(used + never, total);
        let any = gt
            .by_name(names::SERVICE_PRINCIPAL_LAST_SIGN_IN)
            .into_iter()
            .filter(|s| s.labels["activity"] == "any")
            .count();
        let window = |w: &str| {
            gt.find(
                names::SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN,
                &[("window", w)],
            )
            .map(|s| s.value)
            .unwrap_or(-1.0)
        };
        let never_signed_in = (tenant.service_principals.len() - any) as f64;
        assert!(never_signed_in > 0.0);
        assert!(never_signed_in < window("90d") && window("90d") < window("30d"));
        assert!(window("30d") < tenant.service_principals.len() as f64);
        // The window boundaries sit in gaps of the generated timestamps: moving "at" by less
        // than a day changes nothing.
        for shift in [-80_000.0, 80_000.0] {
            let moved = compute(&tenant, "demo", at + shift);
            for w in ["30d", "90d"] {
                assert_eq!(
                    moved
                        .find(
                            names::SERVICE_PRINCIPALS_WITHOUT_RECENT_SIGN_IN,
                            &[("window", w)]
                        )
                        .map(|s| s.value),
                    Some(window(w))
                );
            }
        }
        // Earliest expiry is never later than any of the object's credentials.
        for e in gt.by_name(names::EARLIEST_EXPIRY) {
            let min = gt
                .by_name(names::CREDENTIAL_EXPIRY)
                .into_iter()
                .filter(|s| {
                    s.labels["app_id"] == e.labels["app_id"]
                        && s.labels["object"] == e.labels["object"]
                })
                .map(|s| s.value)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(min, e.value);
        }
    }
}
