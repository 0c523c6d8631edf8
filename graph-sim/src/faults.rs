//! Fault injection: rules that make a route fail (or slow down) before it is handled normally.
//!
//! A rule names a route ("token", "applications", "servicePrincipals", … or "*" for all), a
//! fault, how many matching requests to let through first (`skip`) and how many to break
//! (`times`, forever when absent). Rules are checked in the order they were injected.
//!
//! # CLI syntax (`--fault`, [`FaultRule::from_str`])
//!
//! `ROUTE:FAULT[:skip=N][:times=N]`, options in any order after the route, where FAULT is one of
//!
//! | FAULT | effect |
//! |---|---|
//! | `status=N` | error with status N (400–599): a Graph error body (§10.1), or on `token` an AADSTS body (§11.4) |
//! | `throttle` | 429 without `Retry-After` |
//! | `throttle=VALUE` | 429 with `Retry-After: VALUE` verbatim (`2.5`, `garbage`, `-1` …; no `:` inside) |
//! | `latency=DURATION` | wait (humantime: `500ms`, `2s`), then carry on normally |
//! | `malformed` | 200 with a body that is not JSON |
//! | `truncated` | the real response with its body cut in half |
//! | `drop` | the real headers and half the body, then the connection is dropped |
//! | `slow=DURATION` | slow-loris: the real headers at once, then the body in [`SLOW_BODY_CHUNK`]-byte pieces, DURATION apart |
//! | `html` | 200 with `Content-Type: text/html` and an HTML error page, as a captive portal or a misconfigured proxy sends |
//! | `wrongshape` | 200 with valid JSON of the wrong shape: `value` is an object where a collection's array belongs |
//! | `huge=SIZE` | 200 with a chunked body (no `Content-Length`) of SIZE bytes (`1048576`, `512KiB`, `1GiB`), generated while it is sent and never held in memory: a collection page whose `value` array goes on and on; [`FaultControl::streamed_bytes`] counts what was handed to the connection |
//! | `nextlink=self` | the real response with `@odata.nextLink` pointing at the request's own URL: a paging loop |
//! | `nextlink=URL` | the real response with `@odata.nextLink` set to URL (absolute `http(s)`), e.g. another host; must come last, since a URL contains `:` |
//! | `revoke` | rotates the token signing key (as [`crate::SimHandle::revoke_tokens`]), then carries on normally: this request's token and every earlier one get 401 |
//! | `skew=[+-]DURATION` | on `token`: tokens are issued by a clock DURATION ahead (`+`, the default) or behind (`-`) the host's; their `iat`/`nbf`/`exp` are shifted, and Graph validates them against the same shifted clock, as Microsoft's services agree with each other while the client's clock is off. Carries on normally; no effect on other routes |
//!
//! `latency`, `revoke` and `skew` do not end the evaluation: later rules may still fire on the
//! same request. Body faults (`truncated`, `drop`, `slow`, `nextlink`) rewrite the real
//! response, so authentication and throttling still apply; the others replace it.
//! The managed identity listeners understand `status`, `throttle`, `latency`, `malformed`,
//! `truncated` and `drop`; other faults are ignored there.
//!
//! Examples: `applications:status=503:times=3`, `*:throttle=2.5`, `token:latency=500ms`,
//! `servicePrincipals:malformed`, `applications:truncated:skip=1`, `applications:drop`,
//! `applications:slow=200ms`, `applications:huge=1GiB`, `applications:nextlink=self`,
//! `applications:times=1:nextlink=http://127.0.0.1:9/v1.0/applications`,
//! `applications:revoke:skip=1:times=1`, `token:skew=-10m`.

use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{Response, StatusCode};
use bytes::Bytes;

use crate::reply::Reply;
use crate::routes;

/// Size of each piece of a `SlowBody` fault's body.
pub const SLOW_BODY_CHUNK: usize = 64;

/// Size of each piece of a `HugeBody` fault's body; generated one at a time.
const HUGE_BODY_CHUNK: usize = 64 * 1024;

