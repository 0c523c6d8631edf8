//! The Entra token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client-credentials grant with
//! a secret, a certificate assertion or a federated token, reference §11.1–§11.5) and the
//! access tokens Graph routes verify.
//!
//! Tokens are HS256 JWTs signed with a random per-simulator key. Rotating the key revokes
//! every token issued so far. Error bodies carry every §11.4 field and never the secret or
//! the assertion. The managed identity endpoints (§11.6, §11.7) issue their tokens here too,
//! so that Graph routes accept them alike.

use std::sync::RwLock;
use std::time::Duration;

use axum::http::header::{HeaderName, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::assertion::{self, JWT_BEARER};
use crate::config::{SimClient, SimConfig};
use crate::reply::{Ordered, Reply};
use crate::server::Ctx;
use crate::time::UtcTime;

/// `Content-Type` of token endpoint responses.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// Microsoft Graph's application id, also accepted as audience and scope resource (§11.3).
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The Graph hosts of every cloud (§12). A scope naming one that is not this simulator's
/// cloud is an existing resource of another cloud, which Entra refuses with AADSTS500011
/// rather than as a malformed scope.
const CLOUD_GRAPH_HOSTS: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
];

/// Longest piece of request text echoed into an error description.
const MAX_ECHO: usize = 200;

/// `x-ms-request-id`, which Entra sends with the trace id.
static X_MS_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");

/// Claims of a simulated app-only Graph access token (§11.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// Audience: the simulator's Graph host (`https://graph.microsoft.com` by default).
    pub aud: String,
    /// Issuer: `https://sts.windows.net/{tid}/`, as in v1 Graph tokens.
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not before (Unix seconds).
    pub nbf: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Client id of the caller.
    pub appid: String,
    /// Client id of the caller (v2 claim name).
    pub azp: String,
    /// How the client authenticated: "1" = secret, "2" = certificate, federated token or
    /// managed identity.
    pub appidacr: String,
    /// `app` for app-only tokens (switchable, UNCONFIRMED detail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idtyp: Option<String>,
    /// Application permissions granted to the client.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Tenant id.
    pub tid: String,
    /// Unique token id.
    pub uti: String,
    /// Token version.
    pub ver: String,
    /// Simulator only: seconds the issuing clock was ahead of (or, negative, behind) the
    /// host's under a `skew` fault, so Graph checks `nbf`/`exp` against the same clock, as
    /// Microsoft's services agree with each other. Absent without the fault.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "xms_sim_skew"
    )]
    pub sim_clock_skew: Option<i64>,
}

/// Why Graph refuses a bearer token (each maps to a 401 message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Rejection {
    /// No bearer token at all.
    #[error("Access token is empty.")]
    Empty,
    /// Not a JWT.
    #[error("CompactToken parsing failed with error code: 80049217")]
    Malformed,
    /// Signed with another (e.g. rotated-out) key or algorithm.
    #[error("Access token validation failure. Invalid signature.")]
    BadSignature,
    /// `exp` has passed.
    #[error("Lifetime validation failed, the token is expired.")]
    Expired,
    /// `nbf` is in the future.
    #[error("Lifetime validation failed, the token is not yet valid.")]
    NotYetValid,
    /// Not a Graph token.
    #[error("Access token validation failure. Invalid audience.")]
    WrongAudience,
    /// Issued for another tenant.
    #[error("Access token validation failure. Invalid issuer.")]
    WrongTenant,
}

/// How a client proved its identity; it becomes the token's `appidacr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    /// A client secret (§11.1).
    Secret,
    /// A certificate assertion (§11.2).
    Certificate,
    /// A federated token (§11.5).
    Federated,
    /// A managed identity endpoint (§11.6, §11.7).
    ManagedIdentity,
}

impl AuthMethod {
    /// The `appidacr` value: "1" for a secret, "2" for a certificate or an assertion.
    fn appidacr(self) -> &'static str {
        match self {
            Self::Secret => "1",
            Self::Certificate | Self::Federated | Self::ManagedIdentity => "2",
        }
    }
}

/// A freshly signed access token.
#[derive(Clone, Debug)]
pub(crate) struct Issued {
    /// The JWT.
    pub token: String,
    /// Issued at / not before (Unix seconds).
    pub iat: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
}

