//! `GET /{v1.0|beta}/applications` and `/servicePrincipals` (+ `/$count`), reference §7:
//! the app registrations and service principals of the tenant model with their credentials.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::errors::GraphError;
use super::odata::{self, CollectionPage, ListOptions, SkipToken};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::tenant::{Application, KeyCredential, PasswordCredential, ServicePrincipal, Tenant};
use crate::throttle::directory_read_cost;
use crate::time::UtcTime;

/// A property of a directory type: its name and how to read it from the model.
pub struct Property<T> {
    /// Canonical (camelCase) name.
    pub name: &'static str,
    /// Reads the value.
    pub get: fn(&T) -> Value,
}

/// A directory collection the list and count handlers can serve.
pub trait DirectoryType: Sized + 'static {
    /// Collection segment, e.g. `applications`.
    const SET: &'static str;
    /// Type name for error messages, e.g. `application`.
    const TYPE: &'static str;
    /// Collection tag stored in page tokens.
    const TAG: u8;
    /// Properties in Graph's serialisation order; all are returned without `$select`.
    fn properties() -> &'static [Property<Self>];
    /// The objects, in listing order.
    fn all(tenant: &Tenant) -> &[Self];
}

/// An optional date as Graph writes it.
fn date(t: Option<UtcTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_graph_string()))
}

/// A `passwordCredential` (§7). Keys in alphabetical order, as Graph writes complex types.
fn password_json(c: &PasswordCredential) -> Value {
    json!({
        "customKeyIdentifier": c.custom_key_identifier,
        "displayName": c.display_name,
        "endDateTime": date(c.end_date_time),
        "hint": c.hint,
        "keyId": c.key_id,
        "secretText": null,
        "startDateTime": date(c.start_date_time),
    })
}

/// A `keyCredential` (§7); `key` is always null in list responses.
fn key_json(c: &KeyCredential) -> Value {
    json!({
        "customKeyIdentifier": c.custom_key_identifier,
        "displayName": c.display_name,
        "endDateTime": date(c.end_date_time),
        "key": null,
        "keyId": c.key_id,
        "startDateTime": date(c.start_date_time),
        "type": c.key_type,
        "usage": c.usage,
    })
}

/// An empty `informationalUrl`.
fn info_json() -> Value {
    json!({
        "logoUrl": null,
        "marketingUrl": null,
        "privacyStatementUrl": null,
        "supportUrl": null,
        "termsOfServiceUrl": null,
    })
}

/// Properties of `microsoft.graph.application` (a realistic subset of the v1.0 schema).
static APPLICATION_PROPERTIES: &[Property<Application>] = &[
    Property {
        name: "id",
        get: |a| json!(a.id),
    },
    Property {
        name: "deletedDateTime",
        get: |_| Value::Null,
    },
    Property {
        name: "appId",
        get: |a| json!(a.app_id),
    },
    Property {
        name: "applicationTemplateId",
        get: |_| Value::Null,
    },
    Property {
        name: "disabledByMicrosoftStatus",
        get: |_| Value::Null,
    },
    Property {
        name: "createdDateTime",
        get: |a| date(Some(a.created_date_time)),
    },
    Property {
        name: "displayName",
        get: |a| json!(a.display_name),
    },
    Property {
        name: "description",
        get: |a| json!(a.description),
    },
    Property {
        name: "groupMembershipClaims",
        get: |_| Value::Null,
    },
    Property {
        name: "identifierUris",
        get: |_| json!([]),
    },
    Property {
        name: "isDeviceOnlyAuthSupported",
        get: |_| Value::Null,
    },
    Property {
        name: "isFallbackPublicClient",
        get: |_| Value::Null,
    },
    Property {
        name: "notes",
        get: |_| Value::Null,
    },
    Property {
        name: "publisherDomain",
        get: |a| json!(a.publisher_domain),
    },
    Property {
        name: "serviceManagementReference",
        get: |_| Value::Null,
    },
    Property {
        name: "signInAudience",
        get: |a| json!(a.sign_in_audience),
    },
    Property {
        name: "tags",
        get: |_| json!([]),
    },
    Property {
        name: "tokenEncryptionKeyId",
        get: |_| Value::Null,
    },
    Property {
        name: "defaultRedirectUri",
        get: |_| Value::Null,
    },
    Property {
        name: "optionalClaims",
        get: |_| Value::Null,
    },
    Property {
        name: "addIns",
        get: |_| json!([]),
    },
    Property {
        name: "api",
        get: |_| {
            json!({
                "acceptMappedClaims": null,
                "knownClientApplications": [],
                "oauth2PermissionScopes": [],
                "preAuthorizedApplications": [],
                "requestedAccessTokenVersion": null,
            })
        },
    },
    Property {
        name: "appRoles",
        get: |_| json!([]),
    },
    Property {
        name: "info",
        get: |_| info_json(),
    },
    Property {
        name: "keyCredentials",
        get: |a| Value::Array(a.key_credentials.iter().map(key_json).collect()),
    },
    Property {
        name: "parentalControlSettings",
        get: |_| json!({"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"}),
    },
    Property {
        name: "passwordCredentials",
        get: |a| Value::Array(a.password_credentials.iter().map(password_json).collect()),
    },
    Property {
        name: "publicClient",
        get: |_| json!({"redirectUris": []}),
    },
    Property {
        name: "requiredResourceAccess",
        get: |_| json!([]),
    },
    Property {
        name: "verifiedPublisher",
        get: |_| json!({"addedDateTime": null, "displayName": null, "verifiedPublisherId": null}),
    },
    Property {
        name: "web",
        get: |_| {
            json!({
                "homePageUrl": null,
                "implicitGrantSettings": {
                    "enableAccessTokenIssuance": false,
                    "enableIdTokenIssuance": false,
                },
                "logoutUrl": null,
                "redirectUriSettings": [],
                "redirectUris": [],
            })
        },
    },
    Property {
        name: "spa",
        get: |_| json!({"redirectUris": []}),
    },
];

