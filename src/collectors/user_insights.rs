//! External ID user insights: active, inactive and new users, requests, MFA completions,
//! authentications, the tenant's user count and the daily and monthly summaries.
//!
//! Reads `/beta/reports/userInsights/{daily|monthly}/…` (reference §1; application permission
//! `Insights-UserMetric.Read.All`, External ID tenants only). Each collection returns history:
//! rows for every day (or month) the service keeps, the current one included and still
//! growing. The value served is that of the **latest complete period**: the newest `factDate`
//! before today (daily) or before the first of this month (monthly), whatever the service's lag.
//! `entra_external_id_fact_timestamp_seconds` says which day or month that is; dates never
//! become labels.
//!
//! Row ids repeat (Appendix B.11) and rows are broken down by app, OS, country and so on, so
//! values are sums over the rows of that period. Breakdown labels are capped (see
//! [`super::breakdown`]). A workforce tenant gets empty collections (or an error, depending on
//! the service); empty collections simply yield no series.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::breakdown::{self, top_n, top_n_counts};
use super::{parse_date, utc_date, CollectError, Collector, CollectorInfo};
use crate::auth::BoxFuture;
use crate::config::BreakdownLimits;
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::batch::BatchGet;
use crate::graph::{Endpoint, GraphClient, Service};
use crate::runtime::unix_now;

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "user_insights",
    description: "External ID user insights: active, inactive and new users, requests, MFA and authentications, daily and monthly",
    default_enabled: true,
    default_interval: Duration::from_secs(3600),
    metrics: METRICS,
    build: |config| {
        Box::new(UserInsights {
            limits: config.breakdowns,
        })
    },
};

const PERMISSION: &str = "Insights-UserMetric.Read.All";

/// Declares the endpoint statics, all beta, all under the same permission.
macro_rules! endpoints {
    ($($name:ident = $path:literal;)*) => {$(
        static $name: Endpoint = Endpoint {
            path: concat!("/beta/reports/userInsights/", $path),
            permission: PERMISSION,
            service: Service::Other,
        };
    )*};
}

endpoints! {
    DAILY_ACTIVE_USERS = "daily/activeUsers";
    MONTHLY_ACTIVE_USERS = "monthly/activeUsers";
    DAILY_INACTIVE_USERS = "daily/inactiveUsers";
    MONTHLY_INACTIVE_USERS = "monthly/inactiveUsers";
    DAILY_INACTIVE_BY_APP = "daily/inactiveUsersByApplication";
    MONTHLY_INACTIVE_BY_APP = "monthly/inactiveUsersByApplication";
    DAILY_SIGN_UPS = "daily/signUps";
    MONTHLY_SIGN_UPS = "monthly/signUps";
    MONTHLY_REQUESTS = "monthly/requests";
    DAILY_MFA = "daily/mfaCompletions";
    MONTHLY_MFA = "monthly/mfaCompletions";
    DAILY_AUTHENTICATIONS = "daily/authentications";
    MONTHLY_AUTHENTICATIONS = "monthly/authentications";
    DAILY_USER_COUNT = "daily/userCount";
    DAILY_SUMMARY = "daily/summary";
    MONTHLY_SUMMARY = "monthly/summary";
}

/// Declares a gauge spec read from user insights.
macro_rules! spec {
    ($name:ident, $metric:literal, [$($label:literal),*], $source:literal, $help:literal) => {
        #[doc = concat!("`", $metric, "`.")]
        pub static $name: MetricSpec = MetricSpec {
            name: $metric,
            kind: MetricKind::Gauge,
            help: concat!($help, " Latest complete day (period=daily) or month (period=monthly); Graph beta userInsights/{daily|monthly}/", $source, "."),
            labels: &["tenant", $($label),*],
            source: concat!("/beta/reports/userInsights/{daily|monthly}/", $source),
            permission: PERMISSION,
        };
    };
}

spec!(ACTIVE_USERS, "entra_external_id_active_users", ["period"], "activeUsers",
    "Users with at least one authentication in the period, summed over apps and platforms (a user active on two apps counts twice).");
spec!(ACTIVE_USERS_BY_APP, "entra_external_id_active_users_by_application", ["period", "app_id"], "activeUsers",
    "Active users per application (capped by breakdowns.applications; the rest sum into app_id=\"other\").");
