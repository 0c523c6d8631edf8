//! Daily activity behind the usage-and-insights reports: application sign-ins (§2), AD FS
//! relying-party sign-ins (§3), credential registration/reset activity (§6.3) and the daily
//! MFA sign-in split (§6.5).
//!
//! Everything is a pure function of the seed, an entity index and a UTC day (days since the
//! Unix epoch), so a day's numbers never change as time passes and nothing is stored.
//!
//! **Events within a day.** A day's `n` events of one kind (say, failures with error 50126 for
//! one app) are spread over the day by a fixed diurnal profile ([`HOURLY_WEIGHTS`]): event `k`
//! happens at the `(k + ½)/n` quantile of the profile ([`event_offset_seconds`]). So the
//! number that happened before any instant is known in closed form ([`events_before_hour`]),
//! and a sign-in log built on this model later can list exactly the events the summaries count.
//!
//! **Report freshness and windows.** The reports are refreshed at the top of every hour
//! ([`REFRESH_SECONDS`]): at instant `now` they show the events before
//! `cutoff = now` rounded down to the hour. A period of `N` days (`D7`, `D30`, …) covers
//! `[cutoff − N days, cutoff)`: the end of the day `N` days ago from the cutoff's hour, the
//! full days in between, and today up to the cutoff's hour ([`window_pieces`]). Aggregating to
//! whole hours keeps served data and ground truth identical unless an hour boundary passes
//! between the two.

use crate::rng::Rng;
use crate::time::DAY;

/// Reports show events up to the last whole hour (see the module docs).
pub const REFRESH_SECONDS: i64 = 3_600;

/// Relative sign-in volume of each UTC hour: quiet nights, a working-day peak.
pub const HOURLY_WEIGHTS: [u64; 24] = [
    2, 2, 2, 2, 3, 5, 9, 16, 24, 28, 28, 26, 24, 26, 27, 26, 22, 16, 10, 7, 5, 4, 3, 2,
];

/// Random stream of an application's usage profile.
const STREAM_APP_PROFILE: u64 = 0x5250_0001;
/// Random stream of one application's day.
const STREAM_APP_DAY: u64 = 0x5250_0002;
/// Random stream of a relying party's identity and profile.
const STREAM_RELYING_PARTY: u64 = 0x5250_0003;
/// Random stream of one relying party's day.
const STREAM_RELYING_PARTY_DAY: u64 = 0x5250_0004;
/// Random stream of the AD FS forests.
const STREAM_ADFS_FOREST: u64 = 0x5250_0005;
/// Random stream of one (feature, method) credential-usage day.
const STREAM_CREDENTIAL_USAGE_DAY: u64 = 0x5250_0006;
/// Random stream of one day's MFA share and row id.
const STREAM_MFA_DAY: u64 = 0x5250_0007;
/// Random stream of application sign-in summary row ids.
const STREAM_APP_ROW_ID: u64 = 0x5250_0008;

/// Sum of [`HOURLY_WEIGHTS`].
fn total_weight() -> u64 {
    HOURLY_WEIGHTS.iter().sum()
}

/// Sum of the weights of the hours before `hour` (0..=24).
fn weight_before(hour: u32) -> u64 {
    HOURLY_WEIGHTS.iter().take(hour as usize).sum()
}

/// How many of a day's `n` events happen before hour `hour` (0..=24) of that day. Exact
/// integer form of "event `k` is at quantile `(k + ½)/n`": counts the odd `j = 2k + 1` with
/// `j · W < 2n · W(hour)`.
pub fn events_before_hour(n: u64, hour: u32) -> u64 {
    if hour >= 24 {
        return n;
    }
    let x = 2 * u128::from(n) * u128::from(weight_before(hour));
    if x == 0 {
        return 0;
    }
    let j_max = (x - 1) / u128::from(total_weight());
    u64::try_from(j_max.div_ceil(2)).unwrap_or(u64::MAX).min(n)
}

/// How many of a day's `n` events happen in hours `[from, to)`.
pub fn events_between_hours(n: u64, from: u32, to: u32) -> u64 {
    events_before_hour(n, to).saturating_sub(events_before_hour(n, from))
}

