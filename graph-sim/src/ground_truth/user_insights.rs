//! Ground truth of the External ID user insights (§1), computed from the model's rows
//! ([`crate::tenant::insights`]), never from served JSON.
//!
//! The exporter must read the *latest complete period* of every report: the newest `factDate`
//! the report serves that lies strictly before the current period (daily: before today UTC;
//! monthly: before the first day of the current month), with the aggregation lag applied. The
//! current period's rows are partial and must be ignored. Each family below sums the rows of
//! that date; null string dimensions become the label value `unknown`. Every sample carries
//! `tenant`, every family but `entra_external_id_users` carries `period` (`daily`/`monthly`):
//!
//! * `entra_external_id_active_users` (sum of `count`) and
//!   `entra_external_id_active_users_by_application{app_id}` from `activeUsers`;
//! * `entra_external_id_inactive_users{window}` from `inactiveUsers` and
//!   `entra_external_id_inactive_users_by_application{app_id, window}` from
//!   `inactiveUsersByApplication`, `window` = `1d` (daily `inactive1DayCount`),
//!   `calendar_month` (monthly `inactiveCalendarMonthCount`), `30d`, `60d`, `90d`; no sample
//!   where the count is null;
//! * `entra_external_id_sign_ups` and `entra_external_id_sign_ups_by_os{os}` from `signUps`;
//! * `entra_external_id_requests` (monthly only) from `requests`;
//! * `entra_external_id_mfa_attempts{method}`, `_mfa_successes{method}`, `_mfa_failures{method}`
//!   (attempts − successes) from `mfaCompletions`, `method` = `mfaMethod`;
//! * `entra_external_id_authentication_attempts`, `_authentication_successes`, the same with
//!   `_by_os{os}` and `_by_country{country}`, from `authentications`;
//! * `entra_external_id_users` (no `period`): `userCount` of the latest complete day;
//! * `entra_external_id_overview_active_users`, `_overview_authentication_requests`,
//!   `_overview_authentication_completions`, `_overview_sms_mfa_requests`,
//!   `_overview_sms_mfa_completions`, `_overview_voice_mfa_requests`,
//!   `_overview_voice_mfa_completions` from `summary` (`securityText*` = SMS,
//!   `securityVoice*` = voice);
//! * `entra_external_id_fact_timestamp_seconds{report}`: midnight UTC of the date used, per
//!   report (`active_users`, `inactive_users`, `inactive_users_by_application`, `sign_ups`,
//!   `requests`, `mfa_completions`, `authentications`, `user_count`, `summary`; `requests`
//!   and `user_count` only for the period that has them).
//!
//! A workforce tenant serves no rows, so it has no samples. [`history`] gives the same families
//! (without the fact timestamp) for every complete served period, for backfilling.

use std::collections::BTreeMap;

use super::{sample, Sample};
use crate::tenant::insights::{Day, InsightRows, Period};
use crate::tenant::Tenant;

