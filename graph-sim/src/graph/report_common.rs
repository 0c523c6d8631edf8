//! Pieces shared by the usage-and-insights report handlers (§2, §3, §6): OData function
//! parameters (`getX(period='D7')`), periods, the licence and delegated-only checks, `$filter`
//! clause splitting and literals, page tokens that pin a time snapshot, and Double values.

use serde_json::Value;

use super::errors::GraphError;
use super::odata::SkipToken;
use crate::routes::FUNCTION_ARGS;
use crate::server::Ctx;
use crate::tenant::usage;
use crate::time::{UtcTime, DAY};
use crate::token::Claims;

/// A 400 `BadRequest` with `message`.
pub fn bad_request(message: impl Into<String>) -> GraphError {
    GraphError::new(400, "BadRequest", message)
}

/// The parameters of the function call in the request path (`name(p1='v1',p2='v2')`), checked
/// against the names the function takes (case-sensitive, as OData parameter names are). The
/// bare `name` and `name()` both give an empty list. Literals must be single-quoted (`''`
/// inside one is a quote); anything else is a 400.
pub fn function_args(
    ctx: &Ctx<'_>,
    function: &str,
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, String)>, GraphError> {
    parse_function_args(ctx.param(FUNCTION_ARGS), function, allowed)
}

