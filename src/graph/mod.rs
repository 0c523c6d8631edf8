//! The Microsoft Graph client every collector uses.
//!
//! It adds what Graph asks of well-behaved clients (reference "Common conventions", §10):
//! a fresh `client-request-id` per request, `@odata.nextLink` followed verbatim, `Retry-After`
//! honoured on 429/503/504 with bounded exponential backoff otherwise, one token refresh and
//! retry on 401, a per-request timeout and a cap on body size. It never follows a link to
//! another host, so the bearer token only ever goes to the configured Graph root.

pub mod budget;
mod error;
pub mod retry;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

pub use error::GraphError;

use crate::auth::TokenProvider;
use crate::config::GraphOptions;
use crate::telemetry::Telemetry;

/// A Graph endpoint a collector reads, with the permission it needs.
#[derive(Debug)]
pub struct Endpoint {
    /// Path under the Graph root, with the version, e.g. `/v1.0/applications`.
    /// Also the `endpoint` label of request metrics, so it must not carry ids.
    pub path: &'static str,
    /// Least-privileged application permission (reference Appendix A); named in 403 errors.
    pub permission: &'static str,
    /// Which throttling budget the endpoint's service counts requests against.
    pub service: Service,
}

/// The Graph service behind an endpoint, as far as throttling is concerned (reference §10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Directory objects and reports without a documented per-request budget; 429s are
    /// handled by `Retry-After` alone.
    Other,
    /// The identity-and-access reports service: 5 requests per 10 s per app per tenant, paced
    /// through the tenant's shared [`budget::Pacer`].
    Reports,
}

/// One page of an OData collection.
#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// A Graph client for one tenant.
pub struct GraphClient {
    /// Shared HTTP client.
    http: reqwest::Client,
    /// Graph root with a trailing slash, e.g. `https://graph.microsoft.com/`.
    root: Url,
    /// Token cache for this tenant.
    tokens: Arc<TokenProvider>,
    /// Timeouts, retries and limits.
    options: GraphOptions,
    /// Where requests and retries are counted.
    telemetry: Telemetry,
    /// Tenant label.
    tenant: String,
    /// The tenant's reports-service budget, shared by every collector of the tenant.
    reports: Option<budget::Pacer>,
}

enum Failure {
    /// Worth another attempt after the given delay (None = backoff).
    Retry {
        reason: &'static str,
        status: u16,
        request_id: String,
        retry_after: Option<Duration>,
        detail: String,
    },
    Fatal(GraphError),
}

impl GraphClient {
    /// A client for `tenant` at `root`.
    pub fn new(
        http: reqwest::Client,
        root: Url,
        tokens: Arc<TokenProvider>,
        options: GraphOptions,
        telemetry: Telemetry,
        tenant: String,
    ) -> Self {
        GraphClient {
            http,
            root,
            tokens,
            reports: options.reports_budget.map(budget::Pacer::new),
            options,
            telemetry,
            tenant,
        }
    }

    /// The tenant label this client serves.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// Reads every page of a collection, handing each page's items to `on_page` as it
    /// arrives so callers can aggregate without holding the whole collection.
    pub async fn for_each_page<T: DeserializeOwned>(
        &self,
        endpoint: &'static Endpoint,
        query: &str,
        mut on_page: impl FnMut(Vec<T>),
    ) -> Result<usize, GraphError> {
        let mut url = self.url(endpoint, query)?;
        let mut seen = HashSet::new();
        let mut pages = 0;
        loop {
            let (body, request_id) = self.get(endpoint, &url).await?;
            let page: Page<T> = serde_json::from_slice(&body).map_err(|e| GraphError::Decode {
                endpoint: endpoint.path,
                request_id,
                reason: describe_json_error(&e, &body),
            })?;
            pages += 1;
            on_page(page.value);
            let Some(link) = page.next_link else {
                return Ok(pages);
            };
            let next = Url::parse(&link)
                .or_else(|_| url.join(&link))
                .map_err(|e| GraphError::Decode {
                    endpoint: endpoint.path,
                    request_id: "-".into(),
                    reason: format!("@odata.nextLink {link:?} is not a URL: {e}"),
                })?;
            if next.origin() != self.root.origin() {
                return Err(GraphError::ForeignNextLink {
                    endpoint: endpoint.path,
                    origin: next.origin().ascii_serialization(),
                });
            }
            if !seen.insert(next.clone()) || next == url {
                return Err(GraphError::PagingLoop {
                    endpoint: endpoint.path,
                    pages,
                });
            }
            url = next;
        }
    }

    fn url(&self, endpoint: &Endpoint, query: &str) -> Result<Url, GraphError> {
        let mut url = self
            .root
            .join(endpoint.path.trim_start_matches('/'))
            .map_err(|e| GraphError::Decode {
                endpoint: endpoint.path,
                request_id: "-".into(),
                reason: format!("cannot build URL from Graph root {}: {e}", self.root),
            })?;
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        Ok(url)
    }

