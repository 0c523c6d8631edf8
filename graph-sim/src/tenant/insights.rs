//! The External ID user-insight model (reference §1): daily and monthly activity of the
//! tenant's customer-facing apps, as `/beta/reports/userInsights/{daily|monthly}/{metric}`
//! serves it and as the ground truth sums it.
//!
//! Nothing is stored per day. Every value is a pure function of the seed, the calendar day and
//! the row's dimensions (each draw comes from its own [`Rng::derive`] stream), so history stays
//! the same from one request to the next and a long-running demo rolls over midnight without
//! rewriting the past:
//!
//! * the customer-facing apps are the first [`MAX_CUSTOMER_APPS`] app registrations, with their
//!   real `appId` and display name so the rows join with `/applications`;
//! * a *layout* fixes, once per tenant, the dimension combinations (cells) each report has and
//!   their attributes (country, language, browser, …, some null, as §1.3 allows);
//! * a day's flows (active users, authentications, sign-ups, MFA, requests) follow the tenant's
//!   user count, a weekly pattern, per-app popularity and per-day noise; a cell with nothing on
//!   a full day has no row that day;
//! * the current UTC day is partial: its flows are the full day's scaled by the fraction of the
//!   day elapsed (the trap an exporter must avoid by reading the latest *complete* period);
//! * monthly rows sum the month's days where that is meaningful; active users are unique users
//!   and are drawn separately (never below the month's busiest day); stocks (user counts,
//!   inactive users, registered MFA users) are taken at the month's last served day.
//!
//! Retention and the aggregation lag come from the UNCONFIRMED [`crate::Quirks`] fields
//! `insights_daily_retention_days`, `insights_monthly_retention_months` and
//! `insights_lag_hours`. Rows are listed newest `factDate` first, then in layout order; `id`s
//! count from 1 within each `factDate`, so they repeat across dates (Appendix B.11).

use std::fmt;

use super::Application;
use crate::config::SimConfig;
use crate::rng::Rng;
use crate::time::{UtcTime, DAY};

/// How many app registrations count as customer-facing apps (the brief's "first eight").
pub const MAX_CUSTOMER_APPS: usize = 8;

/// `os` values of the lower-case-style reports (§1.3 examples `"Windows"`, `"MacOs"`), with
/// their share of users. `None` rows exist too: clients whose platform was not recognised.
const OS_SHARES: &[(Option<&str>, f64)] = &[
    (Some("Windows"), 0.32),
    (Some("Android"), 0.26),
    (Some("iOS"), 0.22),
    (Some("MacOs"), 0.12),
    (Some("Linux"), 0.05),
    (None, 0.03),
];

/// ISO country codes the customers sign in from, with their weight.
const COUNTRIES: &[(&str, u32)] = &[
    ("US", 30),
    ("DE", 10),
    ("FR", 8),
    ("GB", 9),
    ("IL", 4),
    ("IN", 9),
    ("BR", 6),
    ("JP", 5),
    ("CA", 5),
    ("AU", 3),
    ("NL", 3),
    ("ES", 3),
    ("IT", 2),
    ("MX", 2),
    ("SE", 1),
];

/// The usual language of each country in [`COUNTRIES`] (same order).
const LANGUAGES: &[&str] = &[
    "en-US", "de-DE", "fr-FR", "en-GB", "he-IL", "hi-IN", "pt-BR", "ja-JP", "en-CA", "en-AU",
    "nl-NL", "es-ES", "it-IT", "es-MX", "sv-SE",
];

/// `browser` values (§1.6: vocabulary UNCONFIRMED, invented).
const BROWSERS: &[(&str, u32)] = &[
    ("Chrome", 45),
    ("Safari", 25),
    ("Edge", 18),
    ("Firefox", 8),
    ("Samsung Internet", 4),
];

/// `authFlow` values (§1.6: vocabulary UNCONFIRMED, invented).
const AUTH_FLOWS: &[(&str, u32)] = &[("signIn", 70), ("signUp", 15), ("passwordReset", 5)];

/// `identityProvider` values (§1.6: vocabulary UNCONFIRMED, invented; the reference example
/// uses `"Email OTP"`).
const IDENTITY_PROVIDERS: &[(&str, u32)] = &[
    ("Email OTP", 40),
    ("Email with password", 30),
    ("Google", 15),
    ("Facebook", 8),
    ("Apple", 7),
];

/// `mfaMethod` values (§1.3: a free string, values UNCONFIRMED; likely `"Sms"`, `"Email"`) and
/// their share of MFA attempts. `Sms` and `Voice` feed the summary's `securityText*` and
/// `securityVoice*` counters.
pub const MFA_METHODS: &[(&str, f64)] = &[("Sms", 0.45), ("Email", 0.40), ("Voice", 0.15)];

/// `mfaType` values of `monthly/mfaRegisteredUsers` (§1.3 `mfaUserCountMetric`) and the share
/// of the tenant's users registered with each.
const MFA_TYPES: &[(&str, f64)] = &[
    ("eotp", 0.38),
    ("oneWaySms", 0.21),
    ("twoWayVoiceMobile", 0.03),
];

/// Share of the tenant's users active on an average weekday (before platform double counting).
const DAILY_ACTIVE_SHARE: f64 = 0.22;
/// Authentication attempts per active user and day.
const AUTHENTICATIONS_PER_ACTIVE_USER: f64 = 2.4;
/// Sign-ups per tenant user and day.
const SIGN_UP_SHARE: f64 = 0.012;
/// MFA attempts per authentication attempt.
const MFA_PER_AUTHENTICATION: f64 = 0.35;
/// Token requests (`monthly/requests`) per authentication attempt: refreshes included.
const REQUESTS_PER_AUTHENTICATION: f64 = 1.7;
/// Share of the platform-by-platform active counts that are distinct users (a user active on
/// two platforms is counted twice in `activeUsers`, §1.3).
const DISTINCT_ACTIVE_SHARE: f64 = 0.8;
/// Share of the tenant's users who have used each customer app, spread by popularity.
const APP_USER_SHARE: f64 = 0.9;
/// Daily growth of the user count, relative to the tenant's "now".
const USER_GROWTH_PER_DAY: f64 = 0.0005;
/// Activity by weekday, Monday first: consumer apps are quieter at weekends.
const WEEKDAY_FACTOR: [f64; 7] = [1.05, 1.08, 1.07, 1.04, 0.98, 0.78, 0.74];