/// [`function_args`] on the text between the parentheses.
pub fn parse_function_args(
    text: &str,
    function: &str,
    allowed: &[&'static str],
) -> Result<Vec<(&'static str, String)>, GraphError> {
    let malformed = |why: &str| {
        bad_request(format!(
            "Bad Request - Error in query syntax: the call of function '{function}' is malformed ({why})."
        ))
    };
    let mut args: Vec<(&'static str, String)> = Vec::new();
    let mut rest = text.trim();
    if rest.is_empty() {
        return Ok(args);
    }
    loop {
        let Some((name, after)) = rest.split_once('=') else {
            return Err(malformed("expected name='value'"));
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(malformed(&format!("'{name}' is not a parameter name")));
        }
        let Some(canonical) = allowed.iter().find(|a| **a == name) else {
            return Err(bad_request(format!(
                "The parameter '{name}' is not in scope of function '{function}'."
            )));
        };
        let Some((value, after)) = string_literal(after.trim_start()) else {
            return Err(malformed(&format!(
                "the value of '{name}' must be a single-quoted string"
            )));
        };
        if args.iter().any(|(n, _)| n == canonical) {
            return Err(malformed(&format!("parameter '{name}' is given twice")));
        }
        args.push((canonical, value));
        let after = after.trim_start();
        if after.is_empty() {
            return Ok(args);
        }
        let Some(next) = after.strip_prefix(',') else {
            return Err(malformed(&format!("unexpected '{after}'")));
        };
        rest = next.trim_start();
    }
}

/// The value of parameter `name` among `args`.
pub fn arg<'a>(args: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    args.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// The number of days of the `period` parameter, one of `allowed` (`("D7", 7)`, …), compared
/// case-insensitively when `case_insensitive` (§6.3) and exactly otherwise (§2.1, §3). A
/// missing or other period is a 400 `BadRequest` (§2.1: status UNCONFIRMED).
pub fn period_days(
    args: &[(&'static str, String)],
    allowed: &[(&str, u32)],
    case_insensitive: bool,
) -> Result<u32, GraphError> {
    let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
    let Some(value) = arg(args, "period") else {
        return Err(bad_request(format!(
            "The required parameter 'period' is missing; use one of {}.",
            names.join(", ")
        )));
    };
    allowed
        .iter()
        .find(|(n, _)| {
            if case_insensitive {
                n.eq_ignore_ascii_case(value)
            } else {
                *n == value
            }
        })
        .map(|(_, days)| *days)
        .ok_or_else(|| {
            bad_request(format!(
                "Invalid period '{value}'. Supported values are {}.",
                names.join(", ")
            ))
        })
}

/// 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant` unless the tenant has P1/P2.
pub fn require_premium(ctx: &Ctx<'_>) -> Result<(), GraphError> {
    if ctx.sim.config.premium_licence {
        Ok(())
    } else {
        Err(GraphError::non_premium_tenant())
    }
}

/// 403 unless the token carries one of `roles`.
pub fn require_role<S: AsRef<str>>(claims: &Claims, roles: &[S]) -> Result<(), GraphError> {
    if claims
        .roles
        .iter()
        .any(|have| roles.iter().any(|need| have == need.as_ref()))
    {
        Ok(())
    } else {
        Err(GraphError::forbidden())
    }
}

/// Whether the token is app-only. The simulator issues client-credentials tokens only (§11),
/// which carry application roles and never a `scp` claim, so every caller is.
pub fn app_only(_claims: &Claims) -> bool {
    true
}

/// The refusal of a delegated-only report to an app-only token (§2.2, §6.2: "application
/// permissions not supported"; the exact code is UNCONFIRMED, `Authorization_RequestDenied`
/// as the reference suggests).
pub fn app_only_refused() -> GraphError {
    GraphError::new(
        403,
        "Authorization_RequestDenied",
        "This API does not support application permissions; call it with a delegated (user) token.",
    )
}

/// A Double as Graph writes it: whole values without a fraction (`100`, `0`, as in the §2.1
/// and §3 examples), others as JSON numbers.
pub fn double_json(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// The cutoff (last whole hour) the reports reflect right now (see [`usage`]).
pub fn cutoff_now() -> i64 {
    usage::cutoff(UtcTime::now().as_f64())
}

/// A page token for position `position` of a time-dependent collection computed at `cutoff`:
/// the next pages are computed at the same cutoff, so a walk stays consistent when an hour
/// passes mid-way.
pub fn snapshot_token(tag: u8, fingerprint: u32, cutoff: i64, position: usize) -> SkipToken {
    let hour = (cutoff.div_euclid(usage::REFRESH_SECONDS) as u64) & 0xffff_ffff;
    SkipToken {
        collection: tag,
        offset: (hour << 32) | (position as u64 & 0xffff_ffff),
        fingerprint,
    }
}

/// Reads a [`snapshot_token`]: `(cutoff, position)`.
pub fn resolve_snapshot(
    value: &str,
    tag: u8,
    fingerprint: u32,
) -> Result<(i64, usize), GraphError> {
    let token = SkipToken::decode(value)
        .ok_or_else(|| GraphError::bad_request("The specified page token value is invalid."))?;
    if token.collection != tag || token.fingerprint != fingerprint {
        return Err(GraphError::new(
            400,
            "Directory_ExpiredPageToken",
            "The specified page token value has expired and can no longer be included in your request.",
        ));
    }
    let hour = (token.offset >> 32) as i64;
    let position = (token.offset & 0xffff_ffff) as usize;
    Ok((hour * usage::REFRESH_SECONDS, position))
}

/// Splits a `$filter` into its clauses at the keyword `and` (any case) outside string
/// literals and parentheses.
pub fn split_and(filter: &str) -> Result<Vec<&str>, GraphError> {
    let mut clauses = Vec::new();
    let bytes = filter.as_bytes();
    let mut start = 0;
    let mut depth = 0i32;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if c == b'\'' {
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    in_string = false;
                }
            }
        } else if c == b'\'' {
            in_string = true;
        } else if c == b'(' {
            depth += 1;
        } else if c == b')' {
            depth -= 1;
        } else if depth == 0
            && c.is_ascii_whitespace()
            && filter
                .get(i + 1..i + 4)
                .is_some_and(|w| w.eq_ignore_ascii_case("and"))
            && bytes.get(i + 4).is_none_or(u8::is_ascii_whitespace)
        {
            clauses.push(filter[start..i].trim());
            start = (i + 4).min(filter.len());
            i += 4;
            continue;
        }
        i += 1;
    }
    if in_string || depth != 0 {
        return Err(invalid_filter("unbalanced quotes or parentheses"));
    }
    clauses.push(filter[start..].trim());
    if clauses.iter().any(|c| c.is_empty()) {
        return Err(invalid_filter("empty clause"));
    }
    Ok(clauses)
}

/// The 400 for a `$filter` the simulator cannot read.
pub fn invalid_filter(why: &str) -> GraphError {
    bad_request(format!("Invalid filter clause: {why}."))
}

/// A single-quoted OData string literal at the start of `text` (`''` is a quote): the value
/// and the text after it.
pub fn string_literal(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            value.push(c);
        } else if body[i + 1..].starts_with('\'') {
            value.push('\'');
            chars.next();
        } else {
            return Some((value, &body[i + 1..]));
        }
    }
    None
}

/// Splits `lhs op rhs` into its three parts (`op` lower-cased).
pub fn comparison(clause: &str) -> Option<(&str, String, &str)> {
    let clause = clause.trim();
    let (lhs, rest) = clause.split_once(char::is_whitespace)?;
    let (op, rhs) = rest.trim_start().split_once(char::is_whitespace)?;
    Some((lhs, op.to_ascii_lowercase(), rhs.trim()))
}

