//! `GET /beta/reports/servicePrincipalSignInActivities` and
//! `GET /beta/reports/appCredentialSignInActivities`, reference §4 and §5: the last sign-ins of
//! the tenant model's service principals and credentials.
//!
//! Both are Entra ID P1/P2 reports (Appendix A): without the licence they answer 403
//! `Authentication_RequestFromNonPremiumTenantOrB2CTenant` (§8). They support `$top`,
//! `$filter` (`eq` clauses on the documented properties) and paging by absolute
//! `@odata.nextLink`; `$orderby` is documented but refused as not implemented.

use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, CollectionPage, SkipToken};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::tenant::{AppCredentialActivity, ObjectKind, ServicePrincipalActivity, SignIn};
use crate::time::UtcTime;

/// Query options these reports implement.
const IMPLEMENTED: &[&str] = &["$top", "$skiptoken", "$filter"];

/// A property `$filter` may test, and how to read it from a report entry.
type Filterable<T> = (&'static str, fn(&T) -> &str);

/// A report served by [`list`].
struct Report<T: 'static> {
    /// Path below the version root, e.g. `reports/servicePrincipalSignInActivities`.
    set: &'static str,
    /// Entity type name for error messages.
    type_name: &'static str,
    /// Collection tag stored in page tokens (the directory uses 1 and 2).
    tag: u8,
    /// Properties `$filter` may test, with how to read each from an entry.
    filterable: &'static [Filterable<T>],
    /// The entry as Graph serialises it.
    to_json: fn(&Ctx<'_>, &T) -> Vec<(&'static str, Value)>,
}

/// `servicePrincipalSignInActivity` (§4).
static SERVICE_PRINCIPAL_REPORT: Report<ServicePrincipalActivity> = Report {
    set: "reports/servicePrincipalSignInActivities",
    type_name: "servicePrincipalSignInActivity",
    tag: 3,
    filterable: &[("appId", |a| &a.app_id)],
    to_json: service_principal_json,
};

/// `appCredentialSignInActivity` (§5).
static APP_CREDENTIAL_REPORT: Report<AppCredentialActivity> = Report {
    set: "reports/appCredentialSignInActivities",
    type_name: "appCredentialSignInActivity",
    tag: 4,
    filterable: &[("appId", |c| &c.app_id), ("keyId", |c| &c.key_id)],
    to_json: app_credential_json,
};

/// `GET /beta/reports/servicePrincipalSignInActivities`.
pub fn list_service_principal_activities(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    let include_never = ctx.sim.config.quirks.sp_activity_include_never_signed_in;
    let entries: Vec<&ServicePrincipalActivity> = ctx
        .sim
        .tenant
        .service_principal_activity
        .iter()
        .filter(|a| include_never || a.last().is_some())
        .collect();
    list(ctx, &SERVICE_PRINCIPAL_REPORT, entries)
}

/// `GET /beta/reports/appCredentialSignInActivities`.
pub fn list_app_credential_activities(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    let entries = ctx.sim.tenant.app_credential_activity.iter().collect();
    list(ctx, &APP_CREDENTIAL_REPORT, entries)
}

/// `servicePrincipalSignInActivity.id`: base64 of the appId, standard alphabet, no padding
/// (Appendix B.9).
pub fn service_principal_activity_id(app_id: &str) -> String {
    STANDARD_NO_PAD.encode(app_id)
}

/// `appCredentialSignInActivity.id`: base64 of `keyId|credentialOrigin`, standard alphabet, no
/// padding (Appendix B.9).
pub fn app_credential_activity_id(key_id: &str, origin: ObjectKind) -> String {
    STANDARD_NO_PAD.encode(format!("{key_id}|{}", credential_origin(origin)))
}

/// `applicationKeyOrigin` of a holder kind (§5).
fn credential_origin(origin: ObjectKind) -> &'static str {
    match origin {
        ObjectKind::Application => "application",
        ObjectKind::ServicePrincipal => "servicePrincipal",
    }
}

/// An optional date as Graph writes it.
fn date(t: Option<UtcTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_graph_string()))
}

/// A `signInActivity` (§4), never null itself. The model records successful sign-ins only and
/// no interactive/non-interactive split, so like the reference examples only
/// `lastSignInDateTime` / `lastSignInRequestId` are filled. Keys in alphabetical order, as
/// Graph writes complex types.
fn sign_in_json(s: Option<&SignIn>) -> Value {
    json!({
        "lastNonInteractiveSignInDateTime": null,
        "lastNonInteractiveSignInRequestId": null,
        "lastSignInDateTime": date(s.map(|s| s.date_time)),
        "lastSignInRequestId": s.map(|s| s.request_id.as_str()),
        "lastSuccessfulSignInDateTime": null,
        "lastSuccessfulSignInRequestId": null,
    })
}

/// One `servicePrincipalSignInActivity`, properties in the reference's order.
fn service_principal_json(
    _ctx: &Ctx<'_>,
    a: &ServicePrincipalActivity,
) -> Vec<(&'static str, Value)> {
    vec![
        ("id", json!(service_principal_activity_id(&a.app_id))),
        ("appId", json!(a.app_id)),
        ("lastSignInActivity", sign_in_json(a.last())),
        (
            "delegatedClientSignInActivity",
            sign_in_json(a.delegated_client.as_ref()),
        ),
        (
            "delegatedResourceSignInActivity",
            sign_in_json(a.delegated_resource.as_ref()),
        ),
        (
            "applicationAuthenticationClientSignInActivity",
            sign_in_json(a.app_only_client.as_ref()),
        ),
        (
            "applicationAuthenticationResourceSignInActivity",
            sign_in_json(a.app_only_resource.as_ref()),
        ),
    ]
}

