//! Authentication-methods reports, reference §6, served from the user registration model
//! ([`crate::tenant::registration`]) and the daily activity model ([`crate::tenant::usage`]).
//! All need Entra ID P1/P2 and count against the identity and access reports budget (§10.2).
//!
//! * `userRegistrationDetails` (§6.1, v1.0 and beta; beta adds `defaultMfaMethod`): one row
//!   per live user, generated page by page from the page token's user index, so a million
//!   users need no memory. `$top`, `$select`, `$filter` (`eq` on the booleans, `userType`,
//!   `userPrincipalName`, `userDisplayName`, `userPreferredMethodForSecondaryAuthentication`;
//!   `startsWith` on the two names; `methodsRegistered/any(m: m eq '…')`, its shorthand
//!   `methodsRegistered eq '…'`, and `systemPreferredAuthenticationMethods/any(…)`). A page
//!   scans at most [`MAX_SCAN`] users, so a rare filter may give short (even empty) pages with
//!   a nextLink, as Graph's own reports do. Also `…/userRegistrationDetails/{id}`.
//! * `usersRegisteredByFeature` / `usersRegisteredByMethod` (§6.2): delegated-only; with
//!   [`crate::Quirks::users_registered_by_app_only`] they return the complex summary.
//! * `getCredentialUsageSummary(period=)` (§6.3), `getCredentialUserRegistrationCount` (§6.4)
//!   and `userMfaSignInSummary` (§6.5, one row per day of the last 30, today's partial day
//!   included, oldest first).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, CollectionPage, SkipToken};
use super::report_common::{self as common, comparison, invalid_filter, split_and, string_literal};
use crate::reply::{Ordered, Reply};
use crate::server::Ctx;
use crate::tenant::registration::{GroupCounts, RegistrationUser, UserCore, METHODS};
use crate::tenant::reports::MfaDay;
use crate::tenant::usage;
use crate::time::{UtcTime, DAY};
use crate::token::Claims;

/// Roles of the audit-log backed reports (§6.1, §6.2).
pub const AUDIT_LOG_ROLES: &[&str] = &["AuditLog.Read.All"];
/// Roles of the `Reports.Read.All` reports (§6.3, §6.4).
pub const REPORTS_ROLES: &[&str] = &["Reports.Read.All"];
/// The role older docs name for `userRegistrationDetails` (§6.1).
const USER_AUTHENTICATION_METHOD_ROLE: &str = "UserAuthenticationMethod.Read.All";

/// Page-token tag of `userRegistrationDetails`.
const USERS_TAG: u8 = 0x42;
/// Most user slots one page looks at.
pub const MAX_SCAN: u64 = 200_000;
/// Days of `userMfaSignInSummary` rows, today included.
pub const MFA_SUMMARY_DAYS: u32 = 30;
/// Periods of `getCredentialUsageSummary` (§6.3; case-insensitive).
pub const USAGE_PERIODS: &[(&str, u32)] = &[("D1", 1), ("D7", 7), ("D30", 30)];

/// Properties of `userRegistrationDetails` in the reference's order; `defaultMfaMethod` is
/// beta only (Appendix B.8).
const PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "userDisplayName",
    "userType",
    "isAdmin",
    "isMfaCapable",
    "isMfaRegistered",
    "isPasswordlessCapable",
    "isSsprCapable",
    "isSsprEnabled",
    "isSsprRegistered",
    "isSystemPreferredAuthenticationMethodEnabled",
    "lastUpdatedDateTime",
    "methodsRegistered",
    "systemPreferredAuthenticationMethods",
    "userPreferredMethodForSecondaryAuthentication",
    "defaultMfaMethod",
];

/// The properties of `version`.
fn properties(version: &str) -> &'static [&'static str] {
    if version == "beta" {
        PROPERTIES
    } else {
        &PROPERTIES[..PROPERTIES.len() - 1]
    }
}

/// Access rule of `userRegistrationDetails`: `AuditLog.Read.All`, or also
/// `UserAuthenticationMethod.Read.All` when the quirk says so (§6.1, UNCONFIRMED).
pub fn registration_details_access(ctx: &Ctx<'_>, claims: &Claims) -> Result<(), GraphError> {
    if ctx
        .sim
        .config
        .quirks
        .user_registration_accepts_user_authentication_method_role
    {
        common::require_role(
            claims,
            &["AuditLog.Read.All", USER_AUTHENTICATION_METHOD_ROLE],
        )
    } else {
        common::require_role(claims, AUDIT_LOG_ROLES)
    }
}

