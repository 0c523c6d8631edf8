//! The tenant's activity logs as deterministic event streams: sign-ins (reference §8) and the
//! directory audit, provisioning and custom security attribute audit logs (whose shapes the
//! reference lacks; they are modelled on Graph's documentation of `directoryAudit`,
//! `provisioningObjectSummary` and `customSecurityAttributeAudit`).
//!
//! **Events without storage.** Every stream is a set of *sources*: an application and one
//! sign-in outcome, a service principal or managed identity and one outcome, one audit
//! activity, one provisioning job. A source has a deterministic number of events per UTC day,
//! and event `k` of its `n` events that day sits at the `(k + ½)/n` quantile of the source's
//! hourly profile, in exact integer arithmetic on 100 ns ticks ([`event_tick`]). How many
//! events fall before any instant is closed-form ([`count_before`]), so a time range is listed
//! by visiting only the events inside it: a page of 1,000 costs a few thousand events and a
//! few hundred day counts whatever the volume (a million events a day included), and nothing
//! is materialised. Everything else about an event (id, user, error, country, delay, …) comes
//! from its own random stream, keyed by (seed, source, day, `k`).
//!
//! **User sign-ins are the §2 usage model.** Application `i`'s sources are the model's daily
//! successful count and its failed count per error code ([`usage::app_day`]), placed with the
//! model's diurnal profile ([`usage::HOURLY_WEIGHTS`]); an event lies before hour `h` of its day
//! exactly when [`usage::events_before_hour`] counts it. So the user sign-ins (interactive and
//! non-interactive) of an app in `[cutoff − N days, cutoff)` are exactly what
//! `getAzureADApplicationSignInSummary` reports for it. [`crate::SimConfig::activity_rate`]
//! scales the model itself, so this holds at any rate.
//!
//! **Interactive or not.** Failures that need the user at the keyboard (50126 wrong password,
//! 50053 locked out, 50055 expired password) are interactive. Any other user sign-in is
//! non-interactive with the application's own probability, drawn once per app from
//! `[0.35, 0.9]` (token refreshes and silent SSO outnumber prompts in real tenants).
//!
//! **Who signs in.** Each application has an audience: a run of the user model's slots
//! (`src/tenant/registration.rs`; soft-deleted users are skipped), 2–100% of the tenant, users
//! at its start signing in more often. Password-spray failures (50126 on the usage model's
//! noisy apps) hit users across the whole tenant from a few foreign countries, with a higher
//! sign-in risk. Otherwise a user signs in from their home country (3% travel), on their
//! desktop or mobile operating system.
//!
//! **Workload sign-ins.** Service principals that sign in app-only in the §4 model
//! (`applicationAuthenticationClientSignInActivity` set) produce service principal sign-ins,
//! managed identities produce managed identity sign-ins, around the clock (flat profile). Disabled
//! service principals fail with 7000112, about 8% of the others are broken (an expired or wrong
//! secret, 7000222 / 7000215) and fail most of the time. Gap: `servicePrincipalSignInActivities`
//! (§4) is generated once around the tenant's "now" and does not follow this stream.
//!
//! **Audits.** Directory audits, provisioning events and custom security attribute audits are
//! per-activity (per-job) daily counts at fixed demo-tenant rates (tens to hundreds an hour in
//! total), working-hours profile for audits, flat for provisioning, results mostly success.
//!
//! **Late arrival.** Each event draws a delay in `[0, Quirks::activity_max_lag]` and is listed
//! only from `createdDateTime + delay` on ([`ActivityLog::lag_of`]).
//!
//! **An end.** With [`SimConfig::activity_end`] set, no event has a later timestamp: tests let
//! a client catch up and compare with a ground truth that no longer moves.

use std::collections::HashMap;

use super::registration::UserCore;
use super::usage::{self, AppActivity, FAILURE_REASONS, HOURLY_WEIGHTS};
use super::Tenant;
use crate::config::SimConfig;
use crate::rng::Rng;
use crate::time::{UtcTime, DAY, TICKS_PER_SECOND};

/// 100 ns ticks per second.
pub const TICKS: i64 = TICKS_PER_SECOND as i64;
/// Ticks per hour.
pub const HOUR_TICKS: i64 = 3_600 * TICKS;
/// Ticks per day.
pub const DAY_TICKS: i64 = DAY * TICKS;

/// Hourly profile of workloads and provisioning: around the clock.
const FLAT_WEIGHTS: [u64; 24] = [1; 24];

/// Random stream of an event (sort key, delay, facts).
const STREAM_EVENT: u64 = 0x4c47_0001;
/// Random streams of an event id's two halves.
const STREAM_EVENT_ID: [u64; 2] = [0x4c47_0002, 0x4c47_0003];
/// Random stream of an application's sign-in traits.
const STREAM_APP_TRAITS: u64 = 0x4c47_0004;
/// Random stream of a workload's sign-in profile.
const STREAM_WORKLOAD: u64 = 0x4c47_0005;
/// Random stream of a workload's day.
const STREAM_WORKLOAD_DAY: u64 = 0x4c47_0006;
/// Random stream of an audit activity's or provisioning job's day.
const STREAM_AUDIT_DAY: u64 = 0x4c47_0007;
/// Random stream of a user's home country, devices and address.
const STREAM_USER_HOME: u64 = 0x4c47_0008;
/// Random stream of the log's tenant-wide constants (policy and job ids).
const STREAM_LOG_CONSTANTS: u64 = 0x4c47_0009;

/// Users scanned for the admins that initiate directory audits.
const ADMIN_SCAN: u64 = 20_000;

/// Sum of `weights`.
fn total(weights: &[u64; 24]) -> u64 {
    weights.iter().sum()
}

/// Sum of the weights before `hour`.
fn before(weights: &[u64; 24], hour: usize) -> u64 {
    weights.iter().take(hour).sum()
}

/// Ticks after midnight of event `k` of a day's `n` events with hourly profile `weights`: the
/// `(k + ½)/n` quantile of the profile, linear within each hour, rounded down to a tick. With
/// `j = 2k + 1` and `W` the weight total, the event is in hour `h` when
/// `2n · W(<h) ≤ j · W < 2n · W(≤h)`, the criterion of [`usage::events_before_hour`].
pub fn event_tick(k: u64, n: u64, weights: &[u64; 24]) -> i64 {
    let n2 = 2 * u128::from(n.max(1));
    let x = (2 * u128::from(k) + 1) * u128::from(total(weights));
    let mut below = 0u128;
    for (hour, w) in weights.iter().enumerate() {
        let w = u128::from(*w);
        if x < n2 * (below + w) {
            let within = (x - n2 * below) * HOUR_TICKS as u128 / (n2 * w);
            return hour as i64 * HOUR_TICKS + within as i64;
        }
        below += w;
    }
    DAY_TICKS - 1
}

/// How many of a day's `n` events (profile `weights`) have [`event_tick`] below `t` ticks
/// after midnight: the odd `j` with `j · W · H < 2n · (W(<h) · H + r · w_h)`, where `t = h · H
/// + r` and `H` is an hour in ticks.
pub fn count_before(n: u64, t: i64, weights: &[u64; 24]) -> u64 {
    if t <= 0 || n == 0 {
        return 0;
    }
    if t >= DAY_TICKS {
        return n;
    }
    let hour = (t / HOUR_TICKS) as usize;
    let r = (t % HOUR_TICKS) as u128;
    let w = u128::from(weights.get(hour).copied().unwrap_or(0));
    let h = HOUR_TICKS as u128;
    let x = 2 * u128::from(n) * (u128::from(before(weights, hour)) * h + r * w);
    if x == 0 {
        return 0;
    }
    let j_max = (x - 1) / (u128::from(total(weights)) * h);
    u64::try_from(j_max.div_ceil(2)).unwrap_or(u64::MAX).min(n)
}

/// The four activity logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LogKind {
    /// `auditLogs/signIns` (§8).
    SignIns,
    /// `auditLogs/directoryAudits`.
    DirectoryAudits,
    /// `auditLogs/provisioning`.
    Provisioning,
    /// `auditLogs/customSecurityAttributeAudits` (beta).
    CustomSecurityAttributeAudits,
}

impl LogKind {
    /// The source groups of the log.
    pub fn groups(self) -> &'static [Group] {
        match self {
            Self::SignIns => &[
                Group::UserApp,
                Group::ServicePrincipal,
                Group::ManagedIdentity,
            ],
            Self::DirectoryAudits => &[Group::DirectoryAudit],
            Self::Provisioning => &[Group::Provisioning],
            Self::CustomSecurityAttributeAudits => &[Group::CsaAudit],
        }
    }

    /// A tag for page tokens.
    pub fn tag(self) -> u8 {
        match self {
            Self::SignIns => 0x50,
            Self::DirectoryAudits => 0x51,
            Self::Provisioning => 0x52,
            Self::CustomSecurityAttributeAudits => 0x53,
        }
    }
}