/// What a fault does to a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Fail with this status and the route's error body shape.
    Status(u16),
    /// 429 `TooManyRequests` (§10.2); `Retry-After` is sent verbatim when `Some`.
    Throttle {
        /// The `Retry-After` header value, unparsed, so tests can send nonsense.
        retry_after: Option<String>,
    },
    /// Delay the request, then handle it normally (other rules may still apply).
    Latency(Duration),
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// The real response with its body cut in half.
    TruncatedJson,
    /// The real headers and half of the body, then the connection is dropped.
    DropMidBody,
    /// Slow-loris: the real headers at once, then the body in [`SLOW_BODY_CHUNK`]-byte pieces
    /// this far apart.
    SlowBody(Duration),
    /// 200 with an HTML error page labelled `text/html` (a captive portal, a proxy).
    HtmlOk,
    /// 200 with valid JSON of the wrong shape: `value` is an object, not an array.
    WrongShape,
    /// 200 with a chunked body of this many bytes, generated as it is sent.
    HugeBody(u64),
    /// The real response with `@odata.nextLink` pointing at the request's own URL.
    NextLinkLoop,
    /// The real response with `@odata.nextLink` set to this absolute URL.
    NextLinkTo(String),
    /// Rotate the token signing key, then handle the request normally (it gets 401).
    RevokeTokens,
    /// On the token route: issue tokens by a clock this many seconds ahead (positive) or
    /// behind (negative) the host's; Graph validates them against the same clock.
    ClockSkew(i64),
}

/// One fault-injection rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// Route name the rule applies to, or `"*"` for every route.
    pub route: String,
    /// The fault.
    pub kind: FaultKind,
    /// Matching requests to let through untouched before the fault starts.
    pub skip: u32,
    /// Matching requests to break; `None` = forever.
    pub times: Option<u32>,
}

impl FaultRule {
    /// A rule that breaks every request to `route` with `kind`.
    pub fn new(route: impl Into<String>, kind: FaultKind) -> Self {
        Self {
            route: route.into(),
            kind,
            skip: 0,
            times: None,
        }
    }

    /// The same rule, letting `n` matching requests through first.
    pub fn skip(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    /// The same rule, breaking only `n` requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    /// Whether the rule applies to route `name`.
    fn matches(&self, name: &str) -> bool {
        self.route == "*" || self.route == name
    }
}

/// The fault kinds, as error messages list them.
const FAULTS: &str = "status=N, throttle[=VALUE], latency=DURATION, malformed, truncated, drop, slow=DURATION, html, wrongshape, huge=SIZE, nextlink=self|URL, revoke, skew=[+-]DURATION";

/// Why a `--fault` value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultParseError {
    /// The value was empty or had no route.
    #[error("fault rule is empty; expected ROUTE:FAULT[:skip=N][:times=N], e.g. applications:status=503")]
    Empty,
    /// The route is neither `*` nor a route the simulator serves.
    #[error("unknown route '{route}' in fault rule; use '*' or one of: {known}")]
    UnknownRoute {
        /// The route given.
        route: String,
        /// Comma-separated list of valid route names.
        known: String,
    },
    /// No fault kind was given.
    #[error("fault rule '{0}' names no fault; add one of {FAULTS}")]
    MissingFault(String),
    /// Two fault kinds were given.
    #[error("fault rule '{0}' names more than one fault; use one rule per fault")]
    DuplicateFault(String),
    /// An option was not recognised.
    #[error("unknown option '{0}' in fault rule; expected one of {FAULTS}, skip=N or times=N")]
    UnknownOption(String),
    /// `status=` was not a number in 400..=599.
    #[error("invalid status '{0}' in fault rule; expected an HTTP error status 400..=599")]
    BadStatus(String),
    /// `skip=` or `times=` was not a non-negative integer.
    #[error(
        "invalid value '{value}' for '{option}' in fault rule; expected a non-negative integer"
    )]
    BadCount {
        /// `skip` or `times`.
        option: &'static str,
        /// The value given.
        value: String,
    },
    /// `latency=` was not a humantime duration.
    #[error("invalid latency '{0}' in fault rule; expected a duration such as 500ms or 2s")]
    BadLatency(String),
    /// `slow=` was not a humantime duration.
    #[error("invalid delay '{0}' for 'slow' in fault rule; expected a duration such as 100ms")]
    BadSlow(String),
    /// `huge=` was not a size.
    #[error("invalid size '{0}' for 'huge' in fault rule; expected bytes with an optional KiB, MiB or GiB suffix, e.g. 1GiB")]
    BadSize(String),
    /// `nextlink=` was neither `self` nor an absolute http(s) URL.
    #[error("invalid nextlink '{0}' in fault rule; expected 'self' or an absolute http(s) URL, as the last option")]
    BadNextLink(String),
    /// `skew=` was not a signed humantime duration.
    #[error("invalid skew '{0}' in fault rule; expected a duration with an optional sign, such as +10m or -10m")]
    BadSkew(String),
}

