//! OData query options and collection pages as Graph implements them ("Common conventions",
//! §7): `$select`, `$top`, `$skiptoken`, `$count`, `eq` filters (§4, §5), `@odata.context`,
//! absolute `@odata.nextLink`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::ser::SerializeMap;
use serde::Serialize;

use super::errors::GraphError;
use crate::reply::OrderedList;
use crate::server::Ctx;

/// System query options the directory list routes implement.
const IMPLEMENTED: &[&str] = &["$select", "$top", "$skiptoken", "$count"];

/// Real OData options the simulator does not implement; refused rather than ignored, so a
/// client relying on them notices.
const NOT_IMPLEMENTED: &[&str] = &[
    "$filter",
    "$orderby",
    "$search",
    "$expand",
    "$skip",
    "$format",
    "$apply",
    "$compute",
    "$levels",
    "$deltatoken",
];

/// Magic bytes opening every page token: "DSpt", so tokens start `RFNwd` like Graph's.
const SKIPTOKEN_MAGIC: &[u8; 4] = b"DSpt";

/// Parsed options of a collection request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListOptions {
    /// Canonical names of the selected properties, in request order; `None` = all.
    pub select: Option<Vec<&'static str>>,
    /// Page size.
    pub top: u32,
    /// Index of the first item of this page.
    pub offset: usize,
    /// Whether `$count=true` was asked for.
    pub count: bool,
    /// Whether this is the first page (no `$skiptoken`).
    pub first_page: bool,
}

/// Finds the system query options (`$…`) in a request, refusing repeats and options the
/// route does not know.
pub fn system_options(ctx: &Ctx<'_>) -> Result<Vec<(String, String)>, GraphError> {
    system_options_allowing(ctx, IMPLEMENTED)
}

/// [`system_options`] for a route that implements the options in `implemented` (lower case,
/// with `$`). Real OData options it does not implement are refused as unsupported queries.
pub fn system_options_allowing(
    ctx: &Ctx<'_>,
    implemented: &[&str],
) -> Result<Vec<(String, String)>, GraphError> {
    let mut found: Vec<(String, String)> = Vec::new();
    for (key, value) in &ctx.query {
        if !key.starts_with('$') {
            // Custom query options are ignored, as OData services do.
            continue;
        }
        let name = key.to_ascii_lowercase();
        if found.iter().any(|(k, _)| *k == name) {
            return Err(GraphError::bad_request(format!(
                "Query option '{key}' was specified more than once, but it must be specified at most once."
            )));
        }
        if implemented.contains(&name.as_str()) {
            found.push((name, value.clone()));
            continue;
        }
        if NOT_IMPLEMENTED.contains(&name.as_str()) || IMPLEMENTED.contains(&name.as_str()) {
            return Err(GraphError::unsupported_query(format!(
                "The query option '{key}' is not implemented by graph-sim for this resource."
            )));
        }
        return Err(GraphError::bad_request(format!(
            "The query parameter '{key}' is not supported."
        )));
    }
    Ok(found)
}

/// Parses a `$filter` made of `property eq 'value'` clauses joined by `and`, the form the
/// reports document (§4, §5: `appId eq '<guid>'`, `keyId eq '<guid>'`). Property names match
/// case-insensitively and come back canonical; `''` inside a literal is a quote.
pub fn parse_eq_filter(
    value: &str,
    properties: &[&'static str],
    type_name: &str,
) -> Result<Vec<(&'static str, String)>, GraphError> {
    let invalid = |why: &str| {
        GraphError::new(
            400,
            "BadRequest",
            format!("Invalid filter clause: {why} (graph-sim supports `property eq 'value'` joined by `and`)."),
        )
    };
    let mut clauses = Vec::new();
    let mut rest = value.trim_start();
    loop {
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        if name.is_empty() {
            return Err(invalid("expected a property name"));
        }
        let Some(canonical) = properties.iter().find(|p| p.eq_ignore_ascii_case(name)) else {
            return Err(invalid(&format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'"
            )));
        };
        let after = after.trim_start();
        let Some(after) = strip_keyword(after, "eq") else {
            return Err(invalid(&format!("expected 'eq' after '{name}'")));
        };
        let Some(after) = after.trim_start().strip_prefix('\'') else {
            return Err(invalid(&format!(
                "expected a quoted string after '{name} eq'"
            )));
        };
        let mut literal = String::new();
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            if c != '\'' {
                literal.push(c);
            } else if after[i + 1..].starts_with('\'') {
                literal.push('\'');
                chars.next();
            } else {
                end = Some(i + 1);
                break;
            }
        }
        let Some(end) = end else {
            return Err(invalid("unterminated string literal"));
        };
        clauses.push((*canonical, literal));
        rest = after[end..].trim_start();
        if rest.is_empty() {
            return Ok(clauses);
        }
        let Some(next) = strip_keyword(rest, "and") else {
            return Err(invalid(&format!("unexpected '{rest}'")));
        };
        rest = next.trim_start();
    }
}