spec!(INACTIVE_USERS, "entra_external_id_inactive_users", ["period", "window"], "inactiveUsers",
    "Users without sign-in for the window: 1d (daily only), 30d, 60d, 90d, calendar_month (monthly only).");
spec!(
    INACTIVE_USERS_BY_APP,
    "entra_external_id_inactive_users_by_application",
    ["period", "app_id", "window"],
    "inactiveUsersByApplication",
    "Inactive users per application and window (capped by breakdowns.applications)."
);
spec!(
    SIGN_UPS,
    "entra_external_id_sign_ups",
    ["period"],
    "signUps",
    "New users who signed up in the period."
);
spec!(
    SIGN_UPS_BY_OS,
    "entra_external_id_sign_ups_by_os",
    ["period", "os"],
    "signUps",
    "New users per operating system (capped by breakdowns.operating_systems)."
);
spec!(
    REQUESTS,
    "entra_external_id_requests",
    ["period"],
    "requests",
    "Authentication requests in the month (monthly only)."
);
spec!(
    MFA_ATTEMPTS,
    "entra_external_id_mfa_attempts",
    ["period", "method"],
    "mfaCompletions",
    "MFA attempts per MFA method (capped by breakdowns.methods)."
);
spec!(
    MFA_SUCCESSES,
    "entra_external_id_mfa_successes",
    ["period", "method"],
    "mfaCompletions",
    "Successful MFA completions per MFA method."
);
spec!(
    MFA_FAILURES,
    "entra_external_id_mfa_failures",
    ["period", "method"],
    "mfaCompletions",
    "Failed MFA attempts (attempts minus successes) per MFA method."
);
spec!(
    AUTH_ATTEMPTS,
    "entra_external_id_authentication_attempts",
    ["period"],
    "authentications",
    "Authentication attempts."
);
spec!(
    AUTH_SUCCESSES,
    "entra_external_id_authentication_successes",
    ["period"],
    "authentications",
    "Successful authentications."
);
spec!(
    AUTH_ATTEMPTS_BY_OS,
    "entra_external_id_authentication_attempts_by_os",
    ["period", "os"],
    "authentications",
    "Authentication attempts per operating system (capped by breakdowns.operating_systems)."
);
spec!(
    AUTH_SUCCESSES_BY_OS,
    "entra_external_id_authentication_successes_by_os",
    ["period", "os"],
    "authentications",
    "Successful authentications per operating system."
);
spec!(
    AUTH_ATTEMPTS_BY_COUNTRY,
    "entra_external_id_authentication_attempts_by_country",
    ["period", "country"],
    "authentications",
    "Authentication attempts per country (capped by breakdowns.countries)."
);
spec!(
    AUTH_SUCCESSES_BY_COUNTRY,
    "entra_external_id_authentication_successes_by_country",
    ["period", "country"],
    "authentications",
    "Successful authentications per country."
);
spec!(
    SUMMARY_ACTIVE_USERS,
    "entra_external_id_overview_active_users",
    ["period"],
    "summary",
    "Overview (daily/monthly summary): active users."
);
spec!(
    SUMMARY_AUTH_REQUESTS,
    "entra_external_id_overview_authentication_requests",
    ["period"],
    "summary",
    "Overview (daily/monthly summary): authentication requests."
);
spec!(
    SUMMARY_AUTH_COMPLETIONS,
    "entra_external_id_overview_authentication_completions",
    ["period"],
    "summary",
    "Overview (daily/monthly summary): completed authentications."
);
spec!(
    SUMMARY_SMS_REQUESTS,
    "entra_external_id_overview_sms_mfa_requests",
    ["period"],
    "summary",
    "Overview (daily/monthly summary): SMS MFA requests (securityTextRequests)."
);
spec!(
    SUMMARY_SMS_COMPLETIONS,
    "entra_external_id_overview_sms_mfa_completions",
    ["period"],
    "summary",
    "Overview (daily/monthly summary): completed SMS MFA (securityTextCompletions)."
);
spec!(
    SUMMARY_VOICE_REQUESTS,
    "entra_external_id_overview_voice_mfa_requests",
    ["period"],
    "summary",
    "Overview (daily/monthly summary): voice MFA requests (securityVoiceRequests)."
);
spec!(
    SUMMARY_VOICE_COMPLETIONS,
    "entra_external_id_overview_voice_mfa_completions",
    ["period"],
    "summary",
    "Overview (daily/monthly summary): completed voice MFA (securityVoiceCompletions)."
);