/// Seconds after midnight of event `k` of a day's `n` events of one kind (the inverse of the
/// diurnal profile at quantile `(k + ½)/n`). `events_before_hour(n, h)` counts exactly the `k`
/// whose offset is below `h` hours.
pub fn event_offset_seconds(k: u64, n: u64) -> f64 {
    let total = total_weight() as f64;
    let q = (k as f64 + 0.5) / n.max(1) as f64 * total;
    let mut before = 0.0;
    for (hour, w) in HOURLY_WEIGHTS.iter().enumerate() {
        let w = *w as f64;
        if q < before + w {
            return (hour as f64 + (q - before) / w) * REFRESH_SECONDS as f64;
        }
        before += w;
    }
    DAY as f64 - 1e-3
}

/// The UTC day (days since the epoch) of Unix second `t`.
pub fn day_of(t: i64) -> i64 {
    t.div_euclid(DAY)
}

/// The instant the reports reflect at `now`: `now` rounded down to the hour.
pub fn cutoff(now_unix_seconds: f64) -> i64 {
    (now_unix_seconds.floor() as i64).div_euclid(REFRESH_SECONDS) * REFRESH_SECONDS
}

/// One day's share of a report window: hours `[from_hour, to_hour)` of `day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayPiece {
    /// Days since the epoch.
    pub day: i64,
    /// First hour included.
    pub from_hour: u32,
    /// First hour excluded (24 = to midnight).
    pub to_hour: u32,
}

impl DayPiece {
    /// How many of the day's `n` events fall in this piece.
    pub fn count(&self, n: u64) -> u64 {
        events_between_hours(n, self.from_hour, self.to_hour)
    }
}

/// The pieces of the window `[cutoff − days, cutoff)`, oldest first; empty pieces are left out.
pub fn window_pieces(cutoff: i64, days: u32) -> Vec<DayPiece> {
    let today = day_of(cutoff);
    let hour = (cutoff.rem_euclid(DAY) / REFRESH_SECONDS) as u32;
    let first = today - i64::from(days);
    let mut pieces = Vec::with_capacity(days as usize + 1);
    for day in first..=today {
        let from_hour = if day == first { hour } else { 0 };
        let to_hour = if day == today { hour } else { 24 };
        if from_hour < to_hour {
            pieces.push(DayPiece {
                day,
                from_hour,
                to_hour,
            });
        }
    }
    pieces
}

/// The pieces of the last `days` UTC days up to `cutoff`, today (partial, up to the cutoff's
/// hour) included, oldest first: what the per-day reports list (§2.2, §6.5).
pub fn retention_pieces(cutoff: i64, days: u32) -> Vec<DayPiece> {
    let today = day_of(cutoff);
    let hour = (cutoff.rem_euclid(DAY) / REFRESH_SECONDS) as u32;
    (today - i64::from(days) + 1..=today)
        .map(|day| DayPiece {
            day,
            from_hour: 0,
            to_hour: if day == today { hour } else { 24 },
        })
        .collect()
}

/// A generator for day `day` of entity `index` in `stream`.
fn day_rng(seed: u64, stream: u64, index: u64, day: i64) -> Rng {
    let entity = Rng::derive(seed, stream, index).next_u64();
    Rng::derive(entity, stream, day as u64)
}

/// Weekday of a day since the epoch, 0 = Monday (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// Volume factor of a day: weekends are quiet.
fn weekday_factor(day: i64) -> f64 {
    if weekday(day) >= 5 {
        0.3
    } else {
        1.0
    }
}

/// A sign-in failure reason with its Entra error code (`status.errorCode`, §2.2, §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureReason {
    /// AADSTS error code.
    pub code: i32,
    /// `status.failureReason` text.
    pub text: &'static str,
}

/// The failure reasons the model produces, in the order of [`AppDay::failures`].
pub const FAILURE_REASONS: [FailureReason; 7] = [
    FailureReason {
        code: 50126,
        text: "Error validating credentials due to invalid username or password.",
    },
    FailureReason {
        code: 50074,
        text: "Strong Authentication is required.",
    },
    FailureReason {
        code: 50076,
        text: "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
    },
    FailureReason {
        code: 53003,
        text: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
    },
    FailureReason {
        code: 700016,
        text: "Application with identifier was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.",
    },
    FailureReason {
        code: 50053,
        text: "The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
    },
    FailureReason {
        code: 50055,
        text: "The password is expired.",
    },
];

