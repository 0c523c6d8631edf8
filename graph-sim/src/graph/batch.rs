//! JSON batching, `POST /{v1.0|beta}/$batch` (reference §9).
//!
//! The batch parses or fails as a whole (400, the over-limit status of
//! [`crate::Quirks::batch_over_limit_status`]); once it parses the answer is 200 whatever the
//! inner requests did. Each inner request goes through the same steps as a direct call —
//! route match, fault rules of its route, bearer token, roles, the reports budget and the
//! directory bucket, the handler — so an inner request can come back 429 with its own
//! `Retry-After` while its siblings succeed (§9 "Throttling inside a batch"), and it is
//! logged as a request of its own route, marked with the batch it came in.
//!
//! The bearer token is checked once, when the batch arrives
//! ([`crate::Quirks::batch_envelope_authenticates`]; with it off, on each inner request
//! instead), so a token that expires while a long batch is served does not fail its last
//! requests.
//!
//! `dependsOn` is honoured: a request runs after the ones it names, and answers 424 Failed
//! Dependency when one of them failed (§9). Responses come back in reverse order by default
//! ([`crate::Quirks::batch_reverse_responses`]), since §9 says they may come in any order.
//! Fault rules of an inner route act on the inner request: `status`, `throttle`, `latency`,
//! `revoke`, `wrongshape` and `nextlink` as on a direct call; the faults that break the
//! transport or the JSON (`malformed`, `truncated`, `drop`, `slow`, `html`, `huge`) cannot
//! happen to one part of a JSON body and are ignored there (inject them on `batch`).

use std::collections::{HashMap, HashSet};

use axum::http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::errors::GraphError;
use crate::faults::FaultKind;
use crate::reply::Reply;
use crate::routes::{self, PathMatch, Verb};
use crate::server::{percent_decode, Ctx, RequestRecord};

/// The request body of §9.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    /// The inner requests.
    requests: Vec<InnerRequest>,
}

/// One inner request of §9.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InnerRequest {
    /// Unique within the batch; responses are correlated by it.
    id: Option<Value>,
    /// HTTP method.
    method: Option<String>,
    /// URL relative to the version root of the batch, leading `/` optional.
    url: Option<String>,
    /// Request headers; required (with `Content-Type`) when `body` is present.
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    /// Request body.
    #[serde(default)]
    body: Option<Value>,
    /// Ids of requests that must run (and succeed) first.
    #[serde(default)]
    depends_on: Option<Vec<Value>>,
}

/// A validated inner request.
struct Item {
    /// Its id.
    id: String,
    /// Its method.
    method: Method,
    /// Its URL, as sent.
    url: String,
    /// Its headers.
    headers: Vec<(String, String)>,
    /// Its body, serialised.
    body: Vec<u8>,
    /// Ids it depends on.
    depends_on: Vec<String>,
}

/// A 400 for a batch that does not parse (§9: "400 if the batch itself is malformed"; the
/// wording is the simulator's).
fn malformed(detail: impl std::fmt::Display) -> GraphError {
    GraphError::new(
        400,
        "BadRequest",
        format!("Invalid batch payload: {detail}"),
    )
}

/// Answers a `$batch` request.
pub(crate) async fn serve(ctx: &Ctx<'_>) -> Reply {
    match run(ctx).await {
        Ok(reply) => reply,
        Err(e) => e.to_reply(ctx.request_id, ctx.client_request_id),
    }
}

/// [`serve`], with the batch-level errors as values.
async fn run(ctx: &Ctx<'_>) -> Result<Reply, GraphError> {
    if *ctx.method != Method::POST {
        return Err(GraphError::new(
            405,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request uri.",
        ));
    }
    let quirks = &ctx.sim.config.quirks;
    let claims = if quirks.batch_envelope_authenticates {
        Some(super::authenticate(ctx)?)
    } else {
        None
    };
    let items = parse(
        ctx.body,
        quirks.batch_max_requests,
        quirks.batch_over_limit_status,
    )?;
    let order = execution_order(&items)?;
    let version = ctx.param("version");
    let mut status_of: HashMap<&str, u16> = HashMap::new();
    let mut responses: Vec<(usize, Vec<u8>)> = Vec::with_capacity(items.len());
    for index in order {
        let item = &items[index];
        let failed_dependency = item
            .depends_on
            .iter()
            .any(|d| status_of.get(d.as_str()).is_none_or(|s| *s >= 400));
        let (status, response) = if failed_dependency {
            let e = GraphError::new(
                424,
                "FailedDependency",
                "A request this request depends on failed.",
            );
            inner_response(
                ctx,
                item,
                &e.to_reply(ctx.request_id, ctx.client_request_id),
            )
        } else {
            let reply = execute(ctx, version, item, claims.as_ref()).await;
            inner_response(ctx, item, &reply)
        };
        status_of.insert(item.id.as_str(), status);
        responses.push((index, response));
    }
    responses.sort_by_key(|(index, _)| *index);
    if quirks.batch_reverse_responses {
        responses.reverse();
    }
    // Assembled by hand: the inner bodies are already JSON and are copied in as they are,
    // never parsed into values and written out again (a batch of user-insight pages is
    // megabytes).
    let mut body = Vec::with_capacity(responses.iter().map(|(_, r)| r.len()).sum::<usize>() + 16);
    body.extend_from_slice(b"{\"responses\":[");
    for (n, (_, response)) in responses.iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        body.extend_from_slice(response);
    }
    body.extend_from_slice(b"]}");
    Ok(Reply::new(StatusCode::OK, "application/json", body))
}