impl Issued {
    /// Lifetime in seconds (`expires_in`).
    pub(crate) fn expires_in(&self) -> u64 {
        self.exp.saturating_sub(self.iat)
    }
}

/// Issues and verifies access tokens.
#[derive(Debug)]
pub(crate) struct TokenIssuer {
    /// Current HMAC key; replaced by [`TokenIssuer::rotate`].
    key: RwLock<Vec<u8>>,
    /// `aud` of issued tokens: the configured Graph host (§12).
    audience: String,
    /// Token lifetime.
    lifetime: Duration,
    /// Whether tokens carry `idtyp`.
    idtyp: bool,
    /// Tolerated clock skew in seconds.
    leeway: u64,
    /// The simulated tenant's id.
    tenant_id: String,
}

/// 32 fresh random bytes for an HMAC key.
fn random_key() -> Vec<u8> {
    let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

impl TokenIssuer {
    /// An issuer for `config`'s tenant with a random key.
    pub(crate) fn new(config: &SimConfig) -> Self {
        Self {
            key: RwLock::new(random_key()),
            audience: config.graph_audience.trim_end_matches('/').to_owned(),
            lifetime: config.token_lifetime,
            idtyp: config.quirks.idtyp_claim,
            leeway: config.quirks.token_clock_skew.as_secs(),
            tenant_id: config.tenant_id.clone(),
        }
    }

    /// Replaces the signing key: every token issued so far stops verifying.
    pub(crate) fn rotate(&self) {
        *self.key.write().unwrap_or_else(|e| e.into_inner()) = random_key();
    }

    /// A signed app-only token for `appid` with `roles`.
    pub(crate) fn issue(
        &self,
        appid: &str,
        roles: &[String],
        method: AuthMethod,
    ) -> Result<Issued, jsonwebtoken::errors::Error> {
        self.issue_skewed(appid, roles, method, 0)
    }

    /// [`TokenIssuer::issue`] by a clock `skew` seconds ahead of the host's (behind when
    /// negative): the `skew` fault.
    pub(crate) fn issue_skewed(
        &self,
        appid: &str,
        roles: &[String],
        method: AuthMethod,
        skew: i64,
    ) -> Result<Issued, jsonwebtoken::errors::Error> {
        let now = jsonwebtoken::get_current_timestamp().saturating_add_signed(skew);
        let exp = now.saturating_add(self.lifetime.as_secs());
        let claims = Claims {
            aud: self.audience.clone(),
            iss: format!("https://sts.windows.net/{}/", self.tenant_id),
            iat: now,
            nbf: now,
            exp,
            appid: appid.to_owned(),
            azp: appid.to_owned(),
            appidacr: method.appidacr().to_owned(),
            idtyp: self.idtyp.then(|| "app".to_owned()),
            roles: roles.to_vec(),
            tid: self.tenant_id.clone(),
            uti: uuid::Uuid::new_v4().to_string(),
            ver: "1.0".to_owned(),
            sim_clock_skew: (skew != 0).then_some(skew),
        };
        let key = self.key.read().unwrap_or_else(|e| e.into_inner());
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&key),
        )?;
        Ok(Issued {
            token,
            iat: now,
            exp,
        })
    }

    /// Verifies a bearer token as Graph would.
    pub(crate) fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        if token.is_empty() {
            return Err(Rejection::Empty);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Lifetime is checked below, against the clock that issued the token.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_audience(&[self.audience.as_str(), GRAPH_APP_ID]);
        validation.set_required_spec_claims(&["exp", "aud"]);
        let key = self.key.read().unwrap_or_else(|e| e.into_inner());
        let data =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&key), &validation)
                .map_err(|e| match e.kind() {
                    ErrorKind::ExpiredSignature => Rejection::Expired,
                    ErrorKind::ImmatureSignature => Rejection::NotYetValid,
                    ErrorKind::InvalidAudience => Rejection::WrongAudience,
                    ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => {
                        Rejection::BadSignature
                    }
                    _ => Rejection::Malformed,
                })?;
        let now = jsonwebtoken::get_current_timestamp()
            .saturating_add_signed(data.claims.sim_clock_skew.unwrap_or(0));
        if data.claims.exp < now.saturating_sub(self.leeway) {
            return Err(Rejection::Expired);
        }
        if data.claims.nbf > now.saturating_add(self.leeway) {
            return Err(Rejection::NotYetValid);
        }
        if !data.claims.tid.eq_ignore_ascii_case(&self.tenant_id) {
            return Err(Rejection::WrongTenant);
        }
        Ok(data.claims)
    }
}

