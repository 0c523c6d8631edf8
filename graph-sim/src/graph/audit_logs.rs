//! The Entra activity logs, served from the event streams of
//! [`crate::tenant::activity_log`]:
//!
//! * `GET /v1.0/auditLogs/signIns` (reference §8): interactive user sign-ins, every property of
//!   §8's table and example (nulls where Graph leaves them empty), `status.failureReason` on
//!   successes as [`crate::Quirks::sign_in_success_failure_reason`] says (`"Other."`).
//! * `GET /beta/auditLogs/signIns`: the same rows plus `signInEventTypes`, `userType`,
//!   `authenticationRequirement`, `clientCredentialType`, `servicePrincipalCredentialKeyId`,
//!   `managedServiceIdentity` and `tokenIssuerType` (beta properties, modelled on Graph's beta
//!   `signIn` documentation). `$filter=signInEventTypes/any(t: t eq 'nonInteractiveUser')`
//!   (also `interactiveUser`, `servicePrincipal`, `managedIdentity`, several joined by `or`
//!   inside the lambda) picks the event types; without it beta lists interactive sign-ins only
//!   ([`crate::Quirks::beta_sign_ins_default_interactive_only`], UNCONFIRMED). Service principal
//!   and managed identity rows carry `servicePrincipalId`/`servicePrincipalName` and no user:
//!   `userId` (non-nullable in the schema) is `""`, the other user properties null.
//! * `GET /{v1.0|beta}/auditLogs/directoryAudits` (`directoryAudit`),
//!   `GET /{v1.0|beta}/auditLogs/provisioning` (`provisioningObjectSummary`) and
//!   `GET /beta/auditLogs/customSecurityAttributeAudits` (`customSecurityAttributeAudit`,
//!   category `AttributeManagement` as Graph's documentation says): **modelled on Graph's
//!   documentation of these resources, not on the reference**, which lacks them.
//!
//! Common behaviour: Entra ID P1/P2 required (403
//! `Authentication_RequestFromNonPremiumTenantOrB2CTenant`), every call counts against the
//! identity and access reports budget (§10.2), `$top` 1–1000 (default and maximum 1000, §8),
//! newest first (`$orderby` only as `<timestamp> desc`), absolute `@odata.nextLink` with a
//! `$skiptoken` that pins the listing instant and the last event listed, so a walk is
//! consistent while events arrive. `$filter` takes clauses joined by `and` (each optionally in
//! parentheses): the timestamp (`createdDateTime` / `activityDateTime`) with `ge`, `gt`, `le`,
//! `lt`, `eq` and an unquoted DateTimeOffset or date (100 ns precision); on sign-ins
//! `signInEventTypes/any(…)` (beta), `appId`, `appDisplayName`, `conditionalAccessStatus`,
//! `clientAppUsed`, `location/countryOrRegion`, `deviceDetail/operatingSystem`, `userId` `eq`
//! and `status/errorCode` `eq`/`ne`; on directory and custom security attribute audits
//! `category`, `activityDisplayName`, `loggedByService`, `result` `eq`; on provisioning `jobId`,
//! `provisioningAction`, `provisioningStatusInfo/status` `eq`. Any other clause is refused with
//! `Request_UnsupportedQuery`, a malformed one with `BadRequest`. Clauses on the source (app,
//! error code, category, activity, job) skip whole streams; the others are checked event by
//! event, so a rare match over a long range walks every event in it. Events older than
//! [`crate::Quirks::activity_retention_days`] or not yet arrived
//! ([`crate::Quirks::activity_max_lag`]) are not listed.

use std::collections::HashSet;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, CollectionPage};
use super::report_common::{
    self as common, comparison, datetime_literal, split_and, string_literal,
};
use crate::reply::Reply;
use crate::rng::Rng;
use crate::server::Ctx;
use crate::tenant::activity_log::{
    ActivityLog, AuditActivity, AuditResult, CaStatus, EventRef, Group, Initiator, LogKind,
    PageRequest, ProvisioningAction, ProvisioningStatus, RiskLevel, SignInEventType, Source,
    Target, CA_POLICIES, CSA_ACTIVITIES, DAY_TICKS, DIRECTORY_ACTIVITIES, PROVISIONING_JOBS, TICKS,
};
use crate::tenant::registration::UserType;
use crate::tenant::Tenant;
use crate::time::UtcTime;

/// Roles that may read sign-ins, directory audits and provisioning events (§8, Appendix A).
pub const AUDIT_LOG_ROLES: &[&str] = &["AuditLog.Read.All"];

/// The role of the custom security attribute audit log (Graph's documentation).
pub const CSA_ROLES: &[&str] = &["CustomSecAttributeAuditLogs.Read.All"];

/// Default and largest page size (§8).
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Magic bytes of the page tokens of these logs.
const TOKEN_MAGIC: &[u8; 4] = b"ALsk";

/// Resources of sign-ins: Microsoft Graph, Azure Resource Manager, Azure Key Vault.
const RESOURCES: [(&str, &str, u32); 3] = [
    (
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
        70,
    ),
    (
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "Windows Azure Service Management API",
        20,
    ),
    (
        "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
        "Azure Key Vault",
        10,
    ),
];

/// Built-in directory roles (template ids are Entra's).
const ROLES: [(&str, &str); 6] = [
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    (
        "194ae4cb-b126-40b2-bd5b-6091b380977d",
        "Security Administrator",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        "Helpdesk Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
];

/// Groups that audits name.
const GROUPS: [(&str, &str); 8] = [
    ("SG-Finance", "azureAD"),
    ("SG-Engineering", "azureAD"),
    ("All Employees", "unifiedGroups"),
    ("VPN Users", "azureAD"),
    ("Azure Admins", "azureAD"),
    ("Sales EMEA", "unifiedGroups"),
    ("HR Team", "unifiedGroups"),
    ("Contractors", "azureAD"),
];

/// Applications that initiate audited activities: (name, appId).
const INITIATOR_APPS: [(&str, &str); 2] = [
    ("MS-PIM", "01fc33a7-78ba-4d2f-a4b7-768e336e890e"),
    (
        "Device Registration Service",
        "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
    ),
];

/// Custom security attributes and their predefined values.
const ATTRIBUTES: [(&str, [&str; 3]); 4] = [
    ("Engineering_Project", ["Alpine", "Baker", "Cascade"]),
    ("Engineering_CostCenter", ["1001", "1002", "2040"]),
    ("Marketing_Campaign", ["Spring", "Summer", "Launch"]),
    (
        "Security_Clearance",
        ["Internal", "Confidential", "Restricted"],
    ),
];

/// `GET /{v1.0|beta}/auditLogs/signIns`.
pub fn sign_ins(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    list(ctx, LogKind::SignIns)
}

/// `GET /{v1.0|beta}/auditLogs/directoryAudits`.
pub fn directory_audits(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    list(ctx, LogKind::DirectoryAudits)
}

/// `GET /{v1.0|beta}/auditLogs/provisioning`.
pub fn provisioning(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    list(ctx, LogKind::Provisioning)
}

/// `GET /beta/auditLogs/customSecurityAttributeAudits`.
pub fn custom_security_attribute_audits(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    list(ctx, LogKind::CustomSecurityAttributeAudits)
}

/// Path segment, timestamp property and type name of a log.
fn names(log: LogKind) -> (&'static str, &'static str, &'static str) {
    match log {
        LogKind::SignIns => ("signIns", "createdDateTime", "signIn"),
        LogKind::DirectoryAudits => ("directoryAudits", "activityDateTime", "directoryAudit"),
        LogKind::Provisioning => (
            "provisioning",
            "activityDateTime",
            "provisioningObjectSummary",
        ),
        LogKind::CustomSecurityAttributeAudits => (
            "customSecurityAttributeAudits",
            "activityDateTime",
            "customSecurityAttributeAudit",
        ),
    }
}

/// An event-level condition of a `$filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum EventClause {
    /// `conditionalAccessStatus eq '…'`.
    CaStatus(String),
    /// `clientAppUsed eq '…'`.
    ClientApp(String),
    /// `location/countryOrRegion eq '…'`.
    Country(String),
    /// `deviceDetail/operatingSystem eq '…'`.
    OperatingSystem(String),
    /// `userId eq '…'`, as written.
    UserId(String),
    /// `userId eq '…'` resolved: the user slot, or `None` when the id is no user of the tenant.
    User(Option<u64>),
    /// `result eq '…'` (audits).
    Result(String),
    /// `provisioningAction eq '…'`.
    Action(String),
    /// `provisioningStatusInfo/status eq '…'`.
    Status(String),
}