/// `entra_external_id_users`.
pub static USERS: MetricSpec = MetricSpec {
    name: "entra_external_id_users",
    kind: MetricKind::Gauge,
    help:
        "Users in the tenant on the latest complete day (Graph beta userInsights/daily/userCount).",
    labels: &["tenant"],
    source: "/beta/reports/userInsights/daily/userCount",
    permission: PERMISSION,
};

/// `entra_external_id_fact_timestamp_seconds`.
pub static FACT_TIMESTAMP: MetricSpec = MetricSpec {
    name: "entra_external_id_fact_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Midnight UTC of the day or month the entra_external_id_* values of a report describe: the latest complete period Graph returned (Graph beta userInsights/{daily|monthly}/*).",
    labels: &["tenant", "period", "report"],
    source: "/beta/reports/userInsights/{daily|monthly}/*",
    permission: PERMISSION,
};

/// Every family this collector emits.
pub static METRICS: &[&MetricSpec] = &[
    &ACTIVE_USERS,
    &ACTIVE_USERS_BY_APP,
    &INACTIVE_USERS,
    &INACTIVE_USERS_BY_APP,
    &SIGN_UPS,
    &SIGN_UPS_BY_OS,
    &REQUESTS,
    &MFA_ATTEMPTS,
    &MFA_SUCCESSES,
    &MFA_FAILURES,
    &AUTH_ATTEMPTS,
    &AUTH_SUCCESSES,
    &AUTH_ATTEMPTS_BY_OS,
    &AUTH_SUCCESSES_BY_OS,
    &AUTH_ATTEMPTS_BY_COUNTRY,
    &AUTH_SUCCESSES_BY_COUNTRY,
    &USERS,
    &SUMMARY_ACTIVE_USERS,
    &SUMMARY_AUTH_REQUESTS,
    &SUMMARY_AUTH_COMPLETIONS,
    &SUMMARY_SMS_REQUESTS,
    &SUMMARY_SMS_COMPLETIONS,
    &SUMMARY_VOICE_REQUESTS,
    &SUMMARY_VOICE_COMPLETIONS,
    &FACT_TIMESTAMP,
];

/// Daily or monthly granularity: the `period` label and the start of the current, incomplete
/// period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// `userInsights/daily/…`.
    Daily,
    /// `userInsights/monthly/…`; `factDate` is the first day of the month.
    Monthly,
}

impl Period {
    /// The `period` label value.
    pub fn label(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Monthly => "monthly",
        }
    }

    /// The first `factDate` of the current (incomplete) period at `now`: rows at or after it
    /// are still growing and are never served as current values.
    pub fn current_start(self, now: f64) -> String {
        let today = utc_date(now);
        match self {
            Period::Daily => today,
            Period::Monthly => format!("{}-01", &today[..7]),
        }
    }
}

/// A user-insight row that carries its `factDate`.
pub trait Row: DeserializeOwned {
    /// The row's `factDate`, if present.
    fn fact_date(&self) -> Option<&str>;
}