/// A token endpoint error (§11.4).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {error} AADSTS{code}: {description}")]
pub(crate) struct TokenError {
    /// HTTP status.
    pub status: u16,
    /// OAuth `error` code.
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    /// Human text after `AADSTSnnnn: `.
    pub description: String,
}

impl TokenError {
    /// An error with an explicit status.
    pub(crate) fn new(
        status: u16,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    /// An `invalid_client` error, with the configured status (§11.4: 401, UNCONFIRMED).
    pub(crate) fn invalid_client(ctx: &Ctx<'_>, code: u32, description: impl Into<String>) -> Self {
        Self::new(
            ctx.sim.config.quirks.invalid_client_status,
            "invalid_client",
            code,
            description,
        )
    }

    /// Any other error, with the configured status (§11.4: 400).
    pub(crate) fn other(
        ctx: &Ctx<'_>,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        Self::new(
            ctx.sim.config.quirks.token_error_status,
            error,
            code,
            description,
        )
    }

    /// A generic error for an injected `Status(n)` fault.
    pub(crate) fn for_status(status: u16) -> Self {
        match status {
            401 => Self::new(
                status,
                "invalid_client",
                7_000_215,
                "Invalid client secret provided.",
            ),
            429 | 503 | 504 => Self::new(
                status,
                "temporarily_unavailable",
                90_033,
                "A transient error has occurred. Please try again.",
            ),
            500..=599 => Self::new(
                status,
                "server_error",
                50_000,
                "There was an error issuing a token or an issue with our sign-in service.",
            ),
            _ => Self::new(
                status,
                "invalid_request",
                9_002_313,
                "Invalid request. Request is malformed or invalid.",
            ),
        }
    }

    /// Renders the §11.4 body.
    pub(crate) fn to_reply(&self, ctx: &Ctx<'_>) -> Reply {
        let timestamp = UtcTime::now().to_aadsts_timestamp();
        let trace_id = ctx.request_id;
        let correlation_id = ctx
            .client_request_id_sent
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            self.code, self.description
        );
        let fields = [
            ("error", json!(self.error)),
            ("error_description", json!(description)),
            ("error_codes", json!([self.code])),
            ("timestamp", json!(timestamp)),
            ("trace_id", json!(trace_id)),
            ("correlation_id", json!(correlation_id)),
            (
                "error_uri",
                json!(format!("{}/error?code={}", ctx.sim.base_url, self.code)),
            ),
        ];
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        token_headers(
            Reply::json(status, JSON_CONTENT_TYPE, &Ordered(&fields)),
            trace_id,
        )
    }
}

/// Headers Entra puts on every token response.
fn token_headers(reply: Reply, trace_id: &str) -> Reply {
    reply
        .with_header(CACHE_CONTROL, "no-store, no-cache")
        .with_header(PRAGMA, "no-cache")
        .with_header(X_MS_REQUEST_ID.clone(), trace_id)
}

/// Shortens request text before echoing it in an error.
fn echo(text: &str) -> String {
    text.chars().take(MAX_ECHO).collect()
}

/// Decodes an `application/x-www-form-urlencoded` component (Basic credentials are encoded
/// this way before base64, RFC 6749 §2.3.1).
fn form_decode(text: &str) -> String {
    crate::server::percent_decode(&text.replace('+', " "))
}

/// `client_id` and secret from an `Authorization: Basic` header, if well formed.
fn basic_credentials(ctx: &Ctx<'_>) -> Option<(String, String)> {
    let value = ctx.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASE64.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// What a requested resource (a scope without `/.default`, or a managed identity `resource`)
/// names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    /// This simulator's Graph: its configured Graph host, Graph's app id, or the simulator's
    /// own base URL (what a client configured with the simulator as Graph root derives).
    Graph,
    /// The Graph host of another cloud (§12): a real resource, just not in this cloud.
    OtherCloud,
    /// Anything else.
    Unknown,
}

