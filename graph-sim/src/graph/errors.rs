//! Graph error responses: the body of reference §10.1 (and its 429 variant, §10.2) plus the
//! headers that go with particular errors.

use axum::http::header::{HeaderName, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::StatusCode;
use serde::Serialize;

use crate::reply::Reply;
use crate::time::UtcTime;

/// The §10.1 body; fields are declared in the order Graph writes them.
#[derive(Serialize)]
struct ErrorBody<'a> {
    /// The error.
    error: ErrorObject<'a>,
}

/// `error` of [`ErrorBody`].
#[derive(Serialize)]
struct ErrorObject<'a> {
    /// `error.code`.
    code: &'a str,
    /// `error.message`.
    message: &'a str,
    /// `error.innerError`.
    #[serde(rename = "innerError")]
    inner_error: InnerError<'a>,
}

/// `error.innerError`: when and which request, plus the 429 extras of §10.2.
#[derive(Serialize)]
struct InnerError<'a> {
    /// `"429"` on throttling errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    /// UTC, whole seconds, no zone designator.
    date: String,
    /// `"Please retry after"` on throttling errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    /// Server-generated request id.
    #[serde(rename = "request-id")]
    request_id: &'a str,
    /// The client's request id, or the request id.
    #[serde(rename = "client-request-id")]
    client_request_id: &'a str,
    /// `"429"` on throttling errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a str>,
}

/// A Graph error, rendered as `{"error":{"code","message","innerError":{…}}}`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// Headers that belong to this error (`WWW-Authenticate`, `Retry-After`, throttle headers).
    pub headers: Vec<(HeaderName, String)>,
}

impl GraphError {
    /// An error with no extra headers.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// The same error with one more header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// 400 `Request_BadRequest`, the directory's generic bad-request code.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "Request_BadRequest", message)
    }

    /// 400 `Request_UnsupportedQuery`.
    pub fn unsupported_query(message: impl Into<String>) -> Self {
        Self::new(400, "Request_UnsupportedQuery", message)
    }

    /// 401 `InvalidAuthenticationToken` with the `WWW-Authenticate` challenge.
    pub fn unauthorized(message: impl Into<String>, challenge: &str) -> Self {
        Self::new(401, "InvalidAuthenticationToken", message)
            .with_header(WWW_AUTHENTICATE, challenge)
    }

    /// 403 `Authorization_RequestDenied`: the token lacks every role the route accepts.
    pub fn forbidden() -> Self {
        Self::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`: a licensed report asked
    /// of a tenant without Entra ID P1/P2 (§8; message as in the Entra how-to).
    pub fn non_premium_tenant() -> Self {
        Self::new(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )
    }

    /// 429 `TooManyRequests` (§10.2), with `Retry-After` when given.
    pub fn too_many_requests(retry_after: Option<&str>) -> Self {
        let e = Self::new(429, "TooManyRequests", "Please retry again later.");
        match retry_after {
            Some(v) => e.with_header(RETRY_AFTER, v),
            None => e,
        }
    }

    /// A generic error for an injected `Status(n)` fault, with the code Graph uses for `n`.
    pub fn for_status(status: u16) -> Self {
        let (code, message) = match status {
            400 => ("BadRequest", "Bad request."),
            401 => ("InvalidAuthenticationToken", "Access token validation failure."),
            403 => (
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            404 => (
                "Request_ResourceNotFound",
                "Resource does not exist or one of its queried reference-property objects are not present.",
            ),
            409 => ("Conflict", "The request conflicts with the current state."),
            429 => ("TooManyRequests", "Please retry again later."),
            500 => ("UnknownError", ""),
            502 => ("BadGateway", "Bad gateway."),
            503 => (
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry later.",
            ),
            504 => ("GatewayTimeout", "The gateway timed out."),
            _ => ("UnknownError", "An error occurred."),
        };
        Self::new(status, code, message)
    }

    /// Renders the error as a reply for request `request_id`.
    pub fn to_reply(&self, request_id: &str, client_request_id: &str) -> Reply {
        // §10.2: throttling bodies repeat the status inside innerError.
        let throttled = self.status == 429;
        let body = ErrorBody {
            error: ErrorObject {
                code: &self.code,
                message: &self.message,
                inner_error: InnerError {
                    code: throttled.then_some("429"),
                    date: UtcTime::now().to_inner_error_date(),
                    message: throttled.then_some("Please retry after"),
                    request_id,
                    client_request_id,
                    status: throttled.then_some("429"),
                },
            },
        };
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut reply = Reply::json(status, "application/json", &body);
        for (name, value) in &self.headers {
            reply.header(name.clone(), value);
        }
        reply
    }
}