/// Metric names of the user-insight families.
pub mod names {
    /// Active users (`activeUsers` `count` summed).
    pub const EXTERNAL_ID_ACTIVE_USERS: &str = "entra_external_id_active_users";
    /// Active users per application (`app_id`).
    pub const EXTERNAL_ID_ACTIVE_USERS_BY_APPLICATION: &str =
        "entra_external_id_active_users_by_application";
    /// Inactive users per `window`.
    pub const EXTERNAL_ID_INACTIVE_USERS: &str = "entra_external_id_inactive_users";
    /// Inactive users per application (`app_id`) and `window`.
    pub const EXTERNAL_ID_INACTIVE_USERS_BY_APPLICATION: &str =
        "entra_external_id_inactive_users_by_application";
    /// Sign-ups.
    pub const EXTERNAL_ID_SIGN_UPS: &str = "entra_external_id_sign_ups";
    /// Sign-ups per `os`.
    pub const EXTERNAL_ID_SIGN_UPS_BY_OS: &str = "entra_external_id_sign_ups_by_os";
    /// Token requests (monthly only).
    pub const EXTERNAL_ID_REQUESTS: &str = "entra_external_id_requests";
    /// MFA attempts per `method`.
    pub const EXTERNAL_ID_MFA_ATTEMPTS: &str = "entra_external_id_mfa_attempts";
    /// Successful MFA attempts per `method`.
    pub const EXTERNAL_ID_MFA_SUCCESSES: &str = "entra_external_id_mfa_successes";
    /// Failed MFA attempts per `method` (attempts − successes).
    pub const EXTERNAL_ID_MFA_FAILURES: &str = "entra_external_id_mfa_failures";
    /// Authentication attempts.
    pub const EXTERNAL_ID_AUTHENTICATION_ATTEMPTS: &str =
        "entra_external_id_authentication_attempts";
    /// Successful authentications.
    pub const EXTERNAL_ID_AUTHENTICATION_SUCCESSES: &str =
        "entra_external_id_authentication_successes";
    /// Authentication attempts per `os`.
    pub const EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_OS: &str =
        "entra_external_id_authentication_attempts_by_os";
    /// Successful authentications per `os`.
    pub const EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_OS: &str =
        "entra_external_id_authentication_successes_by_os";
    /// Authentication attempts per `country`.
    pub const EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_COUNTRY: &str =
        "entra_external_id_authentication_attempts_by_country";
    /// Successful authentications per `country`.
    pub const EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_COUNTRY: &str =
        "entra_external_id_authentication_successes_by_country";
    /// Users in the tenant (`userCount`), no `period` label.
    pub const EXTERNAL_ID_USERS: &str = "entra_external_id_users";
    /// Summary: active users.
    pub const EXTERNAL_ID_OVERVIEW_ACTIVE_USERS: &str = "entra_external_id_overview_active_users";
    /// Summary: authentication requests.
    pub const EXTERNAL_ID_OVERVIEW_AUTHENTICATION_REQUESTS: &str =
        "entra_external_id_overview_authentication_requests";
    /// Summary: authentication completions.
    pub const EXTERNAL_ID_OVERVIEW_AUTHENTICATION_COMPLETIONS: &str =
        "entra_external_id_overview_authentication_completions";
    /// Summary: SMS MFA requests (`securityTextRequests`).
    pub const EXTERNAL_ID_OVERVIEW_SMS_MFA_REQUESTS: &str =
        "entra_external_id_overview_sms_mfa_requests";
    /// Summary: SMS MFA completions (`securityTextCompletions`).
    pub const EXTERNAL_ID_OVERVIEW_SMS_MFA_COMPLETIONS: &str =
        "entra_external_id_overview_sms_mfa_completions";
    /// Summary: voice MFA requests (`securityVoiceRequests`).
    pub const EXTERNAL_ID_OVERVIEW_VOICE_MFA_REQUESTS: &str =
        "entra_external_id_overview_voice_mfa_requests";
    /// Summary: voice MFA completions (`securityVoiceCompletions`).
    pub const EXTERNAL_ID_OVERVIEW_VOICE_MFA_COMPLETIONS: &str =
        "entra_external_id_overview_voice_mfa_completions";
    /// Midnight UTC of the `factDate` a report's samples come from, per `period` and `report`.
    pub const EXTERNAL_ID_FACT_TIMESTAMP: &str = "entra_external_id_fact_timestamp_seconds";
}

use names::*;

/// Family order of the module docs; samples are sorted by it.
const FAMILY_ORDER: &[&str] = &[
    EXTERNAL_ID_ACTIVE_USERS,
    EXTERNAL_ID_ACTIVE_USERS_BY_APPLICATION,
    EXTERNAL_ID_INACTIVE_USERS,
    EXTERNAL_ID_INACTIVE_USERS_BY_APPLICATION,
    EXTERNAL_ID_SIGN_UPS,
    EXTERNAL_ID_SIGN_UPS_BY_OS,
    EXTERNAL_ID_REQUESTS,
    EXTERNAL_ID_MFA_ATTEMPTS,
    EXTERNAL_ID_MFA_SUCCESSES,
    EXTERNAL_ID_MFA_FAILURES,
    EXTERNAL_ID_AUTHENTICATION_ATTEMPTS,
    EXTERNAL_ID_AUTHENTICATION_SUCCESSES,
    EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_OS,
    EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_OS,
    EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_COUNTRY,
    EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_COUNTRY,
    EXTERNAL_ID_USERS,
    EXTERNAL_ID_OVERVIEW_ACTIVE_USERS,
    EXTERNAL_ID_OVERVIEW_AUTHENTICATION_REQUESTS,
    EXTERNAL_ID_OVERVIEW_AUTHENTICATION_COMPLETIONS,
    EXTERNAL_ID_OVERVIEW_SMS_MFA_REQUESTS,
    EXTERNAL_ID_OVERVIEW_SMS_MFA_COMPLETIONS,
    EXTERNAL_ID_OVERVIEW_VOICE_MFA_REQUESTS,
    EXTERNAL_ID_OVERVIEW_VOICE_MFA_COMPLETIONS,
    EXTERNAL_ID_FACT_TIMESTAMP,
];

