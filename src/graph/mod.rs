//! The Microsoft Graph client every collector uses.
//!
//! It adds what Graph asks of well-behaved clients (reference "Common conventions", §10):
//! a fresh `client-request-id` per request, `@odata.nextLink` followed verbatim, `Retry-After`
//! honoured on 429/503/504 with bounded exponential backoff otherwise, one token refresh and
//! retry on 401, a per-request timeout and a cap on body size. It never follows a link to
//! another host, so the bearer token only ever goes to the configured Graph root.

pub mod batch;
pub mod budget;
pub(crate) mod error;
pub mod retry;

use std::borrow::Cow;
use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::http_body::{read_limited, BodyError};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
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

/// A row type of a collection, which may borrow from the page body it is parsed from.
///
/// Implemented for a row struct with a lifetime as `impl Row for Details<'static> { type
/// Of<'de> = Details<'de>; }`, and by [`Owned`] for any owned type.
pub trait Row {
    /// The row, borrowing from a page body that lives for `'de`.
    type Of<'de>: Deserialize<'de>;
}

/// The [`Row`] of an owned type, which borrows nothing.
pub struct Owned<T>(PhantomData<T>);

impl<T: DeserializeOwned> Row for Owned<T> {
    type Of<'de> = T;
}

/// Parses one OData page (`{"value": [...], "@odata.nextLink": "..."}`, other members
/// ignored), handing each element of `value` to `on_row` as it is parsed, and returns the
/// nextLink. The same checks as deserialising a struct with `value: Vec<T>`: `value` is
/// required and appears once, and nothing may follow the object.
#[doc(hidden)]
pub fn parse_page<'de, R: Row>(
    body: &'de [u8],
    on_row: &mut dyn FnMut(R::Of<'de>),
) -> Result<Option<String>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let next = PageSeed::<R> {
        on_row,
        row: PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(next)
}

/// The page envelope, visited member by member so that rows never gather in a `Vec`.
struct PageSeed<'f, 'de, R: Row> {
    on_row: &'f mut dyn FnMut(R::Of<'de>),
    row: PhantomData<R>,
}

impl<'de, R: Row> DeserializeSeed<'de> for PageSeed<'_, 'de, R> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, R: Row> Visitor<'de> for PageSeed<'_, 'de, R> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an OData collection page")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut value = false;
        let mut next_link = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "value" if value => return Err(de::Error::duplicate_field("value")),
                "value" => {
                    value = true;
                    map.next_value_seed(RowsSeed::<R> {
                        on_row: &mut *self.on_row,
                        row: PhantomData,
                    })?;
                }
                "@odata.nextLink" => next_link = map.next_value::<Option<String>>()?,
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        if !value {
            return Err(de::Error::missing_field("value"));
        }
        Ok(next_link)
    }
}

/// The `value` array, each element handed on as it is parsed.
struct RowsSeed<'f, 'de, R: Row> {
    on_row: &'f mut dyn FnMut(R::Of<'de>),
    row: PhantomData<R>,
}

impl<'de, R: Row> DeserializeSeed<'de> for RowsSeed<'_, 'de, R> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, R: Row> Visitor<'de> for RowsSeed<'_, 'de, R> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<R::Of<'de>>()? {
            (self.on_row)(row);
        }
        Ok(())
    }
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