/// `text` without its leading keyword `word` (case-insensitive, followed by whitespace).
fn strip_keyword<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let head = text.get(..word.len())?;
    let tail = text.get(word.len()..)?;
    (head.eq_ignore_ascii_case(word) && tail.starts_with(char::is_whitespace)).then_some(tail)
}

/// The value of option `name` (lower case, with `$`) among `options`.
pub fn option<'a>(options: &'a [(String, String)], name: &str) -> Option<&'a str> {
    options
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses `$select` against the type's properties (case-insensitive, canonical names out).
pub fn parse_select(
    value: &str,
    properties: &[&'static str],
    type_name: &str,
) -> Result<Vec<&'static str>, GraphError> {
    let mut selected: Vec<&'static str> = Vec::new();
    for name in value.split(',').map(str::trim) {
        let Some(canonical) = properties.iter().find(|p| p.eq_ignore_ascii_case(name)) else {
            return Err(GraphError::bad_request(format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
            )));
        };
        if !selected.contains(canonical) {
            selected.push(canonical);
        }
    }
    Ok(selected)
}

/// Parses `$top`: an integer in `1..=max`. Graph answers out-of-range sizes with
/// `Request_UnsupportedQuery` (§7; the code is what Graph SDK users report).
pub fn parse_top(value: &str, max: u32) -> Result<u32, GraphError> {
    let Ok(n) = value.trim().parse::<i64>() else {
        return Err(GraphError::bad_request(format!(
            "Invalid value '{value}' for $top query option found. The $top query option requires a non-negative integer value."
        )));
    };
    match u32::try_from(n) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(GraphError::unsupported_query(format!(
            "Invalid page size specified: '{value}'. Must be between 1 and {max} inclusive."
        ))),
    }
}

/// Parses `$count`: `true` or `false`.
pub fn parse_count(value: &str) -> Result<bool, GraphError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(GraphError::bad_request(format!(
            "Invalid value '{value}' for $count query option found. Valid values are 'true', 'false'."
        ))),
    }
}

/// Whether the request carries `ConsistencyLevel: eventual` (needed for `$count`, §7).
pub fn consistency_eventual(ctx: &Ctx<'_>) -> bool {
    ctx.header("consistencylevel")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("eventual"))
}

/// The error for `$count` without `ConsistencyLevel: eventual`.
pub fn count_needs_consistency_level() -> GraphError {
    GraphError::bad_request(
        "$count is not currently supported without the header 'ConsistencyLevel: eventual'; send it (on every page) to use advanced query capabilities.",
    )
}

/// What a page token remembers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkipToken {
    /// Which collection the token pages through.
    pub collection: u8,
    /// Index of the next item.
    pub offset: u64,
    /// Fingerprint of the tenant that issued it.
    pub fingerprint: u32,
}

impl SkipToken {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(18);
        bytes.extend_from_slice(SKIPTOKEN_MAGIC);
        bytes.push(1);
        bytes.push(self.collection);
        bytes.extend_from_slice(&self.offset.to_be_bytes());
        bytes.extend_from_slice(&self.fingerprint.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Reads a token; `None` when it is not one of ours.
    pub fn decode(text: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        let (magic, rest) = bytes.split_first_chunk::<4>()?;
        let (&[version, collection], rest) = rest.split_first_chunk::<2>()?;
        let (offset, rest) = rest.split_first_chunk::<8>()?;
        let fingerprint: &[u8; 4] = rest.try_into().ok()?;
        if magic != SKIPTOKEN_MAGIC || version != 1 {
            return None;
        }
        Some(Self {
            collection,
            offset: u64::from_be_bytes(*offset),
            fingerprint: u32::from_be_bytes(*fingerprint),
        })
    }
}

/// Resolves `$skiptoken` to an offset into a collection of `len` items.
pub fn resolve_skiptoken(
    value: &str,
    collection: u8,
    fingerprint: u32,
    len: usize,
) -> Result<usize, GraphError> {
    let Some(token) = SkipToken::decode(value) else {
        return Err(GraphError::bad_request(
            "The specified page token value is invalid.",
        ));
    };
    if token.fingerprint != fingerprint || token.collection != collection {
        // A token from another tenant or collection: Graph treats foreign tokens as expired.
        return Err(GraphError::new(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ));
    }
    match usize::try_from(token.offset) {
        Ok(offset) if offset > 0 && offset < len => Ok(offset),
        _ => Err(GraphError::bad_request(
            "The specified page token value is invalid.",
        )),
    }
}

/// The absolute `@odata.nextLink`: the canonical collection URL, the request's own query
/// options verbatim (minus any old `$skiptoken`), then the new `$skiptoken` (paging.md).
pub fn next_link(collection_url: &str, raw_query: &str, token: &SkipToken) -> String {
    let mut parts: Vec<&str> = raw_query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .filter(|piece| {
            let key = piece.split('=').next().unwrap_or_default();
            let decoded = url::form_urlencoded::parse(key.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            !decoded.eq_ignore_ascii_case("$skiptoken")
        })
        .collect();
    let skip = format!("$skiptoken={}", token.encode());
    parts.push(&skip);
    format!("{collection_url}?{}", parts.join("&"))
}

/// A collection response body.
#[derive(Debug)]
pub struct CollectionPage<'a> {
    /// `@odata.context`.
    pub context: String,
    /// `@odata.count` (first page of a `$count=true` request only).
    pub count: Option<usize>,
    /// The items, each with its properties in order.
    pub items: &'a [Vec<(&'static str, serde_json::Value)>],
    /// `@odata.nextLink`, when another page exists.
    pub next_link: Option<String>,
}