/// Classifies `resource` for a simulator at `base_url` standing for Graph host `audience`.
pub(crate) fn classify_resource(resource: &str, base_url: &str, audience: &str) -> Resource {
    // Entra tolerates a trailing slash on the resource ("https://graph.microsoft.com//.default").
    let resource = resource.strip_suffix('/').unwrap_or(resource);
    let audience = audience.trim_end_matches('/');
    if [audience, GRAPH_APP_ID, base_url]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(resource))
    {
        Resource::Graph
    } else if CLOUD_GRAPH_HOSTS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(resource))
    {
        Resource::OtherCloud
    } else {
        Resource::Unknown
    }
}

/// What `scope` asks for: a single `.default` scope of Graph in this cloud, of Graph in
/// another cloud, or something malformed (`None`).
fn classify_scope(scope: &str, base_url: &str, audience: &str) -> Option<Resource> {
    let mut scopes = scope.split_whitespace();
    let (Some(only), None) = (scopes.next(), scopes.next()) else {
        return None;
    };
    let lower = only.to_ascii_lowercase();
    let resource = lower.strip_suffix("/.default")?;
    match classify_resource(resource, base_url, audience) {
        Resource::Unknown => None,
        known => Some(known),
    }
}

/// AADSTS500011 (§11.4): the resource exists in some cloud but not in this tenant's.
pub(crate) fn resource_not_found(resource: &str, tenant_id: &str) -> String {
    format!(
        "The resource principal named {} was not found in the tenant named {tenant_id}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
        echo(resource)
    )
}

/// Whether `tenant` is written like a tenant id or domain at all (AADSTS900023 otherwise).
fn tenant_is_well_formed(tenant: &str) -> bool {
    uuid::Uuid::try_parse(tenant).is_ok()
        || (tenant.contains('.')
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
}

/// Runs the token handler and removes any secret the client sent from error descriptions,
/// whatever field the client (mistakenly) put it in.
pub(crate) fn serve(ctx: &Ctx<'_>, handler: fn(&Ctx<'_>) -> Result<Reply, TokenError>) -> Reply {
    match handler(ctx) {
        Ok(reply) => reply,
        Err(mut e) => {
            let form = form_fields(ctx);
            let secrets = form
                .iter()
                .filter(|(k, _)| k == "client_secret" || k == "client_assertion")
                .map(|(_, v)| v.clone())
                .chain(basic_credentials(ctx).map(|(_, s)| s));
            for secret in secrets.filter(|s| !s.is_empty()) {
                e.description = e.description.replace(&secret, "***");
            }
            e.to_reply(ctx)
        }
    }
}