/// One `appCredentialSignInActivity`, properties in the reference's order, with the schema
/// names `expirationDateTime` and `clientSecret` rather than the stale doc example's
/// `expirationDate` and `secret` (Appendix B.6).
fn app_credential_json(ctx: &Ctx<'_>, c: &AppCredentialActivity) -> Vec<(&'static str, Value)> {
    let key_usage = match &c.key_usage {
        Some(usage) => usage.to_ascii_lowercase(),
        None => ctx.sim.config.quirks.password_credential_key_usage.clone(),
    };
    vec![
        (
            "@odata.type",
            json!("#microsoft.graph.appCredentialSignInActivity"),
        ),
        ("id", json!(app_credential_activity_id(&c.key_id, c.origin))),
        ("appId", json!(c.app_id)),
        ("appObjectId", json!(c.app_object_id)),
        (
            "servicePrincipalObjectId",
            json!(c.service_principal_object_id),
        ),
        ("resourceId", json!(c.resource_id)),
        ("keyId", json!(c.key_id)),
        ("keyType", json!(c.credential_type.key_type())),
        ("keyUsage", json!(key_usage)),
        ("credentialOrigin", json!(credential_origin(c.origin))),
        ("createdDateTime", date(c.created_date_time)),
        ("expirationDateTime", date(c.expiration_date_time)),
        ("signInActivity", sign_in_json(c.last_sign_in.as_ref())),
    ]
}

/// Serves one page of `report` over `entries` (already in listing order).
fn list<T>(ctx: &Ctx<'_>, report: &Report<T>, entries: Vec<&T>) -> Result<Reply, GraphError> {
    if !ctx.sim.config.premium_licence {
        return Err(GraphError::non_premium_tenant());
    }
    let options = odata::system_options_allowing(ctx, IMPLEMENTED)?;
    let quirks = &ctx.sim.config.quirks;
    let top = odata::option(&options, "$top")
        .map(|v| odata::parse_top(v, quirks.report_max_page_size))
        .transpose()?
        .unwrap_or(quirks.report_default_page_size);
    let names: Vec<&'static str> = report.filterable.iter().map(|(n, _)| *n).collect();
    let clauses = odata::option(&options, "$filter")
        .map(|v| odata::parse_eq_filter(v, &names, report.type_name))
        .transpose()?
        .unwrap_or_default();
    let matched: Vec<&T> = entries
        .into_iter()
        .filter(|entry| {
            clauses.iter().all(|(name, want)| {
                report
                    .filterable
                    .iter()
                    .find(|(n, _)| n == name)
                    .is_some_and(|(_, get)| get(entry).eq_ignore_ascii_case(want))
            })
        })
        .collect();
    let offset = odata::option(&options, "$skiptoken")
        .map(|v| odata::resolve_skiptoken(v, report.tag, ctx.sim.tenant.fingerprint, matched.len()))
        .transpose()?
        .unwrap_or(0);

    let end = offset.saturating_add(top as usize).min(matched.len());
    let items: Vec<Vec<(&'static str, Value)>> = matched
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .map(|entry| (report.to_json)(ctx, entry))
        .collect();
    let base = &ctx.origin();
    let next_link = (end < matched.len()).then(|| {
        let token = SkipToken {
            collection: report.tag,
            offset: end as u64,
            fingerprint: ctx.sim.tenant.fingerprint,
        };
        odata::next_link(
            &format!("{base}/beta/{}", report.set),
            ctx.raw_query,
            &token,
        )
    });
    let body = CollectionPage {
        context: format!("{base}/beta/$metadata#{}", report.set),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_the_reference_examples() {
        // §4: ZjRkOTY1NGYtMDMwNS00MDcyLTg3OGMtOGJmMjY2ZGZlMTQ2 = f4d9654f-…
        assert_eq!(
            service_principal_activity_id("f4d9654f-0305-4072-878c-8bf266dfe146"),
            "ZjRkOTY1NGYtMDMwNS00MDcyLTg3OGMtOGJmMjY2ZGZlMTQ2"
        );
        // §5: the example id decodes to `<keyId>|application`.
        assert_eq!(
            app_credential_activity_id(
                "93db6bc3-5b1f-4b3c-88d7-7a6e9f0c1d2e",
                ObjectKind::Application
            ),
            "OTNkYjZiYzMtNWIxZi00YjNjLTg4ZDctN2E2ZTlmMGMxZDJlfGFwcGxpY2F0aW9u"
        );
        // 53 bytes: standard base64 would end in one '='.
        let sp = app_credential_activity_id(
            "93db6bc3-5b1f-4b3c-88d7-7a6e9f0c1d2e",
            ObjectKind::ServicePrincipal,
        );
        assert!(!sp.ends_with('='), "{sp}");
        assert_eq!(
            STANDARD_NO_PAD.decode(&sp).ok(),
            Some(b"93db6bc3-5b1f-4b3c-88d7-7a6e9f0c1d2e|servicePrincipal".to_vec())
        );
    }
}