/// A family of event sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// User sign-ins to one app registration (entity = application index, kind 0 = success,
    /// kind `1 + i` = [`FAILURE_REASONS`]`[i]`).
    UserApp,
    /// App-only sign-ins of one service principal (entity = index in
    /// [`ActivityLog::workloads`], kind 0 = success, `1 + i` = [`WORKLOAD_FAILURES`]`[i]`).
    ServicePrincipal,
    /// Sign-ins of one managed identity (entity = index in
    /// [`ActivityLog::managed_identities`], kinds as for service principals).
    ManagedIdentity,
    /// One directory audit activity (entity = index in [`DIRECTORY_ACTIVITIES`]).
    DirectoryAudit,
    /// One provisioning job (entity = index in [`PROVISIONING_JOBS`]).
    Provisioning,
    /// One custom security attribute audit activity (entity = index in [`CSA_ACTIVITIES`]).
    CsaAudit,
}

impl Group {
    /// Number of kinds (outcomes) of each source of the group.
    pub fn kinds(self) -> usize {
        match self {
            Self::UserApp => 1 + FAILURE_REASONS.len(),
            Self::ServicePrincipal | Self::ManagedIdentity => 1 + WORKLOAD_FAILURES.len(),
            _ => 1,
        }
    }

    /// The hourly profile of the group's events.
    pub fn weights(self) -> &'static [u64; 24] {
        match self {
            Self::UserApp | Self::DirectoryAudit | Self::CsaAudit => &HOURLY_WEIGHTS,
            Self::ServicePrincipal | Self::ManagedIdentity | Self::Provisioning => &FLAT_WEIGHTS,
        }
    }
}

/// One event source: a group, an entity of it and an outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source {
    /// The family.
    pub group: Group,
    /// Index of the entity (app, workload, activity, job).
    pub entity: u32,
    /// Outcome (0 = success for sign-ins; always 0 otherwise).
    pub kind: u8,
}

impl Source {
    /// A unique number of the source (the event stream's `stream` part).
    fn packed(&self) -> u64 {
        ((self.group as u64) << 40) | (u64::from(self.entity) << 8) | u64::from(self.kind)
    }
}

/// One event, identified by its source, day and index; everything else derives from these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRef {
    /// Timestamp, 100 ns ticks since the epoch.
    pub tick: i64,
    /// A 64-bit hash of the event: orders events with equal timestamps.
    pub key: u64,
    /// Where it comes from.
    pub source: Source,
    /// Its UTC day (days since the epoch).
    pub day: i64,
    /// Its index among the source's events that day.
    pub k: u64,
}

impl EventRef {
    /// The timestamp.
    pub fn time(&self) -> UtcTime {
        UtcTime::from_unix(
            self.tick.div_euclid(TICKS),
            self.tick.rem_euclid(TICKS) as u32,
        )
    }

    /// The stream index of the event within its source.
    fn index(&self) -> u64 {
        ((self.day as u64) << 32) ^ self.k
    }
}

/// The sign-in event types of the beta `signInEventTypes` (§8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignInEventType {
    /// `interactiveUser`.
    InteractiveUser,
    /// `nonInteractiveUser`.
    NonInteractiveUser,
    /// `servicePrincipal`.
    ServicePrincipal,
    /// `managedIdentity`.
    ManagedIdentity,
}

impl SignInEventType {
    /// All four, in label order.
    pub const ALL: [Self; 4] = [
        Self::InteractiveUser,
        Self::NonInteractiveUser,
        Self::ServicePrincipal,
        Self::ManagedIdentity,
    ];

    /// The Graph string.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::InteractiveUser => "interactiveUser",
            Self::NonInteractiveUser => "nonInteractiveUser",
            Self::ServicePrincipal => "servicePrincipal",
            Self::ManagedIdentity => "managedIdentity",
        }
    }

    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::InteractiveUser => "interactive_user",
            Self::NonInteractiveUser => "non_interactive_user",
            Self::ServicePrincipal => "service_principal",
            Self::ManagedIdentity => "managed_identity",
        }
    }

    /// The `log` label of the stream (`sign_ins_<label>`).
    pub fn log_label(self) -> &'static str {
        match self {
            Self::InteractiveUser => "sign_ins_interactive_user",
            Self::NonInteractiveUser => "sign_ins_non_interactive_user",
            Self::ServicePrincipal => "sign_ins_service_principal",
            Self::ManagedIdentity => "sign_ins_managed_identity",
        }
    }

    /// Whether a user signed in.
    pub fn is_user(self) -> bool {
        matches!(self, Self::InteractiveUser | Self::NonInteractiveUser)
    }
}

/// `conditionalAccessStatus` (§8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaStatus {
    /// `success`: a policy applied and its controls were satisfied.
    Success,
    /// `failure`: a policy blocked the sign-in (always error 53003).
    Failure,
    /// `notApplied`: no policy applied.
    NotApplied,
}

impl CaStatus {
    /// The Graph enum member.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::NotApplied => "notApplied",
        }
    }
}

/// `riskLevelDuringSignIn` (§8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RiskLevel {
    /// `none`.
    None,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `hidden`: the tenant has no P2 licence.
    Hidden,
}

impl RiskLevel {
    /// The Graph enum member.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Hidden => "hidden",
        }
    }
}

/// A sign-in failure of a workload, with its AADSTS code and `failureReason` text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkloadFailure {
    /// `status.errorCode`.
    pub code: i32,
    /// `status.failureReason`.
    pub text: &'static str,
}

/// Failures of service principal and managed identity sign-ins, in kind order.
pub const WORKLOAD_FAILURES: [WorkloadFailure; 4] = [
    WorkloadFailure {
        code: 7000215,
        text: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
    },
    WorkloadFailure {
        code: 7000222,
        text: "The provided client secret keys for app are expired. Visit the Azure portal to create new keys for your app, or consider using certificate credentials for added security.",
    },
    WorkloadFailure {
        code: 700027,
        text: "Client assertion failed signature validation.",
    },
    WorkloadFailure {
        code: 7000112,
        text: "Application is disabled.",
    },
];

/// A country sign-ins come from, with one city for `location`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Country {
    /// `countryOrRegion` (ISO 3166 alpha-2).
    pub code: &'static str,
    /// `city`.
    pub city: &'static str,
    /// `state`.
    pub state: &'static str,
    /// `geoCoordinates.latitude`.
    pub latitude: f64,
    /// `geoCoordinates.longitude`.
    pub longitude: f64,
}

/// Home countries of users, with their weights.
pub static HOME_COUNTRIES: [(Country, u32); 12] = [
    (
        country("US", "Seattle", "Washington", 47.6062, -122.3321),
        30,
    ),
    (country("DE", "Berlin", "Berlin", 52.52, 13.405), 18),
    (country("GB", "London", "England", 51.5072, -0.1276), 12),
    (country("FR", "Paris", "Ile-De-France", 48.8566, 2.3522), 7),
    (country("IN", "Bengaluru", "Karnataka", 12.9716, 77.5946), 8),
    (
        country("NL", "Amsterdam", "Noord-Holland", 52.3676, 4.9041),
        5,
    ),
    (country("CA", "Toronto", "Ontario", 43.6532, -79.3832), 5),
    (country("JP", "Tokyo", "Tokyo", 35.6762, 139.6503), 4),
    (
        country("BR", "Sao Paulo", "Sao Paulo", -23.5505, -46.6333),
        3,
    ),
    (country("ES", "Madrid", "Madrid", 40.4168, -3.7038), 3),
    (
        country("AU", "Sydney", "New South Wales", -33.8688, 151.2093),
        3,
    ),
    (country("PL", "Warsaw", "Mazowieckie", 52.2297, 21.0122), 2),
];

/// Where password sprays come from.
pub static SPRAY_COUNTRIES: [(Country, u32); 4] = [
    (country("RU", "Moscow", "Moscow", 55.7558, 37.6173), 4),
    (country("CN", "Beijing", "Beijing", 39.9042, 116.4074), 3),
    (country("NG", "Lagos", "Lagos", 6.5244, 3.3792), 2),
    (country("VN", "Hanoi", "Hanoi", 21.0278, 105.8342), 2),
];

/// Azure regions workloads sign in from.
pub static AZURE_REGIONS: [(Country, u32); 3] = [
    (country("US", "Boydton", "Virginia", 36.6676, -78.3875), 5),
    (
        country("NL", "Amsterdam", "Noord-Holland", 52.3676, 4.9041),
        3,
    ),
    (country("IE", "Dublin", "Dublin", 53.3498, -6.2603), 2),
];