/// Access rule of §6.2: delegated-only unless the quirk lets app-only tokens in.
pub fn registered_by_access(ctx: &Ctx<'_>, claims: &Claims) -> Result<(), GraphError> {
    if common::app_only(claims) && !ctx.sim.config.quirks.users_registered_by_app_only {
        return Err(common::app_only_refused());
    }
    common::require_role(claims, AUDIT_LOG_ROLES)
}

/// Access rule of `userMfaSignInSummary`: the roles the quirk lists (§6.5, UNCONFIRMED).
pub fn mfa_summary_access(ctx: &Ctx<'_>, claims: &Claims) -> Result<(), GraphError> {
    common::require_role(claims, &ctx.sim.config.quirks.mfa_sign_in_summary_roles)
}

/// A boolean property `$filter` may test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flag {
    /// `isAdmin`.
    Admin,
    /// `isMfaCapable`.
    MfaCapable,
    /// `isMfaRegistered`.
    MfaRegistered,
    /// `isPasswordlessCapable`.
    PasswordlessCapable,
    /// `isSsprCapable`.
    SsprCapable,
    /// `isSsprEnabled`.
    SsprEnabled,
    /// `isSsprRegistered`.
    SsprRegistered,
    /// `isSystemPreferredAuthenticationMethodEnabled` (null matches neither value).
    SystemPreferredEnabled,
}

/// The filterable booleans with their property names.
const FLAGS: &[(&str, Flag)] = &[
    ("isAdmin", Flag::Admin),
    ("isMfaCapable", Flag::MfaCapable),
    ("isMfaRegistered", Flag::MfaRegistered),
    ("isPasswordlessCapable", Flag::PasswordlessCapable),
    ("isSsprCapable", Flag::SsprCapable),
    ("isSsprEnabled", Flag::SsprEnabled),
    ("isSsprRegistered", Flag::SsprRegistered),
    (
        "isSystemPreferredAuthenticationMethodEnabled",
        Flag::SystemPreferredEnabled,
    ),
];

/// A name property `$filter` may test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameProp {
    /// `userPrincipalName`.
    Upn,
    /// `userDisplayName`.
    DisplayName,
}

/// One clause of the `userRegistrationDetails` filter.
#[derive(Clone, Debug, PartialEq)]
enum Clause {
    /// `<flag> eq true|false`.
    Flag(Flag, bool),
    /// `userType eq '…'`.
    UserType(String),
    /// `methodsRegistered/any(m: m eq '…')` or `methodsRegistered eq '…'`.
    Method(String),
    /// `systemPreferredAuthenticationMethods/any(m: m eq '…')`.
    SystemPreferred(String),
    /// `userPreferredMethodForSecondaryAuthentication eq '…'`.
    UserPreferred(String),
    /// `<name> eq '…'`.
    NameEq(NameProp, String),
    /// `startsWith(<name>, '…')`.
    NameStartsWith(NameProp, String),
}

impl Clause {
    /// Whether the clause needs the user's names (slower to generate than the flags).
    fn needs_names(&self) -> bool {
        matches!(self, Self::NameEq(..) | Self::NameStartsWith(..))
    }
}

/// A quoted literal making up the whole of `text`.
fn whole_literal(text: &str, clause: &str) -> Result<String, GraphError> {
    string_literal(text.trim())
        .filter(|(_, rest)| rest.trim().is_empty())
        .map(|(v, _)| v)
        .ok_or_else(|| invalid_filter(&format!("expected a quoted string in '{clause}'")))
}

/// The name property called `name`.
fn name_prop(name: &str) -> Option<NameProp> {
    if name.eq_ignore_ascii_case("userPrincipalName") {
        Some(NameProp::Upn)
    } else if name.eq_ignore_ascii_case("userDisplayName") {
        Some(NameProp::DisplayName)
    } else {
        None
    }
}

