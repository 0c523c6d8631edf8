//! Application sign-in summaries, reference §2: `getAzureADApplicationSignInSummary(period=)`
//! (§2.1) and `applicationSignInDetailedSummary` (§2.2), served from the daily application
//! usage model ([`crate::tenant::usage`]).
//!
//! Both need Entra ID P1/P2 (403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`
//! otherwise) and count against the identity and access reports budget (§10.2).
//!
//! * The summary lists the app registrations with at least one sign-in in
//!   `[cutoff − N days, cutoff)` (`cutoff` = now rounded down to the hour, see
//!   [`crate::tenant::usage`]), `N` = 7 or 30. `id` is the appId and there is no `appId`
//!   property (Appendix B.5); `successPercentage` is a Double rounded to 2 decimals, never null
//!   because apps without sign-ins are left out. Only `D7` and `D30`, exactly, are periods.
//! * The detailed summary is delegated-only (403 to app-only tokens unless
//!   [`crate::Quirks::app_sign_in_detailed_summary_app_only`]). It lists one row per (app, UTC
//!   day, error code) with sign-ins over the last 30 days, today's partial day included,
//!   newest day first; `$top`, paging, and `$filter` on `aggregatedEventDateTime`
//!   (`gt`/`ge`/`lt`/`le`/`eq`, unquoted date), `appDisplayName`/`appId` `eq` and
//!   `status/errorCode eq`, joined by `and`.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, CollectionPage};
use super::report_common::{
    self as common, comparison, datetime_literal, double_json, invalid_filter, split_and,
    string_literal,
};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::tenant::usage::{self, AppDay, FAILURE_REASONS};
use crate::time::{UtcTime, DAY};
use crate::token::Claims;

/// Roles that may read the application sign-in summaries (§2, Appendix A).
pub const ROLES: &[&str] = &["Reports.Read.All"];

/// Page-token tag of the summary (when paged by the quirk).
const SUMMARY_TAG: u8 = 0x40;
/// Page-token tag of the detailed summary.
const DETAILED_TAG: u8 = 0x41;

/// Days of detailed rows kept (the reports' 30-day retention).
pub const DETAILED_RETENTION_DAYS: u32 = 30;

/// The periods of §2.1.
pub const PERIODS: &[(&str, u32)] = &[("D7", 7), ("D30", 30)];

/// One `applicationSignInSummary` (§2.1) as the model computes it.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Index of the app registration.
    pub index: usize,
    /// Its appId (`id`).
    pub app_id: String,
    /// `appDisplayName`.
    pub app_display_name: String,
    /// Counts over the window.
    pub counts: AppDay,
}

/// The summary rows for a window of `days` days ending at `cutoff`: app registrations with at
/// least one sign-in, in `/applications` order. Shared by the handler and the ground truth.
pub fn summary_rows(tenant: &crate::tenant::Tenant, cutoff: i64, days: u32) -> Vec<SummaryRow> {
    let pieces = usage::window_pieces(cutoff, days);
    tenant
        .applications
        .iter()
        .enumerate()
        .filter_map(|(index, app)| {
            let counts = tenant.reports.app_window(index, &pieces);
            (counts.successes + counts.failed() > 0).then(|| SummaryRow {
                index,
                app_id: app.app_id.clone(),
                app_display_name: app.display_name.clone(),
                counts,
            })
        })
        .collect()
}

/// `successPercentage`: 100 · success / total, rounded to 2 decimals.
pub fn success_percentage(successes: u64, failed: u64) -> f64 {
    let total = successes + failed;
    if total == 0 {
        return 0.0;
    }
    (10_000.0 * successes as f64 / total as f64).round() / 100.0
}