/// Baseline weights of [`FAILURE_REASONS`] before each app's own mix.
const FAILURE_BASE_WEIGHTS: [f64; 7] = [40.0, 15.0, 20.0, 8.0, 3.0, 5.0, 9.0];

/// How busy an application is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppActivity {
    /// Nobody signs in (a registration that was never used or is retired).
    Never,
    /// Used on some days, a handful of sign-ins.
    Occasional,
    /// Used most days.
    Busy,
    /// Used most days, with a high failure rate (misconfigured or under password spray).
    Noisy,
}

/// The usage profile of one application: drawn once from (seed, app index).
#[derive(Clone, Debug, PartialEq)]
pub struct AppProfile {
    /// Activity class.
    pub activity: AppActivity,
    /// Probability that a weekday sees any sign-in.
    pub active_share: f64,
    /// Mean sign-ins on an active weekday.
    pub daily_mean: f64,
    /// Mean share of sign-ins that fail.
    pub failure_rate: f64,
    /// Weights of [`FAILURE_REASONS`] for this app.
    pub failure_weights: [f64; 7],
}

/// Log-uniform draw in `[lo, hi]`.
fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.next_f64() * (hi.ln() - lo.ln())).exp()
}

impl AppProfile {
    /// The profile of application `index`.
    pub fn of(seed: u64, index: u64) -> Self {
        let mut rng = Rng::derive(seed, STREAM_APP_PROFILE, index);
        let activity = rng
            .weighted(&[
                (AppActivity::Never, 12),
                (AppActivity::Occasional, 18),
                (AppActivity::Busy, 62),
                (AppActivity::Noisy, 8),
            ])
            .unwrap_or(AppActivity::Busy);
        let (active_share, daily_mean, failure_rate) = match activity {
            AppActivity::Never => (0.0, 0.0, 0.0),
            AppActivity::Occasional => (
                0.15 + 0.25 * rng.next_f64(),
                log_uniform(&mut rng, 1.0, 30.0),
                0.01 + 0.1 * rng.next_f64(),
            ),
            AppActivity::Busy => (
                0.85 + 0.15 * rng.next_f64(),
                log_uniform(&mut rng, 20.0, 3_000.0),
                0.002 + 0.05 * rng.next_f64(),
            ),
            AppActivity::Noisy => (
                0.9 + 0.1 * rng.next_f64(),
                log_uniform(&mut rng, 50.0, 800.0),
                0.25 + 0.35 * rng.next_f64(),
            ),
        };
        let mut failure_weights = FAILURE_BASE_WEIGHTS;
        for w in &mut failure_weights {
            *w *= 2.0 * rng.next_f64();
        }
        if activity == AppActivity::Noisy {
            // One dominant cause: a spray (50126), a blocking policy (53003), a retired app id
            // (700016) or lock-outs (50053).
            let dominant = rng.pick(&[0usize, 3, 4, 5]).copied().unwrap_or(0);
            if let Some(w) = failure_weights.get_mut(dominant) {
                *w += 400.0;
            }
        }
        if failure_weights.iter().all(|w| *w <= 0.0) {
            failure_weights[0] = 1.0;
        }
        Self {
            activity,
            active_share,
            daily_mean,
            failure_rate,
            failure_weights,
        }
    }
}

/// One application's sign-ins on one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppDay {
    /// Successful sign-ins (`errorCode` 0).
    pub successes: u64,
    /// Failed sign-ins per [`FAILURE_REASONS`] entry.
    pub failures: [u64; 7],
}

impl AppDay {
    /// All failed sign-ins.
    pub fn failed(&self) -> u64 {
        self.failures.iter().sum()
    }

    /// The part of the day in `piece` (each kind spread by the diurnal profile).
    pub fn within(&self, piece: &DayPiece) -> Self {
        Self {
            successes: piece.count(self.successes),
            failures: self.failures.map(|n| piece.count(n)),
        }
    }

    /// Adds another day's (or piece's) counts.
    pub fn add(&mut self, other: &Self) {
        self.successes += other.successes;
        for (a, b) in self.failures.iter_mut().zip(other.failures) {
            *a += b;
        }
    }
}

