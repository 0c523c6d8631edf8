//! The OAuth 2.0 token request every Entra credential type ends in: a form POST to
//! `{authority}{tenant}/oauth2/v2.0/token` and its JSON answer (reference §11.3–11.4).

use std::time::Duration;

use serde::Deserialize;

use super::error::hint_for;
use super::{AccessToken, TokenError};
use crate::config::Secret;
use crate::http_body::{read_limited, BodyError};

/// `client_assertion_type` for certificate and federated assertions (reference §11.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// A number in v2 responses; a string from IMDS (reference §11.6).
    #[serde(default)]
    expires_in: Option<NumberOrString>,
    /// Unix seconds as a string; the only lifetime the App Service endpoint sends (§11.7).
    #[serde(default)]
    expires_on: Option<NumberOrString>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(f64),
    Text(String),
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
}

/// A tenant's token endpoint, and what every client-credentials request to it carries; each
/// credential type adds only its own proof (a secret or an assertion).
pub struct TokenEndpoint {
    /// Shared HTTP client (connection pool, proxy, extra roots).
    http: reqwest::Client,
    /// `{authority}{tenant}/oauth2/v2.0/token`; also the audience of client assertions.
    pub url: url::Url,
    /// The app registration's (or user-assigned identity's) client id.
    pub client_id: String,
    /// `{graph root}/.default`: tokens are per cloud (reference §12).
    scope: String,
    /// Per-request timeout.
    timeout: Duration,
    /// Tenant label, for errors.
    pub tenant: String,
}

impl TokenEndpoint {
    /// The endpoint of `tenant`'s authority for `client_id`.
    pub fn new(
        http: reqwest::Client,
        tenant: &crate::config::TenantConfig,
        client_id: &str,
        timeout: Duration,
    ) -> Result<Self, url::ParseError> {
        Ok(TokenEndpoint {
            http,
            url: tenant.token_url()?,
            client_id: client_id.to_owned(),
            scope: tenant.scope(),
            timeout,
            tenant: tenant.label.clone(),
        })
    }

    /// Requests a token with the client-credentials grant and `proof`, the credential's own
    /// form fields.
    pub async fn request(&self, proof: &[(&str, &str)]) -> Result<AccessToken, TokenError> {
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("scope", self.scope.as_str()),
        ];
        form.extend_from_slice(proof);
        request_token(&self.http, &self.url, &form, self.timeout, &self.tenant).await
    }

    /// A [`TokenError::Credential`] for this tenant.
    pub fn credential_error(&self, reason: String) -> TokenError {
        TokenError::Credential {
            tenant: self.tenant.clone(),
            reason,
        }
    }
}

/// Sends the token request and turns the answer into a token or a typed error.
async fn request_token(
    http: &reqwest::Client,
    url: &url::Url,
    form: &[(&str, &str)],
    timeout: Duration,
    tenant: &str,
) -> Result<AccessToken, TokenError> {
    let response = http
        .post(url.clone())
        .form(form)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| TokenError::Unreachable {
            tenant: tenant.to_owned(),
            reason: e.without_url().to_string(),
        })?;
    let status = response.status().as_u16();
    let body = read_limited(response, MAX_TOKEN_RESPONSE_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::Broken(e) => TokenError::Unreachable {
                tenant: tenant.to_owned(),
                reason: format!("response body broke off: {}", e.without_url()),
            },
            BodyError::TooLarge => too_large(tenant, status),
        })?;
    parse_token_response(status, &body, tenant)
}

/// Largest token response read. A token response is a few KB, even with a long access token;
/// anything far bigger did not come from Entra, and is refused rather than buffered.
pub(crate) const MAX_TOKEN_RESPONSE_BYTES: u64 = 256 * 1024;

