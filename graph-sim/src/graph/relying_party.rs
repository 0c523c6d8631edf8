//! `GET /{v1.0|beta}/reports/getRelyingPartyDetailedSummary(period='D1'|'D7'|'D30')`,
//! reference §3: the AD FS relying parties of the tenant model with their sign-ins over
//! `[cutoff − N days, cutoff)` (`cutoff` = now rounded down to the hour, see
//! [`crate::tenant::usage`]).
//!
//! Relying parties without sign-ins in the period are left out; every property is non-null
//! (§3). `uniqueUserCount` is per period (not a sum of days). `signInSuccessRate` is a
//! fraction or a percentage as [`crate::Quirks::relying_party_success_rate`] says.
//! `$filter` takes `eq` on `relyingPartyId`, `relyingPartyName`, `serviceId` and
//! `migrationStatus`; `$orderby` is documented but refused as not implemented. The licence
//! requirement is UNCONFIRMED ([`crate::Quirks::relying_party_requires_premium`]).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, CollectionPage};
use super::report_common::{self as common, double_json};
use crate::config::RateScale;
use crate::reply::Reply;
use crate::server::Ctx;
use crate::tenant::usage::{self, RelyingParty, RelyingPartyWindow};
use crate::tenant::Tenant;

/// Roles that may read the relying-party summary (§3, Appendix A).
pub const ROLES: &[&str] = &["Reports.Read.All"];

/// The periods of §3.
pub const PERIODS: &[(&str, u32)] = &[("D1", 1), ("D7", 7), ("D30", 30)];

/// Properties `$filter` may test.
const FILTERABLE: &[&str] = &[
    "relyingPartyId",
    "relyingPartyName",
    "serviceId",
    "migrationStatus",
];

/// The relying parties with sign-ins in a window of `days` days ending at `cutoff`, in model
/// order. Shared by the handler and the ground truth.
pub fn rows(tenant: &Tenant, cutoff: i64, days: u32) -> Vec<(&RelyingParty, RelyingPartyWindow)> {
    let pieces = usage::window_pieces(cutoff, days);
    tenant
        .reports
        .relying_parties
        .iter()
        .enumerate()
        .map(|(i, rp)| (rp, tenant.reports.relying_party_window(i, &pieces)))
        .filter(|(_, w)| w.total() > 0)
        .collect()
}

/// The value `$filter` compares for `property`.
fn property<'a>(rp: &'a RelyingParty, property: &str) -> &'a str {
    match property {
        "relyingPartyId" => &rp.relying_party_id,
        "relyingPartyName" => &rp.relying_party_name,
        "serviceId" => &rp.service_id,
        _ => rp.migration_status.graph_name(),
    }
}

/// `GET /{version}/reports/getRelyingPartyDetailedSummary(period=…)`.
pub fn summary(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    let quirks = &ctx.sim.config.quirks;
    if quirks.relying_party_requires_premium {
        common::require_premium(ctx)?;
    }
    let args = common::function_args(ctx, "getRelyingPartyDetailedSummary", &["period"])?;
    let days = common::period_days(&args, PERIODS, false)?;
    let options = odata::system_options_allowing(ctx, &["$filter"])?;
    let clauses = odata::option(&options, "$filter")
        .map(|v| odata::parse_eq_filter(v, FILTERABLE, "relyingPartyDetailedSummary"))
        .transpose()?
        .unwrap_or_default();
    let items: Vec<Vec<(&'static str, Value)>> = rows(&ctx.sim.tenant, common::cutoff_now(), days)
        .into_iter()
        .filter(|(rp, _)| {
            clauses
                .iter()
                .all(|(name, want)| property(rp, name).eq_ignore_ascii_case(want))
        })
        .map(|(rp, w)| item(rp, &w, quirks.relying_party_success_rate))
        .collect();
    let base = &ctx.origin();
    let version = ctx.param("version");
    let body = CollectionPage {
        // The doc example has no context; a real response almost certainly has one (§3).
        context: format!(
            "{base}/{version}/$metadata#Collection(microsoft.graph.relyingPartyDetailedSummary)"
        ),
        count: None,
        items: &items,
        next_link: None,
    };
    Ok(Reply::json(
        StatusCode::OK,
        &quirks.graph_content_type,
        &body,
    ))
}

/// One `relyingPartyDetailedSummary`, properties in the reference example's order.
fn item(rp: &RelyingParty, w: &RelyingPartyWindow, scale: RateScale) -> Vec<(&'static str, Value)> {
    let fraction = w.successes as f64 / w.total().max(1) as f64;
    let rate = match scale {
        RateScale::Fraction => fraction,
        RateScale::Percentage => 100.0 * fraction,
    };
    let details: Vec<Value> = rp
        .migration_validation_details
        .iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    vec![
        (
            "@odata.type",
            json!("#microsoft.graph.relyingPartyDetailedSummary"),
        ),
        ("id", json!(rp.id)),
        ("relyingPartyId", json!(rp.relying_party_id)),
        ("relyingPartyName", json!(rp.relying_party_name)),
        ("serviceId", json!(rp.service_id)),
        ("successfulSignInCount", json!(w.successes)),
        ("failedSignInCount", json!(w.failures)),
        ("totalSignInCount", json!(w.total())),
        ("signInSuccessRate", double_json(rate)),
        ("uniqueUserCount", json!(w.unique_users)),
        ("migrationStatus", json!(rp.migration_status.graph_name())),
        ("replyUrls", json!(rp.reply_urls)),
        ("migrationValidationDetails", Value::Array(details)),
    ]
}