/// Builds a [`Country`] in a const table.
const fn country(
    code: &'static str,
    city: &'static str,
    state: &'static str,
    lat: f64,
    lon: f64,
) -> Country {
    Country {
        code,
        city,
        state,
        latitude: lat,
        longitude: lon,
    }
}

/// Desktop operating systems (`deviceDetail.operatingSystem`) of users.
const DESKTOP_OS: [(&str, u32); 3] = [("Windows10", 75), ("MacOs", 20), ("Linux", 5)];
/// Mobile operating systems of users.
const MOBILE_OS: [(&str, u32); 2] = [("Ios", 55), ("Android", 45)];
/// `clientAppUsed` of interactive sign-ins (per mille).
const INTERACTIVE_CLIENT_APPS: [(&str, u32); 6] = [
    ("Browser", 620),
    ("Mobile Apps and Desktop clients", 350),
    ("Exchange ActiveSync", 20),
    ("IMAP", 5),
    ("POP", 3),
    ("SMTP", 2),
];
/// `clientAppUsed` of non-interactive sign-ins.
const NON_INTERACTIVE_CLIENT_APPS: [(&str, u32); 2] =
    [("Mobile Apps and Desktop clients", 85), ("Browser", 15)];
/// `clientAppUsed` of password sprays and blocked legacy clients.
const LEGACY_CLIENT_APPS: [(&str, u32); 5] = [
    ("Browser", 30),
    ("IMAP", 25),
    ("SMTP", 15),
    ("POP", 10),
    ("Exchange ActiveSync", 20),
];

/// Error codes of user sign-ins that are always interactive.
const INTERACTIVE_ONLY_CODES: [i32; 3] = [50126, 50053, 50055];

/// What a directory audit or custom security attribute audit targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A user of the user model.
    User,
    /// A security or Microsoft 365 group.
    Group,
    /// A directory role, and the user added to or removed from it.
    Role,
    /// An app registration of the tenant.
    Application,
    /// A service principal of the tenant.
    ServicePrincipal,
    /// A conditional access or other policy.
    Policy,
    /// A device.
    Device,
    /// The tenant itself.
    Directory,
    /// A custom security attribute definition or set.
    AttributeDefinition,
}

/// Who performs an audited activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// An administrator of the user model.
    Admin,
    /// The target user themselves (self-service).
    SelfUser,
    /// An application, by display name.
    App(&'static str),
}

/// One kind of audited activity and its daily volume in the demo tenant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AuditActivity {
    /// `category`.
    pub category: &'static str,
    /// `activityDisplayName`.
    pub activity: &'static str,
    /// `operationType`.
    pub operation_type: &'static str,
    /// `loggedByService`.
    pub service: &'static str,
    /// What it targets.
    pub target: Target,
    /// Who does it.
    pub initiator: Initiator,
    /// Mean events on a weekday at activity rate 1.
    pub daily_mean: f64,
    /// Share of events that fail.
    pub failure_share: f64,
    /// `resultReason` of failures.
    pub failure_reason: &'static str,
}

/// Builds an [`AuditActivity`] in a const table.
#[allow(clippy::too_many_arguments)]
const fn activity(
    category: &'static str,
    activity: &'static str,
    operation_type: &'static str,
    service: &'static str,
    target: Target,
    initiator: Initiator,
    daily_mean: f64,
    failure_share: f64,
    failure_reason: &'static str,
) -> AuditActivity {
    AuditActivity {
        category,
        activity,
        operation_type,
        service,
        target,
        initiator,
        daily_mean,
        failure_share,
        failure_reason,
    }
}

/// `loggedByService` of most directory changes.
const CORE: &str = "Core Directory";
/// A generic failure reason.
const INSUFFICIENT: &str = "Insufficient privileges to complete the operation.";

/// The directory audit activities (append only: indices are source entities).
pub const DIRECTORY_ACTIVITIES: [AuditActivity; 27] = [
    activity("UserManagement", "Add user", "Add", CORE, Target::User, Initiator::Admin, 20.0, 0.02, "Another object with the same value for property userPrincipalName already exists."),
    activity("UserManagement", "Update user", "Update", CORE, Target::User, Initiator::Admin, 250.0, 0.005, INSUFFICIENT),
    activity("UserManagement", "Delete user", "Delete", CORE, Target::User, Initiator::Admin, 8.0, 0.01, INSUFFICIENT),
    activity("UserManagement", "Reset user password", "Update", CORE, Target::User, Initiator::Admin, 25.0, 0.03, "The password does not comply with the password complexity requirements."),
    activity("UserManagement", "Change user password", "Update", CORE, Target::User, Initiator::SelfUser, 30.0, 0.04, "The password does not comply with the password complexity requirements."),
    activity("UserManagement", "Reset password (self-service)", "Update", "Self-service Password Management", Target::User, Initiator::SelfUser, 40.0, 0.1, "User failed to verify their identity."),
    activity("UserManagement", "Disable account", "Update", CORE, Target::User, Initiator::Admin, 5.0, 0.0, ""),
    activity("GroupManagement", "Add member to group", "Assign", CORE, Target::Group, Initiator::Admin, 180.0, 0.01, "One or more added object references already exist for the following modified properties: 'members'."),
    activity("GroupManagement", "Remove member from group", "Unassign", CORE, Target::Group, Initiator::Admin, 90.0, 0.005, INSUFFICIENT),
    activity("GroupManagement", "Add group", "Add", CORE, Target::Group, Initiator::Admin, 10.0, 0.01, INSUFFICIENT),
    activity("GroupManagement", "Update group", "Update", CORE, Target::Group, Initiator::Admin, 40.0, 0.005, INSUFFICIENT),
    activity("RoleManagement", "Add member to role", "Assign", CORE, Target::Role, Initiator::Admin, 6.0, 0.02, INSUFFICIENT),
    activity("RoleManagement", "Remove member from role", "Unassign", CORE, Target::Role, Initiator::Admin, 4.0, 0.01, INSUFFICIENT),
    activity("RoleManagement", "Add eligible member to role in PIM completed (permanent)", "Assign", "PIM", Target::Role, Initiator::Admin, 3.0, 0.01, "RoleAssignmentExists"),
    activity("RoleManagement", "Add member to role completed (PIM activation)", "Assign", "PIM", Target::Role, Initiator::App("MS-PIM"), 25.0, 0.02, "Justification is required."),
    activity("ApplicationManagement", "Add application", "Add", CORE, Target::Application, Initiator::Admin, 5.0, 0.01, INSUFFICIENT),
    activity("ApplicationManagement", "Update application", "Update", CORE, Target::Application, Initiator::Admin, 40.0, 0.01, INSUFFICIENT),
    activity("ApplicationManagement", "Update application \u{2013} Certificates and secrets management", "Update", CORE, Target::Application, Initiator::Admin, 12.0, 0.01, INSUFFICIENT),
    activity("ApplicationManagement", "Add service principal", "Add", CORE, Target::ServicePrincipal, Initiator::Admin, 6.0, 0.01, INSUFFICIENT),
    activity("ApplicationManagement", "Consent to application", "Assign", CORE, Target::ServicePrincipal, Initiator::SelfUser, 15.0, 0.08, "Microsoft.Online.Security.UserConsentBlockedForRiskyAppsException"),
    activity("ApplicationManagement", "Add app role assignment to service principal", "Assign", CORE, Target::ServicePrincipal, Initiator::Admin, 20.0, 0.01, INSUFFICIENT),
    activity("Policy", "Add conditional access policy", "Add", "Conditional Access", Target::Policy, Initiator::Admin, 1.0, 0.0, ""),
    activity("Policy", "Update conditional access policy", "Update", "Conditional Access", Target::Policy, Initiator::Admin, 3.0, 0.02, INSUFFICIENT),
    activity("Policy", "Update policy", "Update", CORE, Target::Policy, Initiator::Admin, 8.0, 0.01, INSUFFICIENT),
    activity("DirectoryManagement", "Update company settings", "Update", CORE, Target::Directory, Initiator::Admin, 1.0, 0.0, ""),
    activity("DirectoryManagement", "Set directory feature on tenant", "Update", CORE, Target::Directory, Initiator::Admin, 0.5, 0.0, ""),
    activity("Device", "Update device", "Update", CORE, Target::Device, Initiator::App("Device Registration Service"), 120.0, 0.005, INSUFFICIENT),
];

/// `category` of every custom security attribute audit (Graph's docs: "a single category").
pub const CSA_CATEGORY: &str = "AttributeManagement";

