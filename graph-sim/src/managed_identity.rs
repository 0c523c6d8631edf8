//! The managed identity endpoints of a simulated Azure host, each served on its own loopback
//! listener as the real ones are local to the host:
//!
//! * IMDS (reference §11.6): `GET /metadata/identity/oauth2/token?api-version=…&resource=…`
//!   with `Metadata: true`; `expires_in`, `expires_on` and `not_before` are strings.
//! * App Service / Functions / Container Apps (§11.7): `GET /msi/token?api-version=2019-08-01&
//!   resource=…` with `X-IDENTITY-HEADER`; `expires_on` is a string.
//!
//! Both issue the same tokens as the token endpoint (same key, so Graph routes accept them),
//! with the identity's client id as `appid` and its roles. Error bodies are the
//! `{"error", "error_description"}` objects IMDS returns; where the reference gives no text the
//! wording is the simulator's own (UNCONFIRMED). Faults come from their own
//! [`crate::FaultControl`]s, so the exporter's §11.6 retries can be tested without touching
//! Graph.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderMap, Method, Response, StatusCode};
use axum::Router;
use bytes::Bytes;
use serde_json::json;

use crate::config::SimManagedIdentity;
use crate::faults::{FaultControl, FaultKind};
use crate::reply::{Ordered, Reply};
use crate::server::{self, RequestRecord, SimState};
use crate::token::{self, AuthMethod, Resource};

/// Path of the IMDS token endpoint (§11.6).
pub(crate) const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

/// Path of the App Service identity endpoint (§11.7, the example `IDENTITY_ENDPOINT`).
pub(crate) const IDENTITY_PATH: &str = "/msi/token";

/// The only App Service `api-version` simulated (§11.7; the legacy 2017-09-01 protocol uses
/// another header and is not served).
const IDENTITY_API_VERSION: &str = "2019-08-01";

/// `Content-Type` of both endpoints' JSON.
const JSON: &str = "application/json; charset=utf-8";

/// Route name of IMDS requests in the request log and fault rules.
const IMDS_ROUTE: &str = "imds";

/// Route name of App Service identity requests in the request log and fault rules.
const IDENTITY_ROUTE: &str = "identity";

/// Which of the two endpoints a request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    /// Azure Instance Metadata Service.
    Imds,
    /// App Service / Container Apps.
    AppService,
}

impl Endpoint {
    /// Route name for the request log and fault rules.
    fn route(self) -> &'static str {
        match self {
            Self::Imds => IMDS_ROUTE,
            Self::AppService => IDENTITY_ROUTE,
        }
    }

    /// The endpoint's own fault rules.
    fn faults(self, sim: &SimState) -> &FaultControl {
        match self {
            Self::Imds => &sim.imds_faults,
            Self::AppService => &sim.identity_faults,
        }
    }
}

/// The IMDS listener's app.
pub(crate) fn imds_router(sim: Arc<SimState>) -> Router {
    Router::new()
        .fallback(
            |State(sim): State<Arc<SimState>>, request: Request| async move {
                serve(&sim, request, Endpoint::Imds).await
            },
        )
        .with_state(sim)
}

/// The App Service identity listener's app.
pub(crate) fn identity_router(sim: Arc<SimState>) -> Router {
    Router::new()
        .fallback(
            |State(sim): State<Arc<SimState>>, request: Request| async move {
                serve(&sim, request, Endpoint::AppService).await
            },
        )
        .with_state(sim)
}

/// An error body as IMDS writes it.
fn error(status: u16, error: &str, description: &str) -> Reply {
    let fields = [
        ("error", json!(error)),
        ("error_description", json!(description)),
    ];
    Reply::json(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        JSON,
        &Ordered(&fields),
    )
}

/// The reply of an injected `Status(n)` fault: the transient answers §11.6 tells clients to
/// retry (404, 410, 429, 5xx), with descriptions of the simulator's own.
fn fault_status(status: u16) -> Reply {
    match status {
        404 => error(
            status,
            "not_found",
            "The identity endpoint is not available yet. Retry with exponential backoff.",
        ),
        410 => error(
            status,
            "gone",
            "IMDS is being updated and will be back within 70 seconds. Retry with exponential backoff.",
        ),
        429 => error(
            status,
            "too_many_requests",
            "Too many requests to the identity endpoint. Retry with exponential backoff.",
        ),
        500..=599 => error(
            status,
            "server_error",
            "The identity endpoint failed to get a token. Retry with exponential backoff.",
        ),
        _ => error(status, "invalid_request", "Invalid request."),
    }
}