/// A source-level condition of a `$filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum SourceClause {
    /// `appId eq '…'`.
    AppId(String),
    /// `appDisplayName eq '…'`.
    AppName(String),
    /// `status/errorCode eq n`.
    ErrorCode(i32),
    /// `status/errorCode ne n`.
    NotErrorCode(i32),
    /// `category eq '…'`.
    Category(String),
    /// `activityDisplayName eq '…'`.
    Activity(String),
    /// `loggedByService eq '…'`.
    Service(String),
    /// `jobId eq '…'`.
    Job(String),
}

/// A parsed `$filter`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Query {
    /// Earliest timestamp, inclusive (ticks).
    lo: Option<i64>,
    /// Latest timestamp, inclusive (ticks).
    hi: Option<i64>,
    /// Event types from `signInEventTypes/any(…)` (intersected over clauses).
    types: Option<HashSet<SignInEventType>>,
    /// Source-level clauses.
    sources: Vec<SourceClause>,
    /// Event-level clauses.
    events: Vec<EventClause>,
}

/// The 400 for a clause the simulator does not support.
fn unsupported(clause: &str) -> GraphError {
    GraphError::unsupported_query(format!(
        "Unsupported or invalid query filter clause specified for property '{clause}'; graph-sim supports the timestamp with ge/gt/le/lt/eq and the eq clauses documented for this log."
    ))
}

/// A quoted string literal that is the whole right-hand side.
fn quoted(rhs: &str, clause: &str) -> Result<String, GraphError> {
    string_literal(rhs)
        .filter(|(_, rest)| rest.trim().is_empty())
        .map(|(v, _)| v)
        .ok_or_else(|| common::invalid_filter(&format!("expected a quoted string in '{clause}'")))
}

/// An unquoted `Edm.DateTimeOffset` / `Edm.Date` literal in ticks, keeping all 7 fractional
/// digits exactly (more are cut).
pub fn datetime_ticks(text: &str) -> Option<i64> {
    let text = text.trim();
    if text.starts_with('\'') {
        return None;
    }
    let (whole, fraction) = match text.find('.') {
        Some(dot) => {
            let digits_end = text[dot + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(text.len(), |i| dot + 1 + i);
            let digits = &text[dot + 1..digits_end];
            if digits.is_empty() {
                return None;
            }
            let mut padded: String = digits.chars().take(7).collect();
            while padded.len() < 7 {
                padded.push('0');
            }
            (
                format!("{}{}", &text[..dot], &text[digits_end..]),
                padded.parse::<i64>().ok()?,
            )
        }
        None => (text.to_owned(), 0),
    };
    let secs = datetime_literal(&whole)?;
    Some((secs as i64).checked_mul(TICKS)? + fraction)
}

/// Parses `signInEventTypes/any(t: t eq 'a' or t eq 'b')` (the lambda variable may be any
/// name; `or` joins alternatives).
fn parse_event_types(clause: &str) -> Result<HashSet<SignInEventType>, GraphError> {
    let bad = || common::invalid_filter(&format!("'{clause}' is not a valid any() lambda"));
    let open = clause.find('(').ok_or_else(bad)?;
    let body = clause[open + 1..]
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(bad)?;
    let (var, expr) = body.split_once(':').ok_or_else(bad)?;
    let var = var.trim();
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad());
    }
    let mut types = HashSet::new();
    for alternative in split_keyword(expr, "or") {
        let (lhs, op, rhs) = comparison(alternative).ok_or_else(bad)?;
        if lhs != var || op != "eq" {
            return Err(bad());
        }
        let value = quoted(rhs, clause)?;
        let ty = SignInEventType::ALL
            .into_iter()
            .find(|t| t.graph_name().eq_ignore_ascii_case(&value))
            .ok_or_else(|| {
                common::invalid_filter(&format!(
                    "'{value}' is not a signInEventType (interactiveUser, nonInteractiveUser, servicePrincipal, managedIdentity)"
                ))
            })?;
        types.insert(ty);
    }
    Ok(types)
}

/// Splits `text` at the keyword `word` (any case, surrounded by whitespace) outside quotes.
fn split_keyword<'a>(text: &'a str, word: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' {
            in_string = !in_string;
        } else if !in_string
            && c.is_ascii_whitespace()
            && text
                .get(i + 1..i + 1 + word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
            && bytes
                .get(i + 1 + word.len())
                .is_some_and(u8::is_ascii_whitespace)
        {
            parts.push(text[start..i].trim());
            start = i + 1 + word.len();
            i = start;
            continue;
        }
        i += 1;
    }
    parts.push(text[start..].trim());
    parts
}

/// `clause` without balanced outer parentheses.
fn strip_parens(clause: &str) -> &str {
    let mut c = clause.trim();
    while c.starts_with('(') && c.ends_with(')') {
        let inner = &c[1..c.len() - 1];
        // Only strip when the outer pair encloses everything.
        let mut depth = 0i32;
        let mut closes_early = false;
        for (i, ch) in inner.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth < 0 && i < inner.len() {
                        closes_early = true;
                        break;
                    }
                }
                _ => {}
            }
        }
        if closes_early || depth != 0 {
            break;
        }
        c = inner.trim();
    }
    c
}