/// Splits `total` over `weights` by largest remainders (deterministic, sums exactly).
fn apportion<const K: usize>(total: u64, weights: &[f64; K]) -> [u64; K] {
    let sum: f64 = weights.iter().sum();
    let mut out = [0u64; K];
    if total == 0 || sum <= 0.0 {
        return out;
    }
    let mut remainders = [(0.0f64, 0usize); K];
    let mut given = 0u64;
    for (i, w) in weights.iter().enumerate() {
        let exact = total as f64 * w / sum;
        let floor = exact.floor();
        out[i] = floor as u64;
        given += out[i];
        remainders[i] = (exact - floor, i);
    }
    remainders.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.iter().take(total.saturating_sub(given) as usize) {
        out[*i] += 1;
    }
    out
}

/// Application `index`'s sign-ins on `day` (full day).
pub fn app_day(seed: u64, index: u64, profile: &AppProfile, day: i64) -> AppDay {
    if profile.activity == AppActivity::Never {
        return AppDay::default();
    }
    let mut rng = day_rng(seed, STREAM_APP_DAY, index, day);
    let factor = weekday_factor(day);
    if !rng.chance(profile.active_share * factor.sqrt()) {
        return AppDay::default();
    }
    let volume = profile.daily_mean * factor * (0.6 + 0.8 * rng.next_f64());
    let total = volume.round().max(1.0) as u64;
    let rate = (profile.failure_rate * (0.5 + rng.next_f64())).min(0.95);
    let failed = ((total as f64) * rate).round() as u64;
    let mut weights = profile.failure_weights;
    for w in &mut weights {
        *w *= 0.5 + rng.next_f64();
    }
    AppDay {
        successes: total - failed.min(total),
        failures: apportion(failed.min(total), &weights),
    }
}

/// Application `index`'s sign-ins summed over `pieces`.
pub fn app_window(seed: u64, index: u64, profile: &AppProfile, pieces: &[DayPiece]) -> AppDay {
    let mut sum = AppDay::default();
    for piece in pieces {
        sum.add(&app_day(seed, index, profile, piece.day).within(piece));
    }
    sum
}

/// The `id` of an `applicationSignInDetailedSummary` row (§2.2): a GUID fixed by (app, day,
/// error code).
pub fn app_detail_row_id(seed: u64, index: u64, day: i64, code: i32) -> String {
    let day_seed = day_rng(seed, STREAM_APP_ROW_ID, index, day).next_u64();
    Rng::derive(day_seed, STREAM_APP_ROW_ID, u64::from(code.unsigned_abs())).guid()
}

/// `migrationStatus` of a relying party (§3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationStatus {
    /// `ready`.
    Ready,
    /// `needsReview`.
    NeedsReview,
    /// `additionalStepsRequired`.
    AdditionalStepsRequired,
}

impl MigrationStatus {
    /// The Graph enum member.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::NeedsReview => "needsReview",
            Self::AdditionalStepsRequired => "additionalStepsRequired",
        }
    }

    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::NeedsReview => "needs_review",
            Self::AdditionalStepsRequired => "additional_steps_required",
        }
    }
}

/// An AD FS relying party trust (§3).
#[derive(Clone, Debug, PartialEq)]
pub struct RelyingParty {
    /// `id` (GUID).
    pub id: String,
    /// `relyingPartyId`: the AD FS identifier, URL-like.
    pub relying_party_id: String,
    /// `relyingPartyName`.
    pub relying_party_name: String,
    /// `serviceId`: the AD FS farm (forest) reporting it.
    pub service_id: String,
    /// `replyUrls`.
    pub reply_urls: Vec<String>,
    /// `migrationStatus`.
    pub migration_status: MigrationStatus,
    /// `migrationValidationDetails`: check name and its JSON-encoded result string.
    pub migration_validation_details: Vec<(String, String)>,
    /// Probability that a weekday sees any sign-in (0 for unused trusts).
    pub active_share: f64,
    /// Mean sign-ins on an active weekday.
    pub daily_mean: f64,
    /// Mean share of failed sign-ins.
    pub failure_rate: f64,
    /// People who use it: caps the unique users of any period.
    pub population: u64,
}

