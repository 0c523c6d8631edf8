//! A fully buffered response, as route handlers produce it.
//!
//! Handlers are synchronous and return a [`Reply`] rather than an axum response, so that the
//! pipeline can still rewrite it (faults cut or break the body) and so that the `$batch`
//! route ([`crate::graph::batch`]) can embed inner replies in its own body.

use axum::body::Body;
use axum::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use axum::http::{Response, StatusCode};
use bytes::Bytes;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::Serialize;

/// A buffered HTTP response.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// `Content-Type` header value.
    pub content_type: String,
    /// Extra headers, in order.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// A reply with `body` of the given content type.
    pub fn new(
        status: StatusCode,
        content_type: impl Into<String>,
        body: impl Into<Bytes>,
    ) -> Self {
        Self {
            status,
            content_type: content_type.into(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A JSON reply; serialising our own types cannot fail, but if it did the body would say so
    /// rather than the simulator panicking.
    pub fn json<T: Serialize + ?Sized>(status: StatusCode, content_type: &str, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|e| {
            format!("{{\"error\":\"serialisation failed: {e}\"}}").into_bytes()
        });
        Self::new(status, content_type, body)
    }

    /// Adds a header; values that are not valid header text (a fault's verbatim `Retry-After`
    /// could be anything) are dropped instead of panicking.
    pub fn header(&mut self, name: HeaderName, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        } else {
            tracing::warn!(header = %name, value, "dropping header value that is not valid HTTP");
        }
    }

    /// The same reply with one more header.
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        self.header(name, value);
        self
    }

    /// Converts into an HTTP response with `body` as the body.
    pub fn into_response_with(self, body: Body) -> Response<Body> {
        let mut response = Response::new(body);
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Ok(ct) = HeaderValue::from_str(&self.content_type) {
            headers.insert(CONTENT_TYPE, ct);
        }
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }

    /// Converts into an HTTP response carrying the whole body.
    pub fn into_response(self) -> Response<Body> {
        let body = Body::from(self.body.clone());
        self.into_response_with(body)
    }
}

/// A JSON object whose members are written in the given order. Graph writes entity properties
/// in schema order; `serde_json::Map` would sort them (or not, depending on a feature flag
/// another crate in the build may switch on), so the order is made explicit here.
#[derive(Debug)]
pub struct Ordered<'a>(pub &'a [(&'a str, serde_json::Value)]);

impl Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A JSON array of [`Ordered`] objects.
#[derive(Debug)]
pub struct OrderedList<'a>(pub &'a [Vec<(&'a str, serde_json::Value)>]);

impl Serialize for OrderedList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&Ordered(item))?;
        }
        seq.end()
    }
}