/// Label value of a null string dimension.
const UNKNOWN: &str = "unknown";

/// An expected sample of a past period, for backfilling.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedSample {
    /// The sample (labels as in the live ground truth).
    pub sample: Sample,
    /// Midnight UTC of the period's `factDate`, Unix seconds.
    pub timestamp_unix_seconds: f64,
}

/// A series: family name and labels (besides `tenant` and `period`).
type Series = (&'static str, Vec<(&'static str, String)>);

/// Accumulates sums per series.
#[derive(Default)]
struct Sums {
    /// Series → value.
    values: BTreeMap<Series, f64>,
}

impl Sums {
    /// Adds `value` to the sample `name{labels}`.
    fn add(&mut self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        let key = labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        *self.values.entry((name, key)).or_insert(0.0) += value;
    }

    /// The samples, each with `tenant` and, unless `name` is the users family, `period`.
    fn into_samples(self, tenant_label: &str, period: Period) -> Vec<Sample> {
        self.values
            .into_iter()
            .map(|((name, labels), value)| {
                let mut all: Vec<(&str, &str)> =
                    labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                if name != EXTERNAL_ID_USERS {
                    all.push(("period", period.label()));
                }
                sample(name, tenant_label, &all, value)
            })
            .collect()
    }
}

/// A label value for an optional string dimension.
fn label(value: Option<&str>) -> &str {
    value.unwrap_or(UNKNOWN)
}

/// The reports of the fact timestamp family, in label order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Report {
    /// `activeUsers`.
    ActiveUsers,
    /// `inactiveUsers`.
    InactiveUsers,
    /// `inactiveUsersByApplication`.
    InactiveUsersByApplication,
    /// `signUps`.
    SignUps,
    /// `requests`.
    Requests,
    /// `mfaCompletions`.
    MfaCompletions,
    /// `authentications`.
    Authentications,
    /// `userCount`.
    UserCount,
    /// `summary`.
    Summary,
}

impl Report {
    /// Every report.
    const ALL: [Report; 9] = [
        Report::ActiveUsers,
        Report::InactiveUsers,
        Report::InactiveUsersByApplication,
        Report::SignUps,
        Report::Requests,
        Report::MfaCompletions,
        Report::Authentications,
        Report::UserCount,
        Report::Summary,
    ];