/// Relying party names; numbered when more are asked for.
const RELYING_PARTY_NAMES: &[&str] = &[
    "Contoso Expenses",
    "Benefits Portal",
    "Travel Booking",
    "Timesheets",
    "Legacy Intranet",
    "SAP NetWeaver",
    "Workday",
    "ServiceNow",
    "Salesforce",
    "Tableau Server",
    "Citrix Gateway",
    "Jira",
    "Confluence",
    "Concur",
    "Kronos",
    "Pension Portal",
    "Ariba",
    "Learning Hub",
    "Payroll Self-Service",
    "Facilities Booking",
];

/// AD FS migration checks and the messages of their results (pass, warning, fail).
const MIGRATION_CHECKS: &[(&str, [&str; 3])] = &[
    (
        "AdditionalWSFedEndpointCheckResult",
        [
            "No additional WS-Federation endpoints were found.",
            "The relying party has more than one WS-Federation endpoint.",
            "Additional WS-Federation endpoints are not supported.",
        ],
    ),
    (
        "AllowedAuthenticationClassReferencesCheckResult",
        [
            "No authentication class references are restricted.",
            "Allowed authentication class references need review.",
            "Restricting authentication class references is not supported.",
        ],
    ),
    (
        "AlwaysRequireAuthenticationCheckResult",
        [
            "AlwaysRequireAuthentication is not set.",
            "AlwaysRequireAuthentication is set; review sign-in frequency.",
            "AlwaysRequireAuthentication cannot be migrated.",
        ],
    ),
    (
        "EncryptionCertificateCheckResult",
        [
            "No token encryption certificate is configured.",
            "A token encryption certificate is configured and must be uploaded.",
            "The token encryption certificate is expired.",
        ],
    ),
    (
        "SignedSamlRequestsRequiredCheckResult",
        [
            "Signed SAML requests are not required.",
            "Signed SAML requests are required; configure request verification.",
            "Required signed SAML requests are not supported.",
        ],
    ),
    (
        "TokenLifetimeCheckResult",
        [
            "Token lifetime is the default.",
            "A custom token lifetime is configured.",
            "The token lifetime is below the supported minimum.",
        ],
    ),
];

/// URL slug of a name: lower case, dashes.
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// A check result as AD FS migration reports it: a JSON-encoded string (§3 example).
fn check_value(result: usize, message: &str) -> String {
    let message = serde_json::to_string(message).unwrap_or_else(|_| "\"\"".to_owned());
    format!("{{\"result\": {result}, \"message\": {message}}}")
}