/// Parses a log's `$filter`.
fn parse_filter(text: &str, log: LogKind, beta: bool) -> Result<Query, GraphError> {
    let (_, time_property, type_name) = names(log);
    let mut q = Query::default();
    for clause in split_and(text)? {
        let clause = strip_parens(clause);
        let lower = clause.to_ascii_lowercase();
        if lower.starts_with("signineventtypes/any(") && log == LogKind::SignIns {
            if !beta {
                return Err(common::bad_request(format!(
                    "Could not find a property named 'signInEventTypes' on type 'microsoft.graph.{type_name}'."
                )));
            }
            let types = parse_event_types(clause)?;
            q.types = Some(match q.types.take() {
                Some(have) => have.intersection(&types).copied().collect(),
                None => types,
            });
            continue;
        }
        let (lhs, op, rhs) =
            comparison(clause).ok_or_else(|| common::invalid_filter(&format!("'{clause}'")))?;
        let property = lhs.to_ascii_lowercase();
        if property == time_property.to_ascii_lowercase() {
            let at = datetime_ticks(rhs).ok_or_else(|| {
                common::invalid_filter(&format!(
                    "'{rhs}' is not an unquoted DateTimeOffset or date"
                ))
            })?;
            let (lo, hi) = match op.as_str() {
                "ge" => (Some(at), None),
                "gt" => (Some(at.saturating_add(1)), None),
                "le" => (None, Some(at)),
                "lt" => (None, Some(at.saturating_sub(1))),
                "eq" => (Some(at), Some(at)),
                _ => return Err(unsupported(lhs)),
            };
            if let Some(lo) = lo {
                q.lo = Some(q.lo.map_or(lo, |have| have.max(lo)));
            }
            if let Some(hi) = hi {
                q.hi = Some(q.hi.map_or(hi, |have| have.min(hi)));
            }
            continue;
        }
        let eq = op == "eq";
        let string = || quoted(rhs, clause);
        let parsed = match (log, property.as_str()) {
            (LogKind::SignIns, "appid") if eq => Some(Err(SourceClause::AppId(string()?))),
            (LogKind::SignIns, "appdisplayname") if eq => {
                Some(Err(SourceClause::AppName(string()?)))
            }
            (LogKind::SignIns, "status/errorcode") if eq || op == "ne" => {
                let code: i32 = rhs
                    .trim()
                    .parse()
                    .map_err(|_| common::invalid_filter(&format!("'{rhs}' is not an Int32")))?;
                Some(Err(if eq {
                    SourceClause::ErrorCode(code)
                } else {
                    SourceClause::NotErrorCode(code)
                }))
            }
            (LogKind::SignIns, "conditionalaccessstatus") if eq => {
                Some(Ok(EventClause::CaStatus(string()?)))
            }
            (LogKind::SignIns, "clientappused") if eq => {
                Some(Ok(EventClause::ClientApp(string()?)))
            }
            (LogKind::SignIns, "location/countryorregion") if eq => {
                Some(Ok(EventClause::Country(string()?)))
            }
            (LogKind::SignIns, "devicedetail/operatingsystem") if eq => {
                Some(Ok(EventClause::OperatingSystem(string()?)))
            }
            (LogKind::SignIns, "userid") if eq => Some(Ok(EventClause::UserId(string()?))),
            (LogKind::DirectoryAudits | LogKind::CustomSecurityAttributeAudits, "category")
                if eq =>
            {
                Some(Err(SourceClause::Category(string()?)))
            }
            (
                LogKind::DirectoryAudits | LogKind::CustomSecurityAttributeAudits,
                "activitydisplayname",
            ) if eq => Some(Err(SourceClause::Activity(string()?))),
            (
                LogKind::DirectoryAudits | LogKind::CustomSecurityAttributeAudits,
                "loggedbyservice",
            ) if eq => Some(Err(SourceClause::Service(string()?))),
            (LogKind::DirectoryAudits | LogKind::CustomSecurityAttributeAudits, "result") if eq => {
                Some(Ok(EventClause::Result(string()?)))
            }
            (LogKind::Provisioning, "jobid") if eq => Some(Err(SourceClause::Job(string()?))),
            (LogKind::Provisioning, "provisioningaction") if eq => {
                Some(Ok(EventClause::Action(string()?)))
            }
            (LogKind::Provisioning, "provisioningstatusinfo/status") if eq => {
                Some(Ok(EventClause::Status(string()?)))
            }
            _ => None,
        };
        match parsed {
            Some(Ok(e)) => q.events.push(e),
            Some(Err(s)) => q.sources.push(s),
            None => return Err(unsupported(lhs)),
        }
    }
    Ok(q)
}

/// Resolves `userId` clauses to user slots (the parser does not know the tenant).
fn resolve_users(q: &mut Query, tenant: &Tenant) {
    for clause in &mut q.events {
        if let EventClause::UserId(id) = clause {
            *clause = EventClause::User(tenant.reports.users.index_of(id));
        }
    }
}

/// A page token: log, tenant fingerprint, pinned instant and the last event listed.
fn encode_token(tag: u8, fingerprint: u32, now: i64, cursor: (i64, u64)) -> String {
    let mut bytes = Vec::with_capacity(34);
    bytes.extend_from_slice(TOKEN_MAGIC);
    bytes.push(1);
    bytes.push(tag);
    bytes.extend_from_slice(&fingerprint.to_be_bytes());
    bytes.extend_from_slice(&now.to_be_bytes());
    bytes.extend_from_slice(&cursor.0.to_be_bytes());
    bytes.extend_from_slice(&cursor.1.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a page token of log `tag`: `(pinned instant, cursor)`.
fn decode_token(text: &str, tag: u8, fingerprint: u32) -> Result<(i64, (i64, u64)), GraphError> {
    let invalid = || GraphError::bad_request("The specified page token value is invalid.");
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|_| invalid())?;
    let (magic, rest) = bytes.split_first_chunk::<4>().ok_or_else(invalid)?;
    let (&[version, token_tag], rest) = rest.split_first_chunk::<2>().ok_or_else(invalid)?;
    let (fp, rest) = rest.split_first_chunk::<4>().ok_or_else(invalid)?;
    let (now, rest) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
    let (tick, rest) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
    let key: &[u8; 8] = rest.try_into().map_err(|_| invalid())?;
    if magic != TOKEN_MAGIC || version != 1 {
        return Err(invalid());
    }
    if token_tag != tag || u32::from_be_bytes(*fp) != fingerprint {
        return Err(GraphError::new(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ));
    }
    let (now, tick) = (i64::from_be_bytes(*now), i64::from_be_bytes(*tick));
    // Tokens are ours, but a tampered one must not send the walk into absurd instants.
    if now <= 0 || now > now_ticks().saturating_add(DAY_TICKS) || !(0..=now).contains(&tick) {
        return Err(invalid());
    }
    Ok((now, (tick, u64::from_be_bytes(*key))))
}

/// The current instant in ticks.
fn now_ticks() -> i64 {
    let now = UtcTime::now();
    now.unix_seconds() * TICKS + i64::from(now.ticks())
}

/// Whether a source passes the source-level clauses.
fn source_passes(
    log: &ActivityLog,
    tenant: &Tenant,
    q: &Query,
    groups: &[Group],
    source: &Source,
) -> bool {
    if !groups.contains(&source.group) {
        return false;
    }
    let audit = |s: &Source| -> Option<&'static AuditActivity> {
        match s.group {
            Group::DirectoryAudit => DIRECTORY_ACTIVITIES.get(s.entity as usize),
            Group::CsaAudit => CSA_ACTIVITIES.get(s.entity as usize),
            _ => None,
        }
    };
    q.sources.iter().all(|c| match c {
        SourceClause::AppId(v) => log
            .source_app(tenant, source)
            .is_some_and(|(id, _)| id.eq_ignore_ascii_case(v)),
        SourceClause::AppName(v) => log
            .source_app(tenant, source)
            .is_some_and(|(_, name)| name.eq_ignore_ascii_case(v)),
        SourceClause::ErrorCode(code) => ActivityLog::source_error(source).0 == *code,
        SourceClause::NotErrorCode(code) => ActivityLog::source_error(source).0 != *code,
        SourceClause::Category(v) => {
            audit(source).is_some_and(|a| a.category.eq_ignore_ascii_case(v))
        }
        SourceClause::Activity(v) => {
            audit(source).is_some_and(|a| a.activity.eq_ignore_ascii_case(v))
        }
        SourceClause::Service(v) => {
            audit(source).is_some_and(|a| a.service.eq_ignore_ascii_case(v))
        }
        SourceClause::Job(v) => log
            .job_ids
            .get(source.entity as usize)
            .is_some_and(|ids| ids[0] == *v),
    })
}

