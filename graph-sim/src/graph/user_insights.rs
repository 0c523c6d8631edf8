//! `GET /beta/reports/userInsights/{daily|monthly}/{metric}`, reference §1: External ID user
//! insights of the tenant model's customer-facing apps ([`crate::tenant::insights`]).
//!
//! * The period and metric segments are matched here (case-insensitively, like every path
//!   segment, unless the quirk is off). Segments outside the §1.2 matrix, such as
//!   `daily/requests`, answer like any unknown segment; the removed `activeUsersBreakdown`
//!   answers with the status of [`crate::Quirks::insights_removed_metric_status`].
//! * Property names and types follow §1.3, including the lower-case `appid` of
//!   `authenticationsMetric` (Appendix B.1) and `id`s that repeat across dates (B.11).
//! * `$filter`: `eq` on the properties §1.3 marks filterable, plus `eq`/`ge`/`gt`/`le`/`lt` on
//!   `factDate` with unquoted `Edm.Date` literals (UNCONFIRMED, §1.4; refused when
//!   [`crate::Quirks::insights_reject_fact_date_filter`] is set), joined by `and`.
//! * `$top` and paging by absolute `@odata.nextLink` with a `$skiptoken` (§1.5: sizes
//!   UNCONFIRMED, see the `insights_*_page_size` quirks). Rows come newest `factDate` first;
//!   clients must not rely on that order.
//! * On a workforce tenant the collections are empty, or 403 per
//!   [`crate::Quirks::insights_workforce`] (UNCONFIRMED, §1.1).
//!
//! One route serves the whole matrix, so the role check (`Insights-UserMetric.Read.All`,
//! §1.1) runs before the segments are resolved: a caller without the role gets 403 even for a
//! segment that does not exist.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, CollectionPage, SkipToken};
use crate::config::WorkforceInsights;
use crate::reply::Reply;
use crate::server::Ctx;
use crate::tenant::insights::{Day, InactiveUsersRow, InsightRows, Period};
use crate::time::UtcTime;

/// Query options these collections implement.
const IMPLEMENTED: &[&str] = &["$top", "$skiptoken", "$filter"];

/// The removed collection (§1.2, Appendix B.3).
const REMOVED: &str = "activeUsersBreakdown";

/// One served item: its properties in the order Graph writes them.
type Item = Vec<(&'static str, Value)>;

/// Comparison operators of `$filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `eq`.
    Eq,
    /// `ge`.
    Ge,
    /// `gt`.
    Gt,
    /// `le`.
    Le,
    /// `lt`.
    Lt,
}

/// A `$filter` literal.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Literal {
    /// `'text'`.
    Text(String),
    /// `42`.
    Integer(i64),
    /// `2025-05-01` (unquoted `Edm.Date`).
    Date(Day),
}

/// One `property op literal` clause.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Clause {
    /// Canonical property name.
    property: &'static str,
    /// Operator.
    op: Op,
    /// Literal.
    literal: Literal,
}

/// A user-insight collection.
#[derive(Debug)]
struct Metric {
    /// Path segment, canonical spelling.
    segment: &'static str,
    /// Element type on `daily/…`, `None` where the period lacks the collection.
    daily_type: Option<&'static str>,
    /// Element type on `monthly/…`.
    monthly_type: Option<&'static str>,
    /// Properties besides `id`/`factDate`, daily variant (the inactive types differ).
    daily_properties: &'static [&'static str],
    /// Properties besides `id`/`factDate`, monthly variant.
    monthly_properties: &'static [&'static str],
    /// Properties §1.3 marks `$filter`-able with `eq`.
    filterable: &'static [&'static str],
    /// The rows of this collection as Graph serialises them.
    items: fn(&InsightRows, Period) -> Vec<Item>,
}