/// The tenant's `count` relying parties.
pub fn relying_parties(seed: u64, count: usize) -> Vec<RelyingParty> {
    let mut forests = Rng::derive(seed, STREAM_ADFS_FOREST, 0);
    let forest_ids = [forests.guid(), forests.guid()];
    let two_forests = count >= 4 && forests.chance(0.7);
    (0..count)
        .map(|i| {
            let mut rng = Rng::derive(seed, STREAM_RELYING_PARTY, i as u64);
            let base = RELYING_PARTY_NAMES
                .get(i % RELYING_PARTY_NAMES.len())
                .copied()
                .unwrap_or("Relying Party");
            let round = i / RELYING_PARTY_NAMES.len();
            let name = if round == 0 {
                base.to_owned()
            } else {
                format!("{base} {}", round + 1)
            };
            let host = format!("{}.contoso.com", slug(&name));
            let relying_party_id = match rng.weighted(&[(0u8, 5), (1, 3), (2, 2)]) {
                Some(1) => format!("urn:contoso:{}", slug(&name)),
                Some(2) => format!("https://{host}/"),
                _ => format!("https://{host}/adfs/services/trust"),
            };
            let mut reply_urls = vec![format!("https://{host}/saml/acs")];
            if rng.chance(0.3) {
                reply_urls.push(format!("https://{host}/wsfed"));
            }
            let forest = usize::from(two_forests && rng.chance(0.35));
            let migration_status = rng
                .weighted(&[
                    (MigrationStatus::Ready, 35),
                    (MigrationStatus::NeedsReview, 40),
                    (MigrationStatus::AdditionalStepsRequired, 25),
                ])
                .unwrap_or(MigrationStatus::NeedsReview);
            let mut results: Vec<usize> = MIGRATION_CHECKS
                .iter()
                .map(|_| match migration_status {
                    MigrationStatus::Ready => 0,
                    MigrationStatus::NeedsReview => usize::from(rng.chance(0.3)),
                    MigrationStatus::AdditionalStepsRequired => {
                        rng.weighted(&[(0usize, 6), (1, 2), (2, 2)]).unwrap_or(0)
                    }
                })
                .collect();
            // The status must be explained by at least one check.
            let needed = match migration_status {
                MigrationStatus::Ready => 0,
                MigrationStatus::NeedsReview => 1,
                MigrationStatus::AdditionalStepsRequired => 2,
            };
            if needed > 0 && !results.contains(&needed) {
                let slot = rng.below(results.len() as u64) as usize;
                if let Some(r) = results.get_mut(slot) {
                    *r = needed;
                }
            }
            let shown = 1 + rng.below(MIGRATION_CHECKS.len() as u64) as usize;
            let migration_validation_details = MIGRATION_CHECKS
                .iter()
                .zip(&results)
                .enumerate()
                .filter(|(k, (_, r))| *k < shown || **r > 0)
                .map(|(_, ((check, messages), r))| {
                    (
                        (*check).to_owned(),
                        check_value(*r, messages.get(*r).copied().unwrap_or("")),
                    )
                })
                .collect();
            // About one trust in eight is no longer used; some are used rarely.
            let (active_share, daily_mean) = match rng.weighted(&[(0u8, 1), (1, 2), (2, 5)]) {
                Some(0) => (0.0, 0.0),
                Some(1) => (0.2 + 0.2 * rng.next_f64(), log_uniform(&mut rng, 1.0, 20.0)),
                _ => (
                    0.9 + 0.1 * rng.next_f64(),
                    log_uniform(&mut rng, 30.0, 2_000.0),
                ),
            };
            let population = (daily_mean * (0.3 + 1.2 * rng.next_f64())).round().max(3.0) as u64;
            RelyingParty {
                id: rng.guid(),
                relying_party_id,
                relying_party_name: name,
                service_id: forest_ids.get(forest).cloned().unwrap_or_default(),
                reply_urls,
                migration_status,
                migration_validation_details,
                active_share,
                daily_mean,
                failure_rate: 0.005 + 0.08 * rng.next_f64(),
                population,
            }
        })
        .collect()
}

/// One relying party's sign-ins on one day: `[successful, failed]`.
pub fn relying_party_day(seed: u64, index: u64, rp: &RelyingParty, day: i64) -> [u64; 2] {
    if rp.active_share <= 0.0 {
        return [0, 0];
    }
    let mut rng = day_rng(seed, STREAM_RELYING_PARTY_DAY, index, day);
    let factor = weekday_factor(day);
    if !rng.chance(rp.active_share * factor.sqrt()) {
        return [0, 0];
    }
    let total = (rp.daily_mean * factor * (0.6 + 0.8 * rng.next_f64()))
        .round()
        .max(1.0) as u64;
    let failed = ((total as f64) * rp.failure_rate * (0.5 + rng.next_f64())).round() as u64;
    let failed = failed.min(total);
    [total - failed, failed]
}

/// A relying party's totals over a window: successful, failed and unique users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelyingPartyWindow {
    /// `successfulSignInCount`.
    pub successes: u64,
    /// `failedSignInCount`.
    pub failures: u64,
    /// `uniqueUserCount`: users drawn from the trust's population, so not additive over days
    /// (`population · (1 − e^(−total/population))`, between 1 and the total).
    pub unique_users: u64,
}

impl RelyingPartyWindow {
    /// `totalSignInCount`.
    pub fn total(&self) -> u64 {
        self.successes + self.failures
    }
}

