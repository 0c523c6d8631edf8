//! Ground truth of the identity and access reports (§2, §3, §6), computed from the tenant's
//! report models ([`crate::tenant::reports`]) with the same windows the handlers use: data as
//! of `at` rounded down to the hour, periods of `N` days ending there (see
//! [`crate::tenant::usage`]).
//!
//! Families, all labelled `tenant`:
//!
//! * `entra_application_successful_sign_ins`, `entra_application_failed_sign_ins` and
//!   `entra_application_sign_in_success_ratio` (success / (success + failed), 0–1) per
//!   `period` (`7d`, `30d`), `app_id` and `app`, for the apps
//!   `getAzureADApplicationSignInSummary` lists (§2.1);
//! * `entra_adfs_relying_party_successful_sign_ins`, `_failed_sign_ins`, `_sign_ins`,
//!   `_unique_users` and `_sign_in_success_ratio` (0–1) per `period` (`1d`, `7d`, `30d`),
//!   `relying_party_id` and `relying_party`, for the relying parties listed in that period;
//!   `entra_adfs_relying_party_migration_status` per relying party listed in any period and
//!   `status` (`ready`, `needs_review`, `additional_steps_required`, `unknown`), 1 for its
//!   status and 0 for the other three (§3);
//! * from `userRegistrationDetails` (§6.1, beta) over all listed users:
//!   `entra_auth_methods_users`; `entra_auth_methods_registered_users` per `method` that
//!   occurs; `entra_auth_methods_feature_users` per `feature` (all seven, zeros included);
//!   `entra_auth_methods_admins`; `entra_auth_methods_admins_without_mfa`;
//!   `entra_auth_methods_default_mfa_method_users` per `method` that occurs (null → `unset`);
//!   `entra_auth_methods_system_preferred_method_users` per `method` element that occurs (null
//!   or empty list → `none`); `entra_auth_methods_user_preferred_method_users` per `method`
//!   that occurs (null or `""` → `none`);
//! * `entra_auth_methods_usage_successes` / `_failures` per `period` (`1d`, `7d`, `30d`),
//!   `feature` and `method` for the rows `getCredentialUsageSummary` lists (§6.3);
//! * `entra_auth_methods_credential_registration_users` per `status` (`registered`,
//!   `enabled`, `capable`, `mfaRegistered`) and
//!   `entra_auth_methods_credential_registration_eligible_users` (§6.4);
//! * `entra_auth_methods_sign_ins` per `authentication` (`single_factor`, `multi_factor`) for
//!   the latest complete day of `userMfaSignInSummary` (yesterday, UTC, at `at`) and
//!   `entra_auth_methods_sign_ins_fact_timestamp_seconds`, that day's midnight (§6.5).
//!
//! For backfills, [`application_history`] gives each app's daily counts over the last 30
//! complete days (`entra_application_daily_successful_sign_ins` /
//! `entra_application_daily_failed_sign_ins` per `app_id` and `app`).

use std::collections::BTreeSet;

use super::{sample, Sample, TimedSample};
use crate::graph::{app_sign_in, auth_methods, relying_party};
use crate::tenant::registration::{DEFAULT_MFA_METHODS, FEATURES, METHODS, SECONDARY_METHODS};
use crate::tenant::usage::{self, DayPiece};
use crate::tenant::Tenant;
use crate::time::DAY;

