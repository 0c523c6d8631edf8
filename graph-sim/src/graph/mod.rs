//! Microsoft Graph resources: the steps every Graph route shares (bearer token, roles,
//! resource-unit throttling, common headers) and, in submodules, the report families.

pub mod app_sign_in;
pub mod audit_logs;
pub mod auth_methods;
pub mod batch;
pub mod directory;
pub mod errors;
pub mod odata;
pub mod relying_party;
pub mod report_common;
pub mod sign_in_activity;
pub mod user_insights;

use axum::http::header::{HeaderName, AUTHORIZATION, STRICT_TRANSPORT_SECURITY};

use crate::reply::Reply;
use crate::reports_throttle::BudgetDecision;
use crate::routes::GraphRoute;
use crate::server::{Ctx, SimState};
use crate::throttle::Decision;
use crate::token::{Claims, Rejection};
use errors::GraphError;

/// `x-ms-ags-diagnostic` (§10.3); the values only need to look like Graph's.
const AGS_DIAGNOSTIC: &str = r#"{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"5","ScaleUnit":"000","RoleInstance":"graph-sim"}}"#;

/// Header names Graph uses (§7, §10.3).
static X_MS_AGS_DIAGNOSTIC: HeaderName = HeaderName::from_static("x-ms-ags-diagnostic");
/// See [`X_MS_AGS_DIAGNOSTIC`].
static ODATA_VERSION: HeaderName = HeaderName::from_static("odata-version");
/// See [`X_MS_AGS_DIAGNOSTIC`].
static X_MS_RESOURCE_UNIT: HeaderName = HeaderName::from_static("x-ms-resource-unit");
/// See [`X_MS_AGS_DIAGNOSTIC`].
static X_MS_THROTTLE_LIMIT_PERCENTAGE: HeaderName =
    HeaderName::from_static("x-ms-throttle-limit-percentage");
/// See [`X_MS_AGS_DIAGNOSTIC`].
static X_MS_THROTTLE_SCOPE: HeaderName = HeaderName::from_static("x-ms-throttle-scope");
/// See [`X_MS_AGS_DIAGNOSTIC`].
static X_MS_THROTTLE_INFORMATION: HeaderName = HeaderName::from_static("x-ms-throttle-information");

/// Share of the bucket in use above which `x-ms-throttle-limit-percentage` is sent (§7).
const LIMIT_PERCENTAGE_THRESHOLD: f64 = 0.8;

/// Headers every Graph response carries (success or error).
pub(crate) fn decorate(sim: &SimState, reply: &mut Reply) {
    reply.header(X_MS_AGS_DIAGNOSTIC.clone(), AGS_DIAGNOSTIC);
    reply.header(STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    if sim.config.quirks.odata_version_header {
        reply.header(ODATA_VERSION.clone(), "4.0");
    }
}

/// Runs a Graph route: authenticate, authorise, throttle, handle.
pub(crate) fn serve(ctx: &Ctx<'_>, route: &GraphRoute) -> Reply {
    run(ctx, route).unwrap_or_else(|e| e.to_reply(ctx.request_id, ctx.client_request_id))
}

/// [`serve`], with errors as values.
fn run(ctx: &Ctx<'_>, route: &GraphRoute) -> Result<Reply, GraphError> {
    let claims = authenticate(ctx)?;
    match route.access {
        Some(access) => access(ctx, &claims)?,
        None => {
            // Strict mode accepts only the least-privileged role, listed first, so a test can
            // show that the documented permissions suffice without broader ones.
            let accepted = if ctx.sim.config.strict_least_privilege {
                &route.roles[..route.roles.len().min(1)]
            } else {
                route.roles
            };
            if !claims
                .roles
                .iter()
                .any(|have| accepted.iter().any(|need| have == need))
            {
                return Err(GraphError::forbidden());
            }
        }
    }
    if route.reports_budget {
        let key = format!("{}/{}", claims.appid, claims.tid);
        if let BudgetDecision::Throttled { retry_after_secs } = ctx.sim.reports_throttle.admit(&key)
        {
            return Err(GraphError::too_many_requests(Some(
                &retry_after_secs.to_string(),
            )));
        }
    }
    let mut extra: Vec<(HeaderName, String)> = Vec::new();
    if let Some(cost_of) = route.directory_cost {
        let key = format!("{}/{}", claims.appid, claims.tid);
        match ctx.sim.throttle.charge(&key, cost_of(ctx)) {
            Decision::Allowed {
                cost,
                used_fraction,
            } => {
                extra.push((X_MS_RESOURCE_UNIT.clone(), cost.to_string()));
                if used_fraction > LIMIT_PERCENTAGE_THRESHOLD {
                    extra.push((
                        X_MS_THROTTLE_LIMIT_PERCENTAGE.clone(),
                        format!("{used_fraction:.1}"),
                    ));
                }
            }
            Decision::Throttled {
                cost,
                retry_after_secs,
            } => {
                let retry_after = retry_after_secs.to_string();
                return Err(GraphError::too_many_requests(Some(&retry_after))
                    .with_header(X_MS_RESOURCE_UNIT.clone(), cost.to_string())
                    .with_header(
                        X_MS_THROTTLE_SCOPE.clone(),
                        format!("Tenant_Application/Read/{}/{}", claims.appid, claims.tid),
                    )
                    .with_header(
                        X_MS_THROTTLE_INFORMATION.clone(),
                        "ResourceUnitLimitExceeded",
                    ));
            }
        }
    }
    match (route.handler)(ctx) {
        Ok(mut reply) => {
            for (name, value) in extra {
                reply.header(name, &value);
            }
            Ok(reply)
        }
        Err(mut e) => {
            e.headers.extend(extra);
            Err(e)
        }
    }
}

/// Checks the bearer token (401 on any problem, with `WWW-Authenticate`); an inner request of
/// a `$batch` takes the claims its batch was admitted with.
fn authenticate(ctx: &Ctx<'_>) -> Result<Claims, GraphError> {
    if let Some(claims) = &ctx.batch_claims {
        return Ok(claims.clone());
    }
    let token = ctx
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' ').or(Some((v.trim(), ""))))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    ctx.sim
        .tokens
        .verify(token)
        .map_err(|rejection: Rejection| {
            let quirks = &ctx.sim.config.quirks;
            let challenge = quirks
                .www_authenticate
                .replace("{base}", &ctx.sim.base_url)
                .replace("{tenant}", &ctx.sim.tenant.tenant_id);
            GraphError::unauthorized(rejection.to_string(), &challenge)
        })
}