/// Random streams; far from the directory's (1-5) so the two never share one.
const STREAM_APP: u64 = 0x1_5100;
/// See [`STREAM_APP`]: per-cell attributes of the layout.
const STREAM_LAYOUT: u64 = 0x1_5101;
/// See [`STREAM_APP`]: tenant-wide per-day draws.
const STREAM_DAY: u64 = 0x1_5102;
/// See [`STREAM_APP`]: per-day, per-cell draws of each flow (offset by the flow's number).
const STREAM_CELL_DAY: u64 = 0x1_5110;
/// See [`STREAM_APP`]: per-month, per-cell draws.
const STREAM_CELL_MONTH: u64 = 0x1_5120;
/// See [`STREAM_APP`]: per-day, per-app draws of inactive users.
const STREAM_APP_DAY: u64 = 0x1_5130;

/// A UTC calendar day, as days since 1970-01-01: the `Edm.Date` of `factDate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i64);

impl Day {
    /// The day an instant (Unix seconds) falls on.
    pub fn of_unix(secs: f64) -> Self {
        Self((secs / DAY as f64).floor() as i64)
    }

    /// The day `y-m-d`, if that date exists.
    pub fn from_ymd(y: i64, m: u32, d: u32) -> Option<Self> {
        let days_in_month = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            2 => 28,
            _ => return None,
        };
        if d == 0 || d > days_in_month {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = i64::from((m + 9) % 12);
        let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Self(era * 146_097 + doe - 719_468))
    }

    /// Parses an `Edm.Date` literal, `YYYY-MM-DD` exactly.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |s: &str| {
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let y = digits(text.get(0..4)?)?;
        let m = digits(text.get(5..7)?)?;
        let d = digits(text.get(8..10)?)?;
        Self::from_ymd(i64::from(y), m, d)
    }

    /// `(year, month, day)`.
    pub fn ymd(self) -> (i64, u32, u32) {
        UtcTime::from_unix(self.unix_seconds(), 0).date()
    }

    /// Unix seconds of this day's midnight UTC.
    pub fn unix_seconds(self) -> i64 {
        self.0.saturating_mul(DAY)
    }

    /// Months since year 0 (`year * 12 + month - 1`), to step through months.
    pub fn month_index(self) -> i64 {
        let (y, m, _) = self.ymd();
        y * 12 + i64::from(m) - 1
    }

    /// The first day of the month with index `index` (see [`Day::month_index`]).
    pub fn first_of_month_index(index: i64) -> Self {
        let y = index.div_euclid(12);
        let m = index.rem_euclid(12) as u32 + 1;
        Self::from_ymd(y, m, 1).unwrap_or(Self(0))
    }

    /// The first day of this day's month.
    pub fn first_of_month(self) -> Self {
        Self::first_of_month_index(self.month_index())
    }

    /// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
    fn weekday(self) -> usize {
        (self.0 + 3).rem_euclid(7) as usize
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// The granularity of a user-insight collection (`daily/…` or `monthly/…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// One row set per UTC day.
    Daily,
    /// One row set per calendar month, `factDate` = the month's first day.
    Monthly,
}

impl Period {
    /// The path segment and metric label value: `daily` or `monthly`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        }
    }

    /// Both periods, daily first.
    pub const ALL: [Period; 2] = [Period::Daily, Period::Monthly];
}

/// A customer-facing app of the External ID tenant.
#[derive(Clone, Debug, PartialEq)]
pub struct InsightsApp {
    /// Its `appId`, as in `/applications`.
    pub app_id: String,
    /// Its display name, reported as `appName` by `activeUsers`.
    pub display_name: String,
    /// Share of the tenant's activity it draws (the apps' shares sum to 1).
    pub share: f64,
}

/// One `activeUsersMetric` row.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveUsersRow {
    /// `id`: position within its `factDate`, from 1.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `appId`.
    pub app_id: Option<String>,
    /// `appName`.
    pub app_name: Option<String>,
    /// `country`.
    pub country: Option<&'static str>,
    /// `language`.
    pub language: Option<&'static str>,
    /// `os`.
    pub os: Option<&'static str>,
    /// `count`.
    pub count: u64,
}

/// One `authenticationsMetric` row (the lower-case `appid` one, Appendix B.1).
#[derive(Clone, Debug, PartialEq)]
pub struct AuthenticationsRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `appid`.
    pub app_id: Option<String>,
    /// `os`.
    pub os: Option<&'static str>,
    /// `country`.
    pub country: Option<&'static str>,
    /// `browser`.
    pub browser: Option<&'static str>,
    /// `authFlow`.
    pub auth_flow: Option<&'static str>,
    /// `identityProvider`.
    pub identity_provider: Option<&'static str>,
    /// `language`.
    pub language: Option<&'static str>,
    /// `attemptsCount`.
    pub attempts: u64,
    /// `successCount` (never above `attemptsCount`).
    pub successes: u64,
}

/// One `userSignUpMetric` row.
#[derive(Clone, Debug, PartialEq)]
pub struct SignUpsRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `appId`.
    pub app_id: Option<String>,
    /// `os`.
    pub os: Option<&'static str>,
    /// `browser`.
    pub browser: Option<&'static str>,
    /// `country`.
    pub country: Option<&'static str>,
    /// `identityProvider`.
    pub identity_provider: Option<&'static str>,
    /// `language`.
    pub language: Option<&'static str>,
    /// `count`.
    pub count: u64,
}

/// One `mfaCompletionMetric` row.
#[derive(Clone, Debug, PartialEq)]
pub struct MfaCompletionsRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `appId`.
    pub app_id: Option<String>,
    /// `mfaMethod`.
    pub mfa_method: Option<&'static str>,
    /// `os`.
    pub os: Option<&'static str>,
    /// `country`.
    pub country: Option<&'static str>,
    /// `identityProvider`.
    pub identity_provider: Option<&'static str>,
    /// `language`.
    pub language: Option<&'static str>,
    /// `attemptsCount`.
    pub attempts: u64,
    /// `successCount` (never above `attemptsCount`).
    pub successes: u64,
}

