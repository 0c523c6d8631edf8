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
//!
//! Examples: `applications:status=503:times=3`, `*:throttle=2.5`, `token:latency=500ms`,
//! `servicePrincipals:malformed`, `applications:truncated:skip=1`, `applications:drop`.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use crate::routes;

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
    #[error("fault rule '{0}' names no fault; add one of status=N, throttle[=VALUE], latency=DURATION, malformed, truncated, drop")]
    MissingFault(String),
    /// Two fault kinds were given.
    #[error("fault rule '{0}' names more than one fault; use one rule per fault")]
    DuplicateFault(String),
    /// An option was not recognised.
    #[error("unknown option '{0}' in fault rule; expected status=N, throttle[=VALUE], latency=DURATION, malformed, truncated, drop, skip=N or times=N")]
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
}

impl FromStr for FaultRule {
    type Err = FaultParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.trim().split(':');
        let route = parts.next().unwrap_or_default().trim();
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
        for part in parts {
            let part = part.trim();
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v)),
                None => (part, None),
            };
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
        write!(f, "{}:", self.route)?;
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
        }
        if self.skip > 0 {
            write!(f, ":skip={}", self.skip)?;
        }
        if let Some(times) = self.times {
            write!(f, ":times={times}")?;
        }
        Ok(())
    }
}

/// What the active rules do to one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FaultPlan {
    /// Total delay from `Latency` rules that fired.
    pub latency: Duration,
    /// The first non-latency fault that fired, if any.
    pub action: Option<FaultKind>,
}

/// The live set of fault rules of a running simulator.
#[derive(Debug, Default)]
pub struct FaultControl {
    /// Rules in injection order, with `skip`/`times` counting down as requests match.
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultControl {
    /// A control holding `rules`.
    pub(crate) fn new(rules: Vec<FaultRule>) -> Self {
        Self {
            rules: Mutex::new(rules),
        }
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
    /// rule; a latency rule adds its delay and does the same; the first other rule that fires
    /// ends the evaluation. Exhausted rules are removed.
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
            if let FaultKind::Latency(d) = rule.kind {
                plan.latency = plan.latency.saturating_add(d);
                continue;
            }
            plan.action = Some(rule.kind.clone());
            break;
        }
        rules.retain(|r| r.times != Some(0));
        plan
    }
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
}