/// `GET /beta/reports/getAzureADApplicationSignInSummary(period='D7'|'D30')`.
pub fn summary(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let args = common::function_args(ctx, "getAzureADApplicationSignInSummary", &["period"])?;
    let days = common::period_days(&args, PERIODS, false)?;
    let options = odata::system_options_allowing(ctx, &["$skiptoken"])?;
    let fingerprint = ctx.sim.tenant.fingerprint ^ days;
    let (cutoff, offset) = match odata::option(&options, "$skiptoken") {
        Some(v) => common::resolve_snapshot(v, SUMMARY_TAG, fingerprint)?,
        None => (common::cutoff_now(), 0),
    };
    let rows = summary_rows(&ctx.sim.tenant, cutoff, days);
    let page = ctx
        .sim
        .config
        .quirks
        .app_sign_in_summary_page_size
        .map_or(rows.len().max(1), |n| n.max(1) as usize);
    let end = offset.saturating_add(page).min(rows.len());
    let items: Vec<Vec<(&'static str, Value)>> = rows
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let failed = r.counts.failed();
            vec![
                (
                    "@odata.type",
                    json!("#microsoft.graph.applicationSignInSummary"),
                ),
                ("id", json!(r.app_id)),
                ("appDisplayName", json!(r.app_display_name)),
                ("successfulSignInCount", json!(r.counts.successes)),
                ("failedSignInCount", json!(failed)),
                (
                    "successPercentage",
                    double_json(success_percentage(r.counts.successes, failed)),
                ),
            ]
        })
        .collect();
    let base = &ctx.origin();
    let next_link = (end < rows.len()).then(|| {
        odata::next_link(
            &format!(
                "{base}/beta/reports/getAzureADApplicationSignInSummary(period='{}')",
                PERIODS
                    .iter()
                    .find(|(_, d)| *d == days)
                    .map_or("D7", |(n, _)| n)
            ),
            ctx.raw_query,
            &common::snapshot_token(SUMMARY_TAG, fingerprint, cutoff, end),
        )
    });
    let body = CollectionPage {
        // The doc example's context names the type without its namespace (§2.1).
        context: format!("{base}/beta/$metadata#Collection(applicationSignInSummary)"),
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

/// Access rule of the detailed summary: delegated-only (§2.2), unless the quirk lets app-only
/// tokens in; then `Reports.Read.All` as usual.
pub fn detailed_access(ctx: &Ctx<'_>, claims: &Claims) -> Result<(), GraphError> {
    if common::app_only(claims) && !ctx.sim.config.quirks.app_sign_in_detailed_summary_app_only {
        return Err(common::app_only_refused());
    }
    common::require_role(claims, ROLES)
}

/// One `applicationSignInDetailedSummary` row (§2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetailedRow {
    /// Index of the app registration.
    pub index: usize,
    /// Days since the epoch (`aggregatedEventDateTime` is its midnight).
    pub day: i64,
    /// `status.errorCode` (0 = success).
    pub error_code: i32,
    /// `signInCount`.
    pub count: u64,
}

/// The detailed rows at `cutoff`: newest day first, then apps in `/applications` order, then
/// success before the failure codes in [`FAILURE_REASONS`] order; rows without sign-ins left
/// out.
pub fn detailed_rows(tenant: &crate::tenant::Tenant, cutoff: i64) -> Vec<DetailedRow> {
    let mut rows = Vec::new();
    for piece in usage::retention_pieces(cutoff, DETAILED_RETENTION_DAYS)
        .iter()
        .rev()
    {
        for index in 0..tenant.applications.len() {
            let d = tenant.reports.app_day(index, piece.day).within(piece);
            let counts = std::iter::once((0, d.successes)).chain(
                FAILURE_REASONS
                    .iter()
                    .zip(d.failures)
                    .map(|(r, n)| (r.code, n)),
            );
            for (error_code, count) in counts {
                if count > 0 {
                    rows.push(DetailedRow {
                        index,
                        day: piece.day,
                        error_code,
                        count,
                    });
                }
            }
        }
    }
    rows
}

/// One clause of the detailed summary's `$filter`.
#[derive(Clone, Debug, PartialEq)]
enum Clause {
    /// `aggregatedEventDateTime <op> <datetime>`.
    Date(String, f64),
    /// `appDisplayName eq '…'` (case-insensitive).
    DisplayName(String),
    /// `appId eq '…'` (case-insensitive).
    AppId(String),
    /// `status/errorCode eq <int>`.
    ErrorCode(i32),
}

/// Parses the detailed summary's `$filter`.
fn parse_filter(filter: &str) -> Result<Vec<Clause>, GraphError> {
    split_and(filter)?
        .into_iter()
        .map(|clause| {
            let (lhs, op, rhs) =
                comparison(clause).ok_or_else(|| invalid_filter(&format!("'{clause}'")))?;
            let quoted = || {
                string_literal(rhs)
                    .filter(|(_, rest)| rest.trim().is_empty())
                    .map(|(v, _)| v)
                    .ok_or_else(|| invalid_filter(&format!("expected a quoted string in '{clause}'")))
            };
            match (lhs.to_ascii_lowercase().as_str(), op.as_str()) {
                ("aggregatedeventdatetime", "gt" | "ge" | "lt" | "le" | "eq") => {
                    let at = datetime_literal(rhs).ok_or_else(|| {
                        invalid_filter(&format!("'{rhs}' is not a date or DateTimeOffset"))
                    })?;
                    Ok(Clause::Date(op, at))
                }
                ("appdisplayname", "eq") => Ok(Clause::DisplayName(quoted()?)),
                ("appid", "eq") => Ok(Clause::AppId(quoted()?)),
                ("status/errorcode", "eq") => rhs
                    .parse()
                    .map(Clause::ErrorCode)
                    .map_err(|_| invalid_filter(&format!("'{rhs}' is not an Int32"))),
                _ => Err(invalid_filter(&format!(
                    "'{clause}' is not supported (graph-sim supports aggregatedEventDateTime gt/ge/lt/le/eq, appDisplayName eq, appId eq, status/errorCode eq)"
                ))),
            }
        })
        .collect()
}