/// Metric names of these families.
pub mod names {
    /// Successful sign-ins per application and period (§2.1).
    pub const APPLICATION_SUCCESSFUL_SIGN_INS: &str = "entra_application_successful_sign_ins";
    /// Failed sign-ins per application and period (§2.1).
    pub const APPLICATION_FAILED_SIGN_INS: &str = "entra_application_failed_sign_ins";
    /// Success / (success + failed) per application and period, 0–1 (§2.1).
    pub const APPLICATION_SIGN_IN_SUCCESS_RATIO: &str = "entra_application_sign_in_success_ratio";
    /// Successful sign-ins of one application on one complete day (backfill history).
    pub const APPLICATION_DAILY_SUCCESSFUL_SIGN_INS: &str =
        "entra_application_daily_successful_sign_ins";
    /// Failed sign-ins of one application on one complete day (backfill history).
    pub const APPLICATION_DAILY_FAILED_SIGN_INS: &str = "entra_application_daily_failed_sign_ins";
    /// Successful sign-ins per AD FS relying party and period (§3).
    pub const ADFS_RELYING_PARTY_SUCCESSFUL_SIGN_INS: &str =
        "entra_adfs_relying_party_successful_sign_ins";
    /// Failed sign-ins per AD FS relying party and period (§3).
    pub const ADFS_RELYING_PARTY_FAILED_SIGN_INS: &str = "entra_adfs_relying_party_failed_sign_ins";
    /// All sign-ins per AD FS relying party and period (§3 `totalSignInCount`).
    pub const ADFS_RELYING_PARTY_SIGN_INS: &str = "entra_adfs_relying_party_sign_ins";
    /// Unique users per AD FS relying party and period (§3).
    pub const ADFS_RELYING_PARTY_UNIQUE_USERS: &str = "entra_adfs_relying_party_unique_users";
    /// Success ratio per AD FS relying party and period, 0–1, from the counts (§3).
    pub const ADFS_RELYING_PARTY_SIGN_IN_SUCCESS_RATIO: &str =
        "entra_adfs_relying_party_sign_in_success_ratio";
    /// 1 for a relying party's migration status, 0 for the others (§3).
    pub const ADFS_RELYING_PARTY_MIGRATION_STATUS: &str =
        "entra_adfs_relying_party_migration_status";
    /// Users listed by `userRegistrationDetails` (§6.1).
    pub const AUTH_METHODS_USERS: &str = "entra_auth_methods_users";
    /// Users per registered method (§6.1 `methodsRegistered`).
    pub const AUTH_METHODS_REGISTERED_USERS: &str = "entra_auth_methods_registered_users";
    /// Users per capability flag (§6.1).
    pub const AUTH_METHODS_FEATURE_USERS: &str = "entra_auth_methods_feature_users";
    /// Users with `isAdmin` true (§6.1).
    pub const AUTH_METHODS_ADMINS: &str = "entra_auth_methods_admins";
    /// Admins who are not MFA capable (§6.1).
    pub const AUTH_METHODS_ADMINS_WITHOUT_MFA: &str = "entra_auth_methods_admins_without_mfa";
    /// Users per `defaultMfaMethod` (beta, §6.1; null → `unset`).
    pub const AUTH_METHODS_DEFAULT_MFA_METHOD_USERS: &str =
        "entra_auth_methods_default_mfa_method_users";
    /// Users per element of `systemPreferredAuthenticationMethods` (§6.1; null/empty → `none`).
    pub const AUTH_METHODS_SYSTEM_PREFERRED_METHOD_USERS: &str =
        "entra_auth_methods_system_preferred_method_users";
    /// Users per `userPreferredMethodForSecondaryAuthentication` (§6.1; null/"" → `none`).
    pub const AUTH_METHODS_USER_PREFERRED_METHOD_USERS: &str =
        "entra_auth_methods_user_preferred_method_users";
    /// Successful registration/reset activities per period, feature and method (§6.3).
    pub const AUTH_METHODS_USAGE_SUCCESSES: &str = "entra_auth_methods_usage_successes";
    /// Failed registration/reset activities per period, feature and method (§6.3).
    pub const AUTH_METHODS_USAGE_FAILURES: &str = "entra_auth_methods_usage_failures";
    /// Users per registration status (§6.4).
    pub const AUTH_METHODS_CREDENTIAL_REGISTRATION_USERS: &str =
        "entra_auth_methods_credential_registration_users";
    /// `totalUserCount` of §6.4.
    pub const AUTH_METHODS_CREDENTIAL_REGISTRATION_ELIGIBLE_USERS: &str =
        "entra_auth_methods_credential_registration_eligible_users";
    /// Single- and multi-factor sign-ins of the latest complete day (§6.5).
    pub const AUTH_METHODS_SIGN_INS: &str = "entra_auth_methods_sign_ins";
    /// Midnight UTC of the day [`AUTH_METHODS_SIGN_INS`] describes.
    pub const AUTH_METHODS_SIGN_INS_FACT_TIMESTAMP: &str =
        "entra_auth_methods_sign_ins_fact_timestamp_seconds";
}