/// Parses one clause.
fn parse_clause(clause: &str) -> Result<Clause, GraphError> {
    let unsupported = || {
        invalid_filter(&format!(
            "'{clause}' is not supported by graph-sim on userRegistrationDetails"
        ))
    };
    if let Some(inner) = clause
        .get(..11)
        .filter(|head| head.eq_ignore_ascii_case("startsWith("))
        .and_then(|_| clause[11..].trim_end().strip_suffix(')'))
    {
        let (prop, literal) = inner.split_once(',').ok_or_else(unsupported)?;
        let prop = name_prop(prop.trim()).ok_or_else(unsupported)?;
        return Ok(Clause::NameStartsWith(
            prop,
            whole_literal(literal, clause)?,
        ));
    }
    if let Some((collection, lambda)) = clause.split_once('/') {
        // `collection/any(v: v eq 'x')`
        let body = lambda
            .trim()
            .get(..4)
            .filter(|h| h.eq_ignore_ascii_case("any("))
            .and_then(|_| lambda.trim()[4..].strip_suffix(')'))
            .ok_or_else(unsupported)?;
        let (var, test) = body.split_once(':').ok_or_else(unsupported)?;
        let (lhs, op, rhs) = comparison(test).ok_or_else(unsupported)?;
        if lhs != var.trim() || op != "eq" {
            return Err(unsupported());
        }
        let value = whole_literal(rhs, clause)?;
        return match collection.trim() {
            c if c.eq_ignore_ascii_case("methodsRegistered") => Ok(Clause::Method(value)),
            c if c.eq_ignore_ascii_case("systemPreferredAuthenticationMethods") => {
                Ok(Clause::SystemPreferred(value))
            }
            _ => Err(unsupported()),
        };
    }
    let (lhs, op, rhs) = comparison(clause).ok_or_else(unsupported)?;
    if op != "eq" {
        return Err(unsupported());
    }
    if let Some((_, flag)) = FLAGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(lhs)) {
        return match rhs.to_ascii_lowercase().as_str() {
            "true" => Ok(Clause::Flag(*flag, true)),
            "false" => Ok(Clause::Flag(*flag, false)),
            _ => Err(invalid_filter(&format!("'{rhs}' is not a Boolean"))),
        };
    }
    let value = whole_literal(rhs, clause)?;
    if lhs.eq_ignore_ascii_case("userType") {
        Ok(Clause::UserType(value))
    } else if lhs.eq_ignore_ascii_case("methodsRegistered") {
        Ok(Clause::Method(value))
    } else if lhs.eq_ignore_ascii_case("userPreferredMethodForSecondaryAuthentication") {
        Ok(Clause::UserPreferred(value))
    } else if let Some(prop) = name_prop(lhs) {
        Ok(Clause::NameEq(prop, value))
    } else {
        Err(unsupported())
    }
}

/// Whether `u` passes `clause` (name clauses need `names`).
fn matches(u: &UserCore, names: Option<&RegistrationUser>, clause: &Clause) -> bool {
    let name = |p: NameProp| {
        names.map(|n| match p {
            NameProp::Upn => n.user_principal_name.as_str(),
            NameProp::DisplayName => n.user_display_name.as_str(),
        })
    };
    match clause {
        Clause::Flag(flag, want) => {
            let have = match flag {
                Flag::Admin => Some(u.is_admin()),
                Flag::MfaCapable => Some(u.mfa_capable),
                Flag::MfaRegistered => Some(u.mfa_registered()),
                Flag::PasswordlessCapable => Some(u.passwordless_capable),
                Flag::SsprCapable => Some(u.sspr_capable()),
                Flag::SsprEnabled => Some(u.sspr_enabled),
                Flag::SsprRegistered => Some(u.sspr_registered()),
                Flag::SystemPreferredEnabled => u.system_preferred_enabled,
            };
            have == Some(*want)
        }
        Clause::UserType(t) => u.user_type.graph_name().eq_ignore_ascii_case(t),
        Clause::Method(m) => u
            .methods_registered()
            .any(|have| have.eq_ignore_ascii_case(m)),
        Clause::SystemPreferred(m) => u
            .system_preferred
            .as_ref()
            .is_some_and(|l| l.iter().any(|have| have.eq_ignore_ascii_case(m))),
        Clause::UserPreferred(m) => u
            .user_preferred
            .is_some_and(|have| have.eq_ignore_ascii_case(m)),
        Clause::NameEq(p, v) => name(*p).is_some_and(|n| n.eq_ignore_ascii_case(v)),
        Clause::NameStartsWith(p, v) => name(*p).is_some_and(|n| {
            n.get(..v.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(v))
        }),
    }
}