    /// The `report` label value.
    fn label(self) -> &'static str {
        match self {
            Self::ActiveUsers => "active_users",
            Self::InactiveUsers => "inactive_users",
            Self::InactiveUsersByApplication => "inactive_users_by_application",
            Self::SignUps => "sign_ups",
            Self::Requests => "requests",
            Self::MfaCompletions => "mfa_completions",
            Self::Authentications => "authentications",
            Self::UserCount => "user_count",
            Self::Summary => "summary",
        }
    }

    /// The distinct `factDate`s of this report's rows.
    fn dates(self, rows: &InsightRows) -> Vec<Day> {
        let mut dates: Vec<Day> = match self {
            Self::ActiveUsers => rows.active_users.iter().map(|r| r.fact_date).collect(),
            Self::InactiveUsers => rows.inactive_users.iter().map(|r| r.fact_date).collect(),
            Self::InactiveUsersByApplication => rows
                .inactive_users_by_application
                .iter()
                .map(|r| r.fact_date)
                .collect(),
            Self::SignUps => rows.sign_ups.iter().map(|r| r.fact_date).collect(),
            Self::Requests => rows.requests.iter().map(|r| r.fact_date).collect(),
            Self::MfaCompletions => rows.mfa_completions.iter().map(|r| r.fact_date).collect(),
            Self::Authentications => rows.authentications.iter().map(|r| r.fact_date).collect(),
            Self::UserCount => rows.user_count.iter().map(|r| r.fact_date).collect(),
            Self::Summary => rows.summary.iter().map(|r| r.fact_date).collect(),
        };
        dates.sort();
        dates.dedup();
        dates
    }

    /// Adds the families of this report over its rows dated `date`.
    fn add(self, rows: &InsightRows, period: Period, date: Day, sums: &mut Sums) {
        match self {
            Self::ActiveUsers => {
                for r in rows.active_users.iter().filter(|r| r.fact_date == date) {
                    let count = r.count as f64;
                    sums.add(EXTERNAL_ID_ACTIVE_USERS, &[], count);
                    sums.add(
                        EXTERNAL_ID_ACTIVE_USERS_BY_APPLICATION,
                        &[("app_id", label(r.app_id.as_deref()))],
                        count,
                    );
                }
            }
            Self::InactiveUsers | Self::InactiveUsersByApplication => {
                let (list, name) = if self == Self::InactiveUsers {
                    (&rows.inactive_users, EXTERNAL_ID_INACTIVE_USERS)
                } else {
                    (
                        &rows.inactive_users_by_application,
                        EXTERNAL_ID_INACTIVE_USERS_BY_APPLICATION,
                    )
                };
                let period_window = match period {
                    Period::Daily => "1d",
                    Period::Monthly => "calendar_month",
                };
                for r in list.iter().filter(|r| r.fact_date == date) {
                    let windows = [
                        (period_window, r.inactive_period),
                        ("30d", r.inactive_30_days),
                        ("60d", r.inactive_60_days),
                        ("90d", r.inactive_90_days),
                    ];
                    for (window, value) in windows {
                        let Some(value) = value else { continue };
                        let mut labels = vec![("window", window)];
                        if self == Self::InactiveUsersByApplication {
                            labels.push(("app_id", label(r.app_id.as_deref())));
                        }
                        sums.add(name, &labels, value as f64);
                    }
                }
            }
            Self::SignUps => {
                for r in rows.sign_ups.iter().filter(|r| r.fact_date == date) {
                    let count = r.count as f64;
                    sums.add(EXTERNAL_ID_SIGN_UPS, &[], count);
                    sums.add(EXTERNAL_ID_SIGN_UPS_BY_OS, &[("os", label(r.os))], count);
                }
            }
            Self::Requests => {
                for r in rows.requests.iter().filter(|r| r.fact_date == date) {
                    sums.add(EXTERNAL_ID_REQUESTS, &[], r.request_count as f64);
                }
            }
            Self::MfaCompletions => {
                for r in rows.mfa_completions.iter().filter(|r| r.fact_date == date) {
                    let method = [("method", label(r.mfa_method))];
                    sums.add(EXTERNAL_ID_MFA_ATTEMPTS, &method, r.attempts as f64);
                    sums.add(EXTERNAL_ID_MFA_SUCCESSES, &method, r.successes as f64);
                    sums.add(
                        EXTERNAL_ID_MFA_FAILURES,
                        &method,
                        r.attempts.saturating_sub(r.successes) as f64,
                    );
                }
            }
            Self::Authentications => {
                for r in rows.authentications.iter().filter(|r| r.fact_date == date) {
                    let (attempts, successes) = (r.attempts as f64, r.successes as f64);
                    let os = [("os", label(r.os))];
                    let country = [("country", label(r.country))];
                    sums.add(EXTERNAL_ID_AUTHENTICATION_ATTEMPTS, &[], attempts);
                    sums.add(EXTERNAL_ID_AUTHENTICATION_SUCCESSES, &[], successes);
                    sums.add(EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_OS, &os, attempts);
                    sums.add(EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_OS, &os, successes);
                    sums.add(
                        EXTERNAL_ID_AUTHENTICATION_ATTEMPTS_BY_COUNTRY,
                        &country,
                        attempts,
                    );
                    sums.add(
                        EXTERNAL_ID_AUTHENTICATION_SUCCESSES_BY_COUNTRY,
                        &country,
                        successes,
                    );
                }
            }
            Self::UserCount => {
                for r in rows.user_count.iter().filter(|r| r.fact_date == date) {
                    sums.add(EXTERNAL_ID_USERS, &[], r.count as f64);
                }
            }
            Self::Summary => {
                for r in rows.summary.iter().filter(|r| r.fact_date == date) {
                    for (name, value) in [
                        (EXTERNAL_ID_OVERVIEW_ACTIVE_USERS, r.active_users),
                        (
                            EXTERNAL_ID_OVERVIEW_AUTHENTICATION_REQUESTS,
                            r.authentication_requests,
                        ),
                        (
                            EXTERNAL_ID_OVERVIEW_AUTHENTICATION_COMPLETIONS,
                            r.authentication_completions,
                        ),
                        (
                            EXTERNAL_ID_OVERVIEW_SMS_MFA_REQUESTS,
                            r.security_text_requests,
                        ),
                        (
                            EXTERNAL_ID_OVERVIEW_SMS_MFA_COMPLETIONS,
                            r.security_text_completions,
                        ),
                        (
                            EXTERNAL_ID_OVERVIEW_VOICE_MFA_REQUESTS,
                            r.security_voice_requests,
                        ),
                        (
                            EXTERNAL_ID_OVERVIEW_VOICE_MFA_COMPLETIONS,
                            r.security_voice_completions,
                        ),
                    ] {
                        sums.add(name, &[], value as f64);
                    }
                }
            }
        }
    }
}