impl FromStr for FaultRule {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let route = parts.first().copied().unwrap_or_default().trim();
        if route.is_empty() {
            return Err(FaultParseError::Empty);
        }
        if route != "*" && !routes::route_names().any(|n| n == route) {
            return Err(FaultParseError::UnknownRoute {
                route: route.to_owned(),
                known: routes::route_names().collect::<Vec<_>>().join(", "),
            });
        }
        let mut kind = None;
        let mut skip = 0;
        let mut times = None;
        for (i, part) in parts.iter().enumerate().skip(1) {
            let part = part.trim();
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v)),
                None => (part, None),
            };
            let mut last = false;
            let parsed = match (key, value) {
                ("status", Some(v)) => {
                    let code: u16 = v
                        .trim()
                        .parse()
                        .map_err(|_| FaultParseError::BadStatus(v.to_owned()))?;
                    if !(400..=599).contains(&code) {
                        return Err(FaultParseError::BadStatus(v.to_owned()));
                    }
                    FaultKind::Status(code)
                }
                ("throttle", v) => FaultKind::Throttle {
                    retry_after: v.map(str::to_owned),
                },
                ("latency", Some(v)) => FaultKind::Latency(
                    humantime::parse_duration(v.trim())
                        .map_err(|_| FaultParseError::BadLatency(v.to_owned()))?,
                ),
                ("malformed", None) => FaultKind::MalformedJson,
                ("truncated", None) => FaultKind::TruncatedJson,
                ("drop", None) => FaultKind::DropMidBody,
                ("slow", Some(v)) => FaultKind::SlowBody(
                    humantime::parse_duration(v.trim())
                        .map_err(|_| FaultParseError::BadSlow(v.to_owned()))?,
                ),
                ("html", None) => FaultKind::HtmlOk,
                ("wrongshape", None) => FaultKind::WrongShape,
                ("huge", Some(v)) => FaultKind::HugeBody(
                    parse_size(v).ok_or_else(|| FaultParseError::BadSize(v.to_owned()))?,
                ),
                ("nextlink", Some(v)) if v.trim() == "self" => FaultKind::NextLinkLoop,
                ("nextlink", Some(_)) => {
                    // A URL contains ':', so the link is everything after `nextlink=`.
                    last = true;
                    let rest = parts[i..].join(":");
                    let link = rest.trim_start().trim_start_matches("nextlink=").trim();
                    parse_next_link(link)?
                }
                ("revoke", None) => FaultKind::RevokeTokens,
                ("skew", Some(v)) => FaultKind::ClockSkew(
                    parse_skew(v).ok_or_else(|| FaultParseError::BadSkew(v.to_owned()))?,
                ),
                ("skip", Some(v)) => {
                    skip = parse_count("skip", v)?;
                    continue;
                }
                ("times", Some(v)) => {
                    times = Some(parse_count("times", v)?);
                    continue;
                }
                _ => return Err(FaultParseError::UnknownOption(part.to_owned())),
            };
            if kind.replace(parsed).is_some() {
                return Err(FaultParseError::DuplicateFault(s.to_owned()));
            }
            if last {
                break;
            }
        }
        let kind = kind.ok_or_else(|| FaultParseError::MissingFault(s.to_owned()))?;
        Ok(Self {
            route: route.to_owned(),
            kind,
            skip,
            times,
        })
    }
}

/// Parses `huge=`: bytes, with an optional binary suffix.
fn parse_size(value: &str) -> Option<u64> {
    let value = value.trim();
    let digits = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let unit: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(unit)
}

