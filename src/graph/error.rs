//! Graph errors: what failed, on which endpoint, with Graph's request-id, and what to do.

use serde::Deserialize;

use crate::auth::TokenError;

/// Why a Graph call failed after any retries.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Graph answered with an error status and (usually) a §10.1 error body.
    #[error(
        "GET {endpoint} failed: HTTP {status} {code}: {message} (request-id {request_id}){hint}"
    )]
    Api {
        /// Endpoint path, e.g. `/v1.0/applications`.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// Graph `error.code`, e.g. `Authorization_RequestDenied`.
        code: String,
        /// Graph `error.message`.
        message: String,
        /// `request-id` header or `innerError.request-id`, for Microsoft support.
        request_id: String,
        /// What to do; names the missing permission on 403.
        hint: String,
    },
    /// Still throttled or unavailable after every retry.
    #[error("GET {endpoint} failed after {attempts} attempts: last answer HTTP {status} (request-id {request_id}); Graph is throttling or unavailable, the collector will try again at its next interval")]
    RetriesExhausted {
        /// Endpoint path.
        endpoint: &'static str,
        /// Requests sent.
        attempts: u32,
        /// Status of the last answer (0 when there was none).
        status: u16,
        /// `request-id` of the last answer.
        request_id: String,
    },
    /// No usable response: DNS, connection, timeout or a body that broke off, after retries.
    #[error("GET {endpoint} on {host} failed after {attempts} attempts: {reason} — {hint}")]
    Transport {
        /// Endpoint path.
        endpoint: &'static str,
        /// Host (and port) the request went to.
        host: String,
        /// Requests sent.
        attempts: u32,
        /// The transport error with its causes, e.g. the DNS failure.
        reason: String,
        /// What to check: the timeout setting, or DNS, firewall and proxy.
        hint: String,
    },
    /// A 2xx response whose body is not what the endpoint documents.
    #[error(
        "GET {endpoint} returned a body that could not be read (request-id {request_id}): {reason}"
    )]
    Decode {
        /// Endpoint path.
        endpoint: &'static str,
        /// `request-id` header.
        request_id: String,
        /// serde's message with line and column, or a description.
        reason: String,
    },
    /// The body was larger than `graph.max_body_bytes`.
    #[error("GET {endpoint} returned more than {limit} bytes; refused (raise graph.max_body_bytes if this tenant really needs it)")]
    BodyTooLarge {
        /// Endpoint path.
        endpoint: &'static str,
        /// The configured limit.
        limit: u64,
    },
    /// `@odata.nextLink` pointed at a page already read.
    #[error("GET {endpoint}: @odata.nextLink loops back to a page already read after {pages} pages; stopped, nothing of this collection is published, and the collector tries again at its next interval")]
    PagingLoop {
        /// Endpoint path.
        endpoint: &'static str,
        /// Pages read before the loop was seen.
        pages: usize,
    },
    /// A collection still had more pages after `graph.max_pages`: a server that keeps handing
    /// out new `@odata.nextLink`s, or a tenant larger than the limit allows for.
    #[error("GET {endpoint}: still more pages after {pages} pages, the limit graph.max_pages; stopped, nothing of this collection is published, and the collector tries again at its next interval (if the tenant really is this large, raise graph.max_pages; otherwise the server keeps handing out new @odata.nextLinks)")]
    TooManyPages {
        /// Endpoint path: the collection.
        endpoint: &'static str,
        /// Pages read, which is the limit.
        pages: u64,
    },
    /// `@odata.nextLink` pointed at another host; the bearer token is never sent there.
    #[error("GET {endpoint}: @odata.nextLink points to {origin}, not the configured Graph root; not followed, so the token is not sent there (the answer did not come from Graph, or a proxy rewrites Graph's links: then set tenants[].graph_base_url to the URL the links use)")]
    ForeignNextLink {
        /// Endpoint path.
        endpoint: &'static str,
        /// Scheme, host and port of the link.
        origin: String,
    },
    /// No token could be obtained.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Graph's error body (reference §10.1).
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, rename = "innerError")]
    pub inner_error: Option<InnerError>,
}

#[derive(Deserialize)]
pub(crate) struct InnerError {
    #[serde(default, rename = "request-id")]
    pub request_id: Option<String>,
}

/// Builds [`GraphError::Api`] from a non-success response.
pub(crate) fn api_error(
    endpoint: &'static str,
    permission: &'static str,
    status: u16,
    header_request_id: Option<String>,
    body: &[u8],
) -> GraphError {
    let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
    let (code, message, body_request_id) = match parsed {
        Some(b) => (
            b.error.code,
            b.error.message,
            b.error.inner_error.and_then(|i| i.request_id),
        ),
        None => (
            String::from("-"),
            format!(
                "non-Graph error body: {:?}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ),
            None,
        ),
    };
    let hint = match (status, code.as_str()) {
        (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant") => {
            " — this report needs a Microsoft Entra ID P1 or P2 licence in the tenant".to_string()
        }
        (403, _) => format!(
            " — the exporter's app registration needs the Microsoft Graph application permission {permission}, with admin consent"
        ),
        (401, _) => " — the access token was refused; check the tenant and cloud".to_string(),
        (404, _) => " — the endpoint does not exist in this tenant or cloud".to_string(),
        _ => String::new(),
    };
    GraphError::Api {
        endpoint,
        status,
        code,
        message,
        request_id: header_request_id
            .or(body_request_id)
            .unwrap_or_else(|| "-".to_string()),
        hint,
    }
}