/// Properties of `microsoft.graph.servicePrincipal` (a realistic subset of the v1.0 schema).
static SERVICE_PRINCIPAL_PROPERTIES: &[Property<ServicePrincipal>] = &[
    Property {
        name: "id",
        get: |s| json!(s.id),
    },
    Property {
        name: "deletedDateTime",
        get: |_| Value::Null,
    },
    Property {
        name: "accountEnabled",
        get: |s| json!(s.account_enabled),
    },
    Property {
        name: "alternativeNames",
        get: |_| json!([]),
    },
    Property {
        name: "appDisplayName",
        get: |s| json!(s.app_display_name),
    },
    Property {
        name: "appDescription",
        get: |_| Value::Null,
    },
    Property {
        name: "appId",
        get: |s| json!(s.app_id),
    },
    Property {
        name: "applicationTemplateId",
        get: |_| Value::Null,
    },
    Property {
        name: "appOwnerOrganizationId",
        get: |s| json!(s.app_owner_organization_id),
    },
    Property {
        name: "appRoleAssignmentRequired",
        get: |_| json!(false),
    },
    Property {
        name: "description",
        get: |_| Value::Null,
    },
    Property {
        name: "disabledByMicrosoftStatus",
        get: |_| Value::Null,
    },
    Property {
        name: "displayName",
        get: |s| json!(s.display_name),
    },
    Property {
        name: "homepage",
        get: |_| Value::Null,
    },
    Property {
        name: "loginUrl",
        get: |_| Value::Null,
    },
    Property {
        name: "logoutUrl",
        get: |_| Value::Null,
    },
    Property {
        name: "notes",
        get: |_| Value::Null,
    },
    Property {
        name: "notificationEmailAddresses",
        get: |_| json!([]),
    },
    Property {
        name: "preferredSingleSignOnMode",
        get: |s| {
            if s.key_credentials.iter().any(|k| k.usage == "Sign") {
                json!("saml")
            } else {
                Value::Null
            }
        },
    },
    Property {
        name: "preferredTokenSigningKeyThumbprint",
        get: |_| Value::Null,
    },
    Property {
        name: "replyUrls",
        get: |_| json!([]),
    },
    Property {
        name: "servicePrincipalNames",
        get: |s| json!([s.app_id]),
    },
    Property {
        name: "servicePrincipalType",
        get: |s| json!(s.service_principal_type),
    },
    Property {
        name: "signInAudience",
        get: |s| json!(s.sign_in_audience),
    },
    Property {
        name: "tags",
        get: |s| json!(s.tags),
    },
    Property {
        name: "tokenEncryptionKeyId",
        get: |_| Value::Null,
    },
    Property {
        name: "samlSingleSignOnSettings",
        get: |_| Value::Null,
    },
    Property {
        name: "addIns",
        get: |_| json!([]),
    },
    Property {
        name: "appRoles",
        get: |_| json!([]),
    },
    Property {
        name: "info",
        get: |_| info_json(),
    },
    Property {
        name: "keyCredentials",
        get: |s| Value::Array(s.key_credentials.iter().map(key_json).collect()),
    },
    Property {
        name: "oauth2PermissionScopes",
        get: |_| json!([]),
    },
    Property {
        name: "passwordCredentials",
        get: |s| Value::Array(s.password_credentials.iter().map(password_json).collect()),
    },
    Property {
        name: "resourceSpecificApplicationPermissions",
        get: |_| json!([]),
    },
    Property {
        name: "verifiedPublisher",
        get: |_| json!({"addedDateTime": null, "displayName": null, "verifiedPublisherId": null}),
    },
];

impl DirectoryType for Application {
    const SET: &'static str = "applications";
    const TYPE: &'static str = "application";
    const TAG: u8 = 1;
    fn properties() -> &'static [Property<Self>] {
        APPLICATION_PROPERTIES
    }
    fn all(tenant: &Tenant) -> &[Self] {
        &tenant.applications
    }
}