    /// GET with retries; returns the body and Graph's request-id.
    async fn get(
        &self,
        endpoint: &'static Endpoint,
        url: &Url,
    ) -> Result<(Bytes, String), GraphError> {
        let mut refreshed_after_401 = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let permit = match (endpoint.service, &self.reports) {
                (Service::Reports, Some(pacer)) => Some(pacer.acquire().await),
                _ => None,
            };
            if let Some(waited) = permit.as_ref().map(|p| p.waited).filter(|w| !w.is_zero()) {
                self.telemetry
                    .reports_budget_wait
                    .with_label_values(&[self.tenant.as_str()])
                    .inc_by(waited.as_secs_f64());
            }
            // The token is taken after any wait for the budget, so a long wait cannot leave
            // it expired by the time the request goes out.
            let token = self.tokens.token().await?;
            let outcome = self.attempt(endpoint, url, token.expose()).await;
            // The slot is released when the response is in, before any retry delay.
            drop(permit);
            let failure = match outcome {
                Ok(ok) => return Ok(ok),
                Err(f) => f,
            };
            match failure {
                Failure::Fatal(GraphError::Api { status: 401, .. }) if !refreshed_after_401 => {
                    // Exactly one refresh and one retry: the token may have been revoked or
                    // expired early; a second 401 means the token itself is not the problem.
                    refreshed_after_401 = true;
                    self.count_retry(endpoint, "unauthorized");
                    tracing::info!(tenant = %self.tenant, endpoint = endpoint.path, "Graph refused the token (401); refreshing it once");
                    self.tokens.token_after_rejection(&token).await?;
                }
                Failure::Fatal(e) => return Err(e),
                Failure::Retry {
                    reason,
                    status,
                    request_id,
                    retry_after,
                    detail,
                } => {
                    if attempt > self.options.max_retries {
                        return Err(if status == 0 {
                            GraphError::Transport {
                                endpoint: endpoint.path,
                                attempts: attempt,
                                reason: detail,
                            }
                        } else {
                            GraphError::RetriesExhausted {
                                endpoint: endpoint.path,
                                attempts: attempt,
                                status,
                                request_id,
                            }
                        });
                    }
                    let delay = retry_after.unwrap_or_else(|| {
                        retry::backoff(attempt - 1, &self.options, retry::jitter())
                    });
                    self.count_retry(endpoint, reason);
                    tracing::warn!(
                        tenant = %self.tenant, endpoint = endpoint.path, status, request_id = %request_id,
                        attempt, delay = ?delay, reason, detail = %detail, "retrying Graph request"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        endpoint: &'static Endpoint,
        url: &Url,
        token: &str,
    ) -> Result<(Bytes, String), Failure> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let sent = self
            .http
            .get(url.clone())
            .bearer_auth(token)
            .header("client-request-id", &client_request_id)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.options.timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.count_request(endpoint, "error");
                let reason = if e.is_timeout() {
                    "timeout"
                } else {
                    "connection"
                };
                return Err(Failure::Retry {
                    reason,
                    status: 0,
                    request_id: client_request_id,
                    retry_after: None,
                    detail: e.without_url().to_string(),
                });
            }
        };
        let status = response.status().as_u16();
        self.count_request(endpoint, status_label(status));
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::parse_retry_after(v, self.options.max_retry_after));
        let body = read_limited(response, self.options.max_body_bytes).await;
        let request_id_or_dash = request_id.clone().unwrap_or_else(|| "-".into());
        let body = match body {
            Ok(b) => b,
            Err(BodyError::TooLarge) => {
                return Err(Failure::Fatal(GraphError::BodyTooLarge {
                    endpoint: endpoint.path,
                    limit: self.options.max_body_bytes,
                }))
            }
            Err(BodyError::Broken(e)) => {
                return Err(Failure::Retry {
                    reason: if e.is_timeout() {
                        "timeout"
                    } else {
                        "connection"
                    },
                    status: 0,
                    request_id: request_id_or_dash,
                    retry_after: None,
                    detail: format!(
                        "response body broke off after HTTP {status}: {}",
                        e.without_url()
                    ),
                })
            }
        };
        match status {
            200..=299 => Ok((body, request_id_or_dash)),
            429 | 503 | 504 => Err(Failure::Retry {
                reason: if status == 429 {
                    "throttled"
                } else {
                    "unavailable"
                },
                status,
                request_id: request_id_or_dash,
                retry_after,
                detail: format!("HTTP {status}"),
            }),
            _ => Err(Failure::Fatal(error::api_error(
                endpoint.path,
                endpoint.permission,
                status,
                request_id,
                &body,
            ))),
        }
    }

    fn count_request(&self, endpoint: &Endpoint, status: &str) {
        self.telemetry
            .graph_requests
            .with_label_values(&[self.tenant.as_str(), endpoint.path, status])
            .inc();
    }

    fn count_retry(&self, endpoint: &Endpoint, reason: &str) {
        self.telemetry
            .graph_retries
            .with_label_values(&[self.tenant.as_str(), endpoint.path, reason])
            .inc();
    }
}

/// Status codes as metric label values; unusual ones are folded into their class so the
/// label stays bounded.
fn status_label(status: u16) -> &'static str {
    const KNOWN: [(u16, &str); 10] = [
        (200, "200"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (429, "429"),
        (500, "500"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    match KNOWN.iter().find(|(code, _)| *code == status) {
        Some((_, label)) => label,
        None => match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

enum BodyError {
    TooLarge,
    Broken(reqwest::Error),
}

/// Reads a body chunk by chunk and stops at `limit`, so a huge or endless body is refused
/// rather than buffered.
async fn read_limited(mut response: reqwest::Response, limit: u64) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Broken)? {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// serde's message plus a short excerpt when the body is not JSON at all (an HTML error
/// page, say), which is what an operator needs to recognise it.
fn describe_json_error(e: &serde_json::Error, body: &[u8]) -> String {
    if e.is_syntax() && e.line() == 1 && e.column() <= 1 {
        format!(
            "not JSON ({e}); body starts with {:?}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        )
    } else {
        format!("{e}")
    }
}