/// Writes a size the way [`parse_size`] reads it, with the largest exact suffix.
fn format_size(bytes: u64) -> String {
    for (unit, suffix) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= unit && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

/// Parses `nextlink=URL`: an absolute http(s) URL.
fn parse_next_link(link: &str) -> Result<FaultKind, FaultParseError> {
    match url::Url::parse(link) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(FaultKind::NextLinkTo(link.to_owned()))
        }
        _ => Err(FaultParseError::BadNextLink(link.to_owned())),
    }
}

/// Parses `skew=`: a humantime duration with an optional sign, in whole seconds.
fn parse_skew(value: &str) -> Option<i64> {
    let value = value.trim();
    let (sign, magnitude) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let seconds =
        i64::try_from(humantime::parse_duration(magnitude.trim()).ok()?.as_secs()).ok()?;
    Some(sign * seconds)
}

/// Parses a `skip=`/`times=` count.
fn parse_count(option: &'static str, value: &str) -> Result<u32, FaultParseError> {
    value.trim().parse().map_err(|_| FaultParseError::BadCount {
        option,
        value: value.to_owned(),
    })
}

impl fmt::Display for FaultRule {
    /// Writes the rule in the CLI syntax, so that `to_string().parse()` round-trips.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.route)?;
        if !matches!(self.kind, FaultKind::NextLinkTo(_)) {
            f.write_str(":")?;
        }
        match &self.kind {
            FaultKind::Status(code) => write!(f, "status={code}")?,
            FaultKind::Throttle { retry_after: None } => f.write_str("throttle")?,
            FaultKind::Throttle {
                retry_after: Some(v),
            } => write!(f, "throttle={v}")?,
            FaultKind::Latency(d) => write!(f, "latency={}", humantime::format_duration(*d))?,
            FaultKind::MalformedJson => f.write_str("malformed")?,
            FaultKind::TruncatedJson => f.write_str("truncated")?,
            FaultKind::DropMidBody => f.write_str("drop")?,
            FaultKind::SlowBody(d) => write!(f, "slow={}", humantime::format_duration(*d))?,
            FaultKind::HtmlOk => f.write_str("html")?,
            FaultKind::WrongShape => f.write_str("wrongshape")?,
            FaultKind::HugeBody(bytes) => write!(f, "huge={}", format_size(*bytes))?,
            FaultKind::NextLinkLoop => f.write_str("nextlink=self")?,
            // The URL goes last (below): it contains ':'.
            FaultKind::NextLinkTo(_) => {}
            FaultKind::RevokeTokens => f.write_str("revoke")?,
            FaultKind::ClockSkew(seconds) => write!(
                f,
                "skew={}{}",
                if *seconds < 0 { '-' } else { '+' },
                humantime::format_duration(Duration::from_secs(seconds.unsigned_abs()))
            )?,
        }
        if self.skip > 0 {
            write!(f, ":skip={}", self.skip)?;
        }
        if let Some(times) = self.times {
            write!(f, ":times={times}")?;
        }
        if let FaultKind::NextLinkTo(url) = &self.kind {
            write!(f, ":nextlink={url}")?;
        }
        Ok(())
    }
}

/// What the active rules do to one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    /// Total delay from `Latency` rules that fired.
    pub latency: Duration,
    /// Whether a `RevokeTokens` rule fired: rotate the signing key before handling.
    pub revoke: bool,
    /// Clock offset from `ClockSkew` rules that fired (the last one wins), in seconds.
    pub clock_skew: i64,
    /// The first fault that fired and ends the evaluation, if any.
    pub action: Option<FaultKind>,
}

/// The live set of fault rules of a running simulator.
#[derive(Debug, Default)]
pub struct FaultControl {
    /// Rules in injection order, with `skip`/`times` counting down as requests match.
    rules: Mutex<Vec<FaultRule>>,
    /// Body bytes `HugeBody` faults handed to their connections; shared with the tasks
    /// that generate the bodies.
    streamed: Arc<AtomicU64>,
}

impl FaultControl {
    /// A control holding `rules`.
    pub(crate) fn new(rules: Vec<FaultRule>) -> Self {
        Self {
            rules: Mutex::new(rules),
            streamed: Arc::default(),
        }
    }

    /// Body bytes that `HugeBody` faults have handed to their connections so far. A client
    /// that stops reading at its limit keeps this near the limit (plus socket buffers); one
    /// that reads everything drives it to the fault's full size.
    pub fn streamed_bytes(&self) -> u64 {
        self.streamed.load(Ordering::Relaxed)
    }

