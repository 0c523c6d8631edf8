//! The route table: every endpoint the simulator serves, with its name (used by fault rules
//! and the request log), path pattern, required roles, throttling cost and handler.
//!
//! Adding an endpoint means adding one [`Route`] here and a handler in the module of its
//! report family; matching, authentication, roles, throttling, faults and logging come free.

use crate::federation;
use crate::graph::errors::GraphError;
use crate::graph::{
    app_sign_in, audit_logs, auth_methods, directory, relying_party, sign_in_activity,
    user_insights,
};
use crate::reply::Reply;
use crate::server::Ctx;
use crate::token::{self, Claims, TokenError};

/// One segment of a path pattern.
#[derive(Clone, Copy, Debug)]
pub enum Seg {
    /// A fixed segment (compared case-insensitively unless the quirk is switched off).
    Lit(&'static str),
    /// A Graph version root, `v1.0` or `beta`; captured as the `version` parameter.
    Version,
    /// Any non-empty segment, captured under this name.
    Param(&'static str),
    /// An OData function call `name(…)` in one segment (§2, §3, §6), the name compared like a
    /// literal. The text between the parentheses is captured as [`FUNCTION_ARGS`] (unparsed:
    /// handlers validate it and answer 400 when it is malformed); the bare `name` (no
    /// parentheses) also matches and captures nothing, for functions Graph lets callers write
    /// without parameters.
    Function(&'static str),
}

/// Parameter name under which [`Seg::Function`] captures the argument list.
pub const FUNCTION_ARGS: &str = "function_args";

/// Request methods a Graph route may accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// GET (HEAD is not simulated).
    Get,
    /// POST.
    Post,
}

/// A Graph handler: produces the success reply or the Graph error.
pub type GraphHandler = fn(&Ctx<'_>) -> Result<Reply, GraphError>;

/// Resource units a request costs in the directory token bucket (§7).
pub type CostFn = fn(&Ctx<'_>) -> u32;

/// A route's own access rule, deciding instead of [`GraphRoute::roles`]: for reports that are
/// delegated-only or whose accepted roles are UNCONFIRMED and therefore read from the quirks.
pub type AccessFn = fn(&Ctx<'_>, &Claims) -> Result<(), GraphError>;

/// A Graph resource route.
#[derive(Debug)]
pub struct GraphRoute {
    /// Accepted method.
    pub verb: Verb,
    /// The token must carry at least one of these application roles (else 403).
    pub roles: &'static [&'static str],
    /// Cost in the directory resource-unit bucket; `None` for routes outside that service.
    pub directory_cost: Option<CostFn>,
    /// Whether a request counts against the identity and access reports budget (§10.2: 5
    /// requests per 10 s per app per tenant).
    pub reports_budget: bool,
    /// When set, decides access instead of the `roles` check (which then documents the
    /// default).
    pub access: Option<AccessFn>,
    /// The handler, run after authentication, authorisation and throttling.
    pub handler: GraphHandler,
}

/// What kind of endpoint a route is.
#[derive(Debug)]
pub enum RouteKind {
    /// The Entra token endpoint; it checks the method itself (AADSTS900561) and answers with
    /// AADSTS-shaped errors (§11.4).
    Token(fn(&Ctx<'_>) -> Result<Reply, TokenError>),
    /// A Graph resource, answering with Graph errors (§10.1).
    Graph(GraphRoute),
    /// An unauthenticated document that is neither Graph nor the token endpoint: the
    /// federated issuer's discovery document and JWKS (§11.5).
    Public(fn(&Ctx<'_>) -> Reply),
    /// JSON batching, `POST /{version}/$batch` (§9): up to 20 inner requests, each run
    /// through the Graph pipeline like a direct call ([`crate::graph::batch`]).
    Batch,
}

/// One served endpoint.
#[derive(Debug)]
pub struct Route {
    /// Stable name for fault rules and the request log.
    pub name: &'static str,
    /// Path pattern, split on `/`.
    pub path: &'static [Seg],
    /// Kind and behaviour.
    pub kind: RouteKind,
}

/// Roles that may read app registrations and service principals (§7).
const DIRECTORY_READ: &[&str] = &["Application.Read.All", "Directory.Read.All"];

/// Roles that may read the sign-in activity reports (§4, §5, Appendix A).
const AUDIT_LOG_READ: &[&str] = &["AuditLog.Read.All"];

/// The role of the External ID user insights (§1.1): singular `Metric`; the doc typo
/// `Insights-UserMetrics.Read.All` (Appendix B.2) is not a role and is not accepted.
const USER_INSIGHTS_READ: &[&str] = &["Insights-UserMetric.Read.All"];

/// Default roles of `userMfaSignInSummary` (§6.5: UNCONFIRMED; the route decides with
/// [`crate::Quirks::mfa_sign_in_summary_roles`]).
const MFA_SUMMARY_READ: &[&str] = &["AuditLog.Read.All", "Reports.Read.All"];

/// Every route, checked in order.
pub static ROUTES: &[Route] = &[
    Route {
        name: "token",
        path: &[
            Seg::Param("tenant"),
            Seg::Lit("oauth2"),
            Seg::Lit("v2.0"),
            Seg::Lit("token"),
        ],
        kind: RouteKind::Token(token::handle),
    },
    Route {
        name: "federationDiscovery",
        path: &[
            Seg::Lit("federation"),
            Seg::Lit("issuer"),
            Seg::Lit(".well-known"),
            Seg::Lit("openid-configuration"),
        ],
        kind: RouteKind::Public(federation::discovery),
    },
    Route {
        name: "federationJwks",
        path: &[
            Seg::Lit("federation"),
            Seg::Lit("issuer"),
            Seg::Lit("openid"),
            Seg::Lit("v1"),
            Seg::Lit("jwks"),
        ],
        kind: RouteKind::Public(federation::jwks),
    },
    // §9. Not a Graph resource: it has no roles or budget of its own; each inner request
    // is authorised, throttled and counted as its own route.
    Route {
        name: "batch",
        path: &[Seg::Version, Seg::Lit("$batch")],
        kind: RouteKind::Batch,
    },
    Route {
        name: "applications",
        path: &[Seg::Version, Seg::Lit("applications")],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: DIRECTORY_READ,
            directory_cost: Some(directory::list_cost),
            reports_budget: false,
            access: None,
            handler: directory::list_applications,
        }),
    },
    Route {
        name: "applications",
        path: &[Seg::Version, Seg::Lit("applications"), Seg::Lit("$count")],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: DIRECTORY_READ,
            directory_cost: Some(directory::count_cost),
            reports_budget: false,
            access: None,
            handler: directory::count_applications,
        }),
    },
    Route {
        name: "servicePrincipals",
        path: &[Seg::Version, Seg::Lit("servicePrincipals")],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: DIRECTORY_READ,
            directory_cost: Some(directory::list_cost),
            reports_budget: false,
            access: None,
            handler: directory::list_service_principals,
        }),
    },
    Route {
        name: "servicePrincipals",
        path: &[
            Seg::Version,
            Seg::Lit("servicePrincipals"),
            Seg::Lit("$count"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: DIRECTORY_READ,
            directory_cost: Some(directory::count_cost),
            reports_budget: false,
            access: None,
            handler: directory::count_service_principals,
        }),
    },
    // Beta only (§4, §5). Outside the directory's resource-unit buckets: their throttling
    // limits are UNCONFIRMED (§10.2).
    Route {
        name: "servicePrincipalSignInActivities",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Lit("servicePrincipalSignInActivities"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: AUDIT_LOG_READ,
            directory_cost: None,
            reports_budget: false,
            access: None,
            handler: sign_in_activity::list_service_principal_activities,
        }),
    },
    Route {
        name: "appCredentialSignInActivities",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Lit("appCredentialSignInActivities"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: AUDIT_LOG_READ,
            directory_cost: None,
            reports_budget: false,
            access: None,
            handler: sign_in_activity::list_app_credential_activities,
        }),
    },
    // Beta only (§1). The period and metric segments are resolved by the handler, which
    // answers unknown ones like the router does. Not in the reports budget (§10.2: the
    // userInsights limits are UNCONFIRMED).
    Route {
        name: "userInsights",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Lit("userInsights"),
            Seg::Param("period"),
            Seg::Param("metric"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: USER_INSIGHTS_READ,
            directory_cost: None,
            reports_budget: false,
            access: None,
            handler: user_insights::list,
        }),
    },
    // Identity and access reports (§2, §3, §6): all count against the reports budget of
    // §10.2. Functions are matched by `Seg::Function`; their handlers check the parameters.
    Route {
        name: "applicationSignInSummary",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Function("getAzureADApplicationSignInSummary"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: app_sign_in::ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: app_sign_in::summary,
        }),
    },
    Route {
        name: "applicationSignInDetailedSummary",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Lit("applicationSignInDetailedSummary"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: app_sign_in::ROLES,
            directory_cost: None,
            reports_budget: true,
            access: Some(app_sign_in::detailed_access),
            handler: app_sign_in::detailed,
        }),
    },
    Route {
        name: "relyingPartyDetailedSummary",
        path: &[
            Seg::Version,
            Seg::Lit("reports"),
            Seg::Function("getRelyingPartyDetailedSummary"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: relying_party::ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: relying_party::summary,
        }),
    },
    Route {
        name: "userRegistrationDetails",
        path: &[
            Seg::Version,
            Seg::Lit("reports"),
            Seg::Lit("authenticationMethods"),
            Seg::Lit("userRegistrationDetails"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: auth_methods::AUDIT_LOG_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: Some(auth_methods::registration_details_access),
            handler: auth_methods::registration_details,
        }),
    },
    Route {
        name: "userRegistrationDetails",
        path: &[
            Seg::Version,
            Seg::Lit("reports"),
            Seg::Lit("authenticationMethods"),
            Seg::Lit("userRegistrationDetails"),
            Seg::Param("id"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: auth_methods::AUDIT_LOG_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: Some(auth_methods::registration_details_access),
            handler: auth_methods::registration_detail,
        }),
    },
    Route {
        name: "usersRegisteredByFeature",
        path: &[
            Seg::Version,
            Seg::Lit("reports"),
            Seg::Lit("authenticationMethods"),
            Seg::Function("usersRegisteredByFeature"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: auth_methods::AUDIT_LOG_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: Some(auth_methods::registered_by_access),
            handler: auth_methods::registered_by_feature,
        }),
    },
    Route {
        name: "usersRegisteredByMethod",
        path: &[
            Seg::Version,
            Seg::Lit("reports"),
            Seg::Lit("authenticationMethods"),
            Seg::Function("usersRegisteredByMethod"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: auth_methods::AUDIT_LOG_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: Some(auth_methods::registered_by_access),
            handler: auth_methods::registered_by_method,
        }),
    },
    Route {
        name: "userMfaSignInSummary",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Lit("authenticationMethods"),
            Seg::Lit("userMfaSignInSummary"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: MFA_SUMMARY_READ,
            directory_cost: None,
            reports_budget: true,
            access: Some(auth_methods::mfa_summary_access),
            handler: auth_methods::mfa_sign_in_summary,
        }),
    },
    Route {
        name: "credentialUsageSummary",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Function("getCredentialUsageSummary"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: auth_methods::REPORTS_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: auth_methods::credential_usage_summary,
        }),
    },
    Route {
        name: "credentialUserRegistrationCount",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("reports"),
            Seg::Function("getCredentialUserRegistrationCount"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: auth_methods::REPORTS_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: auth_methods::credential_user_registration_count,
        }),
    },
    // Activity logs (§8; the others modelled on Graph's documentation): all in the reports
    // budget of §10.2 ("auditLogRoot").
    Route {
        name: "signIns",
        path: &[Seg::Version, Seg::Lit("auditLogs"), Seg::Lit("signIns")],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: audit_logs::AUDIT_LOG_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: audit_logs::sign_ins,
        }),
    },
    Route {
        name: "directoryAudits",
        path: &[
            Seg::Version,
            Seg::Lit("auditLogs"),
            Seg::Lit("directoryAudits"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: audit_logs::AUDIT_LOG_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: audit_logs::directory_audits,
        }),
    },
    Route {
        name: "provisioning",
        path: &[
            Seg::Version,
            Seg::Lit("auditLogs"),
            Seg::Lit("provisioning"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: audit_logs::AUDIT_LOG_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: audit_logs::provisioning,
        }),
    },
    Route {
        name: "customSecurityAttributeAudits",
        path: &[
            Seg::Lit("beta"),
            Seg::Lit("auditLogs"),
            Seg::Lit("customSecurityAttributeAudits"),
        ],
        kind: RouteKind::Graph(GraphRoute {
            verb: Verb::Get,
            roles: audit_logs::CSA_ROLES,
            directory_cost: None,
            reports_budget: true,
            access: None,
            handler: audit_logs::custom_security_attribute_audits,
        }),
    },
];