/// The form fields of the request body (empty unless it is form-encoded).
fn form_fields(ctx: &Ctx<'_>) -> Vec<(String, String)> {
    let is_form = ctx
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Vec::new();
    }
    url::form_urlencoded::parse(ctx.body).into_owned().collect()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) fn handle(ctx: &Ctx<'_>) -> Result<Reply, TokenError> {
    if ctx.method != axum::http::Method::POST {
        return Err(TokenError::other(
            ctx,
            "invalid_request",
            900_561,
            format!(
                "The endpoint only accepts POST, OPTIONS requests. Received a {} request.",
                echo(ctx.method.as_str())
            ),
        ));
    }
    let tenant = ctx.param("tenant");
    let sim = ctx.sim;
    if ["common", "consumers"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(tenant))
    {
        return Err(TokenError::other(
            ctx,
            "invalid_request",
            9_001_023,
            "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
        ));
    }
    if !tenant_is_well_formed(tenant) {
        return Err(TokenError::other(
            ctx,
            "invalid_request",
            900_023,
            format!(
                "Specified tenant identifier '{}' is neither a valid DNS name, nor a valid external domain.",
                echo(tenant)
            ),
        ));
    }
    if !tenant.eq_ignore_ascii_case(&sim.tenant.tenant_id)
        && !tenant.eq_ignore_ascii_case(&sim.tenant.tenant_domain)
    {
        return Err(TokenError::other(
            ctx,
            "invalid_request",
            90_002,
            format!(
                "Tenant '{}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
                echo(tenant)
            ),
        ));
    }

    let form = form_fields(ctx);
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let missing = |name: &str| {
        TokenError::other(
            ctx,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    };
    let grant_type = field("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(TokenError::other(
            ctx,
            "unsupported_grant_type",
            70_003,
            format!(
                "The app requested an unsupported grant type '{}'.",
                echo(grant_type)
            ),
        ));
    }

    let basic = basic_credentials(ctx);
    let client_id = match (field("client_id"), &basic) {
        (Some(form_id), Some((basic_id, _))) if form_id != basic_id => {
            return Err(TokenError::other(
                ctx,
                "invalid_request",
                9_002_313,
                "Invalid request. Request is malformed or invalid.",
            ));
        }
        (Some(id), _) => id.to_owned(),
        (None, Some((id, _))) => id.clone(),
        (None, None) => return Err(missing("client_id")),
    };
    let Some(client) = sim
        .config
        .clients
        .iter()
        .find(|c| c.client_id.eq_ignore_ascii_case(&client_id))
    else {
        return Err(TokenError::other(
            ctx,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                echo(&client_id),
                sim.tenant.tenant_domain
            ),
        ));
    };

    let method = match field("client_assertion") {
        Some(client_assertion) => {
            match field("client_assertion_type") {
                Some(JWT_BEARER) => {}
                None => return Err(missing("client_assertion_type")),
                Some(other) => {
                    return Err(TokenError::other(
                        ctx,
                        "invalid_request",
                        9_002_313,
                        format!(
                            "Invalid request. Request is malformed or invalid. The client_assertion_type '{}' is not supported; use '{JWT_BEARER}'.",
                            echo(other)
                        ),
                    ));
                }
            }
            assertion::authenticate(ctx, client, client_assertion)?
        }
        None => {
            check_secret(ctx, client, field("client_secret"), basic)?;
            AuthMethod::Secret
        }
    };

    let audience = &sim.config.graph_audience;
    match field("scope") {
        None => {
            return Err(TokenError::other(
                ctx,
                "invalid_scope",
                70_011,
                "The provided request must include a 'scope' input parameter.",
            ));
        }
        Some(scope) => match classify_scope(scope, &sim.base_url, audience) {
            Some(Resource::Graph) => {}
            Some(_) => {
                // Tokens are not interchangeable between clouds (§12).
                let resource = scope.trim();
                let resource = resource.strip_suffix("/.default").unwrap_or(resource);
                return Err(TokenError::other(
                    ctx,
                    "invalid_resource",
                    500_011,
                    resource_not_found(resource, &sim.tenant.tenant_id),
                ));
            }
            None => {
                return Err(TokenError::other(
                    ctx,
                    "invalid_scope",
                    70_011,
                    format!(
                        "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {} is not valid.",
                        echo(scope)
                    ),
                ));
            }
        },
    }

    let issued = sim
        .tokens
        .issue_skewed(&client.client_id, &client.roles, method, ctx.clock_skew)
        .map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            TokenError::for_status(500)
        })?;
    let fields = [
        ("token_type", json!("Bearer")),
        ("expires_in", json!(issued.expires_in())),
        ("ext_expires_in", json!(issued.expires_in())),
        ("access_token", json!(issued.token)),
    ];
    Ok(token_headers(
        Reply::json(StatusCode::OK, JSON_CONTENT_TYPE, &Ordered(&fields)),
        ctx.request_id,
    ))
}