/// Whether an event passes the event-type filter and the event-level clauses.
fn event_passes(
    log: &ActivityLog,
    tenant: &Tenant,
    kind: LogKind,
    q: &Query,
    types: &HashSet<SignInEventType>,
    ev: &EventRef,
) -> bool {
    match kind {
        LogKind::SignIns => {
            // Sources are already restricted to the selected groups; only user sign-ins need
            // their (drawn) interactive/non-interactive type checked.
            let both_user_types = types.contains(&SignInEventType::InteractiveUser)
                && types.contains(&SignInEventType::NonInteractiveUser);
            if ev.source.group == Group::UserApp
                && !both_user_types
                && !types.contains(&log.sign_in_event_type(ev))
            {
                return false;
            }
            if q.events.is_empty() {
                return true;
            }
            let (f, _) = log.sign_in_facts(tenant, ev);
            q.events.iter().all(|c| match c {
                EventClause::CaStatus(v) => f.ca_status.graph_name().eq_ignore_ascii_case(v),
                EventClause::ClientApp(v) => {
                    f.client_app.is_some_and(|a| a.eq_ignore_ascii_case(v))
                }
                EventClause::Country(v) => f.country.code.eq_ignore_ascii_case(v),
                EventClause::OperatingSystem(v) => f
                    .operating_system
                    .is_some_and(|o| o.eq_ignore_ascii_case(v)),
                EventClause::User(slot) => slot.is_some() && f.user == *slot,
                _ => false,
            })
        }
        LogKind::DirectoryAudits | LogKind::CustomSecurityAttributeAudits => {
            if q.events.is_empty() {
                return true;
            }
            let (f, _) = log.audit_facts(tenant, ev);
            q.events.iter().all(|c| match c {
                EventClause::Result(v) => f.result.graph_name().eq_ignore_ascii_case(v),
                _ => false,
            })
        }
        LogKind::Provisioning => {
            if q.events.is_empty() {
                return true;
            }
            let (f, _) = log.provisioning_facts(tenant, ev);
            q.events.iter().all(|c| match c {
                EventClause::Action(v) => f.action.graph_name().eq_ignore_ascii_case(v),
                EventClause::Status(v) => f.status.graph_name().eq_ignore_ascii_case(v),
                _ => false,
            })
        }
    }
}