/// Migration status label values, in label order.
const MIGRATION_STATUSES: [&str; 4] = [
    "ready",
    "needs_review",
    "additional_steps_required",
    "unknown",
];

/// The `period` label of `days`.
fn period_label(days: u32) -> String {
    format!("{days}d")
}

/// A success ratio from counts (0 when there were none).
fn ratio(successes: u64, failed: u64) -> f64 {
    let total = successes + failed;
    if total == 0 {
        0.0
    } else {
        successes as f64 / total as f64
    }
}

/// Appends every family of this module.
pub fn append(tenant: &Tenant, tenant_label: &str, at_unix_seconds: f64, out: &mut Vec<Sample>) {
    let cutoff = usage::cutoff(at_unix_seconds);
    applications(tenant, tenant_label, cutoff, out);
    relying_parties(tenant, tenant_label, cutoff, out);
    registration(tenant, tenant_label, out);
    credential_usage(tenant, tenant_label, cutoff, out);
    mfa(tenant, tenant_label, at_unix_seconds, out);
}

/// §2.1 families.
fn applications(tenant: &Tenant, label: &str, cutoff: i64, out: &mut Vec<Sample>) {
    for (_, days) in app_sign_in::PERIODS {
        let period = period_label(*days);
        for row in app_sign_in::summary_rows(tenant, cutoff, *days) {
            let labels = [
                ("period", period.as_str()),
                ("app_id", row.app_id.as_str()),
                ("app", row.app_display_name.as_str()),
            ];
            let (s, f) = (row.counts.successes, row.counts.failed());
            out.push(sample(
                names::APPLICATION_SUCCESSFUL_SIGN_INS,
                label,
                &labels,
                s as f64,
            ));
            out.push(sample(
                names::APPLICATION_FAILED_SIGN_INS,
                label,
                &labels,
                f as f64,
            ));
            out.push(sample(
                names::APPLICATION_SIGN_IN_SUCCESS_RATIO,
                label,
                &labels,
                ratio(s, f),
            ));
        }
    }
}

/// §3 families.
fn relying_parties(tenant: &Tenant, label: &str, cutoff: i64, out: &mut Vec<Sample>) {
    let mut listed = BTreeSet::new();
    for (_, days) in relying_party::PERIODS {
        let period = period_label(*days);
        for (rp, w) in relying_party::rows(tenant, cutoff, *days) {
            listed.insert(rp.id.clone());
            let labels = [
                ("period", period.as_str()),
                ("relying_party_id", rp.relying_party_id.as_str()),
                ("relying_party", rp.relying_party_name.as_str()),
            ];
            for (name, value) in [
                (
                    names::ADFS_RELYING_PARTY_SUCCESSFUL_SIGN_INS,
                    w.successes as f64,
                ),
                (names::ADFS_RELYING_PARTY_FAILED_SIGN_INS, w.failures as f64),
                (names::ADFS_RELYING_PARTY_SIGN_INS, w.total() as f64),
                (
                    names::ADFS_RELYING_PARTY_UNIQUE_USERS,
                    w.unique_users as f64,
                ),
                (
                    names::ADFS_RELYING_PARTY_SIGN_IN_SUCCESS_RATIO,
                    ratio(w.successes, w.failures),
                ),
            ] {
                out.push(sample(name, label, &labels, value));
            }
        }
    }
    for rp in &tenant.reports.relying_parties {
        if !listed.contains(&rp.id) {
            continue;
        }
        for status in MIGRATION_STATUSES {
            let value = if rp.migration_status.label() == status {
                1.0
            } else {
                0.0
            };
            out.push(sample(
                names::ADFS_RELYING_PARTY_MIGRATION_STATUS,
                label,
                &[
                    ("relying_party_id", rp.relying_party_id.as_str()),
                    ("relying_party", rp.relying_party_name.as_str()),
                    ("status", status),
                ],
                value,
            ));
        }
    }
}