impl Serialize for CollectionPage<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("@odata.context", &self.context)?;
        if let Some(count) = self.count {
            map.serialize_entry("@odata.count", &count)?;
        }
        map.serialize_entry("value", &OrderedList(self.items))?;
        if let Some(link) = &self.next_link {
            map.serialize_entry("@odata.nextLink", link)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_bounds_and_messages() {
        assert_eq!(parse_top("1", 999), Ok(1));
        assert_eq!(parse_top("999", 999), Ok(999));
        for bad in ["0", "1000", "-1", "99999999999"] {
            let e = parse_top(bad, 999).expect_err(bad);
            assert_eq!(e.code, "Request_UnsupportedQuery");
            assert_eq!(
                e.message,
                format!(
                    "Invalid page size specified: '{bad}'. Must be between 1 and 999 inclusive."
                )
            );
        }
        assert_eq!(parse_top("ten", 999).expect_err("nan").status, 400);
    }

    #[test]
    fn eq_filters_parse_and_reject_the_rest() {
        let props = ["appId", "keyId"];
        assert_eq!(
            parse_eq_filter("APPID eq 'a'", &props, "x"),
            Ok(vec![("appId", "a".to_owned())])
        );
        assert_eq!(
            parse_eq_filter(" keyId  EQ 'k''1'  and appId eq 'b' ", &props, "x"),
            Ok(vec![("keyId", "k'1".to_owned()), ("appId", "b".to_owned())])
        );
        for bad in [
            "",
            "displayName eq 'a'",
            "appId ne 'a'",
            "appId eq a",
            "appId eq 'a",
            "appId eq 'a' or keyId eq 'b'",
            "appIdeq 'a'",
        ] {
            let e = parse_eq_filter(bad, &props, "x").expect_err(bad);
            assert_eq!((e.status, e.code.as_str()), (400, "BadRequest"), "{bad}");
        }
    }

    #[test]
    fn select_is_case_insensitive_and_canonical() {
        let props = ["id", "appId", "displayName"];
        assert_eq!(
            parse_select("APPID, displayname,appId", &props, "application"),
            Ok(vec!["appId", "displayName"])
        );
        let e = parse_select("id,x", &props, "application").expect_err("x");
        assert_eq!(
            e.message,
            "Could not find a property named 'x' on type 'microsoft.graph.application'."
        );
    }

    #[test]
    fn skiptokens_round_trip_and_reject_garbage() {
        let t = SkipToken {
            collection: 1,
            offset: 999,
            fingerprint: 0xdead_beef,
        };
        let text = t.encode();
        assert!(text.starts_with("RFNwd"), "{text}");
        assert_eq!(SkipToken::decode(&text), Some(t));
        assert_eq!(resolve_skiptoken(&text, 1, 0xdead_beef, 2_000), Ok(999));
        assert_eq!(
            resolve_skiptoken(&text, 1, 1, 2_000)
                .expect_err("foreign")
                .code,
            "Directory_ExpiredPageToken"
        );
        assert!(resolve_skiptoken(&text, 1, 0xdead_beef, 999).is_err());
        assert!(resolve_skiptoken("garbage!", 1, 0xdead_beef, 2_000).is_err());
        assert!(SkipToken::decode("").is_none());
    }

    #[test]
    fn next_link_keeps_options_and_replaces_the_token() {
        let t = SkipToken {
            collection: 1,
            offset: 5,
            fingerprint: 7,
        };
        let link = next_link(
            "http://h/v1.0/applications",
            "$select=id,appId&$top=5&%24skiptoken=old&x=1",
            &t,
        );
        assert_eq!(
            link,
            format!(
                "http://h/v1.0/applications?$select=id,appId&$top=5&x=1&$skiptoken={}",
                t.encode()
            )
        );
        assert_eq!(
            next_link("http://h/v1.0/applications", "", &t),
            format!("http://h/v1.0/applications?$skiptoken={}", t.encode())
        );
    }
}