    /// Adds a rule after the existing ones.
    pub fn inject(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The rules still active, with their remaining `skip` and `times`.
    pub fn active(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    /// Locks the rules; a panic elsewhere must not disable fault injection.
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Decides what happens to one request to route `name`, counting it against every rule it
    /// reaches: a rule still skipping consumes one skip and lets the request on to the next
    /// rule; a latency, revoke or skew rule adds its effect and does the same; the first other
    /// rule that fires ends the evaluation. Exhausted rules are removed.
    pub(crate) fn plan(&self, name: &str) -> FaultPlan {
        let mut plan = FaultPlan::default();
        let mut rules = self.lock();
        for rule in rules.iter_mut() {
            if !rule.matches(name) || rule.times == Some(0) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            if let Some(t) = rule.times.as_mut() {
                *t -= 1;
            }
            match rule.kind {
                FaultKind::Latency(d) => plan.latency = plan.latency.saturating_add(d),
                FaultKind::RevokeTokens => plan.revoke = true,
                FaultKind::ClockSkew(seconds) => plan.clock_skew = seconds,
                _ => {
                    plan.action = Some(rule.kind.clone());
                    break;
                }
            }
        }
        rules.retain(|r| r.times != Some(0));
        plan
    }
}

impl FaultControl {
    /// The response of a `HugeBody(bytes)` fault: `head`'s status and headers, then a chunked
    /// body of about `bytes` bytes made one [`HUGE_BODY_CHUNK`] at a time, so the simulator
    /// holds one chunk however large the body. It is a collection page whose `value` array
    /// goes on and on, valid JSON if a client reads it to the end. The generator stops as soon
    /// as the client goes away; every chunk handed over is counted in
    /// [`FaultControl::streamed_bytes`].
    pub(crate) fn huge_body(&self, head: Reply, bytes: u64) -> Response<Body> {
        const PREFIX: &[u8] = br#"{"@odata.context":"graph-sim HugeBody fault","value":["#;
        const ITEM: &[u8] = br#"{"id":"00000000-0000-0000-0000-000000000000","displayName":"graph-sim HugeBody fault"},"#;
        const SUFFIX: &[u8] = b"{}]}";
        let chunk = Bytes::from(ITEM.repeat(HUGE_BODY_CHUNK / ITEM.len()));
        let streamed = Arc::clone(&self.streamed);
        let (mut sender, channel) = http_body_util::Channel::<Bytes, io::Error>::new(1);
        tokio::spawn(async move {
            let mut sent = 0u64;
            let mut next = Bytes::from_static(PREFIX);
            loop {
                let len = next.len() as u64;
                let last = next.as_ref() == SUFFIX;
                if sender.send_data(next).await.is_err() {
                    return; // the client hung up
                }
                streamed.fetch_add(len, Ordering::Relaxed);
                sent += len;
                if last {
                    return;
                }
                next = if sent + chunk.len() as u64 + SUFFIX.len() as u64 > bytes {
                    Bytes::from_static(SUFFIX)
                } else {
                    chunk.clone()
                };
            }
        });
        head.into_response_with(Body::new(channel))
    }
}

/// The reply of an `HtmlOk` fault: the error page a captive portal or a proxy sends, with a
/// 200 and its own content type.
pub(crate) fn html_page() -> Reply {
    Reply::new(
        StatusCode::OK,
        "text/html; charset=utf-8",
        Bytes::from_static(
            b"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head><body><h1>Sorry, the page you requested is unavailable.</h1><p>graph-sim HtmlOk fault</p></body></html>\n",
        ),
    )
}

/// The reply of a `WrongShape` fault: valid JSON, labelled as the route's JSON, where
/// `value` is a single object instead of a collection's array (what an entity URL returns).
pub(crate) fn wrong_shape(content_type: &str) -> Reply {
    Reply::json(
        StatusCode::OK,
        content_type,
        &serde_json::json!({
            "@odata.context": "graph-sim WrongShape fault",
            "value": {"id": "00000000-0000-0000-0000-000000000000", "displayName": "not a collection"},
        }),
    )
}

/// `reply` with `@odata.nextLink` set to `link`, when it is a successful JSON object;
/// anything else (an error, a non-object) is left alone.
pub(crate) fn with_next_link(mut reply: Reply, link: &str) -> Reply {
    if !reply.status.is_success() {
        return reply;
    }
    let Ok(serde_json::Value::Object(mut page)) =
        serde_json::from_slice::<serde_json::Value>(&reply.body)
    else {
        return reply;
    };
    page.insert(
        "@odata.nextLink".to_owned(),
        serde_json::Value::String(link.to_owned()),
    );
    if let Ok(body) = serde_json::to_vec(&page) {
        reply.body = Bytes::from(body);
    }
    reply
}

/// The response of a `SlowBody(gap)` fault: `reply`'s headers at once (with the full
/// `Content-Length`), then its body in [`SLOW_BODY_CHUNK`]-byte pieces, `gap` apart.
pub(crate) fn slow_body(reply: Reply, gap: Duration) -> Response<Body> {
    let body = reply.body.clone();
    let (mut sender, channel) = http_body_util::Channel::<Bytes, io::Error>::new(1);
    tokio::spawn(async move {
        let mut start = 0;
        while start < body.len() {
            if start > 0 {
                tokio::time::sleep(gap).await;
            }
            let end = (start + SLOW_BODY_CHUNK).min(body.len());
            if sender.send_data(body.slice(start..end)).await.is_err() {
                return; // the client gave up
            }
            start = end;
        }
    });
    let full_len = reply.body.len();
    let mut response = reply.into_response_with(Body::new(channel));
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, full_len.into());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_examples() {
        let cases = [
            (
                "applications:status=503:times=3",
                FaultRule::new("applications", FaultKind::Status(503)).times(3),
            ),
            (
                "*:throttle=2.5",
                FaultRule::new(
                    "*",
                    FaultKind::Throttle {
                        retry_after: Some("2.5".into()),
                    },
                ),
            ),
            (
                "token:latency=500ms",
                FaultRule::new("token", FaultKind::Latency(Duration::from_millis(500))),
            ),
            (
                "servicePrincipals:malformed",
                FaultRule::new("servicePrincipals", FaultKind::MalformedJson),
            ),
            (
                "applications:truncated:skip=1",
                FaultRule::new("applications", FaultKind::TruncatedJson).skip(1),
            ),
            (
                "applications:drop",
                FaultRule::new("applications", FaultKind::DropMidBody),
            ),
            (
                "token:throttle",
                FaultRule::new("token", FaultKind::Throttle { retry_after: None }),
            ),
            (
                "applications:times=2:throttle=-1:skip=4",
                FaultRule::new(
                    "applications",
                    FaultKind::Throttle {
                        retry_after: Some("-1".into()),
                    },
                )
                .skip(4)
                .times(2),
            ),
            (
                "applications:slow=200ms",
                FaultRule::new(
                    "applications",
                    FaultKind::SlowBody(Duration::from_millis(200)),
                ),
            ),
            ("token:html", FaultRule::new("token", FaultKind::HtmlOk)),
            (
                "servicePrincipals:wrongshape:times=1",
                FaultRule::new("servicePrincipals", FaultKind::WrongShape).times(1),
            ),
            (
                "applications:huge=1GiB",
                FaultRule::new("applications", FaultKind::HugeBody(1 << 30)),
            ),
            (
                "applications:huge=1536KiB",
                FaultRule::new("applications", FaultKind::HugeBody(1536 << 10)),
            ),
            (
                "applications:huge=1000",
                FaultRule::new("applications", FaultKind::HugeBody(1000)),
            ),
            (
                "applications:nextlink=self",
                FaultRule::new("applications", FaultKind::NextLinkLoop),
            ),
            (
                "applications:nextlink=self:skip=2",
                FaultRule::new("applications", FaultKind::NextLinkLoop).skip(2),
            ),
            (
                "applications:times=1:nextlink=http://127.0.0.1:9/v1.0/applications?$skiptoken=a:b",
                FaultRule::new(
                    "applications",
                    FaultKind::NextLinkTo(
                        "http://127.0.0.1:9/v1.0/applications?$skiptoken=a:b".into(),
                    ),
                )
                .times(1),
            ),
            (
                "applications:revoke:skip=1:times=1",
                FaultRule::new("applications", FaultKind::RevokeTokens)
                    .skip(1)
                    .times(1),
            ),
            (
                "token:skew=-10m",
                FaultRule::new("token", FaultKind::ClockSkew(-600)),
            ),
            (
                "token:skew=+10m",
                FaultRule::new("token", FaultKind::ClockSkew(600)),
            ),
            (
                "token:skew=90s",
                FaultRule::new("token", FaultKind::ClockSkew(90)),
            ),
        ];
        for (text, expected) in cases {
            let parsed: FaultRule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string().parse::<FaultRule>(), Ok(expected));
        }
    }