/// The custom security attribute audit activities (append only).
pub const CSA_ACTIVITIES: [AuditActivity; 6] = [
    activity(
        CSA_CATEGORY,
        "Update attribute values assigned to a user",
        "Update",
        CORE,
        Target::User,
        Initiator::Admin,
        60.0,
        0.01,
        "Attribute value is not in the list of predefined values.",
    ),
    activity(
        CSA_CATEGORY,
        "Update attribute values assigned to a servicePrincipal",
        "Update",
        CORE,
        Target::ServicePrincipal,
        Initiator::Admin,
        8.0,
        0.01,
        "Attribute value is not in the list of predefined values.",
    ),
    activity(
        CSA_CATEGORY,
        "Add custom security attribute definition in an attribute set",
        "Add",
        CORE,
        Target::AttributeDefinition,
        Initiator::Admin,
        0.8,
        0.0,
        "",
    ),
    activity(
        CSA_CATEGORY,
        "Update a custom security attribute definition in an attribute set",
        "Update",
        CORE,
        Target::AttributeDefinition,
        Initiator::Admin,
        1.5,
        0.0,
        "",
    ),
    activity(
        CSA_CATEGORY,
        "Add an attribute set",
        "Add",
        CORE,
        Target::AttributeDefinition,
        Initiator::Admin,
        0.3,
        0.0,
        "",
    ),
    activity(
        CSA_CATEGORY,
        "Update an attribute set",
        "Update",
        CORE,
        Target::AttributeDefinition,
        Initiator::Admin,
        0.4,
        0.0,
        "",
    ),
];

/// One provisioning job of the tenant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProvisioningJob {
    /// `sourceSystem.displayName`.
    pub source: &'static str,
    /// `targetSystem.displayName`.
    pub target: &'static str,
    /// `servicePrincipal.displayName` (the enterprise app running the job).
    pub app: &'static str,
    /// First part of the `jobId` (the job template).
    pub template: &'static str,
    /// Mean events a day at activity rate 1.
    pub daily_mean: f64,
    /// Share of events that fail.
    pub failure_share: f64,
    /// `errorInformation.errorCode` of failures.
    pub error_code: &'static str,
    /// `errorInformation.reason` of failures.
    pub error_reason: &'static str,
}

/// The provisioning jobs (append only).
pub const PROVISIONING_JOBS: [ProvisioningJob; 4] = [
    ProvisioningJob {
        source: "Azure Active Directory",
        target: "ServiceNow",
        app: "ServiceNow",
        template: "ServiceNowOutDelta",
        daily_mean: 240.0,
        failure_share: 0.03,
        error_code: "ServiceNowEntryConflict",
        error_reason: "ServiceNow returned an error response with the HTTP status code 409. A user with the same name already exists.",
    },
    ProvisioningJob {
        source: "Azure Active Directory",
        target: "Salesforce",
        app: "Salesforce",
        template: "SalesforceOutDelta",
        daily_mean: 140.0,
        failure_share: 0.06,
        error_code: "SalesforceLicenseLimitExceeded",
        error_reason: "Salesforce returned LICENSE_LIMIT_EXCEEDED: no Salesforce licence is left for the user.",
    },
    ProvisioningJob {
        source: "Azure Active Directory",
        target: "Workday",
        app: "Workday",
        template: "AADWorkdayWriteback",
        daily_mean: 60.0,
        failure_share: 0.04,
        error_code: "WorkdayWritebackEntryNotFound",
        error_reason: "No Workday worker matches the user's employeeId.",
    },
    ProvisioningJob {
        source: "Workday",
        target: "Active Directory",
        app: "Workday to Active Directory User Provisioning",
        template: "Workday2AD",
        daily_mean: 320.0,
        failure_share: 0.025,
        error_code: "ActiveDirectoryDuplicateSamAccountName",
        error_reason: "The sAMAccountName generated for the worker is already used by another account in the on-premises domain.",
    },
];

/// `provisioningAction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisioningAction {
    /// `create`.
    Create,
    /// `update`.
    Update,
    /// `delete`.
    Delete,
    /// `disable`.
    Disable,
    /// `stagedDelete`.
    StagedDelete,
    /// `other`.
    Other,
}

impl ProvisioningAction {
    /// The Graph enum member.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Disable => "disable",
            Self::StagedDelete => "stagedDelete",
            Self::Other => "other",
        }
    }
}

/// `provisioningStatusInfo.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisioningStatus {
    /// `success`.
    Success,
    /// `warning`.
    Warning,
    /// `failure`.
    Failure,
    /// `skipped`.
    Skipped,
}

impl ProvisioningStatus {
    /// The Graph enum member.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Warning => "warning",
            Self::Failure => "failure",
            Self::Skipped => "skipped",
        }
    }
}

/// `result` of an audit (`operationResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditResult {
    /// `success`.
    Success,
    /// `failure`.
    Failure,
    /// `timeout`.
    Timeout,
}

impl AuditResult {
    /// The Graph enum member.
    pub fn graph_name(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Timeout => "timeout",
        }
    }
}

/// Sign-in traits of one app registration.
#[derive(Clone, Debug, PartialEq)]
pub struct AppTraits {
    /// Probability that a user sign-in that may be non-interactive is.
    pub non_interactive_share: f64,
    /// First user slot of the audience.
    pub audience_start: u64,
    /// Audience size in slots (at least 1).
    pub audience_size: u64,
    /// Whether its 50126 failures are a password spray (the usage model's noisy apps).
    pub spray: bool,
    /// Share of its sign-ins whose resource is the app itself rather than Microsoft Graph.
    pub own_resource_share: f64,
}

/// A service principal or managed identity that signs in app-only.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Index in [`Tenant::service_principals`].
    pub sp_index: usize,
    /// Probability that a day sees sign-ins.
    pub active_share: f64,
    /// Mean sign-ins on an active day.
    pub daily_mean: f64,
    /// Mean share of failures.
    pub failure_rate: f64,
    /// Weights of [`WORKLOAD_FAILURES`].
    pub failure_weights: [f64; 4],
    /// `servicePrincipalCredentialKeyId`: a credential of the app, when it has one.
    pub credential_key_id: Option<String>,
    /// `clientCredentialType` (beta).
    pub credential_type: &'static str,
    /// `managedServiceIdentity.msiType` for managed identities.
    pub msi_type: Option<&'static str>,
}

/// The ids of the tenant's conditional access policies (see [`CA_POLICIES`]).
pub const CA_POLICIES: [(&str, &[&str]); 4] = [
    ("Require MFA for admins", &["Mfa"]),
    ("Block legacy authentication", &["Block"]),
    (
        "Require compliant or hybrid joined device",
        &["RequireCompliantDevice", "RequireDomainJoinedDevice"],
    ),
    ("Block access from untrusted countries", &["Block"]),
];

/// The activity logs of one tenant: traits drawn once, everything else on demand.
#[derive(Clone, Debug)]
pub struct ActivityLog {
    /// Seed of the tenant.
    pub seed: u64,
    /// [`SimConfig::activity_rate`] (already applied to the usage model).
    pub rate: f64,
    /// Whether the tenant has P2 (risk fields not hidden).
    pub p2: bool,
    /// Longest arrival delay, ticks.
    pub max_lag_ticks: i64,
    /// Days served back from a request.
    pub retention_days: u32,
    /// Last tick any event may have ([`SimConfig::activity_end`]); `i64::MAX` when the logs
    /// never stop.
    pub end_tick: i64,
    /// Tenant id (`homeTenantId`, `resourceTenantId`, `tenantId`).
    pub tenant_id: String,
    /// Per application, same order as [`Tenant::applications`].
    pub app_traits: Vec<AppTraits>,
    /// Service principals that sign in app-only.
    pub workloads: Vec<Workload>,
    /// Managed identities that sign in.
    pub managed_identities: Vec<Workload>,
    /// Ids of [`CA_POLICIES`].
    pub policy_ids: Vec<String>,
    /// Per [`PROVISIONING_JOBS`] entry: `jobId`, service principal id, and the ids of the source
    /// and target systems.
    pub job_ids: Vec<[String; 4]>,
    /// User slots holding an admin (initiators of directory changes).
    pub admins: Vec<u64>,
}

/// A generator for day `day` of entity `entity` in `stream`.
fn day_rng(seed: u64, stream: u64, entity: u64, day: i64) -> Rng {
    let e = Rng::derive(seed, stream, entity).next_u64();
    Rng::derive(e, stream, day as u64)
}

/// Log-uniform draw in `[lo, hi]`.
fn log_uniform(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    (lo.ln() + rng.next_f64() * (hi.ln() - lo.ln())).exp()
}