/// One `userRequestsMetric` row (monthly only).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestsRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `appId`.
    pub app_id: Option<String>,
    /// `browser`.
    pub browser: Option<&'static str>,
    /// `country`.
    pub country: Option<&'static str>,
    /// `identityProvider`.
    pub identity_provider: Option<&'static str>,
    /// `language`.
    pub language: Option<&'static str>,
    /// `requestCount`.
    pub request_count: u64,
}

/// One `daily…`/`monthly…` `InactiveUsersMetric` or `…InactiveUsersByApplicationMetric` row.
#[derive(Clone, Debug, PartialEq)]
pub struct InactiveUsersRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `appId`: null on `inactiveUsers`, the app on `inactiveUsersByApplication`.
    pub app_id: Option<String>,
    /// `inactive1DayCount` (daily) or `inactiveCalendarMonthCount` (monthly).
    pub inactive_period: Option<u64>,
    /// `inactive30DayCount`.
    pub inactive_30_days: Option<u64>,
    /// `inactive60DayCount`.
    pub inactive_60_days: Option<u64>,
    /// `inactive90DayCount` (null on the newest served date: not computed yet).
    pub inactive_90_days: Option<u64>,
}

/// One `userCountMetric` row (daily only).
#[derive(Clone, Debug, PartialEq)]
pub struct UserCountRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `language` (always null here).
    pub language: Option<&'static str>,
    /// `count`: users in the tenant.
    pub count: u64,
}

/// One `insightSummary` row.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `appId`.
    pub app_id: String,
    /// `os`, upper case as in the doc example (`"WINDOWS"`, `"MACOS"`, `"IOS"`, …).
    pub os: String,
    /// `activeUsers`.
    pub active_users: u64,
    /// `authenticationRequests`.
    pub authentication_requests: u64,
    /// `authenticationCompletions`.
    pub authentication_completions: u64,
    /// `securityTextRequests` (SMS MFA).
    pub security_text_requests: u64,
    /// `securityTextCompletions`.
    pub security_text_completions: u64,
    /// `securityVoiceRequests` (voice MFA).
    pub security_voice_requests: u64,
    /// `securityVoiceCompletions`.
    pub security_voice_completions: u64,
}

/// One `mfaTelecomFraudMetric` row (daily only, undocumented, §1.3).
#[derive(Clone, Debug, PartialEq)]
pub struct MfaTelecomFraudRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `captchaShownUserCount`.
    pub captcha_shown_user_count: Option<u64>,
    /// `captchaSuccessCount`.
    pub captcha_success_count: Option<u64>,
    /// `captchaFailureCount`.
    pub captcha_failure_count: Option<u64>,
    /// `captchaNotTriggeredUserCount`.
    pub captcha_not_triggered_user_count: Option<u64>,
    /// `telecomBlockedUserCount`.
    pub telecom_blocked_user_count: Option<u64>,
}

/// One `mfaUserCountMetric` row (monthly `mfaRegisteredUsers` only, undocumented, §1.3).
#[derive(Clone, Debug, PartialEq)]
pub struct MfaRegisteredUsersRow {
    /// `id`.
    pub id: u32,
    /// `factDate`.
    pub fact_date: Day,
    /// `mfaType`.
    pub mfa_type: &'static str,
    /// `count`.
    pub count: u64,
}

/// Every user-insight row of one period at one instant, newest `factDate` first. Collections
/// the period does not have (`daily` requests, `monthly` userCount, …) are empty.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InsightRows {
    /// `activeUsers`.
    pub active_users: Vec<ActiveUsersRow>,
    /// `authentications`.
    pub authentications: Vec<AuthenticationsRow>,
    /// `inactiveUsers`.
    pub inactive_users: Vec<InactiveUsersRow>,
    /// `inactiveUsersByApplication`.
    pub inactive_users_by_application: Vec<InactiveUsersRow>,
    /// `mfaCompletions`.
    pub mfa_completions: Vec<MfaCompletionsRow>,
    /// `mfaTelecomFraud` (daily only).
    pub mfa_telecom_fraud: Vec<MfaTelecomFraudRow>,
    /// `mfaRegisteredUsers` (monthly only).
    pub mfa_registered_users: Vec<MfaRegisteredUsersRow>,
    /// `requests` (monthly only).
    pub requests: Vec<RequestsRow>,
    /// `signUps`.
    pub sign_ups: Vec<SignUpsRow>,
    /// `summary`.
    pub summary: Vec<SummaryRow>,
    /// `userCount` (daily only).
    pub user_count: Vec<UserCountRow>,
}

/// Which dates are served at an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Availability {
    /// The current UTC day.
    pub today: Day,
    /// The newest day with rows (today when the lag is 0, else the newest day whose end is at
    /// least the lag in the past).
    pub last: Day,
    /// How much of `last` is in its rows: the elapsed fraction of today, else 1.
    pub last_fraction: f64,
    /// The oldest day with daily rows.
    pub first_daily: Day,
    /// Month index ([`Day::month_index`]) of the oldest month with monthly rows.
    pub first_month: i64,
}

impl Availability {
    /// The days with daily rows, newest first.
    pub fn daily_days(&self) -> impl Iterator<Item = Day> {
        let (first, last) = (self.first_daily.0, self.last.0);
        (first..=last).rev().map(Day)
    }

    /// The months with monthly rows as first days, newest first.
    pub fn months(&self) -> impl Iterator<Item = Day> {
        let (first, last) = (self.first_month, self.last.month_index());
        (first..=last).rev().map(Day::first_of_month_index)
    }

    /// The first day of the current period: rows strictly before it are complete.
    pub fn current_period_start(&self, period: Period) -> Day {
        match period {
            Period::Daily => self.today,
            Period::Monthly => self.today.first_of_month(),
        }
    }
}

/// Attributes shared by every cell kind: where the traffic comes from.
#[derive(Clone, Debug, PartialEq)]
struct Attributes {
    /// `country`.
    country: Option<&'static str>,
    /// `language`.
    language: Option<&'static str>,
    /// `browser`.
    browser: Option<&'static str>,
    /// `authFlow`.
    auth_flow: Option<&'static str>,
    /// `identityProvider`.
    identity_provider: Option<&'static str>,
}