macro_rules! rows {
    ($($(#[$meta:meta])* struct $name:ident { $($(#[$fmeta:meta])* $field:ident: $ty:ty,)* })*) => {$(
        $(#[$meta])*
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            #[serde(default)]
            fact_date: Option<String>,
            $($(#[$fmeta])* #[serde(default)] pub $field: $ty,)*
        }
        impl Row for $name {
            fn fact_date(&self) -> Option<&str> {
                self.fact_date.as_deref()
            }
        }
    )*};
}

rows! {
    /// `activeUsersMetric` and `userSignUpMetric` (§1.3).
    struct CountRow {
        count: Option<f64>,
        app_id: Option<String>,
        os: Option<String>,
    }
    /// `dailyInactiveUsersMetric` / `monthlyInactiveUsersMetric` and their by-application twins.
    struct InactiveRow {
        app_id: Option<String>,
        #[serde(rename = "inactive1DayCount")]
        inactive_1d: Option<f64>,
        #[serde(rename = "inactive30DayCount")]
        inactive_30d: Option<f64>,
        #[serde(rename = "inactive60DayCount")]
        inactive_60d: Option<f64>,
        #[serde(rename = "inactive90DayCount")]
        inactive_90d: Option<f64>,
        inactive_calendar_month_count: Option<f64>,
    }
    /// `userRequestsMetric` (monthly only).
    struct RequestsRow {
        request_count: Option<f64>,
    }
    /// `mfaCompletionMetric`.
    struct MfaRow {
        mfa_method: Option<String>,
        attempts_count: Option<f64>,
        success_count: Option<f64>,
    }
    /// `authenticationsMetric`; its app id is the lower-case `appid` (Appendix B.1), unused here.
    struct AuthenticationRow {
        os: Option<String>,
        country: Option<String>,
        attempts_count: Option<f64>,
        success_count: Option<f64>,
    }
    /// `userCountMetric` (daily only).
    struct UserCountRow {
        count: Option<f64>,
    }
    /// `insightSummary`.
    struct SummaryRow {
        active_users: Option<f64>,
        authentication_requests: Option<f64>,
        authentication_completions: Option<f64>,
        security_text_requests: Option<f64>,
        security_text_completions: Option<f64>,
        security_voice_requests: Option<f64>,
        security_voice_completions: Option<f64>,
    }
}

/// Which complete periods a read keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Only the newest complete period: the live value.
    Latest,
    /// Every complete period: history for backfill.
    All,
}

/// Rows grouped by complete period while pages stream past. In [`Keep::Latest`] mode only the
/// newest period's rows are held, so history never accumulates in memory.
pub struct Periods<R> {
    /// First `factDate` of the current, incomplete period; rows at or after it are skipped.
    current_start: String,
    /// Latest only, or everything.
    keep: Keep,
    /// Rows by `factDate`.
    groups: BTreeMap<String, Vec<R>>,
}

impl<R: Row> Periods<R> {
    /// Keeps rows strictly before `current_start`.
    pub fn new(current_start: String, keep: Keep) -> Self {
        Periods {
            current_start,
            keep,
            groups: BTreeMap::new(),
        }
    }

    /// Offers one row.
    pub fn offer(&mut self, row: R) {
        let Some(date) = row.fact_date() else { return };
        // `YYYY-MM-DD` strings order like dates; anything else is not a date and is skipped.
        if parse_date(date).is_none() || date >= self.current_start.as_str() {
            return;
        }
        if self.keep == Keep::Latest {
            match self.groups.keys().next_back() {
                Some(newest) if newest.as_str() > date => return,
                Some(newest) if newest.as_str() < date => self.groups.clear(),
                _ => {}
            }
        }
        match self.groups.get_mut(date) {
            Some(rows) => rows.push(row),
            None => {
                self.groups.insert(date.to_owned(), vec![row]);
            }
        }
    }

    /// Each kept period's date (midnight UTC, Unix seconds) with its rows, oldest first.
    pub fn finish(self) -> Vec<(f64, Vec<R>)> {
        self.groups
            .into_iter()
            .filter_map(|(date, rows)| Some((parse_date(&date)?, rows)))
            .collect()
    }
}

/// The rows of one period's (daily or monthly) collections, grouped by complete period.
struct PeriodRows {
    active: Periods<CountRow>,
    inactive: Periods<InactiveRow>,
    inactive_by_app: Periods<InactiveRow>,
    sign_ups: Periods<CountRow>,
    /// Monthly only.
    requests: Periods<RequestsRow>,
    mfa: Periods<MfaRow>,
    auth: Periods<AuthenticationRow>,
    /// Daily only.
    user_count: Periods<UserCountRow>,
    summary: Periods<SummaryRow>,
}

impl PeriodRows {
    fn new(period: Period, now: f64, keep: Keep) -> Self {
        let start = period.current_start(now);
        PeriodRows {
            active: Periods::new(start.clone(), keep),
            inactive: Periods::new(start.clone(), keep),
            inactive_by_app: Periods::new(start.clone(), keep),
            sign_ups: Periods::new(start.clone(), keep),
            requests: Periods::new(start.clone(), keep),
            mfa: Periods::new(start.clone(), keep),
            auth: Periods::new(start.clone(), keep),
            user_count: Periods::new(start.clone(), keep),
            summary: Periods::new(start, keep),
        }
    }

    /// The batched reads of `period`'s collections into these rows, in the order a direct
    /// read used to go (so the first failure named is the same).
    fn gets(&mut self, period: Period) -> Vec<BatchGet<'_>> {
        fn get<'a, R: Row + Send + 'a>(
            endpoint: &'static Endpoint,
            into: &'a mut Periods<R>,
        ) -> BatchGet<'a> {
            BatchGet::new(endpoint, "", move |page: Vec<R>| {
                for row in page {
                    into.offer(row);
                }
            })
        }
        match period {
            Period::Daily => vec![
                get(&DAILY_ACTIVE_USERS, &mut self.active),
                get(&DAILY_INACTIVE_USERS, &mut self.inactive),
                get(&DAILY_INACTIVE_BY_APP, &mut self.inactive_by_app),
                get(&DAILY_SIGN_UPS, &mut self.sign_ups),
                get(&DAILY_MFA, &mut self.mfa),
                get(&DAILY_AUTHENTICATIONS, &mut self.auth),
                get(&DAILY_USER_COUNT, &mut self.user_count),
                get(&DAILY_SUMMARY, &mut self.summary),
            ],
            Period::Monthly => vec![
                get(&MONTHLY_ACTIVE_USERS, &mut self.active),
                get(&MONTHLY_INACTIVE_USERS, &mut self.inactive),
                get(&MONTHLY_INACTIVE_BY_APP, &mut self.inactive_by_app),
                get(&MONTHLY_SIGN_UPS, &mut self.sign_ups),
                get(&MONTHLY_REQUESTS, &mut self.requests),
                get(&MONTHLY_MFA, &mut self.mfa),
                get(&MONTHLY_AUTHENTICATIONS, &mut self.auth),
                get(&MONTHLY_SUMMARY, &mut self.summary),
            ],
        }
    }
}