impl DirectoryType for ServicePrincipal {
    const SET: &'static str = "servicePrincipals";
    const TYPE: &'static str = "servicePrincipal";
    const TAG: u8 = 2;
    fn properties() -> &'static [Property<Self>] {
        SERVICE_PRINCIPAL_PROPERTIES
    }
    fn all(tenant: &Tenant) -> &[Self] {
        &tenant.service_principals
    }
}

/// `GET /applications`.
pub fn list_applications(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    list::<Application>(ctx)
}

/// `GET /servicePrincipals`.
pub fn list_service_principals(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    list::<ServicePrincipal>(ctx)
}

/// `GET /applications/$count`.
pub fn count_applications(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    count::<Application>(ctx)
}

/// `GET /servicePrincipals/$count`.
pub fn count_service_principals(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    count::<ServicePrincipal>(ctx)
}

/// Resource units of a list request (§7). Works on the raw options, so malformed ones are
/// charged too, as they are by Graph.
pub fn list_cost(ctx: &Ctx<'_>) -> u32 {
    let has = |name: &str| {
        ctx.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let top = has("$top").and_then(|v| v.trim().parse::<i64>().ok());
    directory_read_cost(has("$select").is_some(), top)
}

/// Resource units of a `$count` request: a plain directory read.
pub fn count_cost(_ctx: &Ctx<'_>) -> u32 {
    directory_read_cost(false, None)
}

/// Parses and checks the options of a list request.
fn list_options<T: DirectoryType>(ctx: &Ctx<'_>, len: usize) -> Result<ListOptions, GraphError> {
    let options = odata::system_options(ctx)?;
    let quirks = &ctx.sim.config.quirks;
    let names: Vec<&'static str> = T::properties().iter().map(|p| p.name).collect();
    let select = odata::option(&options, "$select")
        .map(|v| odata::parse_select(v, &names, T::TYPE))
        .transpose()?;
    let top = odata::option(&options, "$top")
        .map(|v| odata::parse_top(v, quirks.max_page_size))
        .transpose()?
        .unwrap_or(quirks.default_page_size);
    let count = odata::option(&options, "$count")
        .map(odata::parse_count)
        .transpose()?
        .unwrap_or(false);
    if count && !odata::consistency_eventual(ctx) {
        return Err(odata::count_needs_consistency_level());
    }
    let skiptoken = odata::option(&options, "$skiptoken");
    let offset = skiptoken
        .map(|v| odata::resolve_skiptoken(v, T::TAG, ctx.sim.tenant.fingerprint, len))
        .transpose()?
        .unwrap_or(0);
    Ok(ListOptions {
        select,
        top,
        offset,
        count,
        first_page: skiptoken.is_none(),
    })
}

/// Serves one page of a collection.
fn list<T: DirectoryType>(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    let all = T::all(&ctx.sim.tenant);
    let opts = list_options::<T>(ctx, all.len())?;
    let end = opts.offset.saturating_add(opts.top as usize).min(all.len());
    let page = all.get(opts.offset..end).unwrap_or_default();
    let properties: Vec<&Property<T>> = match &opts.select {
        Some(names) => names
            .iter()
            .filter_map(|n| T::properties().iter().find(|p| p.name == *n))
            .collect(),
        None => T::properties().iter().collect(),
    };
    let items: Vec<Vec<(&'static str, Value)>> = page
        .iter()
        .map(|obj| properties.iter().map(|p| (p.name, (p.get)(obj))).collect())
        .collect();

    let version = ctx.param("version");
    let base = &ctx.origin();
    let context = match &opts.select {
        Some(names) => format!("{base}/{version}/$metadata#{}({})", T::SET, names.join(",")),
        None => format!("{base}/{version}/$metadata#{}", T::SET),
    };
    let next_link = (end < all.len()).then(|| {
        let token = SkipToken {
            collection: T::TAG,
            offset: end as u64,
            fingerprint: ctx.sim.tenant.fingerprint,
        };
        odata::next_link(
            &format!("{base}/{version}/{}", T::SET),
            ctx.raw_query,
            &token,
        )
    });
    let body = CollectionPage {
        context,
        count: (opts.count && opts.first_page).then_some(all.len()),
        items: &items,
        next_link,
    };
    Ok(Reply::json(
        StatusCode::OK,
        &ctx.sim.config.quirks.graph_content_type,
        &body,
    ))
}

/// Serves `/$count`: a `text/plain` integer, only with `ConsistencyLevel: eventual` (§7).
fn count<T: DirectoryType>(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    if !odata::consistency_eventual(ctx) {
        return Err(odata::count_needs_consistency_level());
    }
    let n = T::all(&ctx.sim.tenant).len();
    Ok(Reply::new(StatusCode::OK, "text/plain", n.to_string()))
}