/// Validates the body: JSON of the §9 shape, 1 to `max` requests with unique ids, a method
/// and a URL each, `headers` with `Content-Type` wherever there is a `body`, and `dependsOn`
/// naming ids of the same batch.
fn parse(body: &[u8], max: usize, over_limit_status: u16) -> Result<Vec<Item>, GraphError> {
    let parsed: BatchBody = serde_json::from_slice(body).map_err(malformed)?;
    if parsed.requests.is_empty() {
        return Err(malformed("the batch contains no requests"));
    }
    if parsed.requests.len() > max {
        return Err(GraphError::new(
            over_limit_status,
            "BadRequest",
            format!(
                "The batch contains {} requests; the maximum is {max}.",
                parsed.requests.len()
            ),
        ));
    }
    let mut items = Vec::with_capacity(parsed.requests.len());
    let mut ids = HashSet::new();
    for (n, r) in parsed.requests.into_iter().enumerate() {
        let id = match r.id {
            Some(Value::String(s)) if !s.is_empty() => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(malformed(format!("request {n} has no id"))),
        };
        if !ids.insert(id.clone()) {
            return Err(malformed(format!("the id '{id}' is used more than once")));
        }
        let method = r
            .method
            .filter(|m| !m.is_empty())
            .ok_or_else(|| malformed(format!("request '{id}' has no method")))?;
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| malformed(format!("request '{id}' has an invalid method")))?;
        let url = r
            .url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| malformed(format!("request '{id}' has no url")))?;
        let headers: Vec<(String, String)> = r
            .headers
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect();
        let body = match r.body {
            Some(body) => {
                if !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                {
                    return Err(malformed(format!(
                        "request '{id}' has a body but no Content-Type header"
                    )));
                }
                serde_json::to_vec(&body).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let depends_on = r
            .depends_on
            .unwrap_or_default()
            .into_iter()
            .map(|d| match d {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect();
        items.push(Item {
            id,
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    for item in &items {
        if let Some(unknown) = item.depends_on.iter().find(|d| !ids.contains(d.as_str())) {
            return Err(malformed(format!(
                "request '{}' depends on '{unknown}', which is not in the batch",
                item.id
            )));
        }
    }
    Ok(items)
}

/// Request order, each request after the ones it depends on; 400 on a dependency cycle.
fn execution_order(items: &[Item]) -> Result<Vec<usize>, GraphError> {
    let mut done: HashSet<&str> = HashSet::new();
    let mut order = Vec::with_capacity(items.len());
    while order.len() < items.len() {
        let before = order.len();
        for (i, item) in items.iter().enumerate() {
            if !done.contains(item.id.as_str())
                && item.depends_on.iter().all(|d| done.contains(d.as_str()))
            {
                done.insert(item.id.as_str());
                order.push(i);
            }
        }
        if order.len() == before {
            return Err(malformed("the dependsOn references form a cycle"));
        }
    }
    Ok(order)
}

/// The path and query of an inner URL under `version`, or why it is refused.
fn inner_target(ctx: &Ctx<'_>, version: &str, url: &str) -> Result<String, GraphError> {
    let relative = if url.starts_with("http://") || url.starts_with("https://") {
        if !ctx.sim.config.quirks.batch_accepts_absolute_urls {
            return Err(GraphError::new(
                400,
                "BadRequest",
                format!(
                    "Invalid request URL '{url}': batch request URLs are relative to /{version}."
                ),
            ));
        }
        let parsed = url::Url::parse(url)
            .map_err(|e| GraphError::new(400, "BadRequest", format!("Invalid request URL: {e}")))?;
        let path = parsed.path();
        let rest = path
            .strip_prefix(&format!("/{version}"))
            .filter(|r| r.is_empty() || r.starts_with('/'))
            .ok_or_else(|| {
                GraphError::new(
                    400,
                    "BadRequest",
                    format!("Invalid request URL '{url}': not under /{version}."),
                )
            })?;
        match parsed.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_owned(),
        }
    } else {
        url.to_owned()
    };
    let relative = relative.trim_start_matches('/');
    Ok(format!("/{version}/{relative}"))
}

/// Runs one inner request through the pipeline of a direct call and logs it.
async fn execute(
    ctx: &Ctx<'_>,
    version: &str,
    item: &Item,
    claims: Option<&crate::token::Claims>,
) -> Reply {
    let at = std::time::SystemTime::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let client_request_id_sent = item
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("client-request-id"))
        .map(|(_, v)| v.clone());
    let client_request_id = client_request_id_sent
        .clone()
        .unwrap_or_else(|| request_id.clone());
    let (route_name, path_and_query, reply) = match inner_target(ctx, version, &item.url) {
        Err(e) => (
            routes::UNKNOWN_ROUTE,
            item.url.clone(),
            e.to_reply(&request_id, &client_request_id),
        ),
        Ok(path_and_query) => {
            let (reply, name) = dispatch(
                ctx,
                item,
                &path_and_query,
                &request_id,
                &client_request_id,
                claims,
            )
            .await;
            (name, path_and_query, reply)
        }
    };
    ctx.sim.record(RequestRecord {
        route: route_name.to_owned(),
        method: item.method.to_string(),
        path_and_query,
        status: reply.status.as_u16(),
        at,
        client_request_id: client_request_id_sent,
        had_bearer: ctx.headers.contains_key(AUTHORIZATION),
        in_batch: Some(ctx.request_id.to_owned()),
        body_bytes: reply.body.len() as u64,
    });
    reply
}

/// Matches, applies the route's faults and handles one inner request; returns the reply and
/// the route name it was logged under.
async fn dispatch(
    ctx: &Ctx<'_>,
    item: &Item,
    path_and_query: &str,
    request_id: &str,
    client_request_id: &str,
    claims: Option<&crate::token::Claims>,
) -> (Reply, &'static str) {
    let (path, raw_query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect();
    let verb = match item.method {
        Method::GET => Some(Verb::Get),
        Method::POST => Some(Verb::Post),
        _ => None,
    };
    let sim = ctx.sim;
    let matched = routes::match_path(&segments, verb, sim.config.quirks.case_insensitive_paths);
    let name = matched.name();
    let plan = sim.faults.plan(name);
    if !plan.latency.is_zero() {
        tokio::time::sleep(plan.latency).await;
    }
    if plan.revoke {
        sim.tokens.rotate();
    }
    // The batch's own headers (the bearer token, Host) carry over; the inner ones add to them.
    let mut headers: HeaderMap = ctx.headers.clone();
    headers.remove(CONTENT_TYPE);
    headers.remove(CONTENT_LENGTH);
    for (k, v) in &item.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(name, value);
        }
    }
    let params = match &matched {
        PathMatch::Found { params, .. } => params.clone(),
        _ => Vec::new(),
    };
    let inner = Ctx {
        sim,
        method: &item.method,
        params,
        raw_query,
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        headers: &headers,
        body: &item.body,
        request_id,
        client_request_id,
        client_request_id_sent: None,
        clock_skew: plan.clock_skew,
        // A revoke fault on the inner route is meant to make this request's token fail.
        batch_claims: claims.filter(|_| !plan.revoke).cloned(),
    };
    let error = |e: GraphError| e.to_reply(request_id, client_request_id);
    let reply = match plan.action {
        Some(FaultKind::Status(status)) => error(GraphError::for_status(status)),
        Some(FaultKind::Throttle { retry_after }) => {
            let mut reply = error(GraphError::too_many_requests(None));
            if let Some(value) = retry_after {
                reply.header(axum::http::header::RETRY_AFTER, &value);
            }
            reply
        }
        Some(FaultKind::WrongShape) => {
            crate::faults::wrong_shape(&sim.config.quirks.graph_content_type)
        }
        Some(FaultKind::NextLinkLoop) => {
            let own = format!("{}{path_and_query}", inner.origin());
            with_next_link(crate::server::dispatch(&inner, &matched), &own)
        }
        Some(FaultKind::NextLinkTo(link)) => {
            with_next_link(crate::server::dispatch(&inner, &matched), &link)
        }
        _ => crate::server::dispatch(&inner, &matched),
    };
    (reply, name)
}

/// `reply` with `@odata.nextLink` set to `link`, when its body is a JSON object.
fn with_next_link(mut reply: Reply, link: &str) -> Reply {
    if let Ok(Value::Object(mut page)) = serde_json::from_slice::<Value>(&reply.body) {
        page.insert("@odata.nextLink".to_owned(), Value::String(link.to_owned()));
        reply.body = serde_json::to_vec(&page).unwrap_or_default().into();
    }
    reply
}

/// The §9 response object of one inner request, serialised, and its status.
fn inner_response(ctx: &Ctx<'_>, item: &Item, reply: &Reply) -> (u16, Vec<u8>) {
    let status = reply.status.as_u16();
    let mut headers = Map::new();
    for (name, value) in &reply.headers {
        let Ok(text) = value.to_str() else { continue };
        let key = if *name == axum::http::header::RETRY_AFTER {
            if ctx.sim.config.quirks.batch_retry_after_as_number {
                if let Ok(n) = text.trim().parse::<f64>() {
                    headers.insert("Retry-After".to_owned(), json!(n));
                    continue;
                }
            }
            "Retry-After".to_owned()
        } else {
            name.as_str().to_owned()
        };
        headers.insert(key, Value::String(text.to_owned()));
    }
    headers.insert(
        "Content-Type".to_owned(),
        Value::String(reply.content_type.clone()),
    );
    let head = json!({ "id": item.id, "status": status, "headers": headers });
    let mut out = serde_json::to_vec(&head).unwrap_or_default();
    // Replace the closing brace with the body member. JSON bodies go in as they are; anything
    // else (`$count`'s text/plain) as a string.
    out.pop();
    out.extend_from_slice(b",\"body\":");
    let is_json = reply.content_type.contains("json")
        && serde_json::from_slice::<serde::de::IgnoredAny>(&reply.body).is_ok();
    if is_json {
        out.extend_from_slice(&reply.body);
    } else if reply.body.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        let text = String::from_utf8_lossy(&reply.body);
        out.extend_from_slice(&serde_json::to_vec(&text).unwrap_or_default());
    }
    out.push(b'}');
    (status, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(body: &str) -> Result<Vec<Item>, GraphError> {
        parse(body.as_bytes(), 20, 400)
    }

    #[test]
    fn malformed_batches_are_refused_as_a_whole() {
        for (body, needle) in [
            ("not json", "Invalid batch payload"),
            ("{}", "requests"),
            (r#"{"requests":[]}"#, "no requests"),
            (r#"{"requests":[{"method":"GET","url":"/a"}]}"#, "no id"),
            (r#"{"requests":[{"id":"1","url":"/a"}]}"#, "no method"),
            (r#"{"requests":[{"id":"1","method":"GET"}]}"#, "no url"),
            (
                r#"{"requests":[{"id":"1","method":"GET","url":"/a"},{"id":"1","method":"GET","url":"/b"}]}"#,
                "more than once",
            ),
            (
                r#"{"requests":[{"id":"1","method":"POST","url":"/a","body":{}}]}"#,
                "Content-Type",
            ),
            (
                r#"{"requests":[{"id":"1","method":"GET","url":"/a","dependsOn":["9"]}]}"#,
                "not in the batch",
            ),
        ] {
            let e = items(body).err().unwrap_or_else(|| panic!("{body} parsed"));
            assert_eq!(e.status, 400, "{body}");
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
    }

    #[test]
    fn more_than_the_limit_is_refused_with_the_configured_status() {
        let requests: Vec<String> = (0..21)
            .map(|i| format!(r#"{{"id":"{i}","method":"GET","url":"/a"}}"#))
            .collect();
        let body = format!(r#"{{"requests":[{}]}}"#, requests.join(","));
        let e = parse(body.as_bytes(), 20, 413).err().unwrap();
        assert_eq!(e.status, 413);
        assert!(e.message.contains("maximum is 20"), "{}", e.message);
        assert!(parse(body.as_bytes(), 21, 400).is_ok());
    }

    #[test]
    fn dependencies_run_first_and_cycles_are_refused() {
        let list = items(
            r#"{"requests":[
                {"id":"a","method":"GET","url":"/x","dependsOn":["b"]},
                {"id":"b","method":"GET","url":"/y"},
                {"id":"c","method":"GET","url":"/z","dependsOn":["a","b"]}]}"#,
        )
        .unwrap();
        assert_eq!(execution_order(&list).unwrap(), vec![1, 0, 2]);
        let cycle = items(
            r#"{"requests":[
                {"id":"a","method":"GET","url":"/x","dependsOn":["b"]},
                {"id":"b","method":"GET","url":"/y","dependsOn":["a"]}]}"#,
        )
        .unwrap();
        assert!(execution_order(&cycle).is_err());
    }
}