/// The secret checks (§11.1, §11.4): present, right, not expired.
fn check_secret(
    ctx: &Ctx<'_>,
    client: &SimClient,
    form_secret: Option<&str>,
    basic: Option<(String, String)>,
) -> Result<(), TokenError> {
    let secret = form_secret
        .map(str::to_owned)
        .or_else(|| basic.map(|(_, s)| s))
        .filter(|s| !s.is_empty());
    let Some(secret) = secret else {
        return Err(TokenError::invalid_client(
            ctx,
            7_000_218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    // An app without a secret (certificate or federated only) matches no secret at all.
    if client.secret.is_empty() || secret != client.secret {
        return Err(TokenError::invalid_client(
            ctx,
            7_000_215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                client.client_id
            ),
        ));
    }
    if client.secret_expired {
        return Err(TokenError::invalid_client(
            ctx,
            7_000_222,
            format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds",
                client.client_id
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_rules() {
        let base = "http://127.0.0.1:9";
        let global = crate::config::GLOBAL_GRAPH_AUDIENCE;
        let scope_is_valid =
            |s: &str, b: &str| classify_scope(s, b, global) == Some(Resource::Graph);
        for ok in [
            "https://graph.microsoft.com/.default",
            "https://GRAPH.microsoft.com//.default",
            "00000003-0000-0000-c000-000000000000/.default",
            "http://127.0.0.1:9/.default",
            "  https://graph.microsoft.com/.default ",
        ] {
            assert!(scope_is_valid(ok, base), "{ok}");
        }
        for bad in [
            "",
            "https://graph.microsoft.com/User.Read",
            "https://graph.microsoft.com/.default openid",
            "https://management.azure.com/.default",
            "https://graph.microsoft.com",
        ] {
            assert!(!scope_is_valid(bad, base), "{bad}");
        }
        let us = "https://graph.microsoft.us";
        assert_eq!(
            classify_scope("https://graph.microsoft.us/.default", base, us),
            Some(Resource::Graph)
        );
        assert_eq!(
            classify_scope("https://graph.microsoft.com/.default", base, us),
            Some(Resource::OtherCloud)
        );
        assert_eq!(
            classify_resource("https://graph.microsoft.us/", base, us),
            Resource::Graph
        );
    }

    #[test]
    fn tenant_shapes() {
        assert!(tenant_is_well_formed(
            "7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f"
        ));
        assert!(tenant_is_well_formed("contoso.onmicrosoft.com"));
        assert!(!tenant_is_well_formed("not a tenant"));
        assert!(!tenant_is_well_formed("organizations"));
    }

    #[test]
    fn tokens_verify_until_rotated() {
        let config = SimConfig::default();
        let issuer = TokenIssuer::new(&config);
        let demo = SimClient::demo();
        let issued = issuer
            .issue(&demo.client_id, &demo.roles, AuthMethod::Secret)
            .expect("sign");
        assert_eq!(issued.expires_in(), 3599);
        let token = issued.token;
        let claims = issuer.verify(&token).expect("valid");
        assert_eq!(claims.aud, crate::config::GLOBAL_GRAPH_AUDIENCE);
        assert_eq!(claims.appidacr, "1");
        assert_eq!(claims.idtyp.as_deref(), Some("app"));
        assert!(claims.roles.iter().any(|r| r == "Application.Read.All"));
        assert_eq!(issuer.verify(""), Err(Rejection::Empty));
        assert_eq!(issuer.verify("abc"), Err(Rejection::Malformed));
        issuer.rotate();
        assert_eq!(issuer.verify(&token), Err(Rejection::BadSignature));
    }

    #[test]
    fn skewed_tokens_carry_shifted_times_and_verify_on_the_same_clock() {
        let config = SimConfig {
            token_lifetime: Duration::from_secs(300),
            ..SimConfig::default()
        };
        let issuer = TokenIssuer::new(&config);
        let demo = SimClient::demo();
        let now = jsonwebtoken::get_current_timestamp();
        for skew in [600_i64, -600] {
            let issued = issuer
                .issue_skewed(&demo.client_id, &demo.roles, AuthMethod::Secret, skew)
                .expect("sign");
            assert!(issued.iat.abs_diff(now.saturating_add_signed(skew)) <= 2);
            // Ahead: not yet valid by the host's clock; behind: already expired by it.
            if skew > 0 {
                assert!(issued.iat > now + 300);
            } else {
                assert!(issued.exp < now);
            }
            assert_eq!(
                issued.expires_in(),
                300,
                "expires_in is relative, unshifted"
            );
            let claims = issuer
                .verify(&issued.token)
                .expect("valid on its own clock");
            assert_eq!(claims.sim_clock_skew, Some(skew));
        }
        // Without the skew claim the same times are judged by the host's clock.
        let unskewed = issuer
            .issue(&demo.client_id, &demo.roles, AuthMethod::Secret)
            .expect("sign");
        assert!(issuer.verify(&unskewed.token).is_ok());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%7Eb+c"), "a~b c");
    }
}