/// A count with mean `mean`: its floor plus one with probability of its fraction.
fn draw_count(rng: &mut Rng, mean: f64) -> u64 {
    let mean = mean.max(0.0);
    mean.floor() as u64 + u64::from(rng.chance(mean.fract()))
}

/// Splits `total` over `weights` by largest remainders (sums exactly).
fn apportion(total: u64, weights: &[f64; 4]) -> [u64; 4] {
    let sum: f64 = weights.iter().sum();
    let mut out = [0u64; 4];
    if total == 0 || sum <= 0.0 {
        return out;
    }
    let mut rest = [(0.0f64, 0usize); 4];
    let mut given = 0;
    for (i, w) in weights.iter().enumerate() {
        let exact = total as f64 * w / sum;
        out[i] = exact.floor() as u64;
        given += out[i];
        rest[i] = (exact - exact.floor(), i);
    }
    rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in rest.iter().take(total.saturating_sub(given) as usize) {
        out[*i] += 1;
    }
    out
}

/// A GUID from two 64-bit halves, with the version-4 and variant bits set.
pub fn guid_from(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// Weekends are quieter for people (not for workloads).
fn weekday_factor(day: i64) -> f64 {
    if usage::weekday(day) >= 5 {
        0.3
    } else {
        1.0
    }
}

/// The facts of a user's home: country, devices and address, fixed per user slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UserHome {
    /// Home country.
    pub country: &'static Country,
    /// Desktop operating system.
    pub desktop_os: &'static str,
    /// Mobile operating system.
    pub mobile_os: &'static str,
    /// Last two octets of the home address (in a documentation range).
    pub address: (u8, u8),
    /// Whether the desktop is Entra joined (device id and compliance shown).
    pub managed_device: bool,
}

/// The facts of one sign-in that the ground truth counts and the JSON shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignInFacts {
    /// Event type.
    pub event_type: SignInEventType,
    /// `status.errorCode` (0 = success).
    pub error_code: i32,
    /// `status.failureReason` of failures.
    pub failure_reason: Option<&'static str>,
    /// The user slot, for user sign-ins (`None` when the tenant has no live user).
    pub user: Option<u64>,
    /// Whether that user is an admin.
    pub admin: bool,
    /// `conditionalAccessStatus`.
    pub ca_status: CaStatus,
    /// `clientAppUsed` (`None` for workloads).
    pub client_app: Option<&'static str>,
    /// `deviceDetail.operatingSystem` (`None` for workloads, `""` when unknown).
    pub operating_system: Option<&'static str>,
    /// Whether the device is the user's mobile.
    pub mobile: bool,
    /// `location`.
    pub country: &'static Country,
    /// `riskLevelDuringSignIn`.
    pub risk: RiskLevel,
    /// Whether a password spray produced it.
    pub spray: bool,
}

/// The facts of one audit (directory or custom security attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditFacts {
    /// `result`.
    pub result: AuditResult,
    /// The user slot of the initiator, when a user.
    pub initiator: Option<u64>,
    /// The user slot of the target, when the target is (or involves) a user.
    pub target_user: Option<u64>,
}

/// The facts of one provisioning event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProvisioningFacts {
    /// `provisioningAction`.
    pub action: ProvisioningAction,
    /// `provisioningStatusInfo.status`.
    pub status: ProvisioningStatus,
    /// The user slot being provisioned.
    pub user: Option<u64>,
}