/// `activeUsersMetric` properties.
const ACTIVE_USERS: &[&str] = &["appId", "appName", "country", "language", "os", "count"];
/// `authenticationsMetric` properties (lower-case `appid`, Appendix B.1).
const AUTHENTICATIONS: &[&str] = &[
    "appid",
    "os",
    "country",
    "browser",
    "authFlow",
    "identityProvider",
    "language",
    "attemptsCount",
    "successCount",
];
/// `dailyInactiveUsersMetric` / `…ByApplication…` properties.
const DAILY_INACTIVE: &[&str] = &[
    "appId",
    "inactive1DayCount",
    "inactive30DayCount",
    "inactive60DayCount",
    "inactive90DayCount",
];
/// `monthlyInactiveUsersMetric` / `…ByApplication…` properties.
const MONTHLY_INACTIVE: &[&str] = &[
    "appId",
    "inactiveCalendarMonthCount",
    "inactive30DayCount",
    "inactive60DayCount",
    "inactive90DayCount",
];
/// `mfaCompletionMetric` properties.
const MFA_COMPLETIONS: &[&str] = &[
    "appId",
    "mfaMethod",
    "os",
    "country",
    "identityProvider",
    "language",
    "attemptsCount",
    "successCount",
];
/// `mfaTelecomFraudMetric` properties.
const MFA_TELECOM_FRAUD: &[&str] = &[
    "captchaShownUserCount",
    "captchaSuccessCount",
    "captchaFailureCount",
    "captchaNotTriggeredUserCount",
    "telecomBlockedUserCount",
];
/// `userSignUpMetric` properties.
const SIGN_UPS: &[&str] = &[
    "appId",
    "os",
    "browser",
    "country",
    "identityProvider",
    "language",
    "count",
];
/// `insightSummary` properties.
const SUMMARY: &[&str] = &[
    "appId",
    "os",
    "activeUsers",
    "authenticationRequests",
    "authenticationCompletions",
    "securityTextRequests",
    "securityTextCompletions",
    "securityVoiceRequests",
    "securityVoiceCompletions",
];
/// `userCountMetric` properties.
const USER_COUNT: &[&str] = &["language", "count"];
/// `mfaUserCountMetric` properties.
const MFA_REGISTERED_USERS: &[&str] = &["mfaType", "count"];
/// `userRequestsMetric` properties.
const REQUESTS: &[&str] = &[
    "appId",
    "browser",
    "country",
    "identityProvider",
    "language",
    "requestCount",
];