/// Serves one page of `kind`.
fn list(ctx: &Ctx<'_>, kind: LogKind) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let beta = ctx.param("version") == "beta" || kind == LogKind::CustomSecurityAttributeAudits;
    let (segment, time_property, _) = names(kind);
    let options =
        odata::system_options_allowing(ctx, &["$top", "$skiptoken", "$filter", "$orderby"])?;
    let top = odata::option(&options, "$top")
        .map(|v| odata::parse_top(v, MAX_PAGE_SIZE))
        .transpose()?
        .unwrap_or(MAX_PAGE_SIZE) as usize;
    if let Some(order) = odata::option(&options, "$orderby") {
        let mut words = order.split_whitespace();
        let property = words.next().unwrap_or_default();
        let direction = words.next().unwrap_or("asc");
        if !property.eq_ignore_ascii_case(time_property)
            || !direction.eq_ignore_ascii_case("desc")
            || words.next().is_some()
        {
            return Err(GraphError::unsupported_query(format!(
                "graph-sim lists audit logs newest first only: $orderby must be '{time_property} desc'."
            )));
        }
    }
    let tenant = &ctx.sim.tenant;
    let log = &ctx.sim.activity;
    let mut q = match odata::option(&options, "$filter") {
        Some(f) => parse_filter(f, kind, beta)?,
        None => Query::default(),
    };
    resolve_users(&mut q, tenant);
    let (now, cursor) = match odata::option(&options, "$skiptoken") {
        Some(v) => {
            let (now, cursor) = decode_token(v, kind.tag(), tenant.fingerprint)?;
            (now, Some(cursor))
        }
        None => (now_ticks(), None),
    };
    let types: HashSet<SignInEventType> = match (&q.types, beta) {
        (Some(t), _) => t.clone(),
        (None, true) if !ctx.sim.config.quirks.beta_sign_ins_default_interactive_only => {
            SignInEventType::ALL.into_iter().collect()
        }
        _ => HashSet::from([SignInEventType::InteractiveUser]),
    };
    let groups: Vec<Group> = match kind {
        LogKind::SignIns => {
            let mut g = Vec::new();
            if types.iter().any(|t| t.is_user()) {
                g.push(Group::UserApp);
            }
            if types.contains(&SignInEventType::ServicePrincipal) {
                g.push(Group::ServicePrincipal);
            }
            if types.contains(&SignInEventType::ManagedIdentity) {
                g.push(Group::ManagedIdentity);
            }
            g
        }
        other => other.groups().to_vec(),
    };
    let source_ok = |s: &Source| source_passes(log, tenant, &q, &groups, s);
    let event_ok = |ev: &EventRef| event_passes(log, tenant, kind, &q, &types, ev);
    let (events, more) = log.page(
        tenant,
        &PageRequest {
            log: kind,
            lo: q.lo.unwrap_or(i64::MIN),
            hi: q.hi.unwrap_or(i64::MAX),
            now,
            cursor,
            top,
            source_ok: &source_ok,
            event_ok: &event_ok,
        },
    );
    let render = Render {
        ctx,
        log,
        tenant,
        beta,
    };
    let items: Vec<Vec<(&'static str, Value)>> = events
        .iter()
        .map(|ev| match kind {
            LogKind::SignIns => render.sign_in(ev),
            LogKind::DirectoryAudits => render.audit(ev, false),
            LogKind::CustomSecurityAttributeAudits => render.audit(ev, true),
            LogKind::Provisioning => render.provisioning(ev),
        })
        .collect();
    let base = &ctx.origin();
    let version = if beta { "beta" } else { "v1.0" };
    let next_link = match (more, events.last()) {
        (true, Some(last)) => Some(next_link(
            &format!("{base}/{version}/auditLogs/{segment}"),
            ctx.raw_query,
            &encode_token(kind.tag(), tenant.fingerprint, now, (last.tick, last.key)),
        )),
        _ => None,
    };
    let body = CollectionPage {
        context: format!("{base}/{version}/$metadata#auditLogs/{segment}"),
        count: None,
        items: &items,
        next_link,
    };
    Ok(Reply::json(
        StatusCode::OK,
        &ctx.sim.config.quirks.graph_content_type,
        &body,
    ))
}

/// The absolute `@odata.nextLink`: the collection URL, the request's query options verbatim
/// (minus any old `$skiptoken`), then the new `$skiptoken` (as [`odata::next_link`] does for
/// the directory's tokens).
fn next_link(collection_url: &str, raw_query: &str, token: &str) -> String {
    let mut parts: Vec<&str> = raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .filter(|piece| {
            let key = piece.split('=').next().unwrap_or_default();
            let decoded = url::form_urlencoded::parse(key.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            !decoded.eq_ignore_ascii_case("$skiptoken")
        })
        .collect();
    let skip = format!("$skiptoken={token}");
    parts.push(&skip);
    format!("{collection_url}?{}", parts.join("&"))
}

/// Renders events as Graph serialises them.
struct Render<'a> {
    /// The request.
    ctx: &'a Ctx<'a>,
    /// The logs.
    log: &'a ActivityLog,
    /// The tenant.
    tenant: &'a Tenant,
    /// Whether the beta shape is served.
    beta: bool,
}

/// A user as the logs show them.
struct UserView {
    /// Object id.
    id: String,
    /// `userPrincipalName`.
    upn: String,
    /// `displayName`.
    name: String,
    /// Member or guest.
    user_type: UserType,
}

/// A GUID fixed by (seed, stream, index): ids of things the logs name that the tenant model
/// does not hold (groups, subscriptions, provisioning cycles).
fn stable_guid(seed: u64, stream: u64, index: u64) -> String {
    Rng::derive(seed, stream, index).guid()
}

/// A weighted pick from `(value, weight)` pairs (first value when all weights are 0).
fn pick<T: Copy>(rng: &mut Rng, table: &[(T, u32)]) -> Option<T> {
    rng.weighted(table).or(table.first().map(|(v, _)| *v))
}

impl Render<'_> {
    /// User slot `index` of the user model.
    fn user(&self, index: u64) -> UserView {
        let u = self.tenant.reports.users.user(index);
        UserView {
            id: u.id,
            upn: u.user_principal_name,
            name: u.user_display_name,
            user_type: u.core.user_type,
        }
    }

    /// An `auditActivityInitiator.user` (or the `identity`-shaped user of audits).
    fn user_identity(&self, index: u64, ip: &str) -> Value {
        let u = self.user(index);
        json!({
            "id": u.id,
            "displayName": u.name,
            "userPrincipalName": u.upn,
            "ipAddress": ip,
            "userType": null,
            "homeTenantId": null,
            "homeTenantName": null,
        })
    }

    /// One sign-in row (§8; beta extras when serving beta).
    fn sign_in(&self, ev: &EventRef) -> Vec<(&'static str, Value)> {
        let (f, mut rng) = self.log.sign_in_facts(self.tenant, ev);
        let quirks = &self.ctx.sim.config.quirks;
        let (app_id, app_name) = self
            .log
            .source_app(self.tenant, &ev.source)
            .map_or((None, None), |(id, name)| (Some(id), Some(name)));
        let workload = self.log.workload(&ev.source);
        let sp = workload.and_then(|w| self.tenant.service_principals.get(w.sp_index));
        let user = f.user.map(|i| self.user(i));
        let home = f.user.map(|i| self.log.user_home(i));
        let is_user = f.event_type.is_user();
        let interactive = f.event_type == SignInEventType::InteractiveUser;

        // Cosmetic draws, always in the same order.
        let own_resource = rng.chance(
            self.log
                .app_traits
                .get(ev.source.entity as usize)
                .map_or(0.0, |t| t.own_resource_share),
        );
        let resource = pick(&mut rng, &RESOURCES.map(|(id, name, w)| ((id, name), w)))
            .unwrap_or(("00000003-0000-0000-c000-000000000000", "Microsoft Graph"));
        let (resource_id, resource_name) = match (is_user && own_resource, app_id, app_name) {
            (true, Some(id), Some(name)) => (id, name),
            _ => resource,
        };
        let octet = rng.below(254) as u8 + 1;
        let correlation_id = rng.guid();
        let browser_pick = rng.below(4);
        let version_pick = rng.below(3);
        let mfa_claim = rng.chance(0.3);
        let mfa_required = rng.chance(0.4);
        let blocking_policy = rng.below(2);

        let ip = match (is_user, home) {
            (false, _) => format!("192.0.2.{octet}"),
            (true, Some(h)) if !f.spray && f.country.code == h.country.code => {
                format!("198.51.100.{}", h.address.1)
            }
            _ => format!("203.0.113.{octet}"),
        };
        let os = f.operating_system.unwrap_or("");
        let client = f.client_app.unwrap_or("");
        let browser = match client {
            "Browser" => match (os, browser_pick) {
                ("MacOs" | "Ios", 0 | 1) => "Safari 17.5".to_owned(),
                (_, 0 | 1) => format!("Edge 12{}.0.0", 4 + version_pick),
                (_, 2) => format!("Chrome 12{}.0.0", 5 + version_pick),
                _ => format!("Firefox 12{}.0", 6 + version_pick),
            },
            "Mobile Apps and Desktop clients" => format!("Rich Client 4.6{}.0.0", version_pick),
            "" => String::new(),
            _ => String::new(),
        };
        let user_agent: Value = match (is_user, client) {
            (false, _) => Value::Null,
            (true, "Browser") => json!(match os {
                "MacOs" => "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Ios" => "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Android" => "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
                "Linux" => "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                _ => "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0",
            }),
            (true, "Mobile Apps and Desktop clients") => {
                json!("Mozilla/5.0 (compatible; MSAL 1.0) PKeyAuth/1.0")
            }
            (true, _) => json!(""),
        };

        let (risk_detail, risk_aggregated, risk_state, risk_types): (&str, &str, &str, &[&str]) =
            match f.risk {
                RiskLevel::Hidden => ("hidden", "hidden", "none", &[]),
                RiskLevel::None => ("none", "none", "none", &[]),
                RiskLevel::Low | RiskLevel::Medium if f.spray => (
                    "none",
                    f.risk.graph_name(),
                    "atRisk",
                    &["maliciousIPAddress"],
                ),
                RiskLevel::Low | RiskLevel::Medium => (
                    "none",
                    f.risk.graph_name(),
                    "atRisk",
                    &["unfamiliarFeatures"],
                ),
                RiskLevel::High => ("none", "high", "atRisk", &["anonymizedIPAddress"]),
            };

        let additional_details: Value = match f.error_code {
            0 if interactive && f.ca_status == CaStatus::Success && mfa_claim => {
                json!("MFA requirement satisfied by claim in the token")
            }
            50126 => json!("The user didn't enter the right credentials. It's expected to see some number of these errors in your logs due to users making mistakes."),
            50074 | 50076 => json!("The user was prompted for MFA and did not complete it."),
            53003 => json!("The sign-in was blocked by a Conditional Access policy."),
            _ => Value::Null,
        };
        let failure_reason: Value = match f.failure_reason {
            Some(text) => json!(text),
            None => json!(quirks.sign_in_success_failure_reason),
        };
        let managed = home.is_some_and(|h| h.managed_device) && !f.mobile && !f.spray;
        let device = if managed {
            let index = f.user.unwrap_or(0);
            let mut d = Rng::new(self.log.seed ^ index.rotate_left(17) ^ 0x6465_7669_6365);
            json!({
                "deviceId": d.guid(),
                "displayName": format!("{}-{:06X}", if os == "MacOs" { "MAC" } else { "DESKTOP" }, d.below(0xff_ffff)),
                "operatingSystem": os,
                "browser": browser,
                "isCompliant": true,
                "isManaged": true,
                "trustType": "Azure AD joined",
            })
        } else {
            json!({
                "deviceId": "",
                "displayName": "",
                "operatingSystem": os,
                "browser": browser,
                "isCompliant": false,
                "isManaged": false,
                "trustType": "",
            })
        };
        let location = json!({
            "city": f.country.city,
            "state": f.country.state,
            "countryOrRegion": f.country.code,
            "geoCoordinates": {
                "altitude": null,
                "latitude": f.country.latitude,
                "longitude": f.country.longitude,
            },
        });
        let policies: Vec<Value> = if is_user {
            let legacy = !matches!(client, "Browser" | "Mobile Apps and Desktop clients");
            CA_POLICIES
                .iter()
                .zip(&self.log.policy_ids)
                .enumerate()
                .map(|(i, ((name, grants), id))| {
                    let result = match f.ca_status {
                        CaStatus::Failure => {
                            let blocker = if legacy {
                                1
                            } else {
                                2 + blocking_policy as usize
                            };
                            if i == blocker {
                                "failure"
                            } else {
                                "notApplied"
                            }
                        }
                        CaStatus::Success => {
                            let applied = if f.admin { 0 } else { 2 };
                            if i == applied {
                                "success"
                            } else {
                                "notApplied"
                            }
                        }
                        CaStatus::NotApplied => "notApplied",
                    };
                    json!({
                        "id": id,
                        "displayName": name,
                        "enforcedGrantControls": grants,
                        "enforcedSessionControls": [],
                        "result": result,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };

        let mut row: Vec<(&'static str, Value)> = vec![
            ("id", json!(self.log.event_id(ev))),
            ("createdDateTime", json!(ev.time().to_graph_string())),
            ("userDisplayName", json!(user.as_ref().map(|u| &u.name))),
            ("userPrincipalName", json!(user.as_ref().map(|u| &u.upn))),
            ("userId", json!(user.as_ref().map_or("", |u| u.id.as_str()))),
            ("appId", json!(app_id)),
            ("appDisplayName", json!(app_name)),
            ("ipAddress", json!(ip)),
            ("clientAppUsed", json!(f.client_app)),
            ("correlationId", json!(correlation_id)),
            ("conditionalAccessStatus", json!(f.ca_status.graph_name())),
            ("isInteractive", json!(interactive)),
            ("riskDetail", json!(risk_detail)),
            ("riskLevelAggregated", json!(risk_aggregated)),
            ("riskLevelDuringSignIn", json!(f.risk.graph_name())),
            ("riskState", json!(risk_state)),
            ("riskEventTypes", json!(risk_types)),
            ("riskEventTypes_v2", json!(risk_types)),
            ("resourceDisplayName", json!(resource_name)),
            ("resourceId", json!(resource_id)),
            ("servicePrincipalId", json!(sp.map(|s| &s.id))),
            ("servicePrincipalName", json!(sp.map(|s| &s.display_name))),
            ("homeTenantId", json!(self.log.tenant_id)),
            ("resourceTenantId", json!(self.log.tenant_id)),
            ("userAgent", user_agent),
            (
                "status",
                json!({
                    "errorCode": f.error_code,
                    "failureReason": failure_reason,
                    "additionalDetails": additional_details,
                }),
            ),
            ("deviceDetail", device),
            ("location", location),
            ("appliedConditionalAccessPolicies", json!(policies)),
            ("authenticationAppDeviceDetails", Value::Null),
        ];
        if self.beta {
            let mfa = f.error_code == 0
                && is_user
                && (f.admin && interactive || f.ca_status == CaStatus::Success && mfa_required);
            let msi = workload.and_then(|w| w.msi_type).map(|msi_type| {
                let name = sp.map_or("identity", |s| s.display_name.as_str());
                json!({
                    "msiType": msi_type,
                    "associatedResourceId": format!(
                        "/subscriptions/{}/resourceGroups/rg-{name}/providers/Microsoft.Web/sites/{name}",
                        stable_guid(self.log.seed, 0x4d53_4901, u64::from(ev.source.entity))
                    ),
                    "federatedTokenId": null,
                    "federatedTokenIssuer": null,
                })
            });
            row.extend([
                ("signInEventTypes", json!([f.event_type.graph_name()])),
                (
                    "userType",
                    json!(user.as_ref().map(|u| u.user_type.graph_name())),
                ),
                (
                    "authenticationRequirement",
                    json!(if mfa {
                        "multiFactorAuthentication"
                    } else {
                        "singleFactorAuthentication"
                    }),
                ),
                (
                    "clientCredentialType",
                    json!(workload.map_or("none", |w| w.credential_type)),
                ),
                (
                    "servicePrincipalCredentialKeyId",
                    json!(workload.and_then(|w| w.credential_key_id.as_deref())),
                ),
                ("managedServiceIdentity", msi.unwrap_or(Value::Null)),
                ("tokenIssuerType", json!("AzureAD")),
            ]);
        }
        row
    }

    /// One directory audit (or, with `csa`, custom security attribute audit).
    fn audit(&self, ev: &EventRef, csa: bool) -> Vec<(&'static str, Value)> {
        let (f, mut rng) = self.log.audit_facts(self.tenant, ev);
        let table: &[AuditActivity] = if csa {
            &CSA_ACTIVITIES
        } else {
            &DIRECTORY_ACTIVITIES
        };
        let Some(a) = table.get(ev.source.entity as usize) else {
            return Vec::new();
        };
        let correlation_id = rng.guid();
        let ip = format!("198.51.100.{}", rng.below(254) + 1);
        let initiated_by = match (a.initiator, f.initiator) {
            (Initiator::App(name), _) => {
                let known = INITIATOR_APPS.iter().position(|(n, _)| *n == name);
                let app_id = known
                    .and_then(|i| INITIATOR_APPS.get(i))
                    .map_or("", |(_, id)| id);
                // The app's service principal in this tenant: fixed per app.
                let initiator_sp_id = stable_guid(
                    self.log.seed,
                    0x4d53_4902,
                    known.unwrap_or(INITIATOR_APPS.len()) as u64,
                );
                json!({
                    "user": null,
                    "app": {
                        "appId": app_id,
                        "displayName": name,
                        "servicePrincipalId": initiator_sp_id,
                        "servicePrincipalName": name,
                    },
                })
            }
            (_, Some(index)) => json!({ "user": self.user_identity(index, &ip), "app": null }),
            (_, None) => json!({ "user": null, "app": null }),
        };
        let user_target = |index: u64, modified: Vec<Value>| {
            let u = self.user(index);
            json!({
                "id": u.id,
                "displayName": u.name,
                "type": "User",
                "userPrincipalName": u.upn,
                "groupType": null,
                "modifiedProperties": modified,
            })
        };
        let other = |id: String, name: &str, ty: &str, modified: Vec<Value>| {
            json!({
                "id": id,
                "displayName": name,
                "type": ty,
                "userPrincipalName": null,
                "groupType": null,
                "modifiedProperties": modified,
            })
        };
        let changed = |name: &str, old: Value, new: Value| {
            let mut m = serde_json::Map::new();
            m.insert("displayName".to_owned(), json!(name));
            m.insert("oldValue".to_owned(), old);
            m.insert("newValue".to_owned(), new);
            Value::Object(m)
        };
        let mut targets: Vec<Value> = Vec::new();
        match a.target {
            Target::User => {
                if let Some(u) = f.target_user {
                    let modified = if csa {
                        let (attribute, values) =
                            rng.pick(&ATTRIBUTES).copied().unwrap_or(ATTRIBUTES[0]);
                        let value = rng.pick(&values).copied().unwrap_or("");
                        vec![changed(
                            attribute,
                            json!("[]"),
                            json!(format!("[\"{value}\"]")),
                        )]
                    } else if a.activity.contains("password") {
                        Vec::new()
                    } else {
                        vec![changed(
                            "Department",
                            json!("[\"Sales\"]"),
                            json!("[\"Marketing\"]"),
                        )]
                    };
                    targets.push(user_target(u, modified));
                }
            }
            Target::Group => {
                let g = rng.below(GROUPS.len() as u64) as usize;
                let (name, group_type) = GROUPS[g];
                targets.push(json!({
                    "id": stable_guid(self.log.seed, 0x4d53_4903, g as u64),
                    "displayName": name,
                    "type": "Group",
                    "userPrincipalName": null,
                    "groupType": group_type,
                    "modifiedProperties": [],
                }));
                if a.operation_type == "Assign" || a.operation_type == "Unassign" {
                    if let Some(u) = f.target_user {
                        targets.push(user_target(u, Vec::new()));
                    }
                }
            }
            Target::Role => {
                let (id, name) = rng.pick(&ROLES).copied().unwrap_or(ROLES[0]);
                targets.push(other(
                    id.to_owned(),
                    name,
                    "Role",
                    vec![changed(
                        "Role.DisplayName",
                        Value::Null,
                        json!(format!("\"{name}\"")),
                    )],
                ));
                if let Some(u) = f.target_user {
                    targets.push(user_target(u, Vec::new()));
                }
            }
            Target::Application => {
                let apps = &self.tenant.applications;
                if let Some(app) = apps.get(rng.below(apps.len() as u64) as usize) {
                    let modified = if a.activity.contains("Certificates and secrets") {
                        vec![changed(
                            "KeyDescription",
                            json!("[]"),
                            json!(format!(
                                "[\"[KeyIdentifier={}, KeyType=Password, KeyUsage=Verify, DisplayName=ci-secret]\"]",
                                rng.guid()
                            )),
                        )]
                    } else {
                        Vec::new()
                    };
                    targets.push(other(
                        app.id.clone(),
                        &app.display_name,
                        "Application",
                        modified,
                    ));
                }
            }
            Target::ServicePrincipal => {
                let sps = &self.tenant.service_principals;
                if let Some(sp) = sps.get(rng.below(sps.len() as u64) as usize) {
                    let modified = if csa {
                        let (attribute, values) =
                            rng.pick(&ATTRIBUTES).copied().unwrap_or(ATTRIBUTES[0]);
                        let value = rng.pick(&values).copied().unwrap_or("");
                        vec![changed(
                            attribute,
                            json!("[]"),
                            json!(format!("[\"{value}\"]")),
                        )]
                    } else {
                        Vec::new()
                    };
                    targets.push(other(
                        sp.id.clone(),
                        &sp.display_name,
                        "ServicePrincipal",
                        modified,
                    ));
                }
                if a.initiator == Initiator::SelfUser {
                    if let Some(u) = f.target_user {
                        targets.push(user_target(u, Vec::new()));
                    }
                }
            }
            Target::Policy => {
                let p = rng.below(CA_POLICIES.len() as u64) as usize;
                let (name, id) = if a.service == "Conditional Access" {
                    (
                        CA_POLICIES[p].0,
                        self.log.policy_ids.get(p).cloned().unwrap_or_default(),
                    )
                } else {
                    (
                        "Default Authorization Policy",
                        "authorizationPolicy".to_owned(),
                    )
                };
                targets.push(other(id, name, "Policy", Vec::new()));
            }
            Target::Device => {
                let mut d = Rng::new(rng.next_u64());
                targets.push(other(
                    d.guid(),
                    &format!("DESKTOP-{:06X}", d.below(0xff_ffff)),
                    "Device",
                    Vec::new(),
                ));
            }
            Target::Directory => {
                targets.push(other(
                    self.log.tenant_id.clone(),
                    "Contoso",
                    "Directory",
                    Vec::new(),
                ));
            }
            Target::AttributeDefinition => {
                let (attribute, _) = rng.pick(&ATTRIBUTES).copied().unwrap_or(ATTRIBUTES[0]);
                targets.push(other(attribute.to_owned(), attribute, "Other", Vec::new()));
            }
        }
        let user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0";
        let result_reason = match f.result {
            AuditResult::Success => "",
            AuditResult::Failure => a.failure_reason,
            AuditResult::Timeout => "Operation timed out.",
        };
        let additional: Vec<Value> = if f.initiator.is_some() {
            vec![json!({ "key": "User-Agent", "value": user_agent })]
        } else {
            Vec::new()
        };
        let mut row: Vec<(&'static str, Value)> = vec![
            ("id", json!(self.log.event_id(ev))),
            ("category", json!(a.category)),
            ("correlationId", json!(correlation_id)),
            ("result", json!(f.result.graph_name())),
            ("resultReason", json!(result_reason)),
            ("activityDisplayName", json!(a.activity)),
            ("activityDateTime", json!(ev.time().to_graph_string())),
            ("loggedByService", json!(a.service)),
            ("operationType", json!(a.operation_type)),
            ("initiatedBy", initiated_by),
            ("targetResources", json!(targets)),
        ];
        if csa {
            row.push((
                "userAgent",
                if f.initiator.is_some() {
                    json!(user_agent)
                } else {
                    Value::Null
                },
            ));
        }
        row.push(("additionalDetails", json!(additional)));
        row
    }

    /// One provisioning event (`provisioningObjectSummary`).
    fn provisioning(&self, ev: &EventRef) -> Vec<(&'static str, Value)> {
        let (f, mut rng) = self.log.provisioning_facts(self.tenant, ev);
        let entity = ev.source.entity as usize;
        let (Some(job), Some(ids)) = (PROVISIONING_JOBS.get(entity), self.log.job_ids.get(entity))
        else {
            return Vec::new();
        };
        let [job_id, sp_id, source_id, target_id] = ids;
        // Cycles run every 40 minutes; every event of a cycle shares its id.
        let cycle = ev.tick.div_euclid(40 * 60 * TICKS) as u64;
        let cycle_id = stable_guid(
            self.log.seed ^ (entity as u64).rotate_left(48),
            0x4d53_4904,
            cycle,
        );
        let change_id = rng.guid();
        let duration = 200 + rng.below(5_800);
        let user = f.user.map(|i| self.user(i));
        let (user_id, user_name) = user.as_ref().map_or((String::new(), String::new()), |u| {
            (u.id.clone(), u.name.clone())
        });
        let inbound = job.source != "Azure Active Directory";
        let target_object = rng.guid();
        // Workday identifies workers by their employee number, the other systems by object id.
        let source_id_value = if inbound {
            format!("WD{:06}", f.user.unwrap_or(0) + 100_000)
        } else {
            user_id.clone()
        };
        let target_id_value =
            if f.action == ProvisioningAction::Create && f.status != ProvisioningStatus::Success {
                // Nothing was created in the target.
                String::new()
            } else if inbound {
                user_id.clone()
            } else {
                target_object.clone()
            };
        let source_identity = json!({
            "id": source_id_value,
            "displayName": user_name,
            "identityType": if inbound { "Worker" } else { "User" },
            "details": {},
        });
        let target_identity = json!({
            "id": target_id_value,
            "displayName": user_name,
            "identityType": "User",
            "details": {},
        });
        use ProvisioningStatus as S;
        let error = match f.status {
            S::Failure => json!({
                "errorCode": job.error_code,
                "reason": job.error_reason,
                "additionalDetails": null,
                "errorCategory": "nonServiceFailure",
                "recommendedAction": null,
            }),
            S::Warning => json!({
                "errorCode": "AttributeValueTruncated",
                "reason": "An attribute value was longer than the target allows and was truncated.",
                "additionalDetails": null,
                "errorCategory": "nonServiceFailure",
                "recommendedAction": null,
            }),
            _ => Value::Null,
        };
        let export_status = match f.status {
            S::Failure => "failure",
            S::Warning => "warning",
            S::Skipped => "skipped",
            S::Success => "success",
        };
        let action = f.action.graph_name();
        let import_description = format!(
            "Received User '{user_name}' change of type ({action}) from {}",
            job.source
        );
        let export_description = format!(
            "{action} of User '{user_name}' in {}: {export_status}",
            job.target
        );
        let steps = json!([
            {
                "name": "EntryImport",
                "provisioningStepType": "import",
                "status": "success",
                "description": import_description,
                "details": {},
            },
            {
                "name": "EntrySynchronization",
                "provisioningStepType": "matching",
                "status": "success",
                "description": format!("User '{user_name}' will be processed in {}", job.target),
                "details": {},
            },
            {
                "name": "EntryExport",
                "provisioningStepType": "export",
                "status": export_status,
                "description": export_description,
                "details": { "ReportableIdentifier": user_name },
            },
        ]);
        let modified = if matches!(
            f.action,
            ProvisioningAction::Create | ProvisioningAction::Update
        ) {
            json!([
                { "displayName": "displayName", "oldValue": null, "newValue": user_name },
                { "displayName": "accountEnabled", "oldValue": null, "newValue": "True" },
            ])
        } else {
            json!([])
        };
        let system = |id: &str, name: &str, details: Value| {
            let mut m = serde_json::Map::new();
            m.insert("id".to_owned(), json!(id));
            m.insert("displayName".to_owned(), json!(name));
            m.insert("details".to_owned(), details);
            Value::Object(m)
        };
        let app_details = json!({
            "ApplicationId": stable_guid(self.log.seed, 0x4d53_4905, entity as u64),
            "ServicePrincipalId": sp_id,
            "ServicePrincipalDisplayName": job.app,
        });
        let (source_details, target_details) = if inbound {
            (app_details, json!({}))
        } else {
            (json!({}), app_details)
        };
        vec![
            ("id", json!(self.log.event_id(ev))),
            ("activityDateTime", json!(ev.time().to_graph_string())),
            ("tenantId", json!(self.log.tenant_id)),
            ("jobId", json!(job_id)),
            ("cycleId", json!(cycle_id)),
            ("changeId", json!(change_id)),
            ("provisioningAction", json!(action)),
            ("durationInMilliseconds", json!(duration)),
            (
                "provisioningStatusInfo",
                json!({ "status": f.status.graph_name(), "errorInformation": error }),
            ),
            ("provisioningSteps", steps),
            ("modifiedProperties", modified),
            (
                "servicePrincipal",
                json!({ "id": sp_id, "displayName": job.app }),
            ),
            (
                "sourceSystem",
                system(source_id, job.source, source_details),
            ),
            (
                "targetSystem",
                system(target_id, job.target, target_details),
            ),
            (
                "initiatedBy",
                json!({
                    "id": "",
                    "displayName": "Azure AD Provisioning Service",
                    "initiatorType": "system",
                }),
            ),
            ("sourceIdentity", source_identity),
            ("targetIdentity", target_identity),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_literals_keep_ticks() {
        assert_eq!(
            datetime_ticks("2025-06-03T07:41:12Z"),
            Some(1_748_936_472 * TICKS)
        );
        assert_eq!(
            datetime_ticks("2025-06-03T07:41:12.6195833Z"),
            Some(1_748_936_472 * TICKS + 6_195_833)
        );
        assert_eq!(
            datetime_ticks("2025-06-03T09:41:12.5+02:00"),
            Some(1_748_936_472 * TICKS + 5_000_000)
        );
        assert_eq!(datetime_ticks("2025-06-03"), Some(1_748_908_800 * TICKS));
        assert_eq!(datetime_ticks("'2025-06-03T07:41:12Z'"), None);
        assert_eq!(datetime_ticks("2025-06-03T07:41:12.Z"), None);
    }

    #[test]
    fn filters_parse_and_refuse_the_rest() {
        let q = parse_filter(
            "(signInEventTypes/any(t: t eq 'nonInteractiveUser' or t eq 'servicePrincipal')) and createdDateTime ge 2025-06-03T00:00:00Z and createdDateTime lt 2025-06-04 and appId eq 'x'",
            LogKind::SignIns,
            true,
        )
        .expect("parses");
        assert_eq!(
            q.types,
            Some(HashSet::from([
                SignInEventType::NonInteractiveUser,
                SignInEventType::ServicePrincipal
            ]))
        );
        assert_eq!(q.lo, Some(1_748_908_800 * TICKS));
        assert_eq!(q.hi, Some(1_748_995_200 * TICKS - 1));
        assert_eq!(q.sources, vec![SourceClause::AppId("x".to_owned())]);
        let v1 = parse_filter(
            "signInEventTypes/any(t: t eq 'servicePrincipal')",
            LogKind::SignIns,
            false,
        )
        .expect_err("v1.0");
        assert_eq!(v1.code, "BadRequest");
        for (bad, code) in [
            ("ipAddress eq '1.2.3.4'", "Request_UnsupportedQuery"),
            ("createdDateTime ne 2025-06-03", "Request_UnsupportedQuery"),
            ("createdDateTime ge '2025-06-03'", "BadRequest"),
            ("signInEventTypes/any(t: t eq 'robot')", "BadRequest"),
            (
                "signInEventTypes/any(t: x eq 'servicePrincipal')",
                "BadRequest",
            ),
        ] {
            let e = parse_filter(bad, LogKind::SignIns, true).expect_err(bad);
            assert_eq!(e.code, code, "{bad}");
        }
        assert!(parse_filter(
            "category eq 'RoleManagement' and result eq 'success'",
            LogKind::DirectoryAudits,
            false
        )
        .is_ok());
        assert!(
            parse_filter("category eq 'RoleManagement'", LogKind::Provisioning, false).is_err()
        );
    }

    #[test]
    fn tokens_round_trip() {
        let now = now_ticks();
        let t = encode_token(0x50, 7, now, (456, 789));
        assert_eq!(decode_token(&t, 0x50, 7), Ok((now, (456, 789))));
        for (bad_now, bad_tick) in [(-1, 0), (now, -5), (now, now + 1), (i64::MAX, 0)] {
            let t = encode_token(0x50, 7, bad_now, (bad_tick, 1));
            assert!(decode_token(&t, 0x50, 7).is_err(), "{bad_now} {bad_tick}");
        }
        assert_eq!(
            decode_token(&t, 0x51, 7).expect_err("other log").code,
            "Directory_ExpiredPageToken"
        );
        assert!(decode_token("nope", 0x50, 7).is_err());
    }
}