/// Reads every daily and monthly collection — 16 small collections, one JSON batch (§9)
/// plus one more per further page — and groups the complete periods' rows.
async fn read_all(
    graph: &GraphClient,
    now: f64,
    keep: Keep,
) -> Result<(PeriodRows, PeriodRows), CollectError> {
    let mut daily = PeriodRows::new(Period::Daily, now, keep);
    let mut monthly = PeriodRows::new(Period::Monthly, now, keep);
    let mut gets = daily.gets(Period::Daily);
    gets.extend(monthly.gets(Period::Monthly));
    graph.for_each_page_batched(gets).await?;
    Ok((daily, monthly))
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> f64 {
    values.flatten().sum()
}

/// Attempts and successes of one breakdown value.
type Pair = (f64, f64);

fn add_pair(a: &mut Pair, b: Pair) {
    a.0 += b.0;
    a.1 += b.1;
}

/// The user-insights collector.
pub struct UserInsights {
    /// Caps on breakdown labels.
    limits: BreakdownLimits,
}

/// Families under construction: one set per period date when building history, one set in
/// all for the live snapshot.
struct Out {
    tenant: String,
    keep: Keep,
    /// Date of the rows being added (history only).
    at: Option<i64>,
    sets: BTreeMap<Option<i64>, HashMap<&'static str, Family>>,
}

impl Out {
    fn new(tenant: &str, keep: Keep) -> Self {
        Out {
            tenant: tenant.to_owned(),
            keep,
            at: None,
            sets: BTreeMap::new(),
        }
    }

    /// Starts adding the rows of the period at `ts`; records it as the report's fact date.
    fn period(&mut self, period: Period, report: &str, ts: f64) {
        match self.keep {
            Keep::Latest => self.gauge(&FACT_TIMESTAMP, &[period.label(), report], ts),
            Keep::All => self.at = Some(ts as i64),
        }
    }

    /// Adds a sample; `labels` excludes the tenant.
    fn gauge(&mut self, spec: &'static MetricSpec, labels: &[&str], value: f64) {
        let set = self.sets.entry(self.at).or_default();
        let family = set.entry(spec.name).or_insert_with(|| Family::new(spec));
        let all = std::iter::once(self.tenant.as_str()).chain(labels.iter().copied());
        family.gauge(all, value);
    }

    /// The live snapshot: every family, in [`METRICS`] order, empty ones included.
    fn finish(mut self) -> Vec<Family> {
        let mut set = self.sets.remove(&None).unwrap_or_default();
        METRICS
            .iter()
            .map(|s| set.remove(s.name).unwrap_or_else(|| Family::new(s)))
            .collect()
    }

    /// History: the families of each period date.
    fn finish_history(self) -> Vec<(f64, Vec<Family>)> {
        self.sets
            .into_iter()
            .filter_map(|(at, set)| Some((at? as f64, set.into_values().collect())))
            .collect()
    }
}

impl UserInsights {
    /// Turns one period's rows into `out`'s families.
    fn period(&self, period: Period, read: PeriodRows, out: &mut Out) {
        let p = period.label();
        for (ts, rows) in read.active.finish() {
            out.period(period, "active_users", ts);
            out.gauge(&ACTIVE_USERS, &[p], sum(rows.iter().map(|r| r.count)));
            let mut by_app: HashMap<String, f64> = HashMap::new();
            for r in &rows {
                *by_app
                    .entry(breakdown::label(r.app_id.as_deref()).to_owned())
                    .or_default() += r.count.unwrap_or(0.0);
            }
            for (app, v) in top_n_counts(by_app, self.limits.applications) {
                out.gauge(&ACTIVE_USERS_BY_APP, &[p, &app], v);
            }
        }

        for (ts, rows) in read.inactive.finish() {
            out.period(period, "inactive_users", ts);
            let mut totals: Vec<(&str, f64)> = Vec::new();
            for r in &rows {
                for (window, v) in window_slots(r)
                    .into_iter()
                    .filter_map(|(w, v)| v.map(|v| (w, v)))
                {
                    match totals.iter_mut().find(|(w, _)| *w == window) {
                        Some((_, t)) => *t += v,
                        None => totals.push((window, v)),
                    }
                }
            }
            for (window, v) in totals {
                out.gauge(&INACTIVE_USERS, &[p, window], v);
            }
        }

        for (ts, rows) in read.inactive_by_app.finish() {
            out.period(period, "inactive_users_by_application", ts);
            // Per app, a sum per window; None = the window never had a value for this app.
            let mut by_app: HashMap<String, [Option<f64>; 5]> = HashMap::new();
            for r in &rows {
                let slot = by_app
                    .entry(breakdown::label(r.app_id.as_deref()).to_owned())
                    .or_default();
                for (i, (_, v)) in window_slots(r).into_iter().enumerate() {
                    if let Some(v) = v {
                        *slot[i].get_or_insert(0.0) += v;
                    }
                }
            }
            let rank = |v: &[Option<f64>; 5]| v.iter().flatten().fold(0.0_f64, |a, b| a.max(*b));
            let merge = |a: &mut [Option<f64>; 5], b: [Option<f64>; 5]| {
                for (x, y) in a.iter_mut().zip(b) {
                    if let Some(y) = y {
                        *x.get_or_insert(0.0) += y;
                    }
                }
            };
            for (app, windows) in top_n(by_app, self.limits.applications, rank, merge) {
                for (i, v) in windows.into_iter().enumerate() {
                    if let Some(v) = v {
                        out.gauge(&INACTIVE_USERS_BY_APP, &[p, &app, WINDOWS[i]], v);
                    }
                }
            }
        }

        for (ts, rows) in read.sign_ups.finish() {
            out.period(period, "sign_ups", ts);
            out.gauge(&SIGN_UPS, &[p], sum(rows.iter().map(|r| r.count)));
            let mut by_os: HashMap<String, f64> = HashMap::new();
            for r in &rows {
                *by_os
                    .entry(breakdown::label(r.os.as_deref()).to_owned())
                    .or_default() += r.count.unwrap_or(0.0);
            }
            for (os, v) in top_n_counts(by_os, self.limits.operating_systems) {
                out.gauge(&SIGN_UPS_BY_OS, &[p, &os], v);
            }
        }

        if period == Period::Monthly {
            for (ts, rows) in read.requests.finish() {
                out.period(period, "requests", ts);
                out.gauge(&REQUESTS, &[p], sum(rows.iter().map(|r| r.request_count)));
            }
        }

        for (ts, rows) in read.mfa.finish() {
            out.period(period, "mfa_completions", ts);
            let mut by_method: HashMap<String, Pair> = HashMap::new();
            for r in &rows {
                let pair = (
                    r.attempts_count.unwrap_or(0.0),
                    r.success_count.unwrap_or(0.0),
                );
                add_pair(
                    by_method
                        .entry(breakdown::label(r.mfa_method.as_deref()).to_owned())
                        .or_default(),
                    pair,
                );
            }
            for (method, (attempts, successes)) in
                top_n(by_method, self.limits.methods, |v| v.0, add_pair)
            {
                out.gauge(&MFA_ATTEMPTS, &[p, &method], attempts);
                out.gauge(&MFA_SUCCESSES, &[p, &method], successes);
                out.gauge(&MFA_FAILURES, &[p, &method], attempts - successes);
            }
        }

        for (ts, rows) in read.auth.finish() {
            out.period(period, "authentications", ts);
            let mut total: Pair = (0.0, 0.0);
            let mut by_os: HashMap<String, Pair> = HashMap::new();
            let mut by_country: HashMap<String, Pair> = HashMap::new();
            for r in &rows {
                let pair = (
                    r.attempts_count.unwrap_or(0.0),
                    r.success_count.unwrap_or(0.0),
                );
                add_pair(&mut total, pair);
                add_pair(
                    by_os
                        .entry(breakdown::label(r.os.as_deref()).to_owned())
                        .or_default(),
                    pair,
                );
                add_pair(
                    by_country
                        .entry(breakdown::label(r.country.as_deref()).to_owned())
                        .or_default(),
                    pair,
                );
            }
            out.gauge(&AUTH_ATTEMPTS, &[p], total.0);
            out.gauge(&AUTH_SUCCESSES, &[p], total.1);
            for (os, (a, s)) in top_n(by_os, self.limits.operating_systems, |v| v.0, add_pair) {
                out.gauge(&AUTH_ATTEMPTS_BY_OS, &[p, &os], a);
                out.gauge(&AUTH_SUCCESSES_BY_OS, &[p, &os], s);
            }
            for (c, (a, s)) in top_n(by_country, self.limits.countries, |v| v.0, add_pair) {
                out.gauge(&AUTH_ATTEMPTS_BY_COUNTRY, &[p, &c], a);
                out.gauge(&AUTH_SUCCESSES_BY_COUNTRY, &[p, &c], s);
            }
        }

        if period == Period::Daily {
            for (ts, rows) in read.user_count.finish() {
                out.period(period, "user_count", ts);
                out.gauge(&USERS, &[], sum(rows.iter().map(|r| r.count)));
            }
        }

        for (ts, rows) in read.summary.finish() {
            out.period(period, "summary", ts);
            let columns: [SummaryColumn; 7] = [
                (&SUMMARY_ACTIVE_USERS, |r| r.active_users),
                (&SUMMARY_AUTH_REQUESTS, |r| r.authentication_requests),
                (&SUMMARY_AUTH_COMPLETIONS, |r| r.authentication_completions),
                (&SUMMARY_SMS_REQUESTS, |r| r.security_text_requests),
                (&SUMMARY_SMS_COMPLETIONS, |r| r.security_text_completions),
                (&SUMMARY_VOICE_REQUESTS, |r| r.security_voice_requests),
                (&SUMMARY_VOICE_COMPLETIONS, |r| r.security_voice_completions),
            ];
            for (spec, column) in columns {
                out.gauge(spec, &[p], sum(rows.iter().map(column)));
            }
        }
    }
}

impl UserInsights {
    /// A collector with these breakdown caps.
    pub fn new(limits: BreakdownLimits) -> Self {
        UserInsights { limits }
    }

    /// Every complete day and month Graph returns, each with the families the live collector
    /// would have served for it (without the fact timestamps): the history for backfill.
    pub async fn history(
        &self,
        graph: &GraphClient,
        now: f64,
    ) -> Result<Vec<(f64, Vec<Family>)>, CollectError> {
        let mut out = Out::new(graph.tenant(), Keep::All);
        let (daily, monthly) = read_all(graph, now, Keep::All).await?;
        self.period(Period::Daily, daily, &mut out);
        self.period(Period::Monthly, monthly, &mut out);
        Ok(out.finish_history())
    }
}

/// A summary family and the row field it sums.
type SummaryColumn = (&'static MetricSpec, fn(&SummaryRow) -> Option<f64>);

/// Window labels in the order of [`window_slots`].
const WINDOWS: [&str; 5] = ["1d", "30d", "60d", "90d", "calendar_month"];

/// Every window of a row with its value, `None` where the row has none.
fn window_slots(r: &InactiveRow) -> [(&'static str, Option<f64>); 5] {
    [
        (WINDOWS[0], r.inactive_1d),
        (WINDOWS[1], r.inactive_30d),
        (WINDOWS[2], r.inactive_60d),
        (WINDOWS[3], r.inactive_90d),
        (WINDOWS[4], r.inactive_calendar_month_count),
    ]
}

impl Collector for UserInsights {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let now = unix_now();
            let mut out = Out::new(graph.tenant(), Keep::Latest);
            let (daily, monthly) = read_all(graph, now, Keep::Latest).await?;
            self.period(Period::Daily, daily, &mut out);
            self.period(Period::Monthly, monthly, &mut out);
            Ok(out.finish())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: &str, count: f64) -> CountRow {
        serde_json::from_value(serde_json::json!({"id": "1", "factDate": date, "count": count}))
            .unwrap()
    }

    #[test]
    fn latest_complete_period_skips_today_and_keeps_only_the_newest_day() {
        let mut latest = Periods::new("2025-06-03".to_owned(), Keep::Latest);
        for r in [
            row("2025-06-01", 1.0),
            row("2025-06-03", 100.0), // today, still growing
            row("2025-06-02", 2.0),
            row("2025-05-31", 4.0),
            row("2025-06-02", 3.0),
            row("not-a-date", 9.0),
        ] {
            latest.offer(r);
        }
        let mut groups = latest.finish();
        assert_eq!(groups.len(), 1);
        let (ts, rows) = groups.pop().unwrap();
        assert_eq!(ts, parse_date("2025-06-02").unwrap());
        assert_eq!(sum(rows.iter().map(|r| r.count)), 5.0);
    }

    #[test]
    fn history_keeps_every_complete_day_oldest_first() {
        let mut all = Periods::new("2025-06-03".to_owned(), Keep::All);
        for r in [
            row("2025-06-02", 2.0),
            row("2025-06-03", 9.0),
            row("2025-06-01", 1.0),
        ] {
            all.offer(r);
        }
        let groups = all.finish();
        let dates: Vec<f64> = groups.iter().map(|(ts, _)| *ts).collect();
        assert_eq!(
            dates,
            vec![
                parse_date("2025-06-01").unwrap(),
                parse_date("2025-06-02").unwrap()
            ]
        );
    }

    #[test]
    fn monthly_current_period_starts_on_the_first() {
        let now = parse_date("2025-06-17").unwrap() + 3600.0;
        assert_eq!(Period::Monthly.current_start(now), "2025-06-01");
        assert_eq!(Period::Daily.current_start(now), "2025-06-17");
    }

    #[test]
    fn authentications_read_the_lower_case_appid_row() {
        // Appendix B.1: `appid`, and nulls in every optional dimension.
        let r: AuthenticationRow = serde_json::from_str(
            r#"{"id":"13","factDate":"2025-06-02","appid":"3f0c","os":"iOS","country":null,
                "browser":null,"attemptsCount":57,"successCount":55}"#,
        )
        .unwrap();
        assert_eq!(r.attempts_count, Some(57.0));
        assert_eq!(breakdown::label(r.country.as_deref()), "unknown");
    }

    #[test]
    fn inactive_rows_give_only_the_windows_they_have() {
        let r: InactiveRow = serde_json::from_str(
            r#"{"id":"7","factDate":"2025-05-01","appId":null,"inactiveCalendarMonthCount":1204,
                "inactive30DayCount":1310,"inactive60DayCount":980,"inactive90DayCount":null}"#,
        )
        .unwrap();
        let got: Vec<_> = window_slots(&r)
            .into_iter()
            .filter_map(|(w, v)| v.map(|v| (w, v)))
            .collect();
        assert_eq!(
            got,
            vec![("30d", 1310.0), ("60d", 980.0), ("calendar_month", 1204.0)]
        );
    }
}