/// §6.1 and §6.4 families, from the cached aggregates.
fn registration(tenant: &Tenant, label: &str, out: &mut Vec<Sample>) {
    let t = tenant.reports.registration_totals();
    out.push(sample(
        names::AUTH_METHODS_USERS,
        label,
        &[],
        t.users as f64,
    ));
    for (m, n) in METHODS.iter().zip(t.methods) {
        if n > 0 {
            out.push(sample(
                names::AUTH_METHODS_REGISTERED_USERS,
                label,
                &[("method", m.name)],
                n as f64,
            ));
        }
    }
    for (feature, n) in FEATURES.iter().zip(t.features) {
        out.push(sample(
            names::AUTH_METHODS_FEATURE_USERS,
            label,
            &[("feature", feature)],
            n as f64,
        ));
    }
    out.push(sample(
        names::AUTH_METHODS_ADMINS,
        label,
        &[],
        t.admins as f64,
    ));
    out.push(sample(
        names::AUTH_METHODS_ADMINS_WITHOUT_MFA,
        label,
        &[],
        t.admins_without_mfa as f64,
    ));
    let methods = DEFAULT_MFA_METHODS.iter().copied().chain(["unset"]);
    for (method, n) in methods.zip(t.default_mfa) {
        if n > 0 {
            out.push(sample(
                names::AUTH_METHODS_DEFAULT_MFA_METHOD_USERS,
                label,
                &[("method", method)],
                n as f64,
            ));
        }
    }
    for (name, counts) in [
        (
            names::AUTH_METHODS_SYSTEM_PREFERRED_METHOD_USERS,
            t.system_preferred,
        ),
        (
            names::AUTH_METHODS_USER_PREFERRED_METHOD_USERS,
            t.user_preferred,
        ),
    ] {
        for (method, n) in SECONDARY_METHODS.iter().zip(counts) {
            if n > 0 {
                out.push(sample(name, label, &[("method", method)], n as f64));
            }
        }
    }
    for (status, n) in auth_methods::registration_counts(t) {
        out.push(sample(
            names::AUTH_METHODS_CREDENTIAL_REGISTRATION_USERS,
            label,
            &[("status", status)],
            n as f64,
        ));
    }
    out.push(sample(
        names::AUTH_METHODS_CREDENTIAL_REGISTRATION_ELIGIBLE_USERS,
        label,
        &[],
        t.users as f64,
    ));
}

/// §6.3 families.
fn credential_usage(tenant: &Tenant, label: &str, cutoff: i64, out: &mut Vec<Sample>) {
    for (_, days) in auth_methods::USAGE_PERIODS {
        let period = period_label(*days);
        for row in tenant
            .reports
            .credential_usage(&usage::window_pieces(cutoff, *days))
        {
            let labels = [
                ("period", period.as_str()),
                ("feature", row.feature),
                ("method", row.auth_method),
            ];
            out.push(sample(
                names::AUTH_METHODS_USAGE_SUCCESSES,
                label,
                &labels,
                row.successes as f64,
            ));
            out.push(sample(
                names::AUTH_METHODS_USAGE_FAILURES,
                label,
                &labels,
                row.failures as f64,
            ));
        }
    }
}

/// §6.5 families: yesterday (UTC at `at`), the newest complete day.
fn mfa(tenant: &Tenant, label: &str, at_unix_seconds: f64, out: &mut Vec<Sample>) {
    let day = usage::day_of(at_unix_seconds.floor() as i64) - 1;
    let row = tenant.reports.mfa_day(&DayPiece {
        day,
        from_hour: 0,
        to_hour: 24,
    });
    out.push(sample(
        names::AUTH_METHODS_SIGN_INS,
        label,
        &[("authentication", "single_factor")],
        row.single_factor as f64,
    ));
    out.push(sample(
        names::AUTH_METHODS_SIGN_INS,
        label,
        &[("authentication", "multi_factor")],
        row.multi_factor as f64,
    ));
    out.push(sample(
        names::AUTH_METHODS_SIGN_INS_FACT_TIMESTAMP,
        label,
        &[],
        (day * DAY) as f64,
    ));
}