/// A user row as Graph serialises it, restricted to `selected` properties.
fn user_json(u: &RegistrationUser, selected: &[&'static str]) -> Vec<(&'static str, Value)> {
    let c = &u.core;
    selected
        .iter()
        .map(|p| {
            let v = match *p {
                "id" => json!(u.id),
                "userPrincipalName" => json!(u.user_principal_name),
                "userDisplayName" => json!(u.user_display_name),
                "userType" => json!(c.user_type.graph_name()),
                "isAdmin" => json!(c.is_admin()),
                "isMfaCapable" => json!(c.mfa_capable),
                "isMfaRegistered" => json!(c.mfa_registered()),
                "isPasswordlessCapable" => json!(c.passwordless_capable),
                "isSsprCapable" => json!(c.sspr_capable()),
                "isSsprEnabled" => json!(c.sspr_enabled),
                "isSsprRegistered" => json!(c.sspr_registered()),
                "isSystemPreferredAuthenticationMethodEnabled" => {
                    json!(c.system_preferred_enabled)
                }
                "lastUpdatedDateTime" => json!(u.last_updated_date_time.to_graph_string()),
                "methodsRegistered" => json!(c.methods_registered().collect::<Vec<_>>()),
                "systemPreferredAuthenticationMethods" => json!(c.system_preferred),
                "userPreferredMethodForSecondaryAuthentication" => json!(c.user_preferred),
                _ => json!(c.default_mfa_method),
            };
            (*p, v)
        })
        .collect()
}

/// `GET /{version}/reports/authenticationMethods/userRegistrationDetails`.
pub fn registration_details(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let options =
        odata::system_options_allowing(ctx, &["$top", "$skiptoken", "$select", "$filter"])?;
    let quirks = &ctx.sim.config.quirks;
    let version = ctx.param("version");
    let all = properties(version);
    let top = odata::option(&options, "$top")
        .map(|v| odata::parse_top(v, quirks.user_registration_max_page_size))
        .transpose()?
        .unwrap_or(quirks.user_registration_default_page_size) as usize;
    let select = odata::option(&options, "$select")
        .map(|v| odata::parse_select(v, all, "userRegistrationDetails"))
        .transpose()?;
    let clauses = match odata::option(&options, "$filter") {
        Some(f) => split_and(f)?
            .into_iter()
            .map(parse_clause)
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let model = &ctx.sim.tenant.reports.users;
    let fingerprint = ctx.sim.tenant.reports.users_fingerprint;
    let start = match odata::option(&options, "$skiptoken") {
        Some(v) => resolve_user_token(v, fingerprint, model.slots)?,
        None => 0,
    };
    let needs_names = clauses.iter().any(Clause::needs_names);
    let selected: &[&'static str] = select.as_deref().unwrap_or(all);
    let mut items = Vec::with_capacity(top.min(1024));
    let scan_end = start.saturating_add(MAX_SCAN).min(model.slots);
    let mut next = start;
    while next < scan_end && items.len() < top {
        let index = next;
        next += 1;
        let core = model.core(index);
        if core.deleted {
            continue;
        }
        let user = if needs_names {
            let user = model.user_from(core);
            if !clauses.iter().all(|c| matches(&user.core, Some(&user), c)) {
                continue;
            }
            user
        } else {
            if !clauses.iter().all(|c| matches(&core, None, c)) {
                continue;
            }
            model.user_from(core)
        };
        items.push(user_json(&user, selected));
    }
    let base = &ctx.origin();
    let set = "reports/authenticationMethods/userRegistrationDetails";
    let next_link = (next < model.slots).then(|| {
        let token = SkipToken {
            collection: USERS_TAG,
            offset: next,
            fingerprint,
        };
        odata::next_link(&format!("{base}/{version}/{set}"), ctx.raw_query, &token)
    });
    let context = match &select {
        Some(names) => format!("{base}/{version}/$metadata#{set}({})", names.join(",")),
        None => format!("{base}/{version}/$metadata#{set}"),
    };
    let body = CollectionPage {
        context,
        count: None,
        items: &items,
        next_link,
    };
    Ok(Reply::json(
        StatusCode::OK,
        &quirks.graph_content_type,
        &body,
    ))
}

/// Resolves a `userRegistrationDetails` page token to the next user slot.
fn resolve_user_token(value: &str, fingerprint: u32, slots: u64) -> Result<u64, GraphError> {
    let Some(token) = SkipToken::decode(value) else {
        return Err(GraphError::bad_request(
            "The specified page token value is invalid.",
        ));
    };
    if token.collection != USERS_TAG || token.fingerprint != fingerprint {
        return Err(GraphError::new(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ));
    }
    if token.offset == 0 || token.offset >= slots {
        return Err(GraphError::bad_request(
            "The specified page token value is invalid.",
        ));
    }
    Ok(token.offset)
}

/// `GET /{version}/reports/authenticationMethods/userRegistrationDetails/{id}`.
pub fn registration_detail(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let options = odata::system_options_allowing(ctx, &["$select"])?;
    let version = ctx.param("version");
    let all = properties(version);
    let select = odata::option(&options, "$select")
        .map(|v| odata::parse_select(v, all, "userRegistrationDetails"))
        .transpose()?;
    let model = &ctx.sim.tenant.reports.users;
    let id = ctx.param("id");
    let user = model
        .index_of(id)
        .map(|i| model.user(i))
        .filter(|u| !u.core.deleted)
        .ok_or_else(|| {
            GraphError::new(
                404,
                "Request_ResourceNotFound",
                format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
            )
        })?;
    let base = &ctx.origin();
    let mut fields = vec![(
        "@odata.context",
        json!(format!(
            "{base}/{version}/$metadata#reports/authenticationMethods/userRegistrationDetails/$entity"
        )),
    )];
    fields.extend(user_json(&user, select.as_deref().unwrap_or(all)));
    Ok(Reply::json(
        StatusCode::OK,
        &ctx.sim.config.quirks.graph_content_type,
        &Ordered(&fields),
    ))
}

/// The users §6.2's parameters select: `(includedUserTypes, includedUserRoles)` as given
/// (default `all`) and the sum of the matching groups.
fn selection(ctx: &Ctx<'_>, function: &str) -> Result<(String, String, GroupCounts), GraphError> {
    let args = common::function_args(ctx, function, &["includedUserTypes", "includedUserRoles"])?;
    let types = common::arg(&args, "includedUserTypes").unwrap_or("all");
    let roles = common::arg(&args, "includedUserRoles").unwrap_or("all");
    let type_mask: [bool; 2] = match types {
        "all" => [true, true],
        "member" => [true, false],
        "guest" => [false, true],
        other => {
            return Err(common::bad_request(format!(
                "Invalid includedUserTypes '{other}': use all, member or guest."
            )))
        }
    };
    let role_mask: [bool; 3] = match roles {
        "all" => [true, true, true],
        "privilegedAdmin" => [true, false, false],
        "admin" => [true, true, false],
        "user" => [false, false, true],
        other => {
            return Err(common::bad_request(format!(
                "Invalid includedUserRoles '{other}': use all, privilegedAdmin, admin or user."
            )))
        }
    };
    let totals = ctx.sim.tenant.reports.registration_totals();
    let mut sum = GroupCounts::default();
    for (t, groups) in totals.groups.iter().enumerate() {
        for (r, g) in groups.iter().enumerate() {
            if type_mask[t] && role_mask[r] {
                sum.users += g.users;
                for (a, b) in sum.features.iter_mut().zip(g.features) {
                    *a += b;
                }
                for (a, b) in sum.methods.iter_mut().zip(g.methods) {
                    *a += b;
                }
            }
        }
    }
    Ok((types.to_owned(), roles.to_owned(), sum))
}

/// A §6.2 complex-type response.
fn complex_reply(
    ctx: &Ctx<'_>,
    type_name: &str,
    fields: Vec<(&'static str, Value)>,
) -> Result<Reply, GraphError> {
    odata::system_options_allowing(ctx, &[])?;
    let base = &ctx.origin();
    let version = ctx.param("version");
    let mut all = vec![(
        "@odata.context",
        json!(format!(
            "{base}/{version}/$metadata#microsoft.graph.{type_name}"
        )),
    )];
    all.extend(fields);
    Ok(Reply::json(
        StatusCode::OK,
        &ctx.sim.config.quirks.graph_content_type,
        &Ordered(&all),
    ))
}

/// `GET /{version}/reports/authenticationMethods/usersRegisteredByFeature[(…)]` (§6.2).
pub fn registered_by_feature(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let (types, roles, sum) = selection(ctx, "usersRegisteredByFeature")?;
    // Feature order of the reference example; indices into `registration::FEATURES`.
    let counts: Vec<Value> = [
        ("ssprRegistered", 5),
        ("ssprEnabled", 4),
        ("ssprCapable", 3),
        ("passwordlessCapable", 2),
        ("mfaCapable", 0),
    ]
    .iter()
    .map(|(feature, i)| json!({ "feature": feature, "userCount": sum.features[*i] }))
    .collect();
    complex_reply(
        ctx,
        "userRegistrationFeatureSummary",
        vec![
            ("totalUserCount", json!(sum.users)),
            ("userTypes", json!(types)),
            ("userRoles", json!(roles)),
            ("userRegistrationFeatureCounts", Value::Array(counts)),
        ],
    )
}

/// `GET /{version}/reports/authenticationMethods/usersRegisteredByMethod[(…)]` (§6.2). Every
/// account has a password, so `password` counts every selected user.
pub fn registered_by_method(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let (types, roles, sum) = selection(ctx, "usersRegisteredByMethod")?;
    let counts: Vec<Value> = std::iter::once(json!({
        "authenticationMethod": "password",
        "userCount": sum.users,
    }))
    .chain(
        METHODS
            .iter()
            .zip(sum.methods)
            .map(|(m, n)| json!({ "authenticationMethod": m.name, "userCount": n })),
    )
    .collect();
    complex_reply(
        ctx,
        "userRegistrationMethodSummary",
        vec![
            ("totalUserCount", json!(sum.users)),
            ("userTypes", json!(types)),
            ("userRoles", json!(roles)),
            ("userRegistrationMethodCounts", Value::Array(counts)),
        ],
    )
}

/// A collection response without paging.
fn collection(ctx: &Ctx<'_>, context: String, items: &[Vec<(&'static str, Value)>]) -> Reply {
    let body = CollectionPage {
        context,
        count: None,
        items,
        next_link: None,
    };
    Reply::json(
        StatusCode::OK,
        &ctx.sim.config.quirks.graph_content_type,
        &body,
    )
}

/// `GET /beta/reports/getCredentialUsageSummary(period='D1'|'D7'|'D30')` (§6.3).
pub fn credential_usage_summary(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let args = common::function_args(ctx, "getCredentialUsageSummary", &["period"])?;
    let days = common::period_days(&args, USAGE_PERIODS, true)?;
    let options = odata::system_options_allowing(ctx, &["$filter"])?;
    let clauses = odata::option(&options, "$filter")
        .map(|v| odata::parse_eq_filter(v, &["feature", "authMethod"], "credentialUsageSummary"))
        .transpose()?
        .unwrap_or_default();
    let pieces = usage::window_pieces(common::cutoff_now(), days);
    let items: Vec<Vec<(&'static str, Value)>> = ctx
        .sim
        .tenant
        .reports
        .credential_usage(&pieces)
        .into_iter()
        .filter(|r| {
            clauses.iter().all(|(name, want)| {
                let have = if *name == "feature" {
                    r.feature
                } else {
                    r.auth_method
                };
                have.eq_ignore_ascii_case(want)
            })
        })
        .map(|r| {
            vec![
                ("id", json!(r.id())),
                ("feature", json!(r.feature)),
                ("authMethod", json!(r.auth_method)),
                ("successfulActivityCount", json!(r.successes)),
                ("failureActivityCount", json!(r.failures)),
            ]
        })
        .collect();
    let base = &ctx.origin();
    Ok(collection(
        ctx,
        format!("{base}/beta/$metadata#Collection(microsoft.graph.credentialUsageSummary)"),
        &items,
    ))
}

/// `registrationStatus` values of §6.4 with their user count.
pub fn registration_counts(
    totals: &crate::tenant::registration::RegistrationTotals,
) -> [(&'static str, u64); 4] {
    [
        ("registered", totals.features[5]),
        ("enabled", totals.features[4]),
        ("capable", totals.features[3]),
        ("mfaRegistered", totals.features[1]),
    ]
}

/// `GET /beta/reports/getCredentialUserRegistrationCount` (§6.4): the schema's keys
/// `registrationStatus` / `registrationCount`, not the doc example's (Appendix B.7).
pub fn credential_user_registration_count(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    common::function_args(ctx, "getCredentialUserRegistrationCount", &[])?;
    odata::system_options_allowing(ctx, &[])?;
    let totals = ctx.sim.tenant.reports.registration_totals();
    let counts: Vec<Value> = registration_counts(totals)
        .iter()
        .map(|(status, n)| json!({ "registrationStatus": status, "registrationCount": n }))
        .collect();
    let items = vec![vec![
        ("id", json!(ctx.sim.tenant.tenant_id)),
        ("totalUserCount", json!(totals.users)),
        ("userRegistrationCounts", Value::Array(counts)),
    ]];
    let base = &ctx.origin();
    Ok(collection(
        ctx,
        format!(
            "{base}/beta/$metadata#Collection(microsoft.graph.credentialUserRegistrationCount)"
        ),
        &items,
    ))
}

/// The `userMfaSignInSummary` rows at `cutoff`, oldest first.
pub fn mfa_rows(tenant: &crate::tenant::Tenant, cutoff: i64) -> Vec<MfaDay> {
    usage::retention_pieces(cutoff, MFA_SUMMARY_DAYS)
        .iter()
        .map(|p| tenant.reports.mfa_day(p))
        .collect()
}

/// `GET /beta/reports/authenticationMethods/userMfaSignInSummary` (§6.5).
pub fn mfa_sign_in_summary(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    odata::system_options_allowing(ctx, &[])?;
    let items: Vec<Vec<(&'static str, Value)>> = mfa_rows(&ctx.sim.tenant, common::cutoff_now())
        .iter()
        .map(|d| {
            vec![
                (
                    "@odata.type",
                    json!("#microsoft.graph.userMfaSignInSummary"),
                ),
                ("id", json!(d.id)),
                (
                    "createdDateTime",
                    json!(UtcTime::from_unix(d.day * DAY, 0).to_graph_string()),
                ),
                ("totalSignIns", json!(d.total())),
                ("singleFactorSignIns", json!(d.single_factor)),
                ("multiFactorSignIns", json!(d.multi_factor)),
            ]
        })
        .collect();
    let base = &ctx.origin();
    Ok(collection(
        ctx,
        format!("{base}/beta/$metadata#reports/authenticationMethods/userMfaSignInSummary"),
        &items,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(f: &str) -> Result<Vec<Clause>, GraphError> {
        split_and(f)?.into_iter().map(parse_clause).collect()
    }

    #[test]
    fn filters_parse() {
        assert_eq!(
            parse("methodsRegistered/any(m: m eq 'email') and isAdmin eq TRUE and userType eq 'guest'"),
            Ok(vec![
                Clause::Method("email".to_owned()),
                Clause::Flag(Flag::Admin, true),
                Clause::UserType("guest".to_owned()),
            ])
        );
        assert_eq!(
            parse("methodsRegistered eq 'fido2' and startsWith(userPrincipalName, 'lena')"),
            Ok(vec![
                Clause::Method("fido2".to_owned()),
                Clause::NameStartsWith(NameProp::Upn, "lena".to_owned()),
            ])
        );
        assert_eq!(
            parse("systemPreferredAuthenticationMethods/any(x:x eq 'push')"),
            Ok(vec![Clause::SystemPreferred("push".to_owned())])
        );
        for bad in [
            "isAdmin eq 'yes'",
            "isAdmin ne true",
            "methodsRegistered/all(m: m eq 'email')",
            "methodsRegistered/any(m: n eq 'email')",
            "lastUpdatedDateTime eq 2024-01-01",
            "userType eq guest",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