/// A dimension combination of one report, fixed per tenant.
#[derive(Clone, Debug, PartialEq)]
struct Cell {
    /// Index into the customer apps.
    app: usize,
    /// `os` (lower-case-style vocabulary), `None` for unrecognised platforms.
    os: Option<&'static str>,
    /// `mfaMethod` (MFA cells only).
    method: Option<&'static str>,
    /// Whether `appName` is reported (activeUsers only; sometimes null, §1.3).
    named: bool,
    /// The other dimensions.
    attrs: Attributes,
    /// Expected share of the report's tenant-wide daily total.
    weight: f64,
    /// Success rate of attempts (authentications, MFA).
    success_rate: f64,
}

/// The cells of every report.
#[derive(Clone, Debug, Default, PartialEq)]
struct Layout {
    /// `activeUsers`, `signUps`: one per (app, os).
    app_os: Vec<Cell>,
    /// `authentications`: a few countries per (app, os).
    authentications: Vec<Cell>,
    /// `mfaCompletions`: one per (app, method, os).
    mfa: Vec<Cell>,
    /// `requests`: one per app.
    requests: Vec<Cell>,
    /// `signUps` attributes, one per (app, os), parallel to `app_os`.
    sign_ups: Vec<Cell>,
}

/// The user-insight model of a tenant: a pure function of the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct UserInsights {
    /// Seed of every draw.
    pub seed: u64,
    /// Whether the tenant is an External ID tenant; if not, there are no rows (§1.1).
    pub external_id: bool,
    /// The tenant's user count at `anchor`.
    pub users: u64,
    /// The tenant's "now" (day): the user count equals `users` there and grows slowly.
    pub anchor: Day,
    /// Days of daily rows, today included.
    pub daily_retention_days: u32,
    /// Months of monthly rows, the current month included.
    pub monthly_retention_months: u32,
    /// Hours after a day ends before its rows appear.
    pub lag_hours: u32,
    /// The customer-facing apps.
    pub apps: Vec<InsightsApp>,
    /// Cells of every report.
    layout: Layout,
}

/// Flows of one day (or month), parallel to the layout's cells; `None` = no row.
#[derive(Clone, Debug, Default, PartialEq)]
struct Flows {
    /// Per `app_os` cell: active users.
    active: Vec<Option<u64>>,
    /// Per `app_os` cell: sign-ups.
    sign_ups: Vec<Option<u64>>,
    /// Per authentications cell: (attempts, successes).
    authentications: Vec<Option<(u64, u64)>>,
    /// Per MFA cell: (attempts, successes).
    mfa: Vec<Option<(u64, u64)>>,
    /// Per app: requests.
    requests: Vec<Option<u64>>,
}

/// Adds `b` into `a`, cell by cell (`None` + `Some(x)` = `Some(x)`).
fn add_into<T: Copy + std::ops::Add<Output = T>>(a: &mut [Option<T>], b: &[Option<T>]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x = match (*x, *y) {
            (Some(p), Some(q)) => Some(p + q),
            (p, q) => p.or(q),
        };
    }
}

/// Adds two (attempts, successes) pairs.
fn add_pair(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    (a.0 + b.0, a.1 + b.1)
}

impl Flows {
    /// The flows scaled to a fraction of the day (rows stay: a partial day keeps its row set).
    fn scaled(mut self, fraction: f64) -> Self {
        if fraction >= 1.0 {
            return self;
        }
        let f = fraction.max(0.0);
        let s = |v: u64| (v as f64 * f).floor() as u64;
        for v in self
            .active
            .iter_mut()
            .chain(self.sign_ups.iter_mut())
            .chain(self.requests.iter_mut())
            .flatten()
        {
            *v = s(*v);
        }
        for (a, ok) in self
            .authentications
            .iter_mut()
            .chain(self.mfa.iter_mut())
            .flatten()
        {
            // floor keeps successes <= attempts.
            *a = s(*a);
            *ok = s(*ok);
        }
        self
    }

    /// Adds another day's flows.
    fn add(&mut self, other: &Flows) {
        add_into(&mut self.active, &other.active);
        add_into(&mut self.sign_ups, &other.sign_ups);
        add_into(&mut self.requests, &other.requests);
        for (x, y) in self
            .authentications
            .iter_mut()
            .zip(&other.authentications)
            .chain(self.mfa.iter_mut().zip(&other.mfa))
        {
            *x = match (*x, *y) {
                (Some(p), Some(q)) => Some(add_pair(p, q)),
                (p, q) => p.or(q),
            };
        }
    }
}

/// A day's flows and the stocks that go with them.
#[derive(Clone, Debug)]
struct DayFacts {
    /// The day.
    day: Day,
    /// Users in the tenant.
    user_count: u64,
    /// Flows (already scaled when the day is partial).
    flows: Flows,
}

/// Rounds `x` up or down at random so that sums of many small values stay unbiased.
fn stochastic_round(x: f64, u: f64) -> u64 {
    (x.max(0.0) + u).floor() as u64
}

/// `u` mapped to `[lo, hi)`.
fn between(u: f64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * u
}

/// A weighted pick, or `None` with probability `null_share`.
fn maybe_pick<T: Copy>(rng: &mut Rng, table: &[(T, u32)], null_share: f64) -> Option<T> {
    if rng.chance(null_share) {
        None
    } else {
        rng.weighted(table)
    }
}

/// The usual language of `country` (an entry of [`COUNTRIES`]).
fn language_of(country: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .position(|(c, _)| *c == country)
        .and_then(|i| LANGUAGES.get(i).copied())
}

/// Random attributes of a cell, some null; `country` given when the cell has one by design.
fn attributes(rng: &mut Rng, country: Option<Option<&'static str>>) -> Attributes {
    let country = country.unwrap_or_else(|| maybe_pick(rng, COUNTRIES, 0.08));
    // Mostly the country's language, sometimes English, sometimes unknown.
    let language = match country {
        Some(c) if rng.chance(0.85) => language_of(c),
        Some(_) if rng.chance(0.5) => Some("en-US"),
        _ => None,
    };
    Attributes {
        country,
        language,
        browser: maybe_pick(rng, BROWSERS, 0.1),
        auth_flow: maybe_pick(rng, AUTH_FLOWS, 0.1),
        identity_provider: maybe_pick(rng, IDENTITY_PROVIDERS, 0.1),
    }
}