/// Relying party `index`'s totals over `pieces`.
pub fn relying_party_window(
    seed: u64,
    index: u64,
    rp: &RelyingParty,
    pieces: &[DayPiece],
) -> RelyingPartyWindow {
    let mut w = RelyingPartyWindow::default();
    for piece in pieces {
        let [s, f] = relying_party_day(seed, index, rp, piece.day);
        w.successes += piece.count(s);
        w.failures += piece.count(f);
    }
    let total = w.total();
    if total > 0 {
        let p = rp.population.max(1) as f64;
        let unique = (p * (1.0 - (-(total as f64) / p).exp())).round() as u64;
        w.unique_users = unique.clamp(1, total);
    }
    w
}

/// `credentialUsageSummary.feature` (§6.3).
pub const USAGE_FEATURES: [&str; 2] = ["registration", "reset"];

/// `usageAuthMethod` members (§6.3) with their share of users doing it on a weekday, per
/// feature (`[registration, reset]`); `evolvable` members come after `unknownFutureValue`.
pub struct UsageMethod {
    /// Graph enum member.
    pub name: &'static str,
    /// Whether the member is evolvable (only sent to clients that opt in, UNCONFIRMED).
    pub evolvable: bool,
    /// Expected daily activities per user, per feature; 0 = never offered for that feature.
    pub rate: [f64; 2],
}

/// The methods the credential usage model produces, non-evolvable first (append only).
pub const USAGE_METHODS: &[UsageMethod] = &[
    UsageMethod {
        name: "email",
        evolvable: false,
        rate: [0.0020, 0.0012],
    },
    UsageMethod {
        name: "mobileSMS",
        evolvable: false,
        rate: [0.0025, 0.0015],
    },
    UsageMethod {
        name: "mobileCall",
        evolvable: false,
        rate: [0.0004, 0.0002],
    },
    UsageMethod {
        name: "officePhone",
        evolvable: false,
        rate: [0.0002, 0.0001],
    },
    UsageMethod {
        name: "securityQuestion",
        evolvable: false,
        rate: [0.0003, 0.0002],
    },
    UsageMethod {
        name: "appNotification",
        evolvable: false,
        rate: [0.0030, 0.0010],
    },
    UsageMethod {
        name: "appCode",
        evolvable: false,
        rate: [0.0008, 0.0004],
    },
    UsageMethod {
        name: "alternateMobileCall",
        evolvable: false,
        rate: [0.0001, 0.00005],
    },
    UsageMethod {
        name: "fido",
        evolvable: false,
        rate: [0.0003, 0.0],
    },
    UsageMethod {
        name: "appPassword",
        evolvable: false,
        rate: [0.0001, 0.0],
    },
    UsageMethod {
        name: "microsoftAuthenticatorPush",
        evolvable: true,
        rate: [0.0010, 0.0005],
    },
    UsageMethod {
        name: "passKeyDeviceBound",
        evolvable: true,
        rate: [0.0004, 0.0],
    },
    UsageMethod {
        name: "temporaryAccessPass",
        evolvable: true,
        rate: [0.0002, 0.0],
    },
    UsageMethod {
        name: "windowsHelloForBusiness",
        evolvable: true,
        rate: [0.0006, 0.0],
    },
];

/// One (feature, method) day: `[successful, failed]` activities, scaled by the user count.
pub fn credential_usage_day(
    seed: u64,
    users: u64,
    feature: usize,
    method: usize,
    day: i64,
) -> [u64; 2] {
    let rate = USAGE_METHODS
        .get(method)
        .and_then(|m| m.rate.get(feature))
        .copied()
        .unwrap_or(0.0);
    if rate <= 0.0 {
        return [0, 0];
    }
    let mut rng = day_rng(
        seed,
        STREAM_CREDENTIAL_USAGE_DAY,
        (feature * 64 + method) as u64,
        day,
    );
    let expected = users as f64 * rate * weekday_factor(day) * (0.5 + rng.next_f64());
    // Small tenants: a fractional expectation becomes 0 or 1 at random.
    let total = expected.floor() as u64 + u64::from(rng.chance(expected.fract()));
    let failure_share = 0.02 + 0.13 * rng.next_f64();
    let failed = ((total as f64) * failure_share).round() as u64;
    [total - failed.min(total), failed.min(total)]
}

/// Share of a day's sign-ins that used MFA, and the day's row id (§6.5).
pub fn mfa_day(seed: u64, day: i64) -> (f64, String) {
    let mut rng = day_rng(seed, STREAM_MFA_DAY, 0, day);
    let share = 0.55 + 0.3 * rng.next_f64();
    (share, rng.guid())
}