impl ActivityLog {
    /// The logs of `tenant`, generated with `config`.
    pub fn new(config: &SimConfig, tenant: &Tenant) -> Self {
        let seed = config.seed;
        let rate = config.effective_activity_rate();
        let slots = tenant.reports.users.slots;
        let app_traits = tenant
            .reports
            .app_profiles
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut rng = Rng::derive(seed, STREAM_APP_TRAITS, i as u64);
                let share = log_uniform(&mut rng, 0.02, 1.0);
                AppTraits {
                    non_interactive_share: 0.35 + 0.55 * rng.next_f64(),
                    audience_start: rng.below(slots.max(1)),
                    audience_size: ((slots as f64 * share).ceil() as u64).clamp(1, slots.max(1)),
                    spray: p.activity == AppActivity::Noisy,
                    own_resource_share: 0.2 + 0.5 * rng.next_f64(),
                }
            })
            .collect();
        let by_app_id: HashMap<&str, &super::Application> = tenant
            .applications
            .iter()
            .map(|a| (a.app_id.as_str(), a))
            .collect();
        let mut workloads = Vec::new();
        let mut managed_identities = Vec::new();
        for (i, (sp, activity)) in tenant
            .service_principals
            .iter()
            .zip(&tenant.service_principal_activity)
            .enumerate()
        {
            if activity.app_only_client.is_none() {
                continue;
            }
            let mut rng = Rng::derive(seed, STREAM_WORKLOAD, i as u64);
            let managed = sp.service_principal_type == "ManagedIdentity";
            let (daily_mean, failure_rate, failure_weights) = if managed {
                (
                    log_uniform(&mut rng, 48.0, 5_000.0),
                    0.0003,
                    [0.0, 0.0, 0.0, 1.0],
                )
            } else if !sp.account_enabled {
                (
                    log_uniform(&mut rng, 24.0, 600.0),
                    1.0,
                    [0.0, 0.0, 0.0, 1.0],
                )
            } else if rng.chance(0.08) {
                // A daemon whose secret expired or was rotated without updating it: it keeps
                // retrying.
                let weights = if rng.chance(0.6) {
                    [0.5, 20.0, 0.0, 0.0]
                } else {
                    [20.0, 0.5, 0.5, 0.0]
                };
                (
                    log_uniform(&mut rng, 24.0, 1_500.0),
                    0.6 + 0.4 * rng.next_f64(),
                    weights,
                )
            } else {
                (
                    log_uniform(&mut rng, 24.0, 3_000.0),
                    0.0005 + 0.01 * rng.next_f64(),
                    [3.0, 2.0, 1.0, 0.0],
                )
            };
            let app = by_app_id.get(sp.app_id.as_str());
            let secret = app
                .and_then(|a| a.password_credentials.first())
                .or(sp.password_credentials.first())
                .map(|c| c.key_id.clone());
            let certificate = app
                .and_then(|a| a.key_credentials.first())
                .map(|c| c.key_id.clone());
            let (credential_key_id, credential_type) = if managed {
                (None, "managedIdentity")
            } else {
                match (secret, certificate) {
                    (Some(s), _) => (Some(s), "clientSecret"),
                    (None, Some(c)) => (Some(c), "certificate"),
                    (None, None) => (None, "clientAssertion"),
                }
            };
            let workload = Workload {
                sp_index: i,
                active_share: if managed {
                    0.97
                } else {
                    0.6 + 0.4 * rng.next_f64()
                },
                daily_mean: daily_mean * rate,
                failure_rate,
                failure_weights,
                credential_key_id,
                credential_type,
                msi_type: managed.then(|| {
                    if rng.chance(0.6) {
                        "systemAssigned"
                    } else {
                        "userAssigned"
                    }
                }),
            };
            if managed {
                managed_identities.push(workload);
            } else {
                workloads.push(workload);
            }
        }
        let mut constants = Rng::derive(seed, STREAM_LOG_CONSTANTS, 0);
        let policy_ids = CA_POLICIES.iter().map(|_| constants.guid()).collect();
        let tenant_hex: String = tenant.tenant_id.chars().filter(|c| *c != '-').collect();
        let job_ids = PROVISIONING_JOBS
            .iter()
            .map(|job| {
                let sp_id = tenant
                    .service_principals
                    .iter()
                    .find(|s| s.display_name == job.app)
                    .map(|s| s.id.clone())
                    .unwrap_or_else(|| constants.guid());
                [
                    format!("{}.{tenant_hex}.{}", job.template, constants.guid()),
                    sp_id,
                    constants.guid(),
                    constants.guid(),
                ]
            })
            .collect();
        let admins = (0..slots.min(ADMIN_SCAN))
            .filter(|i| {
                let c = tenant.reports.users.core(*i);
                !c.deleted && c.is_admin()
            })
            .collect();
        Self {
            seed,
            rate,
            p2: config.p2_licence,
            max_lag_ticks: i64::try_from(config.quirks.activity_max_lag.as_nanos() / 100)
                .unwrap_or(i64::MAX),
            retention_days: config.quirks.activity_retention_days,
            end_tick: config
                .activity_end
                .filter(|t| t.is_finite())
                .map_or(i64::MAX, |t| (t * TICKS as f64).floor() as i64),
            tenant_id: tenant.tenant_id.clone(),
            app_traits,
            workloads,
            managed_identities,
            policy_ids,
            job_ids,
            admins,
        }
    }

    /// Oldest tick served at pinned instant `now` (retention, §8).
    pub fn retention_start(&self, now: i64) -> i64 {
        now.saturating_sub(i64::from(self.retention_days) * DAY_TICKS)
    }

    /// Number of entities of `group`.
    pub fn entities(&self, tenant: &Tenant, group: Group) -> usize {
        match group {
            Group::UserApp => tenant.applications.len().min(self.app_traits.len()),
            Group::ServicePrincipal => self.workloads.len(),
            Group::ManagedIdentity => self.managed_identities.len(),
            Group::DirectoryAudit => DIRECTORY_ACTIVITIES.len(),
            Group::Provisioning => PROVISIONING_JOBS.len(),
            Group::CsaAudit => CSA_ACTIVITIES.len(),
        }
    }

    /// The workload behind a service principal or managed identity source.
    pub fn workload(&self, source: &Source) -> Option<&Workload> {
        match source.group {
            Group::ServicePrincipal => self.workloads.get(source.entity as usize),
            Group::ManagedIdentity => self.managed_identities.get(source.entity as usize),
            _ => None,
        }
    }

    /// `(appId, appDisplayName)` of a sign-in source.
    pub fn source_app<'t>(
        &self,
        tenant: &'t Tenant,
        source: &Source,
    ) -> Option<(&'t str, &'t str)> {
        match source.group {
            Group::UserApp => tenant
                .applications
                .get(source.entity as usize)
                .map(|a| (a.app_id.as_str(), a.display_name.as_str())),
            Group::ServicePrincipal | Group::ManagedIdentity => self
                .workload(source)
                .and_then(|w| tenant.service_principals.get(w.sp_index))
                .map(|s| (s.app_id.as_str(), s.display_name.as_str())),
            _ => None,
        }
    }

    /// `status.errorCode` and `failureReason` of a sign-in source's events.
    pub fn source_error(source: &Source) -> (i32, Option<&'static str>) {
        let failure = usize::from(source.kind).checked_sub(1);
        match (source.group, failure) {
            (_, None) => (0, None),
            (Group::UserApp, Some(i)) => FAILURE_REASONS
                .get(i)
                .map_or((0, None), |f| (f.code, Some(f.text))),
            (_, Some(i)) => WORKLOAD_FAILURES
                .get(i)
                .map_or((0, None), |f| (f.code, Some(f.text))),
        }
    }

    /// Events of each kind of entity `entity` of `group` on `day` (kinds beyond the group's
    /// are 0).
    pub fn day_counts(&self, tenant: &Tenant, group: Group, entity: u32, day: i64) -> [u64; 8] {
        let mut out = [0u64; 8];
        let e = entity as usize;
        match group {
            Group::UserApp => {
                let d = tenant.reports.app_day(e, day);
                out[0] = d.successes;
                for (slot, n) in out[1..].iter_mut().zip(d.failures) {
                    *slot = n;
                }
            }
            Group::ServicePrincipal | Group::ManagedIdentity => {
                let Some(w) = self.workload(&Source {
                    group,
                    entity,
                    kind: 0,
                }) else {
                    return out;
                };
                let stream = STREAM_WORKLOAD_DAY ^ ((group as u64) << 32);
                let mut rng = day_rng(self.seed, stream, w.sp_index as u64, day);
                if !rng.chance(w.active_share) {
                    return out;
                }
                let mean = w.daily_mean * (0.7 + 0.6 * rng.next_f64());
                let total = draw_count(&mut rng, mean);
                let rate = (w.failure_rate * (0.5 + rng.next_f64())).min(1.0);
                let failed = ((total as f64 * rate).round() as u64).min(total);
                out[0] = total - failed;
                for (slot, n) in out[1..]
                    .iter_mut()
                    .zip(apportion(failed, &w.failure_weights))
                {
                    *slot = n;
                }
            }
            Group::DirectoryAudit | Group::CsaAudit => {
                let table: &[AuditActivity] = if group == Group::DirectoryAudit {
                    &DIRECTORY_ACTIVITIES
                } else {
                    &CSA_ACTIVITIES
                };
                let Some(a) = table.get(e) else {
                    return out;
                };
                let stream = STREAM_AUDIT_DAY ^ ((group as u64) << 32);
                let mut rng = day_rng(self.seed, stream, u64::from(entity), day);
                let mean =
                    a.daily_mean * self.rate * weekday_factor(day) * (0.6 + 0.8 * rng.next_f64());
                out[0] = draw_count(&mut rng, mean);
            }
            Group::Provisioning => {
                let Some(job) = PROVISIONING_JOBS.get(e) else {
                    return out;
                };
                let stream = STREAM_AUDIT_DAY ^ ((group as u64) << 32);
                let mut rng = day_rng(self.seed, stream, u64::from(entity), day);
                let factor = if usage::weekday(day) >= 5 { 0.5 } else { 1.0 };
                let mean = job.daily_mean * self.rate * factor * (0.8 + 0.4 * rng.next_f64());
                out[0] = draw_count(&mut rng, mean);
            }
        }
        out
    }

    /// Calls `f` with every event of `log` in `[from, to)` (ticks) whose source passes
    /// `source_ok`, day by day and source by source (not in time order).
    pub fn for_each_event(
        &self,
        tenant: &Tenant,
        log: LogKind,
        from: i64,
        to: i64,
        source_ok: &dyn Fn(&Source) -> bool,
        f: &mut dyn FnMut(EventRef),
    ) {
        self.visit(
            tenant,
            log,
            from,
            to,
            source_ok,
            &mut |source, day, n, lo, hi| {
                let weights = source.group.weights();
                for k in lo..hi {
                    let tick = day * DAY_TICKS + event_tick(k, n, weights);
                    let mut ev = EventRef {
                        tick,
                        key: 0,
                        source,
                        day,
                        k,
                    };
                    ev.key = self.event_rng(&ev).next_u64();
                    f(ev);
                }
            },
        );
    }

    /// The number of events [`Self::for_each_event`] would visit.
    pub fn count_events(
        &self,
        tenant: &Tenant,
        log: LogKind,
        from: i64,
        to: i64,
        source_ok: &dyn Fn(&Source) -> bool,
    ) -> u64 {
        let mut total = 0;
        self.visit(tenant, log, from, to, source_ok, &mut |_, _, _, lo, hi| {
            total += hi - lo;
        });
        total
    }

    /// Calls `f(source, day, n, k_lo, k_hi)` for each source and day with events `k_lo..k_hi`
    /// (of the day's `n`) inside `[from, to)`.
    fn visit(
        &self,
        tenant: &Tenant,
        log: LogKind,
        from: i64,
        to: i64,
        source_ok: &dyn Fn(&Source) -> bool,
        f: &mut dyn FnMut(Source, i64, u64, u64, u64),
    ) {
        // Past the configured end there are no events at all.
        let to = to.min(self.end_tick.saturating_add(1));
        if to <= from {
            return;
        }
        let first = from.div_euclid(DAY_TICKS);
        let last = (to - 1).div_euclid(DAY_TICKS);
        for day in first..=last {
            let start = (from - day * DAY_TICKS).max(0);
            let end = (to - day * DAY_TICKS).min(DAY_TICKS);
            for &group in log.groups() {
                for entity in 0..self.entities(tenant, group) as u32 {
                    let counts = self.day_counts(tenant, group, entity, day);
                    for (kind, &n) in counts.iter().enumerate().take(group.kinds()) {
                        if n == 0 {
                            continue;
                        }
                        let source = Source {
                            group,
                            entity,
                            kind: kind as u8,
                        };
                        if !source_ok(&source) {
                            continue;
                        }
                        let weights = group.weights();
                        let lo = count_before(n, start, weights);
                        let hi = count_before(n, end, weights);
                        if hi > lo {
                            f(source, day, n, lo, hi);
                        }
                    }
                }
            }
        }
    }

    /// The event's random stream, positioned at its start (the first draw is its key).
    pub fn event_rng(&self, ev: &EventRef) -> Rng {
        Rng::derive(self.seed ^ STREAM_EVENT, ev.source.packed(), ev.index())
    }

    /// The event's id: a GUID from two independent hashes of (source, day, k), so ids are
    /// unique for all practical purposes and the same on every read.
    pub fn event_id(&self, ev: &EventRef) -> String {
        let [a, b] = STREAM_EVENT_ID;
        guid_from(
            Rng::derive(self.seed ^ a, ev.source.packed(), ev.index()).next_u64(),
            Rng::derive(self.seed ^ b, ev.source.packed(), ev.index()).next_u64(),
        )
    }

    /// The event's stream after its key and delay draws, and the delay in ticks (in
    /// `[0, max_lag]`). The delay draw happens whatever the bound, so facts never depend on it.
    fn after_lag(&self, ev: &EventRef) -> (Rng, i64) {
        let mut rng = self.event_rng(ev);
        rng.next_u64();
        let r = rng.next_u64();
        let lag = if self.max_lag_ticks <= 0 {
            0
        } else {
            ((u128::from(r) * (self.max_lag_ticks as u128 + 1)) >> 64) as i64
        };
        (rng, lag)
    }

    /// The event's arrival delay, ticks: it is listed from `tick + lag` on.
    pub fn lag_of(&self, ev: &EventRef) -> i64 {
        self.after_lag(ev).1
    }

    /// The event type of a sign-in, without the rest of its facts (cheap; used to filter).
    pub fn sign_in_event_type(&self, ev: &EventRef) -> SignInEventType {
        self.sign_in_type_and_rng(ev).0
    }

    /// The event type and the stream after its draw.
    fn sign_in_type_and_rng(&self, ev: &EventRef) -> (SignInEventType, Rng) {
        let (mut rng, _) = self.after_lag(ev);
        let u = rng.next_f64();
        let kind = match ev.source.group {
            Group::ServicePrincipal => SignInEventType::ServicePrincipal,
            Group::ManagedIdentity => SignInEventType::ManagedIdentity,
            _ => {
                let (code, _) = Self::source_error(&ev.source);
                let share = self
                    .app_traits
                    .get(ev.source.entity as usize)
                    .map_or(0.5, |t| t.non_interactive_share);
                if INTERACTIVE_ONLY_CODES.contains(&code) || u >= share {
                    SignInEventType::InteractiveUser
                } else {
                    SignInEventType::NonInteractiveUser
                }
            }
        };
        (kind, rng)
    }

    /// A live (not soft-deleted) user at or after slot `start`, with its state.
    fn live_user(tenant: &Tenant, start: u64) -> Option<(u64, UserCore)> {
        let users = &tenant.reports.users;
        if users.slots == 0 {
            return None;
        }
        let mut index = start % users.slots;
        for _ in 0..64 {
            let core = users.core(index);
            if !core.deleted {
                return Some((index, core));
            }
            index = (index + 1) % users.slots;
        }
        None
    }

    /// The home of user slot `index`.
    pub fn user_home(&self, index: u64) -> UserHome {
        let mut rng = Rng::derive(self.seed, STREAM_USER_HOME, index);
        UserHome {
            country: pick_country(&mut rng, &HOME_COUNTRIES),
            desktop_os: rng.weighted(&DESKTOP_OS).unwrap_or("Windows10"),
            mobile_os: rng.weighted(&MOBILE_OS).unwrap_or("Ios"),
            address: (rng.below(256) as u8, rng.below(254) as u8 + 1),
            managed_device: rng.chance(0.7),
        }
    }

    /// The facts of a sign-in event and its stream, positioned after them (renderers draw
    /// their cosmetic values from there).
    pub fn sign_in_facts(&self, tenant: &Tenant, ev: &EventRef) -> (SignInFacts, Rng) {
        let (event_type, mut rng) = self.sign_in_type_and_rng(ev);
        let (error_code, failure_reason) = Self::source_error(&ev.source);
        let hidden = |r: RiskLevel| if self.p2 { r } else { RiskLevel::Hidden };
        if !event_type.is_user() {
            let country = pick_country(&mut rng, &AZURE_REGIONS);
            let facts = SignInFacts {
                event_type,
                error_code,
                failure_reason,
                user: None,
                admin: false,
                ca_status: CaStatus::NotApplied,
                client_app: None,
                operating_system: None,
                mobile: false,
                country,
                risk: hidden(RiskLevel::None),
                spray: false,
            };
            return (facts, rng);
        }
        let traits = self.app_traits.get(ev.source.entity as usize);
        let spray = error_code == 50126 && traits.is_some_and(|t| t.spray);
        let slots = tenant.reports.users.slots;
        let u = rng.next_f64();
        let start = match traits {
            Some(t) if !spray => {
                t.audience_start + (t.audience_size as f64 * u.powf(1.5)).floor() as u64
            }
            _ => (slots as f64 * u).floor() as u64,
        };
        let user = Self::live_user(tenant, start);
        let home = user.as_ref().map(|(i, _)| self.user_home(*i));
        let travel = rng.chance(0.03);
        let travel_country = pick_country(&mut rng, &HOME_COUNTRIES);
        let spray_country = pick_country(&mut rng, &SPRAY_COUNTRIES);
        let country = if spray {
            spray_country
        } else if travel || home.is_none() {
            travel_country
        } else {
            home.map_or(travel_country, |h| h.country)
        };
        let interactive = event_type == SignInEventType::InteractiveUser;
        let legacy = error_code == 53003 && rng.chance(0.4);
        let client_table: &[(&str, u32)] = if spray || legacy {
            &LEGACY_CLIENT_APPS
        } else if interactive {
            &INTERACTIVE_CLIENT_APPS
        } else {
            &NON_INTERACTIVE_CLIENT_APPS
        };
        let client_app = rng.weighted(client_table).unwrap_or("Browser");
        let mobile_roll = rng.chance(0.5);
        let mobile = client_app == "Mobile Apps and Desktop clients" && mobile_roll;
        let spray_os = rng
            .weighted(&[("Windows10", 30u32), ("Linux", 30), ("", 40)])
            .unwrap_or("");
        let operating_system = if spray {
            spray_os
        } else {
            match home {
                Some(h) if mobile => h.mobile_os,
                Some(h) => h.desktop_os,
                None => "",
            }
        };
        let admin = user.as_ref().is_some_and(|(_, c)| c.is_admin());
        let ca_roll = rng.chance(0.45);
        let ca_status = if error_code == 53003 {
            CaStatus::Failure
        } else if (admin && interactive) || ca_roll {
            CaStatus::Success
        } else {
            CaStatus::NotApplied
        };
        let risk_table: &[(RiskLevel, u32)] = if spray {
            &[
                (RiskLevel::None, 50),
                (RiskLevel::Low, 20),
                (RiskLevel::Medium, 20),
                (RiskLevel::High, 10),
            ]
        } else {
            &[
                (RiskLevel::None, 970),
                (RiskLevel::Low, 20),
                (RiskLevel::Medium, 8),
                (RiskLevel::High, 2),
            ]
        };
        let risk = hidden(rng.weighted(risk_table).unwrap_or(RiskLevel::None));
        let facts = SignInFacts {
            event_type,
            error_code,
            failure_reason,
            user: user.map(|(i, _)| i),
            admin,
            ca_status,
            client_app: Some(client_app),
            operating_system: Some(operating_system),
            mobile,
            country,
            risk,
            spray,
        };
        (facts, rng)
    }

    /// The facts of an audit event (directory or custom security attribute) and its stream.
    pub fn audit_facts(&self, tenant: &Tenant, ev: &EventRef) -> (AuditFacts, Rng) {
        let (mut rng, _) = self.after_lag(ev);
        let table: &[AuditActivity] = if ev.source.group == Group::CsaAudit {
            &CSA_ACTIVITIES
        } else {
            &DIRECTORY_ACTIVITIES
        };
        let a = table.get(ev.source.entity as usize);
        let r = rng.next_f64();
        let failure = a.map_or(0.0, |a| a.failure_share);
        let result = if r < failure {
            AuditResult::Failure
        } else if r < failure + 0.002 {
            AuditResult::Timeout
        } else {
            AuditResult::Success
        };
        let slots = tenant.reports.users.slots;
        let target_user = Self::live_user(tenant, rng.below(slots.max(1))).map(|(i, _)| i);
        let admin = rng
            .pick(&self.admins)
            .copied()
            .or_else(|| Self::live_user(tenant, rng.below(slots.max(1))).map(|(i, _)| i));
        let initiator = match a.map(|a| a.initiator) {
            Some(Initiator::Admin) => admin,
            Some(Initiator::SelfUser) => target_user,
            _ => None,
        };
        let involves_user = a
            .is_some_and(|a| matches!(a.target, Target::User | Target::Role | Target::Group))
            || a.is_some_and(|a| a.initiator == Initiator::SelfUser);
        let facts = AuditFacts {
            result,
            initiator,
            target_user: target_user.filter(|_| involves_user),
        };
        (facts, rng)
    }

    /// The facts of a provisioning event and its stream.
    pub fn provisioning_facts(&self, tenant: &Tenant, ev: &EventRef) -> (ProvisioningFacts, Rng) {
        let (mut rng, _) = self.after_lag(ev);
        let job = PROVISIONING_JOBS.get(ev.source.entity as usize);
        let action = rng
            .weighted(&[
                (ProvisioningAction::Create, 12u32),
                (ProvisioningAction::Update, 70),
                (ProvisioningAction::Delete, 3),
                (ProvisioningAction::Disable, 6),
                (ProvisioningAction::StagedDelete, 3),
                (ProvisioningAction::Other, 6),
            ])
            .unwrap_or(ProvisioningAction::Update);
        let failure = job.map_or(0.0, |j| j.failure_share);
        let r = rng.next_f64();
        let status = if r < failure {
            ProvisioningStatus::Failure
        } else if r < failure + 0.015 {
            ProvisioningStatus::Warning
        } else if r < failure + 0.085 {
            ProvisioningStatus::Skipped
        } else {
            ProvisioningStatus::Success
        };
        let slots = tenant.reports.users.slots;
        let user = Self::live_user(tenant, rng.below(slots.max(1))).map(|(i, _)| i);
        (
            ProvisioningFacts {
                action,
                status,
                user,
            },
            rng,
        )
    }
}