/// The §1.2 matrix; the index is part of the page-token tag.
static METRICS: &[Metric] = &[
    Metric {
        segment: "activeUsers",
        daily_type: Some("activeUsersMetric"),
        monthly_type: Some("activeUsersMetric"),
        daily_properties: ACTIVE_USERS,
        monthly_properties: ACTIVE_USERS,
        filterable: &[],
        items: |r, _| {
            r.active_users
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("appId", json!(x.app_id)),
                        ("appName", json!(x.app_name)),
                        ("country", json!(x.country)),
                        ("language", json!(x.language)),
                        ("os", json!(x.os)),
                        ("count", json!(x.count)),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "authentications",
        daily_type: Some("authenticationsMetric"),
        monthly_type: Some("authenticationsMetric"),
        daily_properties: AUTHENTICATIONS,
        monthly_properties: AUTHENTICATIONS,
        filterable: &["appid", "attemptsCount", "successCount", "country", "os"],
        items: |r, _| {
            r.authentications
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("appid", json!(x.app_id)),
                        ("os", json!(x.os)),
                        ("country", json!(x.country)),
                        ("browser", json!(x.browser)),
                        ("authFlow", json!(x.auth_flow)),
                        ("identityProvider", json!(x.identity_provider)),
                        ("language", json!(x.language)),
                        ("attemptsCount", json!(x.attempts)),
                        ("successCount", json!(x.successes)),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "inactiveUsers",
        daily_type: Some("dailyInactiveUsersMetric"),
        monthly_type: Some("monthlyInactiveUsersMetric"),
        daily_properties: DAILY_INACTIVE,
        monthly_properties: MONTHLY_INACTIVE,
        filterable: &[],
        items: |r, p| inactive_items(&r.inactive_users, p),
    },
    Metric {
        segment: "inactiveUsersByApplication",
        daily_type: Some("dailyInactiveUsersByApplicationMetric"),
        monthly_type: Some("monthlyInactiveUsersByApplicationMetric"),
        daily_properties: DAILY_INACTIVE,
        monthly_properties: MONTHLY_INACTIVE,
        filterable: &[],
        items: |r, p| inactive_items(&r.inactive_users_by_application, p),
    },
    Metric {
        segment: "mfaCompletions",
        daily_type: Some("mfaCompletionMetric"),
        monthly_type: Some("mfaCompletionMetric"),
        daily_properties: MFA_COMPLETIONS,
        monthly_properties: MFA_COMPLETIONS,
        filterable: &["appId", "attemptsCount", "successCount", "mfaMethod", "os"],
        items: |r, _| {
            r.mfa_completions
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("appId", json!(x.app_id)),
                        ("mfaMethod", json!(x.mfa_method)),
                        ("os", json!(x.os)),
                        ("country", json!(x.country)),
                        ("identityProvider", json!(x.identity_provider)),
                        ("language", json!(x.language)),
                        ("attemptsCount", json!(x.attempts)),
                        ("successCount", json!(x.successes)),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "mfaTelecomFraud",
        daily_type: Some("mfaTelecomFraudMetric"),
        monthly_type: None,
        daily_properties: MFA_TELECOM_FRAUD,
        monthly_properties: MFA_TELECOM_FRAUD,
        filterable: &[],
        items: |r, _| {
            r.mfa_telecom_fraud
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("captchaShownUserCount", json!(x.captcha_shown_user_count)),
                        ("captchaSuccessCount", json!(x.captcha_success_count)),
                        ("captchaFailureCount", json!(x.captcha_failure_count)),
                        (
                            "captchaNotTriggeredUserCount",
                            json!(x.captcha_not_triggered_user_count),
                        ),
                        (
                            "telecomBlockedUserCount",
                            json!(x.telecom_blocked_user_count),
                        ),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "signUps",
        daily_type: Some("userSignUpMetric"),
        monthly_type: Some("userSignUpMetric"),
        daily_properties: SIGN_UPS,
        monthly_properties: SIGN_UPS,
        filterable: &["count", "os"],
        items: |r, _| {
            r.sign_ups
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("appId", json!(x.app_id)),
                        ("os", json!(x.os)),
                        ("browser", json!(x.browser)),
                        ("country", json!(x.country)),
                        ("identityProvider", json!(x.identity_provider)),
                        ("language", json!(x.language)),
                        ("count", json!(x.count)),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "summary",
        daily_type: Some("insightSummary"),
        monthly_type: Some("insightSummary"),
        daily_properties: SUMMARY,
        monthly_properties: SUMMARY,
        filterable: &["os"],
        items: |r, _| {
            r.summary
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("appId", json!(x.app_id)),
                        ("os", json!(x.os)),
                        ("activeUsers", json!(x.active_users)),
                        ("authenticationRequests", json!(x.authentication_requests)),
                        (
                            "authenticationCompletions",
                            json!(x.authentication_completions),
                        ),
                        ("securityTextRequests", json!(x.security_text_requests)),
                        (
                            "securityTextCompletions",
                            json!(x.security_text_completions),
                        ),
                        ("securityVoiceRequests", json!(x.security_voice_requests)),
                        (
                            "securityVoiceCompletions",
                            json!(x.security_voice_completions),
                        ),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "userCount",
        daily_type: Some("userCountMetric"),
        monthly_type: None,
        daily_properties: USER_COUNT,
        monthly_properties: USER_COUNT,
        filterable: &[],
        items: |r, _| {
            r.user_count
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("language", json!(x.language)),
                        ("count", json!(x.count)),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "mfaRegisteredUsers",
        daily_type: None,
        monthly_type: Some("mfaUserCountMetric"),
        daily_properties: MFA_REGISTERED_USERS,
        monthly_properties: MFA_REGISTERED_USERS,
        filterable: &[],
        items: |r, _| {
            r.mfa_registered_users
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("mfaType", json!(x.mfa_type)),
                        ("count", json!(x.count)),
                    ]
                })
                .collect()
        },
    },
    Metric {
        segment: "requests",
        daily_type: None,
        monthly_type: Some("userRequestsMetric"),
        daily_properties: REQUESTS,
        monthly_properties: REQUESTS,
        filterable: &["requestCount"],
        items: |r, _| {
            r.requests
                .iter()
                .map(|x| {
                    vec![
                        ("id", id(x.id)),
                        ("factDate", date(x.fact_date)),
                        ("appId", json!(x.app_id)),
                        ("browser", json!(x.browser)),
                        ("country", json!(x.country)),
                        ("identityProvider", json!(x.identity_provider)),
                        ("language", json!(x.language)),
                        ("requestCount", json!(x.request_count)),
                    ]
                })
                .collect()
        },
    },
];

/// An `id` value: a small integer as a string (§1.3).
fn id(n: u32) -> Value {
    Value::String(n.to_string())
}

/// A `factDate` value (`Edm.Date`).
fn date(d: Day) -> Value {
    Value::String(d.to_string())
}

/// Inactive-user rows: `inactive1DayCount` on daily rows, `inactiveCalendarMonthCount` on
/// monthly ones (§1.3).
fn inactive_items(rows: &[InactiveUsersRow], period: Period) -> Vec<Item> {
    let period_key = match period {
        Period::Daily => "inactive1DayCount",
        Period::Monthly => "inactiveCalendarMonthCount",
    };
    rows.iter()
        .map(|x| {
            vec![
                ("id", id(x.id)),
                ("factDate", date(x.fact_date)),
                ("appId", json!(x.app_id)),
                (period_key, json!(x.inactive_period)),
                ("inactive30DayCount", json!(x.inactive_30_days)),
                ("inactive60DayCount", json!(x.inactive_60_days)),
                ("inactive90DayCount", json!(x.inactive_90_days)),
            ]
        })
        .collect()
}

/// Whether a path segment names `canonical`, honouring the case quirk.
fn segment_is(ctx: &Ctx<'_>, actual: &str, canonical: &str) -> bool {
    if ctx.sim.config.quirks.case_insensitive_paths {
        actual.eq_ignore_ascii_case(canonical)
    } else {
        actual == canonical
    }
}

/// The error of a segment Graph cannot resolve (as the router answers elsewhere).
fn unknown_segment(ctx: &Ctx<'_>, segment: &str) -> GraphError {
    GraphError::new(
        ctx.sim.config.quirks.unknown_segment_status,
        "BadRequest",
        format!("Resource not found for the segment '{segment}'."),
    )
}

/// `GET /beta/reports/userInsights/{period}/{metric}`.
pub fn list(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    let period_segment = ctx.param("period");
    let metric_segment = ctx.param("metric");
    let period = Period::ALL
        .into_iter()
        .find(|p| segment_is(ctx, period_segment, p.label()))
        .ok_or_else(|| unknown_segment(ctx, period_segment))?;
    if segment_is(ctx, metric_segment, REMOVED) {
        let status = ctx.sim.config.quirks.insights_removed_metric_status;
        let code = if status == 400 {
            "BadRequest"
        } else {
            "Request_ResourceNotFound"
        };
        return Err(GraphError::new(
            status,
            code,
            format!("Resource not found for the segment '{metric_segment}'."),
        ));
    }
    let (index, metric, type_name) = METRICS
        .iter()
        .enumerate()
        .find(|(_, m)| segment_is(ctx, metric_segment, m.segment))
        .and_then(|(i, m)| {
            let t = match period {
                Period::Daily => m.daily_type,
                Period::Monthly => m.monthly_type,
            };
            t.map(|t| (i, m, t))
        })
        .ok_or_else(|| unknown_segment(ctx, metric_segment))?;
    let quirks = &ctx.sim.config.quirks;
    if !ctx.sim.config.external_id && quirks.insights_workforce == WorkforceInsights::Forbidden {
        return Err(GraphError::new(
            403,
            "Forbidden",
            "User insights are only available for Microsoft Entra External ID tenants.",
        ));
    }

    let options = odata::system_options_allowing(ctx, IMPLEMENTED)?;
    let top = odata::option(&options, "$top")
        .map(|v| odata::parse_top(v, quirks.insights_max_page_size))
        .transpose()?
        .unwrap_or(quirks.insights_default_page_size);
    let properties = match period {
        Period::Daily => metric.daily_properties,
        Period::Monthly => metric.monthly_properties,
    };
    let clauses = odata::option(&options, "$filter")
        .map(|v| {
            parse_filter(
                v,
                properties,
                metric.filterable,
                type_name,
                quirks.insights_reject_fact_date_filter,
            )
        })
        .transpose()?
        .unwrap_or_default();

    // An External ID tenant's model has rows; a workforce tenant's has none (§1.1).
    let rows = ctx
        .sim
        .tenant
        .user_insights
        .rows(period, UtcTime::now().as_f64());
    let matched: Vec<Item> = (metric.items)(&rows, period)
        .into_iter()
        .filter(|item| clauses.iter().all(|c| matches(item, c)))
        .collect();

    let tag = 0x80 | (u8::from(period == Period::Monthly) << 4) | index as u8;
    let offset = odata::option(&options, "$skiptoken")
        .map(|v| odata::resolve_skiptoken(v, tag, ctx.sim.tenant.fingerprint, matched.len()))
        .transpose()?
        .unwrap_or(0);
    let end = offset.saturating_add(top as usize).min(matched.len());
    let items = matched.get(offset..end).unwrap_or_default();
    let base = &ctx.origin();
    let next_link = (end < matched.len()).then(|| {
        let token = SkipToken {
            collection: tag,
            offset: end as u64,
            fingerprint: ctx.sim.tenant.fingerprint,
        };
        odata::next_link(
            &format!(
                "{base}/beta/reports/userInsights/{}/{}",
                period.label(),
                metric.segment
            ),
            ctx.raw_query,
            &token,
        )
    });
    let body = CollectionPage {
        context: format!("{base}/beta/$metadata#Collection(microsoft.graph.{type_name})"),
        count: None,
        items,
        next_link,
    };
    Ok(Reply::json(
        StatusCode::OK,
        &quirks.graph_content_type,
        &body,
    ))
}

/// Whether a served item satisfies one clause. Text compares case-insensitively (as the other
/// reports' `eq` filters do); null never matches.
fn matches(item: &[(&'static str, Value)], clause: &Clause) -> bool {
    let Some((_, value)) = item.iter().find(|(k, _)| *k == clause.property) else {
        return false;
    };
    match (&clause.literal, value) {
        (Literal::Text(want), Value::String(have)) => have.eq_ignore_ascii_case(want),
        (Literal::Integer(want), Value::Number(have)) => have.as_i64() == Some(*want),
        (Literal::Date(want), Value::String(have)) => {
            let Some(have) = Day::parse(have) else {
                return false;
            };
            match clause.op {
                Op::Eq => have == *want,
                Op::Ge => have >= *want,
                Op::Gt => have > *want,
                Op::Le => have <= *want,
                Op::Lt => have < *want,
            }
        }
        _ => false,
    }
}

/// Parses `$filter`: clauses `property op literal` joined by `and`.
fn parse_filter(
    text: &str,
    properties: &[&'static str],
    filterable: &[&'static str],
    type_name: &str,
    reject_fact_date: bool,
) -> Result<Vec<Clause>, GraphError> {
    let invalid = |why: String| {
        GraphError::new(
            400,
            "BadRequest",
            format!(
                "Invalid filter clause: {why} (graph-sim supports `property eq 'value'` and `factDate ge|gt|le|lt|eq YYYY-MM-DD` joined by `and`)."
            ),
        )
    };
    let mut clauses = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let (name, after) = split_word(rest);
        if name.is_empty() {
            return Err(invalid("expected a property name".to_owned()));
        }
        let canonical = ["id", "factDate"]
            .iter()
            .chain(properties)
            .find(|p| p.eq_ignore_ascii_case(name))
            .copied()
            .ok_or_else(|| {
                invalid(format!(
                    "Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'"
                ))
            })?;
        let (op_text, after) = split_word(after.trim_start());
        let op = match op_text.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ge" => Op::Ge,
            "gt" => Op::Gt,
            "le" => Op::Le,
            "lt" => Op::Lt,
            _ => {
                return Err(invalid(format!(
                    "expected a comparison operator after '{name}'"
                )))
            }
        };
        let (literal, after) = split_literal(after.trim_start())
            .ok_or_else(|| invalid(format!("expected a literal after '{name} {op_text}'")))?;
        if canonical == "factDate" {
            if reject_fact_date {
                return Err(GraphError::unsupported_query(
                    "Filtering on property 'factDate' is not supported.",
                ));
            }
            let Literal::Date(_) = literal else {
                return Err(invalid(
                    "factDate is an Edm.Date: compare it with an unquoted YYYY-MM-DD literal"
                        .to_owned(),
                ));
            };
        } else {
            if !filterable.contains(&canonical) {
                return Err(GraphError::unsupported_query(format!(
                    "Filtering on property '{canonical}' is not supported."
                )));
            }
            if op != Op::Eq {
                return Err(GraphError::unsupported_query(format!(
                    "Only the 'eq' operator is supported on property '{canonical}'."
                )));
            }
            let counter = canonical == "count" || canonical.ends_with("Count");
            match (&literal, counter) {
                (Literal::Integer(_), true) | (Literal::Text(_), false) => {}
                _ => {
                    return Err(invalid(format!(
                        "the literal compared with '{canonical}' has the wrong type"
                    )))
                }
            }
        }
        clauses.push(Clause {
            property: canonical,
            op,
            literal,
        });
        let after = after.trim_start();
        if after.is_empty() {
            return Ok(clauses);
        }
        let (joiner, after) = split_word(after);
        if !joiner.eq_ignore_ascii_case("and") {
            return Err(invalid(format!("expected 'and', found '{joiner}'")));
        }
        rest = after.trim_start();
    }
}

/// The leading identifier of `text` and the rest.
fn split_word(text: &str) -> (&str, &str) {
    let len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    text.split_at(len)
}

/// The leading literal of `text` and the rest: `'text'` (with `''` for a quote), an
/// `Edm.Date`, or an integer.
fn split_literal(text: &str) -> Option<(Literal, &str)> {
    if let Some(body) = text.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                value.push(c);
                continue;
            }
            if body[i + 1..].starts_with('\'') {
                value.push('\'');
                chars.next();
                continue;
            }
            return Some((Literal::Text(value), &body[i + 1..]));
        }
        return None;
    }
    let len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(text.len());
    let (token, rest) = text.split_at(len);
    if let Some(day) = Day::parse(token) {
        return Some((Literal::Date(day), rest));
    }
    token
        .parse::<i64>()
        .ok()
        .map(|n| (Literal::Integer(n), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROPS: &[&str] = AUTHENTICATIONS;
    const FILTERABLE: &[&str] = &["appid", "attemptsCount", "successCount", "country", "os"];

    fn parse(text: &str) -> Result<Vec<Clause>, GraphError> {
        parse_filter(text, PROPS, FILTERABLE, "authenticationsMetric", false)
    }

    #[test]
    fn filters_parse() {
        let clauses = parse(
            "factDate ge 2025-05-01 and FACTDATE lt 2025-06-01 and appId eq 'a''b' and attemptsCount eq 5",
        )
        .expect("valid");
        assert_eq!(clauses.len(), 4);
        assert_eq!(clauses[0].property, "factDate");
        assert_eq!(clauses[0].op, Op::Ge);
        assert_eq!(
            clauses[0].literal,
            Literal::Date(Day::parse("2025-05-01").expect("d"))
        );
        assert_eq!(clauses[1].op, Op::Lt);
        assert_eq!(clauses[2].property, "appid");
        assert_eq!(clauses[2].literal, Literal::Text("a'b".to_owned()));
        assert_eq!(clauses[3].literal, Literal::Integer(5));
    }

    #[test]
    fn bad_filters_are_refused() {
        for (bad, code) in [
            ("", "BadRequest"),
            ("nope eq 'x'", "BadRequest"),
            ("os ne 'x'", "BadRequest"),
            ("os eq x", "BadRequest"),
            ("os eq 'x", "BadRequest"),
            ("os eq 'x' or country eq 'y'", "BadRequest"),
            ("factDate ge '2025-05-01'", "BadRequest"),
            ("factDate ge 2025-02-30", "BadRequest"),
            ("attemptsCount eq '5'", "BadRequest"),
            ("os gt 'x'", "Request_UnsupportedQuery"),
            ("browser eq 'Edge'", "Request_UnsupportedQuery"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!((e.status, e.code.as_str()), (400, code), "{bad}: {e}");
        }
        let e = parse_filter("factDate eq 2025-05-01", PROPS, FILTERABLE, "x", true)
            .expect_err("quirk");
        assert_eq!(e.code, "Request_UnsupportedQuery");
    }

    #[test]
    fn dates_compare() {
        let item = vec![("factDate", json!("2025-05-02")), ("os", Value::Null)];
        let clause = |op, d: &str| Clause {
            property: "factDate",
            op,
            literal: Literal::Date(Day::parse(d).expect("d")),
        };
        assert!(matches(&item, &clause(Op::Ge, "2025-05-02")));
        assert!(!matches(&item, &clause(Op::Gt, "2025-05-02")));
        assert!(matches(&item, &clause(Op::Lt, "2025-05-03")));
        let null = Clause {
            property: "os",
            op: Op::Eq,
            literal: Literal::Text("x".to_owned()),
        };
        assert!(!matches(&item, &null));
    }
}