/// An unquoted `Edm.DateTimeOffset` or `Edm.Date` literal (`2024-06-01`,
/// `2024-06-01T00:00:00Z`, `2024-06-01T00:00:00.5+02:00`) as Unix seconds.
pub fn datetime_literal(text: &str) -> Option<f64> {
    let text = text.trim();
    let (date, time) = match text.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if date.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, m, d) * DAY;
    let Some(time) = time else {
        return Some(secs as f64);
    };
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (c, o) = time.split_at(at);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let (oh, om) = o.get(1..)?.split_once(':')?;
        (
            c,
            sign * (oh.parse::<i64>().ok()? * 3_600 + om.parse::<i64>().ok()? * 60),
        )
    };
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms = hms.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let mi: i64 = hms.next()?.parse().ok()?;
    let s: i64 = hms.next().map_or(Some(0), |s| s.parse().ok())?;
    if h > 23 || mi > 59 || s > 59 || hms.next().is_some() {
        return None;
    }
    secs += h * 3_600 + mi * 60 + s - offset;
    let fraction = if fraction.is_empty() {
        0.0
    } else if fraction.bytes().all(|b| b.is_ascii_digit()) {
        format!("0.{fraction}").parse::<f64>().ok()?
    } else {
        return None;
    };
    Some(secs as f64 + fraction)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arguments_parse_and_reject_malformed_calls() {
        let allowed = ["period", "other"];
        assert_eq!(parse_function_args("", "f", &allowed), Ok(vec![]));
        assert_eq!(
            parse_function_args(" period = 'D7' ", "f", &allowed),
            Ok(vec![("period", "D7".to_owned())])
        );
        assert_eq!(
            parse_function_args("period='a''b',other=''", "f", &allowed),
            Ok(vec![("period", "a'b".to_owned()), ("other", String::new())])
        );
        for bad in [
            "period=D7",
            "period='D7",
            "period",
            "'D7'",
            "period='D7',",
            "period='D7' x",
            "period='D7',period='D30'",
            "Period='D7'",
            "nope='x'",
        ] {
            let e = parse_function_args(bad, "f", &allowed).expect_err(bad);
            assert_eq!((e.status, e.code.as_str()), (400, "BadRequest"), "{bad}");
        }
    }

    #[test]
    fn periods_are_exact_or_case_insensitive() {
        let args = |v: &str| vec![("period", v.to_owned())];
        let allowed = [("D7", 7), ("D30", 30)];
        assert_eq!(period_days(&args("D30"), &allowed, false), Ok(30));
        assert!(period_days(&args("d7"), &allowed, false).is_err());
        assert_eq!(period_days(&args("d7"), &allowed, true), Ok(7));
        assert!(period_days(&args("D1"), &allowed, true).is_err());
        assert!(period_days(&[], &allowed, true).is_err());
    }

    #[test]
    fn and_splitting_respects_literals() {
        assert_eq!(
            split_and("a eq 'x and y' AND b eq 1 and c/any(m: m eq 'z')"),
            Ok(vec!["a eq 'x and y'", "b eq 1", "c/any(m: m eq 'z')"])
        );
        assert!(split_and("a eq 'x").is_err());
        assert!(split_and("a eq 1 and").is_err());
        assert_eq!(
            string_literal("'it''s' rest"),
            Some(("it's".to_owned(), " rest"))
        );
        assert_eq!(
            comparison(" a  GT  2024-06-01 "),
            Some(("a", "gt".to_owned(), "2024-06-01"))
        );
    }

    #[test]
    fn datetime_literals() {
        assert_eq!(datetime_literal("1970-01-01"), Some(0.0));
        assert_eq!(
            datetime_literal("2025-06-03T07:41:12Z"),
            Some(1_748_936_472.0)
        );
        assert_eq!(
            datetime_literal("2025-06-03T09:41:12+02:00"),
            Some(1_748_936_472.0)
        );
        assert_eq!(datetime_literal("2024-02-29"), Some(1_709_164_800.0));
        assert_eq!(
            datetime_literal("2025-06-03T07:41:12.5Z"),
            Some(1_748_936_472.5)
        );
        for bad in [
            "2025-13-01",
            "yesterday",
            "2025-06-03T25:00:00Z",
            "2025-6-3",
        ] {
            assert_eq!(datetime_literal(bad), None, "{bad}");
        }
    }

    #[test]
    fn snapshot_tokens_round_trip() {
        let t = snapshot_token(0x41, 7, 1_748_934_000, 250).encode();
        assert_eq!(resolve_snapshot(&t, 0x41, 7), Ok((1_748_934_000, 250)));
        assert!(resolve_snapshot(&t, 0x42, 7).is_err());
        assert!(resolve_snapshot("nonsense", 0x41, 7).is_err());
        assert_eq!(double_json(100.0), serde_json::json!(100));
        assert_eq!(double_json(97.88), serde_json::json!(97.88));
    }
}