impl UserInsights {
    /// The model of the tenant described by `config`, whose app registrations are
    /// `applications`.
    pub fn new(config: &SimConfig, applications: &[Application]) -> Self {
        let customer = &applications[..applications.len().min(MAX_CUSTOMER_APPS)];
        let raw: Vec<f64> = (0..customer.len())
            .map(|i| {
                let mut rng = Rng::derive(config.seed, STREAM_APP, i as u64);
                // Zipf-like popularity with some jitter: the first app is the main site.
                (1.0 / (i as f64 + 1.0)).powf(0.9) * between(rng.next_f64(), 0.7, 1.3)
            })
            .collect();
        let total: f64 = raw.iter().sum();
        let apps = customer
            .iter()
            .zip(&raw)
            .map(|(a, w)| InsightsApp {
                app_id: a.app_id.clone(),
                display_name: a.display_name.clone(),
                share: if total > 0.0 { w / total } else { 0.0 },
            })
            .collect::<Vec<_>>();
        let anchor = Day::of_unix(UtcTime::from_system_time(config.now).as_f64());
        let q = &config.quirks;
        Self {
            seed: config.seed,
            external_id: config.external_id,
            users: config.users,
            anchor,
            daily_retention_days: q.insights_daily_retention_days,
            monthly_retention_months: q.insights_monthly_retention_months,
            lag_hours: q.insights_lag_hours,
            layout: layout(config.seed, &apps),
            apps,
        }
    }

    /// Which dates are served at `at_unix_seconds`.
    pub fn availability(&self, at_unix_seconds: f64) -> Availability {
        let today = Day::of_unix(at_unix_seconds);
        let (last, last_fraction) = if self.lag_hours == 0 {
            let elapsed = at_unix_seconds - today.unix_seconds() as f64;
            (today, (elapsed / DAY as f64).clamp(0.0, 1.0))
        } else {
            // The newest day whose end lies at least the lag in the past.
            let shifted = at_unix_seconds - f64::from(self.lag_hours) * 3_600.0;
            (Day(Day::of_unix(shifted).0 - 1), 1.0)
        };
        let days = i64::from(self.daily_retention_days);
        let months = i64::from(self.monthly_retention_months);
        Availability {
            today,
            last,
            last_fraction,
            // With no retention the range is empty (first after last).
            first_daily: Day(today.0 - days + 1),
            first_month: today.month_index() - months + 1,
        }
    }

    /// Users in the tenant on `day`: `users` at the tenant's "now", growing slowly.
    pub fn user_count(&self, day: Day) -> u64 {
        let growth = (1.0 + USER_GROWTH_PER_DAY * (day.0 - self.anchor.0) as f64).clamp(0.5, 1.5);
        (self.users as f64 * growth).round() as u64
    }

    /// One draw in `[0, 1)` for `(stream, day, index)`.
    fn draw(&self, stream: u64, day: Day, index: u64) -> f64 {
        Rng::derive(self.seed, stream, (day.0 as u64).wrapping_shl(24) ^ index).next_f64()
    }

    /// The tenant-wide activity level of a full `day`, in users: the user count times the
    /// weekday factor and a little noise.
    fn level(&self, day: Day) -> f64 {
        let noise = between(self.draw(STREAM_DAY, day, 0), 0.92, 1.08);
        self.user_count(day) as f64 * WEEKDAY_FACTOR[day.weekday()] * noise
    }