/// Why one attempt failed.
enum Failure {
    /// Worth another attempt after the given delay (None = backoff).
    Retry {
        /// `reason` label of the retries counter.
        reason: &'static str,
        /// HTTP status; 0 when no complete response arrived.
        status: u16,
        /// Graph's request-id, or ours when there was no answer.
        request_id: String,
        /// The capped `Retry-After`, if Graph sent a usable one.
        retry_after: Option<Duration>,
        /// What went wrong, for the log and the final error.
        detail: String,
        /// What to do if it keeps happening; empty when the status says it all.
        hint: String,
    },
    /// Not worth retrying within this poll.
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
        let mut rows = Vec::new();
        self.pages(endpoint, query, |body| {
            let next = parse_page::<Owned<T>>(body, &mut |row| rows.push(row))?;
            on_page(std::mem::take(&mut rows));
            Ok(next)
        })
        .await
    }

    /// Reads every page of a collection and hands each row to `on_row` as soon as it is
    /// parsed, borrowing from the page's body: no page is ever held as a `Vec` of rows, and
    /// string fields that need no unescaping are not copied (`&str` or `Cow<str>` fields).
    /// What stays in memory is one page's body, whatever the size of the collection.
    pub async fn for_each_row<R: Row>(
        &self,
        endpoint: &'static Endpoint,
        query: &str,
        mut on_row: impl for<'de> FnMut(R::Of<'de>),
    ) -> Result<usize, GraphError> {
        self.pages(endpoint, query, |body| parse_page::<R>(body, &mut on_row))
            .await
    }

    /// The paging loop: reads pages until one has no `@odata.nextLink`, handing each body to
    /// `read`, which returns the page's nextLink. Returns the number of pages read.
    async fn pages(
        &self,
        endpoint: &'static Endpoint,
        query: &str,
        mut read: impl FnMut(&[u8]) -> Result<Option<String>, serde_json::Error>,
    ) -> Result<usize, GraphError> {
        let mut url = self.url(endpoint, query)?;
        // Every page URL read so far, the first included, so a link back to any of them is
        // caught before that page is requested again. A few hundred bytes a page: 1,000 pages
        // for 1,000,000 users, and at most graph.max_pages.
        let mut seen = HashSet::from([url.clone()]);
        let first = url.clone();
        let mut pages = 0;
        loop {
            let (body, request_id, content_type) = self.get(endpoint, &url).await?;
            let link = read(&body).map_err(|e| GraphError::Decode {
                endpoint: endpoint.path,
                request_id,
                reason: describe_json_error(&e, &body, &content_type),
            })?;
            // The body goes before the next request, so at most one page is held at a time.
            drop(body);
            pages += 1;
            let Some(link) = link else {
                return Ok(pages);
            };
            // Distinct links without end never repeat, so the loop check below never stops
            // them; this bound does.
            if pages as u64 >= self.options.max_pages {
                return Err(GraphError::TooManyPages {
                    endpoint: endpoint.path,
                    pages: pages as u64,
                });
            }
            let next = self.resolve_next_link(endpoint, &first, &link)?;
            if !seen.insert(next.clone()) {
                return Err(GraphError::PagingLoop {
                    endpoint: endpoint.path,
                    pages,
                });
            }
            url = next;
        }
    }

    /// The URL an `@odata.nextLink` names, refused unless it is on the Graph host the token
    /// is for. Graph's links are absolute (reference, "Common conventions"). A relative one is
    /// resolved against the collection's first URL, not the current page's: against the
    /// current page a path-relative link such as `a/next` makes a longer URL on every page,
    /// which never repeats, so the loop check never stops it (found by fuzzing, see the
    /// regression test).
    fn resolve_next_link(
        &self,
        endpoint: &Endpoint,
        first: &Url,
        link: &str,
    ) -> Result<Url, GraphError> {
        let next = Url::parse(link)
            .or_else(|_| first.join(link))
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
        Ok(next)
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

    /// GET with retries; returns the body, Graph's request-id and the `Content-Type`.
    async fn get(
        &self,
        endpoint: &'static Endpoint,
        url: &Url,
    ) -> Result<(Bytes, String, String), GraphError> {
        let slots = usize::from(endpoint.service == Service::Reports);
        self.send(endpoint, url, slots, || self.http.get(url.clone()))
            .await
    }

    /// Sends the request `build` makes (a GET of a collection, or a `$batch` POST), with
    /// retries: after waiting for `budget_slots` slots of the tenant's reports budget, with a
    /// fresh token, one token refresh after a 401, and `Retry-After` or backoff between
    /// attempts. Returns the body, Graph's request-id and the `Content-Type`.
    async fn send(
        &self,
        endpoint: &'static Endpoint,
        url: &Url,
        budget_slots: usize,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(Bytes, String, String), GraphError> {
        let mut refreshed_after_401 = false;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let permit = match &self.reports {
                Some(pacer) if budget_slots > 0 => Some(pacer.acquire_many(budget_slots).await),
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
            let outcome = self.exchange(endpoint, url, build(), token.expose()).await;
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
                    hint,
                } => {
                    if attempt > self.options.max_retries {
                        return Err(if status == 0 {
                            GraphError::Transport {
                                endpoint: endpoint.path,
                                host: host_of(url),
                                attempts: attempt,
                                reason: detail,
                                hint,
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

    /// Sends `request` (a GET of a collection, or a `$batch` POST) with the token and Graph's
    /// headers, and reads the answer: the body, the request id and the content type, or the
    /// failure classified for the retry loop.
    async fn exchange(
        &self,
        endpoint: &'static Endpoint,
        url: &Url,
        request: reqwest::RequestBuilder,
        token: &str,
    ) -> Result<(Bytes, String, String), Failure> {
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let sent = request
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
                let (reason, hint) = self.transport_hint(&e, url, false);
                return Err(Failure::Retry {
                    reason,
                    status: 0,
                    request_id: client_request_id,
                    retry_after: None,
                    detail: error_chain(e),
                    hint,
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
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
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
                let (reason, hint) = self.transport_hint(&e, url, true);
                return Err(Failure::Retry {
                    reason,
                    status: 0,
                    request_id: request_id_or_dash,
                    retry_after: None,
                    detail: format!(
                        "response body broke off after HTTP {status}: {}",
                        error_chain(e)
                    ),
                    hint,
                });
            }
        };
        match status {
            200..=299 => Ok((body, request_id_or_dash, content_type)),
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
                hint: String::new(),
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

    /// The retries-counter reason for a transport error, and what an operator can do about
    /// it if it persists.
    fn transport_hint(
        &self,
        e: &reqwest::Error,
        url: &Url,
        mid_body: bool,
    ) -> (&'static str, String) {
        let host = host_of(url);
        if e.is_timeout() {
            (
                "timeout",
                format!(
                    "no complete answer from {host} within graph.timeout ({}); raise graph.timeout if Graph is this slow for the tenant",
                    humantime::format_duration(self.options.timeout)
                ),
            )
        } else if mid_body {
            (
                "connection",
                format!("the connection to {host} broke off mid-response; a proxy or load balancer may be cutting it"),
            )
        } else {
            (
                "connection",
                format!("check that {host} resolves and is reachable from the exporter (DNS, firewall, proxy) and that tenants[].graph_base_url is right"),
            )
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

/// serde's message, what kind of failure it is, and what probably caused it: a body that is
/// not JSON at all (an HTML page from a proxy), one cut short, or JSON of another shape.
pub(crate) fn describe_json_error(
    e: &serde_json::Error,
    body: &[u8],
    content_type: &str,
) -> String {
    if e.is_syntax() && e.line() == 1 && e.column() <= 1 {
        format!(
            "not JSON ({e}); Content-Type {content_type:?}, body starts with {:?}: something other than Graph answered (a proxy or captive portal?)",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        )
    } else if e.is_eof() {
        format!(
            "the JSON ends early ({e}); the body was cut short, by a proxy or a dropped connection"
        )
    } else if e.is_data() {
        format!("valid JSON but not the documented shape ({e}); something other than Graph answered, or Graph changed the response: report it with the request-id")
    } else {
        format!("broken JSON ({e})")
    }
}

/// The host (and port, if any) of `url`, to name in errors.
fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => url.as_str().to_owned(),
    }
}

/// A transport error with its causes (`error sending request: … dns error: failed to
/// lookup address …`); reqwest's own message alone says only that sending failed. The URL is
/// left out: the endpoint and host are named separately, and a nextLink's query is noise.
fn error_chain(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::State;
    use axum::http::Uri;

    use super::*;
    use crate::auth::{AccessToken, BoxFuture, TokenError, TokenSource};
    use crate::config::Secret;

    /// A token source that always hands out the same token.
    struct Fixed;

    impl TokenSource for Fixed {
        fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
            Box::pin(async {
                Ok(AccessToken {
                    token: Secret::new("t0ken"),
                    expires_in: Duration::from_secs(3600),
                })
            })
        }
        fn kind(&self) -> &'static str {
            "fixed"
        }
    }

    static ITEMS: Endpoint = Endpoint {
        path: "/v1.0/items",
        permission: "Test.Read.All",
        service: Service::Other,
    };

    fn client(root: &str) -> GraphClient {
        client_with_max_pages(root, GraphOptions::default().max_pages)
    }

    fn client_with_max_pages(root: &str, max_pages: u64) -> GraphClient {
        let telemetry = Telemetry::new();
        let tokens = TokenProvider::new(Box::new(Fixed), "t".into(), telemetry.clone());
        let options = GraphOptions {
            max_retries: 1,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            timeout: Duration::from_secs(5),
            max_pages,
            ..GraphOptions::default()
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let root = Url::parse(root).unwrap();
        GraphClient::new(http, root, Arc::new(tokens), options, telemetry, "t".into())
    }

    /// Serves pages on loopback: `next(base, path_and_query)` is the page's nextLink. Returns
    /// the base URL and a request counter.
    async fn serve(next: fn(&str, &str) -> Option<String>) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let state = (base.clone(), count.clone(), next);
        type S = (String, Arc<AtomicUsize>, fn(&str, &str) -> Option<String>);
        let app = axum::Router::new()
            .fallback(
                |State((base, count, next)): State<S>, uri: Uri| async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                    let mut page = serde_json::json!({"value": [pq]});
                    if let Some(link) = next(&base, pq) {
                        page["@odata.nextLink"] = link.into();
                    }
                    axum::Json(page)
                },
            )
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("{base}/"), count)
    }

    async fn read_all(graph: &GraphClient) -> Result<usize, GraphError> {
        graph
            .for_each_page(&ITEMS, "", |_: Vec<serde_json::Value>| {})
            .await
    }

    #[tokio::test]
    async fn a_link_back_to_the_first_page_is_caught_before_it_is_read_again() {
        let (root, requests) = serve(|base, pq| match pq {
            "/v1.0/items" => Some(format!("{base}/v1.0/items?$skiptoken=2")),
            _ => Some(format!("{base}/v1.0/items")),
        })
        .await;
        let e = read_all(&client(&root)).await.unwrap_err();
        assert!(matches!(e, GraphError::PagingLoop { pages: 2, .. }), "{e}");
        assert_eq!(requests.load(Ordering::SeqCst), 2);
        assert!(e
            .to_string()
            .contains("nothing of this collection is published"));
    }

    #[tokio::test]
    async fn a_relative_next_link_that_grows_the_path_is_a_loop() {
        // Found by fuzzing (fuzz/, graph_page_credentials): resolved against each page's own
        // URL, this link gave /v1.0/0v1.0/next, /v1.0/0v1.0/0v1.0/next, ... and paging never
        // ended.
        const PAGE: &[u8] = br#"{"value":[{}],"@odata.nextLink":"0v1.0/next?$skiptoken=a"}"#;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let root = format!("http://{}/", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        let app = axum::Router::new().fallback(move || {
            count.fetch_add(1, Ordering::SeqCst);
            async { PAGE }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        let graph = client(&root);
        let read = tokio::time::timeout(Duration::from_secs(10), read_all(&graph));
        let e = read.await.expect("paging stops").unwrap_err();
        assert!(matches!(e, GraphError::PagingLoop { pages: 2, .. }), "{e}");
        assert_eq!(requests.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_page_linking_to_itself_is_a_loop() {
        let (root, requests) = serve(|base, pq| Some(format!("{base}{pq}"))).await;
        let e = read_all(&client(&root)).await.unwrap_err();
        assert!(matches!(e, GraphError::PagingLoop { pages: 1, .. }), "{e}");
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_link_to_another_origin_is_not_followed() {
        let (root, requests) =
            serve(|_, _| Some("http://127.0.0.1:9/v1.0/items?$skiptoken=2".into())).await;
        let e = read_all(&client(&root)).await.unwrap_err();
        match &e {
            GraphError::ForeignNextLink { origin, .. } => {
                assert_eq!(origin, "http://127.0.0.1:9")
            }
            other => panic!("{other}"),
        }
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn pages_are_followed_to_the_end() {
        let (root, requests) = serve(|base, pq| match pq {
            "/v1.0/items" => Some(format!("{base}/v1.0/items?$skiptoken=2")),
            "/v1.0/items?$skiptoken=2" => Some(format!("{base}/v1.0/items?$skiptoken=3")),
            _ => None,
        })
        .await;
        assert_eq!(read_all(&client(&root)).await.unwrap(), 3);
        assert_eq!(requests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn endless_distinct_next_links_stop_at_max_pages_naming_the_collection() {
        // Every page links to a page never seen before, so the loop check never fires.
        let (root, requests) = serve(|base, pq| {
            let n: u64 = pq
                .rsplit('=')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            Some(format!("{base}/v1.0/items?$skiptoken={}", n + 1))
        })
        .await;
        let graph = client_with_max_pages(&root, 5);
        let read = tokio::time::timeout(Duration::from_secs(10), read_all(&graph));
        let e = read.await.expect("paging stops").unwrap_err();
        assert!(
            matches!(e, GraphError::TooManyPages { pages: 5, .. }),
            "{e}"
        );
        assert_eq!(requests.load(Ordering::SeqCst), 5);
        let text = e.to_string();
        for part in ["/v1.0/items", "after 5 pages", "raise graph.max_pages"] {
            assert!(text.contains(part), "{part:?} missing from {text}");
        }
    }

    #[tokio::test]
    async fn a_collection_of_exactly_max_pages_is_read_whole() {
        let (root, _) = serve(|base, pq| match pq {
            "/v1.0/items" => Some(format!("{base}/v1.0/items?$skiptoken=2")),
            "/v1.0/items?$skiptoken=2" => Some(format!("{base}/v1.0/items?$skiptoken=3")),
            _ => None,
        })
        .await;
        assert_eq!(read_all(&client_with_max_pages(&root, 3)).await.unwrap(), 3);
    }

    #[test]
    fn rows_are_handed_on_one_by_one_borrowing_from_the_body() {
        #[derive(Deserialize)]
        struct Item<'a> {
            #[serde(borrow)]
            name: Cow<'a, str>,
        }
        impl Row for Item<'static> {
            type Of<'de> = Item<'de>;
        }
        let body = br#"{"@odata.context":"x","value":[{"name":"a"},{"name":"b\u00e9","n":[1]}],"@odata.nextLink":"https://g/next"}"#;
        let mut names = Vec::new();
        let next = parse_page::<Item<'static>>(body, &mut |i| {
            names.push((i.name.to_string(), matches!(i.name, Cow::Borrowed(_))))
        })
        .unwrap();
        assert_eq!(next.as_deref(), Some("https://g/next"));
        // A plain string is borrowed; one with an escape has to be unescaped into a copy.
        assert_eq!(names, [("a".into(), true), ("b\u{e9}".into(), false)]);
        let none = |body: &[u8]| parse_page::<Owned<serde_json::Value>>(body, &mut |_| {});
        assert_eq!(none(br#"{"value":[]}"#).unwrap(), None);
        assert!(none(br#"{"value":[],"value":[]}"#).is_err());
        assert!(none(br#"{"@odata.nextLink":"x"}"#).is_err());
        assert!(none(br#"{"value":[]} trailing"#).is_err());
    }

    #[tokio::test]
    async fn an_unreachable_host_is_named_with_the_cause_and_what_to_check() {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = closed.local_addr().unwrap();
        drop(closed);
        let e = read_all(&client(&format!("http://{address}/")))
            .await
            .unwrap_err();
        assert!(
            matches!(e, GraphError::Transport { attempts: 2, .. }),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.contains(&format!("on {address}")), "{text}");
        // reqwest alone says only "error sending request"; the cause is what helps.
        assert!(text.contains("onnection refused"), "{text}");
        assert!(text.contains("graph_base_url"), "{text}");
    }

    #[test]
    fn json_errors_say_what_kind_of_body_it_was() {
        let describe = |body: &[u8], content_type: &str| {
            let Err(e) = parse_page::<Owned<serde_json::Value>>(body, &mut |_| {}) else {
                panic!("{:?} parsed", String::from_utf8_lossy(body));
            };
            describe_json_error(&e, body, content_type)
        };
        let html = describe(b"<html><body>Sorry</body></html>", "text/html");
        assert!(html.starts_with("not JSON"), "{html}");
        assert!(
            html.contains("\"text/html\"") && html.contains("<html>"),
            "{html}"
        );
        let cut = describe(br#"{"value":[{"id":"1"},{"id""#, "application/json");
        assert!(cut.contains("cut short"), "{cut}");
        let shape = describe(br#"{"value":{"id":"1"}}"#, "application/json");
        assert!(shape.contains("not the documented shape"), "{shape}");
        let broken = describe(br#"{"value":[1,,]}"#, "application/json");
        assert!(broken.starts_with("broken JSON"), "{broken}");
    }
}