/// Sorts samples into the family order of the module docs (stable within a family).
fn sort_by_family(samples: &mut [Sample]) {
    samples.sort_by_key(|s| {
        FAMILY_ORDER
            .iter()
            .position(|n| *n == s.name)
            .unwrap_or(FAMILY_ORDER.len())
    });
}

/// The complete dates of `report` in `rows`: served and strictly before the current period.
fn complete_dates(report: Report, rows: &InsightRows, current_start: Day) -> Vec<Day> {
    report
        .dates(rows)
        .into_iter()
        .filter(|d| *d < current_start)
        .collect()
}

/// Appends the user-insight families at `at_unix_seconds` (latest complete period of every
/// report and period).
pub(super) fn append(
    tenant: &Tenant,
    tenant_label: &str,
    at_unix_seconds: f64,
    samples: &mut Vec<Sample>,
) {
    let model = &tenant.user_insights;
    let availability = model.availability(at_unix_seconds);
    let mut out = Vec::new();
    for period in Period::ALL {
        let rows = model.rows(period, at_unix_seconds);
        let start = availability.current_period_start(period);
        let mut sums = Sums::default();
        for report in Report::ALL {
            let Some(date) = complete_dates(report, &rows, start).pop() else {
                continue;
            };
            report.add(&rows, period, date, &mut sums);
            sums.add(
                EXTERNAL_ID_FACT_TIMESTAMP,
                &[("report", report.label())],
                date.unix_seconds() as f64,
            );
        }
        out.extend(sums.into_samples(tenant_label, period));
    }
    sort_by_family(&mut out);
    samples.append(&mut out);
}