    /// A full day's flows (rows with nothing in them on that day are `None`).
    fn full_day(&self, day: Day) -> Flows {
        let level = self.level(day);
        let l = &self.layout;
        // Noise and rounding of one cell: (stream offset, cell index) → (noise, rounding u).
        let noisy = |flow: u64, i: usize, expected: f64| {
            let mut rng = Rng::derive(
                self.seed,
                STREAM_CELL_DAY + flow,
                (day.0 as u64).wrapping_shl(24) ^ i as u64,
            );
            let x = expected * between(rng.next_f64(), 0.8, 1.2);
            let v = stochastic_round(x, rng.next_f64());
            let rate = between(rng.next_f64(), -0.02, 0.02);
            (v, rate)
        };
        let pair = |flow: u64, i: usize, c: &Cell, expected: f64| {
            let (attempts, jitter) = noisy(flow, i, expected);
            let rate = (c.success_rate + jitter).clamp(0.0, 1.0);
            let successes = ((attempts as f64 * rate).round() as u64).min(attempts);
            (attempts > 0).then_some((attempts, successes))
        };
        let active_total = level * DAILY_ACTIVE_SHARE;
        let auth_total = active_total * AUTHENTICATIONS_PER_ACTIVE_USER;
        Flows {
            active: l
                .app_os
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let (v, _) = noisy(0, i, active_total * c.weight);
                    (v > 0).then_some(v)
                })
                .collect(),
            sign_ups: l
                .sign_ups
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let (v, _) = noisy(1, i, level * SIGN_UP_SHARE * c.weight);
                    (v > 0).then_some(v)
                })
                .collect(),
            authentications: l
                .authentications
                .iter()
                .enumerate()
                .map(|(i, c)| pair(2, i, c, auth_total * c.weight))
                .collect(),
            mfa: l
                .mfa
                .iter()
                .enumerate()
                .map(|(i, c)| pair(3, i, c, auth_total * MFA_PER_AUTHENTICATION * c.weight))
                .collect(),
            requests: l
                .requests
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let (v, _) = noisy(4, i, auth_total * REQUESTS_PER_AUTHENTICATION * c.weight);
                    (v > 0).then_some(v)
                })
                .collect(),
        }
    }

    /// The facts of `day` as served under `availability` (partial when it is the last day
    /// and that day is not over).
    fn day_facts(&self, day: Day, availability: &Availability) -> DayFacts {
        let flows = self.full_day(day);
        let flows = if day == availability.last {
            flows.scaled(availability.last_fraction)
        } else {
            flows
        };
        DayFacts {
            day,
            user_count: self.user_count(day),
            flows,
        }
    }

    /// Every row of `period` served at `at_unix_seconds`, newest `factDate` first.
    pub fn rows(&self, period: Period, at_unix_seconds: f64) -> InsightRows {
        let mut rows = InsightRows::default();
        if !self.external_id {
            return rows;
        }
        let availability = self.availability(at_unix_seconds);
        match period {
            Period::Daily => {
                for day in availability.daily_days() {
                    let facts = self.day_facts(day, &availability);
                    self.push_daily(&mut rows, &facts, day == availability.last);
                }
            }
            Period::Monthly => {
                for first in availability.months() {
                    self.push_monthly(&mut rows, first, &availability);
                }
            }
        }
        rows
    }

    /// Appends the rows of one day.
    fn push_daily(&self, rows: &mut InsightRows, facts: &DayFacts, newest: bool) {
        let day = facts.day;
        let f = &facts.flows;
        self.push_flows(rows, day, f, &f.active);

        let u = facts.user_count;
        let distinct = distinct_active(f.active.iter().flatten().sum(), u);
        let (r30, r60, r90) = self.inactive_ratios(day, u64::MAX);
        let gap60 = self.draw(STREAM_DAY, day, 1) < 0.04;
        rows.inactive_users.push(InactiveUsersRow {
            id: 1,
            fact_date: day,
            app_id: None,
            inactive_period: Some(u - distinct),
            inactive_30_days: Some(scale(u, r30)),
            // Now and then a window is missing for a day (§1.3: every count is nullable).
            inactive_60_days: (!gap60).then(|| scale(u, r60)),
            inactive_90_days: (!newest).then(|| scale(u, r90)),
        });
        for (a, app) in self.apps.iter().enumerate() {
            let app_users = self.app_users(a, u);
            let app_active = distinct_active(self.app_sum(a, &f.active), app_users);
            let (r30, r60, r90) = self.inactive_ratios(day, a as u64);
            rows.inactive_users_by_application.push(InactiveUsersRow {
                id: a as u32 + 1,
                fact_date: day,
                app_id: Some(app.app_id.clone()),
                inactive_period: Some(app_users - app_active),
                inactive_30_days: Some(scale(app_users, r30)),
                inactive_60_days: Some(scale(app_users, r60)),
                inactive_90_days: (!newest).then(|| scale(app_users, r90)),
            });
        }
        rows.user_count.push(UserCountRow {
            id: 1,
            fact_date: day,
            language: None,
            count: u,
        });
        // Telecom fraud (§1.3, undocumented): CAPTCHA challenges on SMS MFA.
        let sms: u64 = self
            .layout
            .mfa
            .iter()
            .zip(&f.mfa)
            .filter(|(c, _)| c.method == Some("Sms"))
            .filter_map(|(_, v)| v.map(|(attempts, _)| attempts))
            .sum();
        let shown = scale(sms, between(self.draw(STREAM_DAY, day, 2), 0.04, 0.09));
        let success = scale(shown, between(self.draw(STREAM_DAY, day, 3), 0.8, 0.95));
        let blocked = self.draw(STREAM_DAY, day, 4);
        rows.mfa_telecom_fraud.push(MfaTelecomFraudRow {
            id: 1,
            fact_date: day,
            captcha_shown_user_count: Some(shown),
            captcha_success_count: Some(success),
            captcha_failure_count: Some(shown - success),
            captcha_not_triggered_user_count: Some(sms - shown),
            telecom_blocked_user_count: (blocked >= 0.1).then(|| scale(shown, blocked * 0.2)),
        });
    }

    /// Appends the rows of the month starting `first`.
    fn push_monthly(&self, rows: &mut InsightRows, first: Day, availability: &Availability) {
        let next = Day::first_of_month_index(first.month_index() + 1);
        let last = Day(next.0.min(availability.last.0 + 1) - 1);
        let days: Vec<DayFacts> = (first.0..=last.0)
            .map(|d| self.day_facts(Day(d), availability))
            .collect();
        let Some(last_facts) = days.last() else {
            return;
        };
        let mut sum = Flows::default();
        let mut max_active: Vec<u64> = vec![0; self.layout.app_os.len()];
        for (i, facts) in days.iter().enumerate() {
            if i == 0 {
                sum = facts.flows.clone();
            } else {
                sum.add(&facts.flows);
            }
            for (m, v) in max_active.iter_mut().zip(&facts.flows.active) {
                *m = (*m).max(v.unwrap_or(0));
            }
        }
        // Unique users of the month: far fewer than the sum of the days, never fewer than the
        // busiest day.
        let active: Vec<Option<u64>> = sum
            .active
            .iter()
            .zip(&max_active)
            .enumerate()
            .map(|(i, (total, max))| {
                total.map(|t| {
                    let ratio = between(self.draw(STREAM_CELL_MONTH, first, i as u64), 0.1, 0.16);
                    scale(t, ratio).max(*max)
                })
            })
            .collect();
        self.push_flows(rows, first, &sum, &active);

        let u = last_facts.user_count;
        let newest = last == availability.last;
        let distinct = distinct_active(active.iter().flatten().sum(), u);
        let (r30, r60, r90) = self.inactive_ratios(last, u64::MAX);
        rows.inactive_users.push(InactiveUsersRow {
            id: 1,
            fact_date: first,
            app_id: None,
            inactive_period: Some(u - distinct),
            inactive_30_days: Some(scale(u, r30)),
            inactive_60_days: Some(scale(u, r60)),
            inactive_90_days: (!newest).then(|| scale(u, r90)),
        });
        for (a, app) in self.apps.iter().enumerate() {
            let app_users = self.app_users(a, u);
            let app_active = distinct_active(self.app_sum(a, &active), app_users);
            let (r30, r60, r90) = self.inactive_ratios(last, a as u64);
            rows.inactive_users_by_application.push(InactiveUsersRow {
                id: a as u32 + 1,
                fact_date: first,
                app_id: Some(app.app_id.clone()),
                inactive_period: Some(app_users - app_active),
                inactive_30_days: Some(scale(app_users, r30)),
                inactive_60_days: Some(scale(app_users, r60)),
                inactive_90_days: (!newest).then(|| scale(app_users, r90)),
            });
        }
        for (i, (mfa_type, share)) in MFA_TYPES.iter().enumerate() {
            let jitter = between(
                self.draw(STREAM_CELL_MONTH, first, 1_000 + i as u64),
                0.98,
                1.02,
            );
            rows.mfa_registered_users.push(MfaRegisteredUsersRow {
                id: i as u32 + 1,
                fact_date: first,
                mfa_type,
                count: scale(u, share * jitter),
            });
        }
        let mut id = 0;
        for (c, v) in self.layout.requests.iter().zip(&sum.requests) {
            if let Some(v) = v {
                id += 1;
                rows.requests.push(RequestsRow {
                    id,
                    fact_date: first,
                    app_id: Some(self.apps[c.app].app_id.clone()),
                    browser: c.attrs.browser,
                    country: c.attrs.country,
                    identity_provider: c.attrs.identity_provider,
                    language: c.attrs.language,
                    request_count: *v,
                });
            }
        }
    }

    /// Appends the flow reports (activeUsers, authentications, signUps, mfaCompletions,
    /// summary) of one date; `active` is the active-user count per `app_os` cell.
    fn push_flows(&self, rows: &mut InsightRows, date: Day, f: &Flows, active: &[Option<u64>]) {
        let l = &self.layout;
        let app_id = |c: &Cell| Some(self.apps[c.app].app_id.clone());
        let mut id = 0;
        for (c, v) in l.app_os.iter().zip(active) {
            if let Some(count) = *v {
                id += 1;
                rows.active_users.push(ActiveUsersRow {
                    id,
                    fact_date: date,
                    app_id: app_id(c),
                    app_name: c.named.then(|| self.apps[c.app].display_name.clone()),
                    country: c.attrs.country,
                    language: c.attrs.language,
                    os: c.os,
                    count,
                });
            }
        }
        let mut id = 0;
        for (c, v) in l.authentications.iter().zip(&f.authentications) {
            if let Some((attempts, successes)) = *v {
                id += 1;
                rows.authentications.push(AuthenticationsRow {
                    id,
                    fact_date: date,
                    app_id: app_id(c),
                    os: c.os,
                    country: c.attrs.country,
                    browser: c.attrs.browser,
                    auth_flow: c.attrs.auth_flow,
                    identity_provider: c.attrs.identity_provider,
                    language: c.attrs.language,
                    attempts,
                    successes,
                });
            }
        }
        let mut id = 0;
        for (c, v) in l.sign_ups.iter().zip(&f.sign_ups) {
            if let Some(count) = *v {
                id += 1;
                rows.sign_ups.push(SignUpsRow {
                    id,
                    fact_date: date,
                    app_id: app_id(c),
                    os: c.os,
                    browser: c.attrs.browser,
                    country: c.attrs.country,
                    identity_provider: c.attrs.identity_provider,
                    language: c.attrs.language,
                    count,
                });
            }
        }
        let mut id = 0;
        for (c, v) in l.mfa.iter().zip(&f.mfa) {
            if let Some((attempts, successes)) = *v {
                id += 1;
                rows.mfa_completions.push(MfaCompletionsRow {
                    id,
                    fact_date: date,
                    app_id: app_id(c),
                    mfa_method: c.method,
                    os: c.os,
                    country: c.attrs.country,
                    identity_provider: c.attrs.identity_provider,
                    language: c.attrs.language,
                    attempts,
                    successes,
                });
            }
        }
        // Summary: per (app, recognised os), the other reports' cells added up.
        let mut id = 0;
        for (a, app) in self.apps.iter().enumerate() {
            for (os, _) in OS_SHARES {
                let Some(os) = *os else { continue };
                let same = |c: &Cell| c.app == a && c.os == Some(os);
                let active_users = sum_where(&l.app_os, active, same);
                let auth = sum_pairs_where(&l.authentications, &f.authentications, same);
                let text = sum_pairs_where(&l.mfa, &f.mfa, |c| same(c) && c.method == Some("Sms"));
                let voice =
                    sum_pairs_where(&l.mfa, &f.mfa, |c| same(c) && c.method == Some("Voice"));
                if active_users.is_none() && auth.is_none() && text.is_none() && voice.is_none() {
                    continue;
                }
                let (auth, text, voice) = (
                    auth.unwrap_or_default(),
                    text.unwrap_or_default(),
                    voice.unwrap_or_default(),
                );
                id += 1;
                rows.summary.push(SummaryRow {
                    id,
                    fact_date: date,
                    app_id: app.app_id.clone(),
                    os: os.to_ascii_uppercase(),
                    active_users: active_users.unwrap_or_default(),
                    authentication_requests: auth.0,
                    authentication_completions: auth.1,
                    security_text_requests: text.0,
                    security_text_completions: text.1,
                    security_voice_requests: voice.0,
                    security_voice_completions: voice.1,
                });
            }
        }
    }

    /// Users of customer app `a` when the tenant has `users`.
    fn app_users(&self, a: usize, users: u64) -> u64 {
        scale(users, APP_USER_SHARE * self.apps[a].share)
    }

    /// Sum of the `app_os` cells of app `a`.
    fn app_sum(&self, a: usize, values: &[Option<u64>]) -> u64 {
        sum_where(&self.layout.app_os, values, |c| c.app == a).unwrap_or(0)
    }

    /// Shares of users inactive for 30, 60, 90 days on `day`, for the tenant
    /// (`key = u64::MAX`) or one app.
    fn inactive_ratios(&self, day: Day, key: u64) -> (f64, f64, f64) {
        let mut rng = Rng::derive(
            self.seed,
            STREAM_APP_DAY,
            (day.0 as u64).wrapping_shl(24) ^ key,
        );
        let r30 = between(rng.next_f64(), 0.30, 0.36);
        let r60 = r30 * between(rng.next_f64(), 0.70, 0.80);
        let r90 = r60 * between(rng.next_f64(), 0.65, 0.80);
        (r30, r60, r90)
    }
}