/// The error for a token answer over [`MAX_TOKEN_RESPONSE_BYTES`].
pub(crate) fn too_large(tenant: &str, status: u16) -> TokenError {
    TokenError::Malformed {
        tenant: tenant.to_owned(),
        status,
        reason: format!(
            "the body is over {} KiB, where a token response is a few KB: something other than the identity platform answered (a proxy or captive portal?); check the authority host and proxy settings",
            MAX_TOKEN_RESPONSE_BYTES / 1024
        ),
    }
}

/// Parses a token endpoint response body.
pub fn parse_token_response(
    status: u16,
    body: &[u8],
    tenant: &str,
) -> Result<AccessToken, TokenError> {
    let malformed = |reason: String| TokenError::Malformed {
        tenant: tenant.to_owned(),
        status,
        reason,
    };
    if (200..300).contains(&status) {
        let t: TokenResponse = serde_json::from_slice(body)
            .map_err(|e| malformed(format!("not a token response: {e}")))?;
        let number = |field: &str, value: NumberOrString| match value {
            NumberOrString::Number(n) => Ok(n),
            NumberOrString::Text(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| malformed(format!("{field} {s:?} is not a number"))),
        };
        let seconds = match (t.expires_in, t.expires_on) {
            (Some(v), _) => number("expires_in", v)?,
            (None, Some(v)) => number("expires_on", v)? - crate::runtime::unix_now(),
            (None, None) => {
                return Err(malformed(
                    "token response has neither expires_in nor expires_on".into(),
                ))
            }
        };
        if !seconds.is_finite() || seconds <= 0.0 || t.access_token.is_empty() {
            return Err(malformed(format!(
                "token has no lifetime (expires_in {seconds}) or is empty"
            )));
        }
        return Ok(AccessToken {
            token: Secret::new(t.access_token),
            expires_in: Duration::from_secs_f64(seconds.min(86_400.0 * 7.0)),
        });
    }
    match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(e) => {
            let aadsts = e.error_codes.first().copied();
            let hint = aadsts.map(hint_for).unwrap_or_default();
            Err(TokenError::Rejected {
                tenant: tenant.to_owned(),
                status,
                error: e.error,
                // Later lines are Trace ID / Correlation ID / Timestamp; keep the log line short.
                description: e
                    .error_description
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
                aadsts,
                hint: if hint.is_empty() {
                    String::new()
                } else {
                    format!(" — {hint}")
                },
            })
        }
        Err(_) => Err(malformed(format!(
            "error response is not OAuth JSON: {:?}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v2_and_string_lifetimes() {
        let t = parse_token_response(
            200,
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"abc"}"#,
            "t",
        )
        .unwrap();
        assert_eq!(t.expires_in, Duration::from_secs(3599));
        let t = parse_token_response(
            200,
            br#"{"access_token":"abc","expires_in":"86399","expires_on":"1748941272"}"#,
            "t",
        )
        .unwrap();
        assert_eq!(t.expires_in, Duration::from_secs(86399));
    }

    #[test]
    fn aadsts_errors_become_advice() {
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x\r\nCorrelation ID: y\r\nTimestamp: z","error_codes":[7000215]}"#;
        let e = parse_token_response(401, body, "contoso").unwrap_err();
        assert_eq!(e.aadsts(), Some(7000215));
        let text = e.to_string();
        assert!(
            text.contains("AADSTS7000215: Invalid client secret provided."),
            "{text}"
        );
        assert!(text.contains("not its Secret ID"), "{text}");
        assert!(!text.contains("Trace ID"), "{text}");
    }

    #[test]
    fn html_and_garbage_are_malformed_not_panics() {
        for (status, body) in [
            (200, &b"<html>login</html>"[..]),
            (502, &b"<html>bad gateway</html>"[..]),
            (200, &br#"{"access_token":"a","expires_in":"soon"}"#[..]),
            (200, &br#"{"access_token":"a","expires_in":-5}"#[..]),
        ] {
            let e = parse_token_response(status, body, "t").unwrap_err();
            assert!(matches!(e, TokenError::Malformed { .. }), "{e}");
        }
    }
}
