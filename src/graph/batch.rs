//! JSON batching (reference §9): several small GETs in one `POST /{version}/$batch`.
//!
//! The user-insight collections and the per-period summary functions are a few small
//! collections each; sending them one by one costs a round trip each. Here they go up to 20
//! at a time ([`MAX_BATCH`]), grouped by Graph version (a batch cannot mix `v1.0` and `beta`).
//! What §9 asks of a client, and how it is done:
//!
//! * Responses may come back in any order: they are matched to requests by `id`.
//! * The batch is 200 even when inner requests fail. An inner 429 (or 503, 504, or a 424
//!   from a failed dependency) is retried on its own, in the next batch, after the largest
//!   inner `Retry-After` of the round (backoff when there is none), up to `graph.max_retries`
//!   times per request. Any other inner error fails the read like the same error on a direct
//!   call, naming the inner endpoint and its permission. An inner 401 refreshes the token
//!   once, as a direct 401 does.
//! * Inner requests count against their own service's throttling, one by one (§9 "each
//!   inner request is evaluated separately"). So a batch takes one slot of the tenant's
//!   reports budget ([`super::budget`]) per inner request of that service, all at once, and
//!   never holds more of them than the budget has.
//! * Pages beyond the first: Graph's `@odata.nextLink` is absolute, while an inner `url` is
//!   relative to the version root (whether absolute ones are accepted is UNCONFIRMED), so the
//!   root is stripped and the next page rides in the next batch with the other collections'
//!   next pages. The checks of direct paging apply: no foreign host, no loops.
//!
//! Request accounting (`entra_graph_requests_total`): the batch itself is counted under the
//! endpoint `/{version}/$batch` with its HTTP status, and each inner request under its own
//! endpoint with its inner status, so per-endpoint counts mean the same as without batching.
//! The HTTP requests actually sent are the total less the inner ones.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::{error, retry, status_label, Endpoint, GraphClient, GraphError, Owned, Service};

/// Most requests in one batch (§9).
pub const MAX_BATCH: usize = 20;

/// The `$batch` endpoint of each version: the `endpoint` label of the batches themselves.
static BATCH_V1: Endpoint = Endpoint {
    path: "/v1.0/$batch",
    permission: "-",
    service: Service::Other,
};
/// See [`BATCH_V1`].
static BATCH_BETA: Endpoint = Endpoint {
    path: "/beta/$batch",
    permission: "-",
    service: Service::Other,
};

/// Decodes one page's body, hands its items on and returns its `@odata.nextLink`.
type OnPage<'a> = Box<dyn FnMut(&[u8]) -> Result<Option<String>, serde_json::Error> + Send + 'a>;

/// One collection to read through batches: its endpoint, its query and what to do with each
/// page's items.
pub struct BatchGet<'a> {
    /// The collection.
    endpoint: &'static Endpoint,
    /// Query string of the first page (without `?`), e.g. `$select=…`; may be empty.
    query: String,
    /// Called with each page's body.
    on_page: OnPage<'a>,
}

impl<'a> BatchGet<'a> {
    /// Reads `endpoint?query` page by page, handing each page's items to `on_items` as they
    /// arrive, like [`GraphClient::for_each_page`].
    pub fn new<T: DeserializeOwned + 'a>(
        endpoint: &'static Endpoint,
        query: &str,
        mut on_items: impl FnMut(Vec<T>) + Send + 'a,
    ) -> Self {
        BatchGet {
            endpoint,
            query: query.to_owned(),
            on_page: Box::new(move |body| {
                let mut rows = Vec::new();
                let next = super::parse_page::<Owned<T>>(body, &mut |row| rows.push(row))?;
                on_items(rows);
                Ok(next)
            }),
        }
    }
}

/// A collection being read, with its paging and retry state.
struct Read<'a> {
    /// What to read.
    get: BatchGet<'a>,
    /// Graph version root, `v1.0` or `beta`.
    version: &'static str,
    /// The next inner `url`: relative to the version root, with a leading `/`.
    next: String,
    /// Absolute URLs of the pages requested so far, to catch nextLink loops.
    seen: HashSet<Url>,
    /// Pages read.
    pages: usize,
    /// Attempts at the current page.
    attempts: u32,
}