    #[test]
    fn rejects_bad_rules_with_helpful_errors() {
        let bad = [
            ("", "empty"),
            ("applicatons:status=500", "unknown route 'applicatons'"),
            ("applications", "names no fault"),
            ("applications:status=200", "invalid status '200'"),
            ("applications:status=abc", "invalid status 'abc'"),
            ("applications:latency=fast", "invalid latency 'fast'"),
            (
                "applications:times=-1:drop",
                "invalid value '-1' for 'times'",
            ),
            ("applications:drop:malformed", "more than one fault"),
            ("applications:explode", "unknown option 'explode'"),
            (
                "applications:malformed=yes",
                "unknown option 'malformed=yes'",
            ),
            ("applications:slow=soon", "invalid delay 'soon'"),
            ("applications:huge=1TB", "invalid size '1TB'"),
            ("applications:huge=", "invalid size ''"),
            (
                "applications:nextlink=elsewhere",
                "invalid nextlink 'elsewhere'",
            ),
            ("applications:nextlink=ftp://host/x", "invalid nextlink"),
            ("token:skew=later", "invalid skew 'later'"),
            ("applications:html:wrongshape", "more than one fault"),
            ("applications:revoke=1", "unknown option 'revoke=1'"),
        ];
        for (text, needle) in bad {
            let err = text.parse::<FaultRule>().expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn skip_times_and_wildcards_count_down() {
        let control =
            FaultControl::new(vec![FaultRule::new("applications", FaultKind::Status(503))
                .skip(1)
                .times(2)]);
        let actions: Vec<_> = (0..5)
            .map(|_| control.plan("applications").action)
            .collect();
        assert_eq!(
            actions,
            vec![
                None,
                Some(FaultKind::Status(503)),
                Some(FaultKind::Status(503)),
                None,
                None
            ]
        );
        assert!(control.active().is_empty());

        control.inject(FaultRule::new("*", FaultKind::Latency(Duration::from_millis(5))).times(1));
        control.inject(FaultRule::new("*", FaultKind::MalformedJson));
        let plan = control.plan("token");
        assert_eq!(plan.latency, Duration::from_millis(5));
        assert_eq!(plan.action, Some(FaultKind::MalformedJson));
        assert_eq!(control.plan("servicePrincipals").latency, Duration::ZERO);
        control.clear();
        assert_eq!(control.plan("token"), FaultPlan::default());
    }

    #[test]
    fn revoke_and_skew_carry_on_to_later_rules() {
        let control = FaultControl::new(vec![
            FaultRule::new("token", FaultKind::ClockSkew(-600)),
            FaultRule::new("*", FaultKind::RevokeTokens).times(1),
            FaultRule::new("token", FaultKind::HtmlOk).times(1),
        ]);
        let plan = control.plan("token");
        assert_eq!(
            plan,
            FaultPlan {
                latency: Duration::ZERO,
                revoke: true,
                clock_skew: -600,
                action: Some(FaultKind::HtmlOk),
            }
        );
        let plan = control.plan("token");
        assert!(!plan.revoke);
        assert_eq!((plan.clock_skew, plan.action), (-600, None));
        assert_eq!(control.plan("applications"), FaultPlan::default());
    }

    #[test]
    fn sizes_round_trip() {
        for bytes in [
            0,
            1000,
            1 << 10,
            1536 << 10,
            1 << 20,
            1 << 30,
            3 << 30,
            (1 << 30) + 1,
        ] {
            assert_eq!(parse_size(&format_size(bytes)), Some(bytes), "{bytes}");
        }
        assert_eq!(parse_size("2mib"), Some(2 << 20));
        assert_eq!(parse_size("99999999999GiB"), None);
    }
}