/// A weighted draw from a country table.
fn pick_country(rng: &mut Rng, table: &'static [(Country, u32)]) -> &'static Country {
    let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
    let mut roll = rng.below(total);
    for (c, w) in table {
        let w = u64::from(*w);
        if roll < w {
            return c;
        }
        roll -= w;
    }
    &table[0].0
}

/// A request for one page of a log.
pub struct PageRequest<'a> {
    /// Which log.
    pub log: LogKind,
    /// Earliest timestamp, inclusive (ticks).
    pub lo: i64,
    /// Latest timestamp, inclusive (ticks).
    pub hi: i64,
    /// The pinned instant of the listing: events arrived by then are listed.
    pub now: i64,
    /// The last event of the previous page, `(tick, key)`, exclusive.
    pub cursor: Option<(i64, u64)>,
    /// Page size.
    pub top: usize,
    /// Filter on sources (cheap; skips whole streams).
    pub source_ok: &'a dyn Fn(&Source) -> bool,
    /// Filter on events.
    pub event_ok: &'a dyn Fn(&EventRef) -> bool,
}

impl ActivityLog {
    /// One page of a log, newest first (timestamp, then key, descending): the events in
    /// `[lo, hi]` within retention that have arrived by `now` and pass the filters, after the
    /// cursor; and whether more follow. Walks back from the newest instant in chunks sized to
    /// hold a few pages, so only the events near the page are visited.
    pub fn page(&self, tenant: &Tenant, req: &PageRequest<'_>) -> (Vec<EventRef>, bool) {
        let target = 2 * (req.top as u64 + 1) + 256;
        let max = 8 * target;
        let lower = req.lo.max(self.retention_start(req.now));
        let mut end = req.hi.min(req.now).saturating_add(1);
        if let Some((t, _)) = req.cursor {
            end = end.min(t.saturating_add(1));
        }
        let mut span = HOUR_TICKS;
        let mut out: Vec<EventRef> = Vec::new();
        while end > lower && out.len() <= req.top {
            let day_start = (end - 1).div_euclid(DAY_TICKS) * DAY_TICKS;
            let start = lower.max(day_start).max(end.saturating_sub(span));
            let n = self.count_events(tenant, req.log, start, end, req.source_ok);
            if n > max && end - start > 1 {
                let shrunk = (i128::from(end - start) * i128::from(target) / i128::from(n)) as i64;
                span = shrunk.clamp(1, end - start - 1);
                continue;
            }
            if n > 0 {
                let mut chunk = Vec::new();
                self.for_each_event(tenant, req.log, start, end, req.source_ok, &mut |ev| {
                    let before_cursor = req.cursor.is_none_or(|c| (ev.tick, ev.key) < c);
                    // Events older than the longest delay have arrived whatever their own.
                    let arrived = ev.tick <= req.now.saturating_sub(self.max_lag_ticks)
                        || ev.tick.saturating_add(self.lag_of(&ev)) <= req.now;
                    if before_cursor && arrived && (req.event_ok)(&ev) {
                        chunk.push(ev);
                    }
                });
                chunk.sort_unstable_by_key(|e| std::cmp::Reverse((e.tick, e.key)));
                out.extend(chunk);
            }
            end = start;
            if n < target {
                span = span
                    .saturating_mul(if n == 0 { 8 } else { 2 })
                    .min(DAY_TICKS);
            }
        }
        let more = out.len() > req.top;
        out.truncate(req.top);
        (out, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(rate: f64) -> (Tenant, ActivityLog) {
        let config = SimConfig {
            applications: 40,
            extra_service_principals: 60,
            users: 300,
            activity_rate: rate,
            ..SimConfig::default()
        };
        let t = Tenant::generate(&config);
        let log = ActivityLog::new(&config, &t);
        (t, log)
    }

    #[test]
    fn placement_agrees_with_the_usage_model_and_the_counts() {
        for n in [0u64, 1, 2, 3, 7, 100, 1_234] {
            for weights in [&HOURLY_WEIGHTS, &FLAT_WEIGHTS] {
                let ticks: Vec<i64> = (0..n).map(|k| event_tick(k, n, weights)).collect();
                assert!(ticks.windows(2).all(|w| w[0] <= w[1]));
                assert!(ticks.iter().all(|t| (0..DAY_TICKS).contains(t)));
                for t in [
                    0,
                    1,
                    HOUR_TICKS - 1,
                    HOUR_TICKS,
                    7 * HOUR_TICKS + 12_345,
                    DAY_TICKS - 1,
                    DAY_TICKS,
                ] {
                    let brute = ticks.iter().filter(|x| **x < t).count() as u64;
                    assert_eq!(count_before(n, t, weights), brute, "n={n} t={t}");
                }
                for &t in ticks.iter().take(50) {
                    for d in [-1, 0, 1] {
                        let brute = ticks.iter().filter(|x| **x < t + d).count() as u64;
                        assert_eq!(count_before(n, t + d, weights), brute);
                    }
                }
            }
            for h in 0..=24u32 {
                assert_eq!(
                    count_before(n, i64::from(h) * HOUR_TICKS, &HOURLY_WEIGHTS),
                    usage::events_before_hour(n, h)
                );
            }
        }
    }

    #[test]
    fn pages_list_exactly_the_visible_events_newest_first() {
        let (t, log) = tenant(3.0);
        let now = 1_750_000_000 * TICKS + 1234;
        let lo = now - 2 * HOUR_TICKS;
        for kind in [
            LogKind::SignIns,
            LogKind::DirectoryAudits,
            LogKind::Provisioning,
            LogKind::CustomSecurityAttributeAudits,
        ] {
            let mut all = Vec::new();
            log.for_each_event(&t, kind, lo, now + 1, &|_| true, &mut |ev| {
                if ev.tick + log.lag_of(&ev) <= now {
                    all.push(ev);
                }
            });
            all.sort_unstable_by_key(|e| std::cmp::Reverse((e.tick, e.key)));
            assert!(!all.is_empty(), "{kind:?}");
            let mut walked = Vec::new();
            let mut cursor = None;
            loop {
                let (page, more) = log.page(
                    &t,
                    &PageRequest {
                        log: kind,
                        lo,
                        hi: now + DAY_TICKS,
                        now,
                        cursor,
                        top: 37,
                        source_ok: &|_| true,
                        event_ok: &|_| true,
                    },
                );
                cursor = page.last().map(|e| (e.tick, e.key));
                walked.extend(page);
                if !more {
                    break;
                }
            }
            assert_eq!(walked, all, "{kind:?}");
        }
    }

    #[test]
    fn facts_are_deterministic_and_plausible() {
        let (t, log) = tenant(1.0);
        let day = 20_000;
        let mut events = Vec::new();
        log.for_each_event(
            &t,
            LogKind::SignIns,
            day * DAY_TICKS,
            (day + 1) * DAY_TICKS,
            &|_| true,
            &mut |ev| events.push(ev),
        );
        assert!(events.len() > 1_000, "{}", events.len());
        let mut types = HashMap::new();
        let mut ids = std::collections::HashSet::new();
        for ev in &events {
            let (a, _) = log.sign_in_facts(&t, ev);
            let (b, _) = log.sign_in_facts(&t, ev);
            assert_eq!(a, b);
            assert_eq!(a.ca_status == CaStatus::Failure, a.error_code == 53003);
            *types.entry(a.event_type).or_insert(0u64) += 1;
            assert!(ids.insert(log.event_id(ev)));
        }
        for ty in SignInEventType::ALL {
            assert!(types.get(&ty).copied().unwrap_or(0) > 0, "{ty:?}");
        }
    }
}