/// The §9 response body; inner bodies stay borrowed slices of the batch body.
#[derive(Deserialize)]
struct BatchResponse<'a> {
    #[serde(borrow)]
    responses: Vec<InnerResponse<'a>>,
}

/// One inner response.
#[derive(Deserialize)]
struct InnerResponse<'a> {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, HeaderText>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
}

/// An inner header value: Graph writes strings; a number (a `Retry-After` written as one,
/// §9 UNCONFIRMED) is read too.
#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderText {
    Text(String),
    Number(f64),
}

impl HeaderText {
    fn text(&self) -> String {
        match self {
            HeaderText::Text(s) => s.clone(),
            HeaderText::Number(n) => n.to_string(),
        }
    }
}

/// What became of one inner request.
enum Outcome {
    /// Read; the collection is done or its next page is queued.
    Done,
    /// Retry in the next round after this long (None: backoff); the status that asked for it.
    Retry(Option<Duration>, u16),
    /// 401: retry with a refreshed token.
    Unauthorized,
}

impl GraphClient {
    /// Reads every page of each collection in `gets`, sending their requests in JSON
    /// batches of up to [`MAX_BATCH`] (module docs). Returns the first error; on error the
    /// callers' partial results must not be published, as with a failed direct read.
    pub async fn for_each_page_batched(&self, gets: Vec<BatchGet<'_>>) -> Result<(), GraphError> {
        let mut reads = Vec::with_capacity(gets.len());
        for get in gets {
            let path = get.endpoint.path;
            let (version, rest) = split_version(path).ok_or_else(|| GraphError::Decode {
                endpoint: path,
                request_id: "-".into(),
                reason: "a batched endpoint must start with /v1.0/ or /beta/".into(),
            })?;
            let next = if get.query.is_empty() {
                rest.to_owned()
            } else {
                format!("{rest}?{}", get.query)
            };
            let first = self.url(get.endpoint, &get.query)?;
            reads.push(Read {
                get,
                version,
                next,
                seen: HashSet::from([first]),
                pages: 0,
                attempts: 0,
            });
        }
        let mut queue: VecDeque<usize> = (0..reads.len()).collect();
        let mut refreshed_after_401 = false;
        while !queue.is_empty() {
            // Of the requests to retry: the largest Retry-After, and whether one had none.
            let mut retry_after: Option<Duration> = None;
            let mut backoff_attempt: Option<u32> = None;
            let mut unauthorized = false;
            let mut next_round = VecDeque::new();
            while let Some(first) = queue.pop_front() {
                let chunk = self.take_chunk(first, &mut queue, &reads);
                let version = reads[first].version;
                let urls: Vec<&str> = chunk.iter().map(|&i| reads[i].next.as_str()).collect();
                let body = batch_body(&urls);
                let reports = chunk
                    .iter()
                    .filter(|&&i| reads[i].get.endpoint.service == Service::Reports)
                    .count();
                let results = self.send_batch(version, body, chunk.len(), reports).await?;
                for (&index, result) in chunk.iter().zip(results) {
                    let read = &mut reads[index];
                    let outcome = match result {
                        Some(inner) => self.settle(read, inner)?,
                        // Graph answers every id; a missing one is retried like a 503.
                        None => {
                            self.count_retry(read.get.endpoint, "unavailable");
                            Outcome::Retry(None, 0)
                        }
                    };
                    match outcome {
                        Outcome::Done if read.next.is_empty() => continue,
                        Outcome::Done => {}
                        Outcome::Unauthorized => {
                            if refreshed_after_401 {
                                return Err(GraphError::Api {
                                    endpoint: read.get.endpoint.path,
                                    status: 401,
                                    code: "InvalidAuthenticationToken".into(),
                                    message: "Graph refused a freshly refreshed token as well"
                                        .into(),
                                    request_id: "-".into(),
                                    hint: " — the access token was refused; check the tenant and cloud".into(),
                                });
                            }
                            unauthorized = true;
                        }
                        Outcome::Retry(after, status) => {
                            read.attempts += 1;
                            if read.attempts > self.options.max_retries {
                                return Err(GraphError::RetriesExhausted {
                                    endpoint: read.get.endpoint.path,
                                    attempts: read.attempts,
                                    status,
                                    request_id: "-".into(),
                                });
                            }
                            match after {
                                Some(d) => retry_after = Some(retry_after.map_or(d, |r| r.max(d))),
                                None => {
                                    backoff_attempt =
                                        Some(backoff_attempt.unwrap_or(0).max(read.attempts))
                                }
                            }
                        }
                    }
                    next_round.push_back(index);
                }
            }
            if unauthorized {
                // Exactly one refresh, as for a direct 401.
                refreshed_after_401 = true;
                tracing::info!(tenant = %self.tenant, "Graph refused the token inside a batch (401); refreshing it once");
                let token = self.tokens.token().await?;
                self.tokens.token_after_rejection(&token).await?;
            }
            // Retries wait for the largest Retry-After of the round (§9), and at least a
            // backoff when a retried request had none; pages that merely follow go at once.
            let backoff = backoff_attempt
                .map(|a| retry::backoff(a - 1, &self.options, retry::jitter()))
                .unwrap_or_default();
            let delay = retry_after.unwrap_or_default().max(backoff);
            if !delay.is_zero() {
                tracing::warn!(tenant = %self.tenant, delay = ?delay, "retrying inner requests of a Graph batch");
                tokio::time::sleep(delay).await;
            }
            queue = next_round;
        }
        Ok(())
    }