/// Whether `row` passes every clause.
fn matches(tenant: &crate::tenant::Tenant, row: &DetailedRow, clauses: &[Clause]) -> bool {
    let app = tenant.applications.get(row.index);
    let at = (row.day * DAY) as f64;
    clauses.iter().all(|c| match c {
        Clause::Date(op, t) => match op.as_str() {
            "gt" => at > *t,
            "ge" => at >= *t,
            "lt" => at < *t,
            "le" => at <= *t,
            _ => at == *t,
        },
        Clause::DisplayName(v) => app.is_some_and(|a| a.display_name.eq_ignore_ascii_case(v)),
        Clause::AppId(v) => app.is_some_and(|a| a.app_id.eq_ignore_ascii_case(v)),
        Clause::ErrorCode(code) => row.error_code == *code,
    })
}

/// `GET /beta/reports/applicationSignInDetailedSummary`.
pub fn detailed(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    common::require_premium(ctx)?;
    let options = odata::system_options_allowing(ctx, &["$top", "$skiptoken", "$filter"])?;
    let quirks = &ctx.sim.config.quirks;
    let top = odata::option(&options, "$top")
        .map(|v| odata::parse_top(v, quirks.report_max_page_size))
        .transpose()?
        .unwrap_or(quirks.report_default_page_size) as usize;
    let clauses = odata::option(&options, "$filter")
        .map(parse_filter)
        .transpose()?
        .unwrap_or_default();
    let tenant = &ctx.sim.tenant;
    let (cutoff, offset) = match odata::option(&options, "$skiptoken") {
        Some(v) => common::resolve_snapshot(v, DETAILED_TAG, tenant.fingerprint)?,
        None => (common::cutoff_now(), 0),
    };
    let rows: Vec<DetailedRow> = detailed_rows(tenant, cutoff)
        .into_iter()
        .filter(|r| matches(tenant, r, &clauses))
        .collect();
    let end = offset.saturating_add(top).min(rows.len());
    let items: Vec<Vec<(&'static str, Value)>> = rows
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .map(|r| detailed_json(ctx, r))
        .collect();
    let base = &ctx.origin();
    let next_link = (end < rows.len()).then(|| {
        odata::next_link(
            &format!("{base}/beta/reports/applicationSignInDetailedSummary"),
            ctx.raw_query,
            &common::snapshot_token(DETAILED_TAG, tenant.fingerprint, cutoff, end),
        )
    });
    let body = CollectionPage {
        context: format!("{base}/beta/$metadata#reports/applicationSignInDetailedSummary"),
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

/// One detailed row as Graph serialises it (§2.2).
fn detailed_json(ctx: &Ctx<'_>, r: &DetailedRow) -> Vec<(&'static str, Value)> {
    let tenant = &ctx.sim.tenant;
    let app = tenant.applications.get(r.index);
    let failure_reason = FAILURE_REASONS
        .iter()
        .find(|f| f.code == r.error_code)
        .map(|f| f.text);
    vec![
        (
            "id",
            json!(usage::app_detail_row_id(
                tenant.reports.seed,
                r.index as u64,
                r.day,
                r.error_code
            )),
        ),
        ("appId", json!(app.map(|a| a.app_id.as_str()))),
        (
            "appDisplayName",
            json!(app.map(|a| a.display_name.as_str())),
        ),
        (
            "aggregatedEventDateTime",
            json!(UtcTime::from_unix(r.day * DAY, 0).to_graph_string()),
        ),
        ("signInCount", json!(r.count)),
        (
            "status",
            json!({
                "errorCode": r.error_code,
                "failureReason": failure_reason,
                "additionalDetails": null,
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_to_two_decimals() {
        assert_eq!(success_percentage(1893, 41), 97.88);
        assert_eq!(success_percentage(320, 0), 100.0);
        assert_eq!(success_percentage(0, 5), 0.0);
        assert_eq!(success_percentage(2, 1), 66.67);
    }

    #[test]
    fn filters_parse() {
        assert_eq!(
            parse_filter("appDisplayName eq 'Azure Portal' AND aggregatedEventDateTime gt 2024-06-01 and status/errorCode eq 50089"),
            Ok(vec![
                Clause::DisplayName("Azure Portal".to_owned()),
                Clause::Date("gt".to_owned(), 1_717_200_000.0),
                Clause::ErrorCode(50089),
            ])
        );
        for bad in [
            "appId ne 'x'",
            "aggregatedEventDateTime gt '2024-06-01'",
            "signInCount eq 3",
            "appId eq x",
            "status/errorCode eq abc",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }
}