/// The user-insight families of every complete served period at `at_unix_seconds`, each
/// timestamped at midnight UTC of its `factDate`, oldest first (families as [`append`], without
/// the fact timestamp).
pub fn history(tenant: &Tenant, tenant_label: &str, at_unix_seconds: f64) -> Vec<TimedSample> {
    let model = &tenant.user_insights;
    let availability = model.availability(at_unix_seconds);
    let mut out = Vec::new();
    for period in Period::ALL {
        let rows = model.rows(period, at_unix_seconds);
        let start = availability.current_period_start(period);
        let mut by_date: BTreeMap<Day, Sums> = BTreeMap::new();
        for report in Report::ALL {
            for date in complete_dates(report, &rows, start) {
                report.add(&rows, period, date, by_date.entry(date).or_default());
            }
        }
        for (date, sums) in by_date {
            let mut samples = sums.into_samples(tenant_label, period);
            sort_by_family(&mut samples);
            out.extend(samples.into_iter().map(|sample| TimedSample {
                sample,
                timestamp_unix_seconds: date.unix_seconds() as f64,
            }));
        }
    }
    // Oldest first across periods; the sort is stable, so families stay in order.
    out.sort_by(|a, b| {
        a.timestamp_unix_seconds
            .total_cmp(&b.timestamp_unix_seconds)
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SimConfig;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2025-06-03T07:41:12Z.
    const AT: f64 = 1_748_936_472.0;

    fn tenant(config: SimConfig) -> Tenant {
        Tenant::generate(&SimConfig {
            now: UNIX_EPOCH + Duration::from_secs(AT as u64),
            ..config
        })
    }

    #[test]
    fn latest_complete_period_is_used() {
        let t = tenant(SimConfig::default());
        let mut samples = Vec::new();
        append(&t, "demo", AT, &mut samples);
        let fact = |period: &str, report: &str| {
            samples
                .iter()
                .find(|s| {
                    s.name == EXTERNAL_ID_FACT_TIMESTAMP
                        && s.labels["period"] == period
                        && s.labels["report"] == report
                })
                .map(|s| s.value)
        };
        let yesterday = Day::parse("2025-06-02").expect("d").unix_seconds() as f64;
        let may = Day::parse("2025-05-01").expect("d").unix_seconds() as f64;
        assert_eq!(fact("daily", "active_users"), Some(yesterday));
        assert_eq!(fact("daily", "user_count"), Some(yesterday));
        assert_eq!(fact("daily", "requests"), None);
        assert_eq!(fact("monthly", "requests"), Some(may));
        assert_eq!(fact("monthly", "user_count"), None);
        let users: Vec<_> = samples
            .iter()
            .filter(|s| s.name == EXTERNAL_ID_USERS)
            .collect();
        assert_eq!(users.len(), 1);
        assert!(!users[0].labels.contains_key("period"));
        assert!(samples.iter().all(|s| s.labels["tenant"] == "demo"));
        // Failures are attempts minus successes.
        for f in samples
            .iter()
            .filter(|s| s.name == EXTERNAL_ID_MFA_FAILURES)
        {
            let get = |name: &str| {
                samples
                    .iter()
                    .find(|s| s.name == name && s.labels == f.labels)
                    .map(|s| s.value)
                    .unwrap_or(-1.0)
            };
            assert_eq!(
                f.value,
                get(EXTERNAL_ID_MFA_ATTEMPTS) - get(EXTERNAL_ID_MFA_SUCCESSES)
            );
        }
    }

    #[test]
    fn workforce_tenants_have_no_samples() {
        let t = tenant(SimConfig {
            external_id: false,
            ..SimConfig::default()
        });
        let mut samples = Vec::new();
        append(&t, "demo", AT, &mut samples);
        assert!(samples.is_empty());
        assert!(history(&t, "demo", AT).is_empty());
    }

    #[test]
    fn history_ends_with_the_live_values() {
        let t = tenant(SimConfig::default());
        let history = history(&t, "demo", AT);
        let mut live = Vec::new();
        append(&t, "demo", AT, &mut live);
        let yesterday = Day::parse("2025-06-02").expect("d").unix_seconds() as f64;
        let daily_last: Vec<&Sample> = history
            .iter()
            .filter(|s| s.timestamp_unix_seconds == yesterday)
            .map(|s| &s.sample)
            .collect();
        let live_daily: Vec<&Sample> = live
            .iter()
            .filter(|s| {
                s.name != EXTERNAL_ID_FACT_TIMESTAMP
                    && s.labels.get("period").is_none_or(|p| p == "daily")
            })
            .collect();
        assert_eq!(daily_last, live_daily);
        // 29 complete days and 11 complete months.
        let mut stamps: Vec<f64> = history.iter().map(|s| s.timestamp_unix_seconds).collect();
        stamps.dedup();
        assert_eq!(stamps.len(), 29 + 11);
        assert!(history
            .windows(2)
            .all(|w| w[0].timestamp_unix_seconds <= w[1].timestamp_unix_seconds));
    }
}