/// Route name recorded for requests that match no route.
pub const UNKNOWN_ROUTE: &str = "unknown";

/// The distinct route names, in table order.
pub fn route_names() -> impl Iterator<Item = &'static str> {
    ROUTES
        .iter()
        .enumerate()
        .filter(|(i, r)| !ROUTES[..*i].iter().any(|p| p.name == r.name))
        .map(|(_, r)| r.name)
}

/// Result of matching a request path against the table.
#[derive(Debug)]
pub enum PathMatch {
    /// A route matched; `params` holds the captured segments.
    Found {
        /// The route.
        route: &'static Route,
        /// Captured parameters (`version`, `tenant`, …).
        params: Vec<(&'static str, String)>,
    },
    /// A Graph route's path matched but not its method.
    WrongMethod(&'static Route),
    /// Under a Graph version root, but no route has this segment.
    UnknownSegment(String),
    /// Nothing resembles the path.
    NotFound(String),
}

impl PathMatch {
    /// The route name to record and to match fault rules against.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Found { route, .. } | Self::WrongMethod(route) => route.name,
            _ => UNKNOWN_ROUTE,
        }
    }
}

/// Whether `seg` is a Graph version root.
fn version_of(seg: &str, case_insensitive: bool) -> Option<&'static str> {
    ["v1.0", "beta"].into_iter().find(|v| {
        if case_insensitive {
            v.eq_ignore_ascii_case(seg)
        } else {
            *v == seg
        }
    })
}