/// Days of history [`application_history`] returns.
pub const HISTORY_DAYS: i64 = 30;

/// Each app's successful and failed sign-ins on each of the 30 complete UTC days before
/// `at`, timestamped at the day's midnight, oldest day first; apps without any sign-in in
/// those days are left out, days without sign-ins of a listed app give zeros.
pub fn application_history(
    tenant: &Tenant,
    tenant_label: &str,
    at_unix_seconds: f64,
) -> Vec<TimedSample> {
    let today = usage::day_of(at_unix_seconds.floor() as i64);
    // The complete days among those the detailed summary lists: its 30-day retention ends
    // with today's partial day.
    let days: Vec<i64> = (today - HISTORY_DAYS + 1..today).collect();
    let per_app: Vec<Vec<(u64, u64)>> = (0..tenant.applications.len())
        .map(|i| {
            days.iter()
                .map(|d| {
                    let c = tenant.reports.app_day(i, *d);
                    (c.successes, c.failed())
                })
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for (k, day) in days.iter().enumerate() {
        for (app, counts) in tenant.applications.iter().zip(&per_app) {
            if counts.iter().all(|(s, f)| s + f == 0) {
                continue;
            }
            let (s, f) = counts.get(k).copied().unwrap_or_default();
            let labels = [
                ("app_id", app.app_id.as_str()),
                ("app", app.display_name.as_str()),
            ];
            for (name, value) in [
                (names::APPLICATION_DAILY_SUCCESSFUL_SIGN_INS, s),
                (names::APPLICATION_DAILY_FAILED_SIGN_INS, f),
            ] {
                out.push(TimedSample {
                    sample: sample(name, tenant_label, &labels, value as f64),
                    timestamp_unix_seconds: (day * DAY) as f64,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use crate::ground_truth::GroundTruth;

    #[test]
    fn families_are_consistent() {
        let tenant = Tenant::generate(&SimConfig::default());
        let at = tenant.now.as_f64();
        let mut samples = Vec::new();
        append(&tenant, "demo", at, &mut samples);
        let gt = GroundTruth { samples };
        assert_eq!(gt.by_name(names::AUTH_METHODS_FEATURE_USERS).len(), 7);
        let users = gt.find(names::AUTH_METHODS_USERS, &[]).map(|s| s.value);
        assert_eq!(
            gt.find(
                names::AUTH_METHODS_CREDENTIAL_REGISTRATION_ELIGIBLE_USERS,
                &[]
            )
            .map(|s| s.value),
            users
        );
        let seven = gt
            .by_name(names::APPLICATION_SUCCESSFUL_SIGN_INS)
            .into_iter()
            .filter(|s| s.labels["period"] == "7d")
            .count();
        let thirty = gt
            .by_name(names::APPLICATION_SUCCESSFUL_SIGN_INS)
            .into_iter()
            .filter(|s| s.labels["period"] == "30d")
            .count();
        assert!(seven > 100 && seven <= thirty && thirty < tenant.applications.len());
        for s in gt.by_name(names::APPLICATION_SIGN_IN_SUCCESS_RATIO) {
            assert!((0.0..=1.0).contains(&s.value));
        }
        let statuses = gt.by_name(names::ADFS_RELYING_PARTY_MIGRATION_STATUS);
        assert_eq!(statuses.len() % 4, 0);
        let ones: f64 = statuses.iter().map(|s| s.value).sum();
        assert_eq!(ones as usize * 4, statuses.len());
        let [single, multi] = ["single_factor", "multi_factor"].map(|a| {
            gt.find(names::AUTH_METHODS_SIGN_INS, &[("authentication", a)])
                .map_or(0.0, |s| s.value)
        });
        assert!(single > 0.0 && multi > single);

        let history = application_history(&tenant, "demo", at);
        assert!(!history.is_empty());
        let today = usage::day_of(at as i64);
        for h in &history {
            let day = (h.timestamp_unix_seconds as i64) / DAY;
            assert!(day < today && day >= today - HISTORY_DAYS);
        }
    }
}