    /// The reads that go into one batch with `first`: same version, at most [`MAX_BATCH`],
    /// and no more reports-service requests than the budget holds. The others stay queued.
    fn take_chunk(
        &self,
        first: usize,
        queue: &mut VecDeque<usize>,
        reads: &[Read<'_>],
    ) -> Vec<usize> {
        let budget = self.reports.as_ref().map_or(usize::MAX, |p| p.capacity());
        let reports = |i: usize| usize::from(reads[i].get.endpoint.service == Service::Reports);
        let version = reads[first].version;
        let mut chunk = vec![first];
        let mut in_budget = reports(first);
        let mut rest = VecDeque::with_capacity(queue.len());
        while let Some(i) = queue.pop_front() {
            if chunk.len() < MAX_BATCH
                && reads[i].version == version
                && in_budget + reports(i) <= budget
            {
                in_budget += reports(i);
                chunk.push(i);
            } else {
                rest.push_back(i);
            }
        }
        *queue = rest;
        chunk
    }

    /// Handles one inner response: a page (handed on, its nextLink queued), a request to
    /// retry, or the error that ends the read.
    fn settle(&self, read: &mut Read<'_>, inner: Inner) -> Result<Outcome, GraphError> {
        let endpoint = read.get.endpoint;
        self.count_request(endpoint, status_label(inner.status));
        match inner.status {
            200..=299 => {
                let next = (read.get.on_page)(&inner.body).map_err(|e| GraphError::Decode {
                    endpoint: endpoint.path,
                    request_id: inner.request_id.clone(),
                    reason: super::describe_json_error(&e, &inner.body, &inner.content_type),
                })?;
                read.pages += 1;
                read.attempts = 0;
                if next.is_some() && read.pages as u64 >= self.options.max_pages {
                    return Err(GraphError::TooManyPages {
                        endpoint: endpoint.path,
                        pages: read.pages as u64,
                    });
                }
                read.next = match next {
                    None => String::new(),
                    Some(link) => self.relative_next(read, &link)?,
                };
                Ok(Outcome::Done)
            }
            429 | 503 | 504 | 424 => {
                let reason = if inner.status == 429 {
                    "throttled"
                } else {
                    "unavailable"
                };
                self.count_retry(endpoint, reason);
                tracing::info!(
                    tenant = %self.tenant, endpoint = endpoint.path, status = inner.status,
                    request_id = %inner.request_id, retry_after = ?inner.retry_after,
                    "inner request of a Graph batch will be retried"
                );
                Ok(Outcome::Retry(inner.retry_after, inner.status))
            }
            401 => {
                self.count_retry(endpoint, "unauthorized");
                Ok(Outcome::Unauthorized)
            }
            status => Err(error::api_error(
                endpoint.path,
                endpoint.permission,
                status,
                Some(inner.request_id).filter(|id| id != "-"),
                &inner.body,
            )),
        }
    }

    /// The inner `url` of the page `link` names: checked like a direct nextLink (same
    /// origin, not read before), then made relative to the version root.
    fn relative_next(&self, read: &mut Read<'_>, link: &str) -> Result<String, GraphError> {
        let endpoint = read.get.endpoint;
        let first = self.url(endpoint, &read.get.query)?;
        let next = self.resolve_next_link(endpoint, &first, link)?;
        let version_root = format!("{}{}/", self.root.path(), read.version);
        let Some(rest) = next.path().strip_prefix(&version_root) else {
            return Err(GraphError::Decode {
                endpoint: endpoint.path,
                request_id: "-".into(),
                reason: format!(
                    "@odata.nextLink {link:?} is outside the {} root, so it cannot be batched",
                    read.version
                ),
            });
        };
        if !read.seen.insert(next.clone()) {
            return Err(GraphError::PagingLoop {
                endpoint: endpoint.path,
                pages: read.pages,
            });
        }
        Ok(match next.query() {
            Some(q) => format!("/{rest}?{q}"),
            None => format!("/{rest}"),
        })
    }

    /// Sends one batch (`body`, with `requests` inner requests of which `reports` count
    /// against the reports budget), with the retries of a direct call for the batch itself;
    /// returns each inner request's response by position (None: missing).
    async fn send_batch(
        &self,
        version: &'static str,
        body: Bytes,
        requests: usize,
        reports: usize,
    ) -> Result<Vec<Option<Inner>>, GraphError> {
        let batch = if version == "beta" {
            &BATCH_BETA
        } else {
            &BATCH_V1
        };
        let url = self.url(batch, "")?;
        let (body, request_id, content_type) = self
            .send(batch, &url, reports, || {
                self.http
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        decode(
            batch,
            requests,
            &body,
            request_id,
            &content_type,
            self.options.max_retry_after,
        )
    }
}

/// One inner response, owned, with what the retry logic needs from its headers.
struct Inner {
    status: u16,
    /// The inner body's JSON text.
    body: Bytes,
    /// `Retry-After`, parsed and capped.
    retry_after: Option<Duration>,
    /// The inner `request-id`, or the batch's.
    request_id: String,
    /// The inner `Content-Type`, for error messages.
    content_type: String,
}

/// The §9 request body: one GET per URL, the ids being the positions.
fn batch_body(urls: &[&str]) -> Bytes {
    let requests: Vec<serde_json::Value> = urls
        .iter()
        .enumerate()
        .map(|(id, url)| serde_json::json!({"id": id.to_string(), "method": "GET", "url": url}))
        .collect();
    let body = serde_json::json!({ "requests": requests });
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

/// Splits `/beta/reports/x` into `("beta", "/reports/x")`.
fn split_version(path: &str) -> Option<(&'static str, &str)> {
    for version in ["v1.0", "beta"] {
        if let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(version)) {
            if rest.starts_with('/') {
                return Some((version, rest));
            }
        }
    }
    None
}

/// Decodes a batch body into each request's response, by id (§9: any order).
fn decode(
    batch: &'static Endpoint,
    requests: usize,
    body: &Bytes,
    request_id: String,
    content_type: &str,
    max_retry_after: Duration,
) -> Result<Vec<Option<Inner>>, GraphError> {
    let parsed: BatchResponse<'_> =
        serde_json::from_slice(body).map_err(|e| GraphError::Decode {
            endpoint: batch.path,
            request_id: request_id.clone(),
            reason: super::describe_json_error(&e, body, content_type),
        })?;
    let mut out: Vec<Option<Inner>> = (0..requests).map(|_| None).collect();
    for r in parsed.responses {
        let Some(slot) = r.id.parse::<usize>().ok().and_then(|i| out.get_mut(i)) else {
            continue;
        };
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.text())
        };
        *slot = Some(Inner {
            status: r.status,
            // A view into the batch body, not a copy.
            body: r
                .body
                .map(|b| body.slice_ref(b.get().as_bytes()))
                .unwrap_or_default(),
            retry_after: header("retry-after")
                .and_then(|v| retry::parse_retry_after(&v, max_retry_after)),
            request_id: header("request-id").unwrap_or_else(|| request_id.clone()),
            content_type: header("content-type").unwrap_or_else(|| "none".into()),
        });
    }
    Ok(out)
}