/// `value × ratio`, rounded.
fn scale(value: u64, ratio: f64) -> u64 {
    (value as f64 * ratio).round().max(0.0) as u64
}

/// Distinct active users from a platform-by-platform count, at most `users`.
fn distinct_active(platform_count: u64, users: u64) -> u64 {
    scale(platform_count, DISTINCT_ACTIVE_SHARE).min(users)
}

/// Sum of the present values of the cells matching `keep`; `None` when none is present.
fn sum_where(cells: &[Cell], values: &[Option<u64>], keep: impl Fn(&Cell) -> bool) -> Option<u64> {
    cells
        .iter()
        .zip(values)
        .filter(|(c, _)| keep(c))
        .filter_map(|(_, v)| *v)
        .reduce(|a, b| a + b)
}

/// [`sum_where`] for (attempts, successes) pairs.
fn sum_pairs_where(
    cells: &[Cell],
    values: &[Option<(u64, u64)>],
    keep: impl Fn(&Cell) -> bool,
) -> Option<(u64, u64)> {
    cells
        .iter()
        .zip(values)
        .filter(|(c, _)| keep(c))
        .filter_map(|(_, v)| *v)
        .reduce(add_pair)
}

/// The cells of every report for `apps`.
fn layout(seed: u64, apps: &[InsightsApp]) -> Layout {
    let mut l = Layout::default();
    let mut index = 0u64;
    let mut next_rng = || {
        index += 1;
        Rng::derive(seed, STREAM_LAYOUT, index)
    };
    for (a, app) in apps.iter().enumerate() {
        for (os, os_share) in OS_SHARES {
            let mut rng = next_rng();
            let jitter = between(rng.next_f64(), 0.6, 1.4);
            let weight = app.share * os_share * jitter;
            l.app_os.push(Cell {
                app: a,
                os: *os,
                method: None,
                named: !rng.chance(0.1),
                attrs: attributes(&mut rng, None),
                weight,
                success_rate: 1.0,
            });
            let mut rng = next_rng();
            l.sign_ups.push(Cell {
                app: a,
                os: *os,
                method: None,
                named: true,
                attrs: attributes(&mut rng, None),
                weight,
                success_rate: 1.0,
            });
            // A few countries per platform, plus now and then traffic of unknown origin.
            let mut rng = next_rng();
            let mut countries: Vec<Option<&'static str>> = Vec::new();
            while countries.len() < 3 {
                let c = rng.weighted(COUNTRIES);
                if !countries.contains(&c) {
                    countries.push(c);
                }
            }
            if rng.chance(0.3) {
                countries.push(None);
            }
            let country_shares = [0.6, 0.25, 0.15, 0.05];
            for (country, share) in countries.into_iter().zip(country_shares) {
                let mut rng = next_rng();
                l.authentications.push(Cell {
                    app: a,
                    os: *os,
                    method: None,
                    named: true,
                    attrs: attributes(&mut rng, Some(country)),
                    weight: weight * share,
                    success_rate: between(rng.next_f64(), 0.88, 0.98),
                });
            }
            for (method, method_share) in MFA_METHODS {
                let mut rng = next_rng();
                l.mfa.push(Cell {
                    app: a,
                    os: *os,
                    method: Some(method),
                    named: true,
                    attrs: attributes(&mut rng, None),
                    weight: weight * method_share,
                    success_rate: between(rng.next_f64(), 0.85, 0.97),
                });
            }
        }
        let mut rng = next_rng();
        l.requests.push(Cell {
            app: a,
            os: None,
            method: None,
            named: true,
            attrs: attributes(&mut rng, None),
            weight: app.share,
            success_rate: 1.0,
        });
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::Tenant;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2025-06-03T07:41:12Z.
    const AT: f64 = 1_748_936_472.0;

    fn model() -> UserInsights {
        let config = SimConfig {
            now: UNIX_EPOCH + Duration::from_secs(AT as u64),
            ..SimConfig::default()
        };
        Tenant::generate(&config).user_insights
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
        let d = Day::parse("2024-02-29").expect("leap day");
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(Day::of_unix(AT).to_string(), "2025-06-03");
        assert_eq!(Day::of_unix(AT).first_of_month().to_string(), "2025-06-01");
        assert_eq!(
            Day::first_of_month_index(2025 * 12).to_string(),
            "2025-01-01"
        );
        assert_eq!(
            Day::first_of_month_index(2025 * 12 - 1).to_string(),
            "2024-12-01"
        );
        for bad in [
            "2023-02-29",
            "2025-13-01",
            "2025-1-01",
            "2025-01-1x",
            "+025-01-01",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
        // 2025-06-02 was a Monday.
        assert_eq!(Day::parse("2025-06-02").map(Day::weekday), Some(0));
    }

    #[test]
    fn history_is_stable_and_today_is_partial() {
        let m = model();
        let a = m.rows(Period::Daily, AT);
        let b = m.rows(Period::Daily, AT + 3_600.0);
        let yesterday = Day::of_unix(AT).0 - 1;
        let old = |r: &InsightRows| -> Vec<AuthenticationsRow> {
            r.authentications
                .iter()
                .filter(|x| x.fact_date.0 <= yesterday)
                .cloned()
                .collect()
        };
        assert_eq!(old(&a), old(&b));
        let today = |r: &InsightRows| -> u64 {
            r.active_users
                .iter()
                .filter(|x| x.fact_date.0 == yesterday + 1)
                .map(|x| x.count)
                .sum()
        };
        assert!(today(&a) < today(&b), "{} {}", today(&a), today(&b));
        assert_eq!(a.user_count.len(), 30);
        assert!(a.authentications.iter().all(|r| r.successes <= r.attempts));
    }

    #[test]
    fn monthly_sums_days_and_active_users_are_unique() {
        let m = model();
        let monthly = m.rows(Period::Monthly, AT);
        assert_eq!(monthly.inactive_users.len(), 12);
        let may = Day::parse("2025-05-01").expect("date");
        let sign_ups: u64 = monthly
            .sign_ups
            .iter()
            .filter(|r| r.fact_date == may)
            .map(|r| r.count)
            .sum();
        let mut days = 0;
        let mut daily_sign_ups = 0;
        let mut daily_active = 0;
        let mut daily_max = 0;
        for d in may.0..may.0 + 31 {
            let f = m.full_day(Day(d));
            daily_sign_ups += f.sign_ups.iter().flatten().sum::<u64>();
            let active = f.active.iter().flatten().sum::<u64>();
            daily_active += active;
            daily_max = daily_max.max(active);
            days += 1;
        }
        assert_eq!(days, 31);
        assert_eq!(sign_ups, daily_sign_ups);
        let active: u64 = monthly
            .active_users
            .iter()
            .filter(|r| r.fact_date == may)
            .map(|r| r.count)
            .sum();
        assert!(
            active >= daily_max && active < daily_active / 3,
            "{active} {daily_max} {daily_active}"
        );
    }

    #[test]
    fn lag_hides_recent_days() {
        let mut m = model();
        m.lag_hours = 30;
        let a = m.availability(AT);
        // 07:41 on 06-03 minus 30 h is 01:41 on 06-02: 06-01 is the newest finished-and-lagged day.
        assert_eq!(a.last.to_string(), "2025-06-01");
        assert_eq!(a.last_fraction, 1.0);
        let rows = m.rows(Period::Daily, AT);
        assert_eq!(rows.user_count.first().map(|r| r.fact_date), Some(a.last));
    }
}