/// The pipeline of both listeners: faults → handler → request log.
async fn serve(sim: &SimState, request: Request, endpoint: Endpoint) -> Response<Body> {
    let at = SystemTime::now();
    let (parts, _body) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let client_request_id = parts
        .headers
        .get("client-request-id")
        .or_else(|| parts.headers.get("x-ms-client-request-id"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let plan = endpoint.faults(sim).plan(endpoint.route());
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let request = IdentityRequest {
        sim,
        method: &parts.method,
        path: parts.uri.path(),
        headers: &parts.headers,
        query: &query,
    };
    let reply = match &plan.action {
        Some(FaultKind::Status(status)) => fault_status(*status),
        Some(FaultKind::Throttle { retry_after }) => {
            let mut reply = fault_status(429);
            if let Some(value) = retry_after {
                reply.header(RETRY_AFTER, value);
            }
            reply
        }
        Some(FaultKind::MalformedJson) => Reply::new(
            StatusCode::OK,
            JSON,
            Bytes::from_static(b"<html><body>upstream sent an invalid response</body></html>"),
        ),
        _ => match endpoint {
            Endpoint::Imds => imds(&request),
            Endpoint::AppService => app_service(&request),
        },
    };
    let status = reply.status.as_u16();
    tracing::debug!(route = endpoint.route(), path = %path_and_query, status, "identity request");
    sim.record(RequestRecord {
        route: endpoint.route().to_owned(),
        method: parts.method.to_string(),
        path_and_query,
        status,
        at,
        client_request_id,
        had_bearer: false,
        in_batch: None,
        body_bytes: reply.body.len() as u64,
    });
    match plan.action {
        Some(FaultKind::TruncatedJson) => server::truncate(reply),
        Some(FaultKind::DropMidBody) => server::drop_mid_body(reply),
        _ => reply.into_response(),
    }
}

/// What a handler looks at.
struct IdentityRequest<'a> {
    /// The simulator.
    sim: &'a SimState,
    /// Request method.
    method: &'a Method,
    /// Request path.
    path: &'a str,
    /// Request headers.
    headers: &'a HeaderMap,
    /// Decoded query pairs.
    query: &'a [(String, String)],
}

impl IdentityRequest<'_> {
    /// A query parameter, if present and not empty.
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// A header as text.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How a request names a user-assigned identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Selector<'a> {
    /// By client id.
    Client(&'a str),
    /// By the service principal's object id.
    Object(&'a str),
    /// By ARM resource id.
    Resource(&'a str),
}

/// Why no identity could be chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
enum SelectError {
    /// More than one selector was sent.
    #[error("Only one of the identity parameters may be specified in the token request")]
    SeveralSelectors,
    /// No identity has the selector's value, or the host has none at all.
    #[error("Identity not found")]
    NotFound,
    /// No selector, no system-assigned identity and several user-assigned ones (IMDS's
    /// message, community-observed).
    #[error("Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request")]
    Ambiguous,
}

/// Picks the identity a request is for. Without a selector the system-assigned identity is
/// used; IMDS also falls back to the only user-assigned one (`single_user_assigned_default`).
fn select<'a>(
    identities: &'a [SimManagedIdentity],
    selectors: &[Selector<'_>],
    single_user_assigned_default: bool,
) -> Result<&'a SimManagedIdentity, SelectError> {
    match selectors {
        [] => {
            if let Some(system) = identities.iter().find(|i| i.system_assigned) {
                return Ok(system);
            }
            match identities {
                [] => Err(SelectError::NotFound),
                [only] if single_user_assigned_default => Ok(only),
                [_] => Err(SelectError::NotFound),
                _ => Err(SelectError::Ambiguous),
            }
        }
        [selector] => identities
            .iter()
            .find(|i| match selector {
                Selector::Client(id) => i.client_id.eq_ignore_ascii_case(id),
                Selector::Object(id) => i.object_id.eq_ignore_ascii_case(id),
                Selector::Resource(id) => i.resource_id.eq_ignore_ascii_case(id),
            })
            .ok_or(SelectError::NotFound),
        _ => Err(SelectError::SeveralSelectors),
    }
}

/// Checks `resource` (§11.6: a resource URI, not a scope) and issues a token for `identity`.
/// Returns the token and its `iat`/`exp`, or the error reply.
fn issue_for(
    request: &IdentityRequest<'_>,
    identity: &SimManagedIdentity,
    resource: &str,
) -> Result<token::Issued, Reply> {
    let sim = request.sim;
    // A scope such as `…/.default` is not a resource: IMDS hands it to Entra, which finds no
    // resource principal of that name (AADSTS500011).
    match token::classify_resource(resource, &sim.base_url, &sim.config.graph_audience) {
        Resource::Graph => {}
        Resource::OtherCloud | Resource::Unknown => {
            return Err(error(
                400,
                "invalid_resource",
                &format!(
                    "AADSTS500011: {}",
                    token::resource_not_found(resource, &sim.tenant.tenant_id)
                ),
            ));
        }
    }
    sim.tokens
        .issue(
            &identity.client_id,
            &identity.roles,
            AuthMethod::ManagedIdentity,
        )
        .map_err(|e| {
            tracing::error!(error = %e, "signing a managed identity token failed");
            fault_status(500)
        })
}

/// `GET /metadata/identity/oauth2/token` (§11.6).
fn imds(request: &IdentityRequest<'_>) -> Reply {
    if request.path != IMDS_PATH {
        return error(404, "not_found", "The requested resource was not found.");
    }
    if request.method != Method::GET {
        return error(
            405,
            "invalid_request",
            "The identity endpoint only accepts GET requests.",
        );
    }
    // §11.6: the header is required, with the lower-case value `true`.
    if request.header("metadata") != Some("true") {
        return error(
            400,
            "bad_request_102",
            "Required metadata header not specified",
        );
    }
    if request.param("api-version").is_none() {
        return error(
            400,
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = request.param("resource") else {
        return error(
            400,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let selectors: Vec<Selector<'_>> = [
        request.param("client_id").map(Selector::Client),
        request.param("object_id").map(Selector::Object),
        request.param("msi_res_id").map(Selector::Resource),
    ]
    .into_iter()
    .flatten()
    .collect();
    let identity = match select(&request.sim.config.managed_identities, &selectors, true) {
        Ok(identity) => identity,
        Err(e) => return error(400, "invalid_request", &e.to_string()),
    };
    let issued = match issue_for(request, identity, resource) {
        Ok(issued) => issued,
        Err(reply) => return reply,
    };
    // §11.6: every number is a string here, unlike the token endpoint's `expires_in`.
    let fields = [
        ("access_token", json!(issued.token)),
        ("refresh_token", json!("")),
        ("expires_in", json!(issued.expires_in().to_string())),
        ("expires_on", json!(issued.exp.to_string())),
        ("not_before", json!(issued.iat.to_string())),
        ("resource", json!(resource)),
        ("token_type", json!("Bearer")),
    ];
    Reply::json(StatusCode::OK, JSON, &Ordered(&fields))
}

/// `GET /msi/token` (§11.7).
fn app_service(request: &IdentityRequest<'_>) -> Reply {
    let sim = request.sim;
    if request.path != IDENTITY_PATH {
        return error(404, "not_found", "The requested resource was not found.");
    }
    if request.method != Method::GET {
        return error(
            405,
            "invalid_request",
            "The identity endpoint only accepts GET requests.",
        );
    }
    let expected = sim
        .identity_header
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if request.header("x-identity-header") != Some(expected.as_str()) {
        return error(
            sim.config.quirks.identity_header_status,
            "unauthorized",
            "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER; read the current value from the environment.",
        );
    }
    match request.param("api-version") {
        Some(IDENTITY_API_VERSION) => {}
        other => {
            return error(
                400,
                "invalid_request",
                &format!(
                    "api-version '{}' is not supported by this endpoint; use {IDENTITY_API_VERSION}.",
                    other.unwrap_or_default()
                ),
            );
        }
    }
    let Some(resource) = request.param("resource") else {
        return error(
            400,
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let selectors: Vec<Selector<'_>> = [
        request.param("client_id").map(Selector::Client),
        request
            .param("principal_id")
            .or_else(|| request.param("object_id"))
            .map(Selector::Object),
        request.param("mi_res_id").map(Selector::Resource),
    ]
    .into_iter()
    .flatten()
    .collect();
    // App Service uses the system-assigned identity when none is named; it does not fall
    // back to a lone user-assigned one (UNCONFIRMED).
    let identity = match select(&sim.config.managed_identities, &selectors, false) {
        Ok(identity) => identity,
        Err(e) => return error(400, "invalid_request", &e.to_string()),
    };
    let issued = match issue_for(request, identity, resource) {
        Ok(issued) => issued,
        Err(reply) => return reply,
    };
    let fields = [
        ("access_token", json!(issued.token)),
        ("expires_on", json!(issued.exp.to_string())),
        ("resource", json!(resource)),
        ("token_type", json!("Bearer")),
        ("client_id", json!(identity.client_id)),
    ];
    Reply::json(StatusCode::OK, JSON, &Ordered(&fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identities() -> Vec<SimManagedIdentity> {
        vec![
            SimManagedIdentity::user_assigned("c1", "o1", "one", &[]),
            SimManagedIdentity::user_assigned("c2", "o2", "two", &[]),
        ]
    }

    #[test]
    fn selection_follows_imds() {
        let ids = identities();
        assert_eq!(select(&ids, &[], true), Err(SelectError::Ambiguous));
        assert_eq!(
            select(&ids, &[Selector::Object("O2")], true).map(|i| i.client_id.as_str()),
            Ok("c2")
        );
        assert_eq!(
            select(&ids, &[Selector::Client("nope")], true),
            Err(SelectError::NotFound)
        );
        assert_eq!(
            select(
                &ids,
                &[Selector::Client("c1"), Selector::Object("o1")],
                true
            ),
            Err(SelectError::SeveralSelectors)
        );
        let rid = ids[0].resource_id.clone();
        assert_eq!(
            select(&ids, &[Selector::Resource(&rid)], true).map(|i| i.client_id.as_str()),
            Ok("c1")
        );
        let one = &ids[..1];
        assert!(select(one, &[], true).is_ok());
        assert_eq!(select(one, &[], false), Err(SelectError::NotFound));
        assert_eq!(select(&[], &[], true), Err(SelectError::NotFound));
        let mut with_system = identities();
        with_system.push(SimManagedIdentity::system_assigned("sys", "o3", &[]));
        assert_eq!(
            select(&with_system, &[], true).map(|i| i.client_id.as_str()),
            Ok("sys")
        );
    }
}