/// Matches the decoded path `segments` and request `verb` (None: neither GET nor POST) against
/// the table.
pub fn match_path(segments: &[String], verb: Option<Verb>, case_insensitive: bool) -> PathMatch {
    let mut wrong_method = None;
    let mut deepest = 0;
    for route in ROUTES {
        let (matched, params) = match_segments(route.path, segments, case_insensitive);
        if matched < route.path.len() || matched < segments.len() {
            if matches!(
                route.path.first(),
                Some(Seg::Version | Seg::Lit("v1.0" | "beta"))
            ) {
                deepest = deepest.max(matched);
            }
            continue;
        }
        match &route.kind {
            RouteKind::Graph(g) if Some(g.verb) != verb => {
                wrong_method.get_or_insert(route);
            }
            _ => return PathMatch::Found { route, params },
        }
    }
    if let Some(route) = wrong_method {
        return PathMatch::WrongMethod(route);
    }
    let first = segments.first().map(String::as_str).unwrap_or_default();
    if version_of(first, case_insensitive).is_some() {
        // Graph names the first segment it could not resolve.
        let seg = segments
            .get(deepest.max(1))
            .or(segments.last())
            .cloned()
            .unwrap_or_default();
        return PathMatch::UnknownSegment(seg);
    }
    PathMatch::NotFound(first.to_owned())
}