/// Splits `total` sign-ins into `[single-factor, multi-factor]` by `share`.
pub fn mfa_split(total: u64, share: f64) -> [u64; 2] {
    let multi = ((total as f64) * share).round() as u64;
    [total - multi.min(total), multi.min(total)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_before_hours_is_monotone_and_matches_offsets() {
        for n in [0u64, 1, 2, 7, 100, 12_345] {
            let mut last = 0;
            for h in 0..=24 {
                let c = events_before_hour(n, h);
                assert!(c >= last && c <= n);
                last = c;
                let by_offset = (0..n.min(500))
                    .filter(|k| event_offset_seconds(*k, n) < f64::from(h) * 3_600.0)
                    .count() as u64;
                if n <= 500 {
                    assert_eq!(by_offset, c, "n={n} h={h}");
                }
            }
            assert_eq!(events_before_hour(n, 24), n);
            assert_eq!(events_before_hour(n, 0), 0);
        }
    }

    #[test]
    fn windows_cover_exactly_n_days() {
        // 2025-06-03T07:41:12Z → cutoff 07:00.
        let c = cutoff(1_748_936_472.9);
        assert_eq!(c % 3_600, 0);
        assert_eq!(c, 1_748_934_000);
        for days in [1u32, 7, 30] {
            let pieces = window_pieces(c, days);
            let hours: u32 = pieces.iter().map(|p| p.to_hour - p.from_hour).sum();
            assert_eq!(hours, days * 24);
            assert_eq!(pieces.len(), days as usize + 1);
            assert_eq!(pieces.last().map(|p| p.to_hour), Some(7));
        }
        // At midnight the window is whole days.
        let midnight = day_of(c) * DAY;
        assert_eq!(window_pieces(midnight, 7).len(), 7);
        let kept = retention_pieces(c, 30);
        assert_eq!(kept.len(), 30);
        assert_eq!(
            kept.last().map(|p| (p.day, p.to_hour)),
            Some((day_of(c), 7))
        );
    }

    #[test]
    fn apps_have_a_realistic_mix() {
        let seed = 42;
        let day = 20_000;
        let mut never = 0;
        let mut noisy = 0;
        let mut busy_days = 0;
        for i in 0..300u64 {
            let p = AppProfile::of(seed, i);
            match p.activity {
                AppActivity::Never => never += 1,
                AppActivity::Noisy => noisy += 1,
                _ => {}
            }
            let d = app_day(seed, i, &p, day);
            assert_eq!(d, app_day(seed, i, &p, day));
            if d.successes + d.failed() > 0 {
                busy_days += 1;
            }
        }
        assert!(never > 10 && noisy > 5, "{never} {noisy}");
        assert!(busy_days > 150, "{busy_days}");
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0]).iter().sum::<u64>(), 10);
    }

    #[test]
    fn relying_parties_mix_statuses_and_unique_users_are_bounded() {
        let rps = relying_parties(7, 40);
        assert_eq!(rps.len(), 40);
        for status in [
            MigrationStatus::Ready,
            MigrationStatus::NeedsReview,
            MigrationStatus::AdditionalStepsRequired,
        ] {
            assert!(rps.iter().any(|r| r.migration_status == status));
        }
        let forests: std::collections::HashSet<_> = rps.iter().map(|r| &r.service_id).collect();
        assert!(!forests.is_empty() && forests.len() <= 2);
        for rp in &rps {
            for (_, value) in &rp.migration_validation_details {
                let v: serde_json::Value = serde_json::from_str(value).expect("json value");
                assert!(v["result"].is_u64() && v["message"].is_string());
            }
        }
        let c = cutoff(1_748_936_472.0);
        for (i, rp) in rps.iter().enumerate() {
            let d1 = relying_party_window(7, i as u64, rp, &window_pieces(c, 1));
            let d30 = relying_party_window(7, i as u64, rp, &window_pieces(c, 30));
            assert!(d30.unique_users <= d30.total());
            assert!(d1.total() <= d30.total());
            assert!(d1.unique_users <= d30.unique_users.max(d1.unique_users));
        }
    }
}