/// Whether `segment` calls function `name`: `Some(None)` for the bare name, `Some(Some(args))`
/// for `name(args)`, `None` otherwise (another name, or no closing parenthesis at the end).
fn function_call<'a>(
    name: &str,
    segment: &'a str,
    case_insensitive: bool,
) -> Option<Option<&'a str>> {
    let head = segment.get(..name.len())?;
    let same = if case_insensitive {
        head.eq_ignore_ascii_case(name)
    } else {
        head == name
    };
    if !same {
        return None;
    }
    let rest = segment.get(name.len()..)?;
    if rest.is_empty() {
        return Some(None);
    }
    rest.strip_prefix('(')?.strip_suffix(')').map(Some)
}

/// How many leading segments of `path` match `pattern`, and the captured parameters.
fn match_segments(
    pattern: &[Seg],
    path: &[String],
    case_insensitive: bool,
) -> (usize, Vec<(&'static str, String)>) {
    let mut params = Vec::new();
    for (i, (seg, actual)) in pattern.iter().zip(path).enumerate() {
        let ok = match seg {
            Seg::Lit(lit) => {
                if case_insensitive {
                    lit.eq_ignore_ascii_case(actual)
                } else {
                    lit == actual
                }
            }
            Seg::Version => match version_of(actual, case_insensitive) {
                Some(v) => {
                    params.push(("version", v.to_owned()));
                    true
                }
                None => false,
            },
            Seg::Param(name) => {
                if actual.is_empty() {
                    false
                } else {
                    params.push((*name, actual.clone()));
                    true
                }
            }
            Seg::Function(name) => match function_call(name, actual, case_insensitive) {
                Some(args) => {
                    if let Some(args) = args {
                        params.push((FUNCTION_ARGS, args.to_owned()));
                    }
                    true
                }
                None => false,
            },
        };
        if !ok {
            return (i, params);
        }
    }
    (pattern.len().min(path.len()), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<String> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn matches_routes_case_insensitively() {
        let m = match_path(&segs("/V1.0/APPLICATIONS"), Some(Verb::Get), true);
        assert_eq!(m.name(), "applications");
        let m = match_path(
            &segs("/beta/servicePrincipals/$count"),
            Some(Verb::Get),
            true,
        );
        match m {
            PathMatch::Found { route, params } => {
                assert_eq!(route.name, "servicePrincipals");
                assert_eq!(params, vec![("version", "beta".to_owned())]);
            }
            other => panic!("{other:?}"),
        }
        let m = match_path(
            &segs("/BETA/Reports/appcredentialsigninactivities"),
            Some(Verb::Get),
            true,
        );
        assert_eq!(m.name(), "appCredentialSignInActivities");
        let m = match_path(&segs("/V1.0/APPLICATIONS"), Some(Verb::Get), false);
        assert!(matches!(m, PathMatch::NotFound(_)), "{m:?}");
    }

    #[test]
    fn token_route_captures_the_tenant() {
        match match_path(
            &segs("/contoso.com/oauth2/v2.0/token"),
            Some(Verb::Post),
            true,
        ) {
            PathMatch::Found { route, params } => {
                assert_eq!(route.name, "token");
                assert_eq!(params, vec![("tenant", "contoso.com".to_owned())]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_segments_and_methods() {
        match match_path(&segs("/v1.0/applicationz"), Some(Verb::Get), true) {
            PathMatch::UnknownSegment(s) => assert_eq!(s, "applicationz"),
            other => panic!("{other:?}"),
        }
        match match_path(&segs("/v1.0/applications/x/y"), Some(Verb::Get), true) {
            PathMatch::UnknownSegment(s) => assert_eq!(s, "x"),
            other => panic!("{other:?}"),
        }
        match match_path(&segs("/beta/reports/nope"), Some(Verb::Get), true) {
            PathMatch::UnknownSegment(s) => assert_eq!(s, "nope"),
            other => panic!("{other:?}"),
        }
        match match_path(&segs("/v1.0"), Some(Verb::Get), true) {
            PathMatch::UnknownSegment(s) => assert_eq!(s, "v1.0"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            match_path(&segs("/v1.0/applications"), Some(Verb::Post), true),
            PathMatch::WrongMethod(_)
        ));
        assert!(matches!(
            match_path(&segs("/favicon.ico"), Some(Verb::Get), true),
            PathMatch::NotFound(_)
        ));
    }

    #[test]
    fn function_segments_capture_their_arguments() {
        let found = |path: &str| match match_path(&segs(path), Some(Verb::Get), true) {
            PathMatch::Found { route, params } => Some((route.name, params)),
            _ => None,
        };
        assert_eq!(
            found("/beta/reports/GETAZUREADAPPLICATIONSIGNINSUMMARY(period='D7')"),
            Some((
                "applicationSignInSummary",
                vec![(FUNCTION_ARGS, "period='D7'".to_owned())]
            ))
        );
        assert_eq!(
            found("/v1.0/reports/authenticationMethods/usersRegisteredByFeature"),
            Some((
                "usersRegisteredByFeature",
                vec![("version", "v1.0".to_owned())]
            ))
        );
        assert_eq!(
            found("/beta/reports/getCredentialUserRegistrationCount()"),
            Some((
                "credentialUserRegistrationCount",
                vec![(FUNCTION_ARGS, String::new())]
            ))
        );
        for other in [
            "/beta/reports/getAzureADApplicationSignInSummaryX(period='D7')",
            "/beta/reports/getAzureADApplicationSignInSummary(period='D7'",
            "/beta/reports/getAzureADApplicationSignInSumm",
        ] {
            assert!(found(other).is_none(), "{other}");
        }
        assert_eq!(function_call("f", "F(x)", false), None);
        assert_eq!(function_call("f", "f(x)", false), Some(Some("x")));
    }

    #[test]
    fn names_are_distinct_and_listed() {
        let names: Vec<_> = route_names().collect();
        assert_eq!(
            names,
            vec![
                "token",
                "federationDiscovery",
                "federationJwks",
                "batch",
                "applications",
                "servicePrincipals",
                "servicePrincipalSignInActivities",
                "appCredentialSignInActivities",
                "userInsights",
                "applicationSignInSummary",
                "applicationSignInDetailedSummary",
                "relyingPartyDetailedSummary",
                "userRegistrationDetails",
                "usersRegisteredByFeature",
                "usersRegisteredByMethod",
                "userMfaSignInSummary",
                "credentialUsageSummary",
                "credentialUserRegistrationCount",
                "signIns",
                "directoryAudits",
                "provisioning",
                "customSecurityAttributeAudits",
            ]
        );
    }
}
