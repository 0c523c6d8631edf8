//! What a simulator instance looks like: the tenant to generate, the clients that may get
//! tokens, throttling and faults, and knobs for every behaviour the reference marks UNCONFIRMED.
//!
//! All defaults live here, as documented constants, so that the library, the CLI and the
//! exporter's demo mode agree on them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::faults::FaultRule;
use crate::throttle::ThrottleConfig;

/// Tenant id of the demo tenant (a fixed GUID so demo dashboards and tests can name it).
pub const DEMO_TENANT_ID: &str = "7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f";

/// Verified domain of the demo tenant; the token endpoint accepts it in place of the id (§11.1).
pub const DEMO_TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";

/// Client id of the demo app registration, which holds every role in [`ALL_ROLES`].
pub const DEMO_CLIENT_ID: &str = "5d3b1e0f-6a2c-4e8b-9f71-3c4d5e6f7a8b";

/// Client secret of the demo app registration. Fake: it only opens this simulator.
pub const DEMO_CLIENT_SECRET: &str = "sim~demo-secret-value";

/// Every application permission the exporter's collectors use (reference Appendix A).
pub const ALL_ROLES: &[&str] = &[
    "Application.Read.All",
    "Directory.Read.All",
    "Reports.Read.All",
    "AuditLog.Read.All",
    "Insights-UserMetric.Read.All",
];

/// Default seed of the tenant model.
pub const DEFAULT_SEED: u64 = 0x5eed_2025;

/// Default number of app registrations: a mid-sized demo tenant.
pub const DEFAULT_APPLICATIONS: usize = 300;

/// Default number of service principals beyond those backing the tenant's own apps.
pub const DEFAULT_EXTRA_SERVICE_PRINCIPALS: usize = 120;

/// Default upper bound of credentials per application or service principal.
pub const DEFAULT_MAX_CREDENTIALS_PER_APP: usize = 4;

/// Default user count: above 500, so the largest throttling tier of §7 applies.
pub const DEFAULT_USERS: u64 = 1_200;

/// Default access-token lifetime, as Entra reports it in `expires_in` (§11.3).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// Default bound of the request log kept for tests.
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 100_000;

/// Default `Content-Type` of successful Graph JSON responses ("Common conventions").
pub const GRAPH_JSON_CONTENT_TYPE: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// An app registration that may obtain tokens from the simulated token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimClient {
    /// The application (client) id sent as `client_id`.
    pub client_id: String,
    /// The secret value the client must present.
    pub secret: String,
    /// When true the secret is recognised but expired: AADSTS7000222 instead of a token.
    pub secret_expired: bool,
    /// Application permissions granted to the client; they become the token's `roles` claim.
    pub roles: Vec<String>,
}

impl SimClient {
    /// A client with a valid secret and the given roles.
    pub fn new(client_id: impl Into<String>, secret: impl Into<String>, roles: &[&str]) -> Self {
        Self {
            client_id: client_id.into(),
            secret: secret.into(),
            secret_expired: false,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    /// The demo client: [`DEMO_CLIENT_ID`] / [`DEMO_CLIENT_SECRET`] with [`ALL_ROLES`].
    pub fn demo() -> Self {
        Self::new(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ALL_ROLES)
    }
}

/// Behaviour the reference marks UNCONFIRMED or community-observed, kept switchable so the
/// simulator can follow new evidence without code changes. Defaults are the best guess.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quirks {
    /// `Content-Type` of successful Graph JSON responses; the exact string is UNCONFIRMED
    /// ("Common conventions").
    pub graph_content_type: String,
    /// Match URL path segments case-insensitively, as Graph appears to ("Common conventions",
    /// UNCONFIRMED as a guarantee).
    pub case_insensitive_paths: bool,
    /// Send `OData-Version: 4.0`, which "some services" add ("Common conventions").
    pub odata_version_header: bool,
    /// `WWW-Authenticate` value on Graph 401s, contents UNCONFIRMED (§10.1). `{base}` is replaced
    /// by the simulator's base URL and `{tenant}` by the tenant id.
    pub www_authenticate: String,
    /// HTTP status for an unknown path segment under `/v1.0` or `/beta`. Community reports show
    /// Graph answering `400 BadRequest` "Resource not found for the segment '…'".
    pub unknown_segment_status: u16,
    /// Page size when `$top` is absent (§7, community: 100).
    pub default_page_size: u32,
    /// Largest `$top` accepted (§7, community: 999).
    pub max_page_size: u32,
    /// HTTP status of `invalid_client` token errors (§11.4: 401 UNCONFIRMED).
    pub invalid_client_status: u16,
    /// HTTP status of every other token error (§11.4: 400).
    pub token_error_status: u16,
    /// Put `idtyp: "app"` into access tokens (§11.3, UNCONFIRMED detail).
    pub idtyp_claim: bool,
    /// `type` of SAML signing keyCredentials on service principals (§7: `X509CertAndPassword`
    /// has been seen there, UNCONFIRMED; `AsymmetricX509Cert` is the documented value).
    pub saml_signing_key_type: String,
    /// Clock skew tolerated when Graph validates a token's `exp`/`nbf`. Zero, so that the short
    /// lifetimes tests use expire when they say.
    pub token_clock_skew: Duration,
    /// Page size of the sign-in activity reports when `$top` is absent (§4, §5: UNCONFIRMED;
    /// guessed 100, the directory's default).
    pub report_default_page_size: u32,
    /// Largest `$top` the sign-in activity reports accept (§4, §5: UNCONFIRMED; guessed 1000,
    /// the maximum of the other audit-log reports, §8).
    pub report_max_page_size: u32,
    /// List service principals that never signed in in `servicePrincipalSignInActivities`,
    /// with every activity null (§4: whether they are listed or left out is UNCONFIRMED).
    pub sp_activity_include_never_signed_in: bool,
    /// `keyUsage` reported for client secrets in `appCredentialSignInActivities` (§5: the
    /// schema only says `sign` / `verify`; the reference example pairs `clientSecret` with
    /// `sign`, UNCONFIRMED).
    pub password_credential_key_usage: String,
}

impl Default for Quirks {
    fn default() -> Self {
        Self {
            graph_content_type: GRAPH_JSON_CONTENT_TYPE.to_owned(),
            case_insensitive_paths: true,
            odata_version_header: true,
            www_authenticate: concat!(
                r#"Bearer realm="", authorization_uri="{base}/{tenant}/oauth2/authorize", "#,
                r#"client_id="00000003-0000-0000-c000-000000000000""#
            )
            .to_owned(),
            unknown_segment_status: 400,
            default_page_size: 100,
            max_page_size: 999,
            invalid_client_status: 401,
            token_error_status: 400,
            idtyp_claim: true,
            saml_signing_key_type: "AsymmetricX509Cert".to_owned(),
            token_clock_skew: Duration::ZERO,
            report_default_page_size: 100,
            report_max_page_size: 1000,
            sp_activity_include_never_signed_in: true,
            password_credential_key_usage: "sign".to_owned(),
        }
    }
}

/// Everything that defines a simulator instance. Same config (including `now`) → same tenant,
/// byte for byte.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seed of the tenant model.
    pub seed: u64,
    /// Number of app registrations (`/applications`).
    pub applications: usize,
    /// Service principals beyond those created for the tenant's own apps: Microsoft first-party
    /// apps, gallery/SAML enterprise apps, other organisations' apps, managed identities.
    pub extra_service_principals: usize,
    /// Credentials per object are drawn from `0..=max_credentials_per_app`.
    pub max_credentials_per_app: usize,
    /// The tenant's "now": credential dates are generated relative to it (after truncation to
    /// whole seconds, so that only deliberately fractional dates carry a fraction).
    pub now: SystemTime,
    /// Tenant user count; picks the throttling tier of §7.
    pub users: u64,
    /// Tenant id (GUID); the token endpoint accepts it in its path, tokens carry it as `tid`.
    pub tenant_id: String,
    /// Verified domain; the token endpoint accepts it in place of the id.
    pub tenant_domain: String,
    /// App registrations that may obtain tokens.
    pub clients: Vec<SimClient>,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_lifetime: Duration,
    /// Resource-unit throttling of the directory endpoints (§7).
    pub throttle: ThrottleConfig,
    /// Faults active from the start; more can be injected through `SimHandle::faults`.
    pub faults: Vec<FaultRule>,
    /// Switches for UNCONFIRMED behaviour.
    pub quirks: Quirks,
    /// Whether the tenant has an Entra ID P1/P2 licence. Without one the licensed reports
    /// (`servicePrincipalSignInActivities`, `appCredentialSignInActivities`) answer 403
    /// `Authentication_RequestFromNonPremiumTenantOrB2CTenant` (§4, §5, §8).
    pub premium_licence: bool,
    /// How many requests the request log keeps (oldest dropped first).
    pub request_log_capacity: usize,
}

/// The current time truncated to whole seconds: the default tenant "now".
pub fn now_whole_seconds() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            applications: DEFAULT_APPLICATIONS,
            extra_service_principals: DEFAULT_EXTRA_SERVICE_PRINCIPALS,
            max_credentials_per_app: DEFAULT_MAX_CREDENTIALS_PER_APP,
            now: now_whole_seconds(),
            users: DEFAULT_USERS,
            tenant_id: DEMO_TENANT_ID.to_owned(),
            tenant_domain: DEMO_TENANT_DOMAIN.to_owned(),
            clients: vec![SimClient::demo()],
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            throttle: ThrottleConfig::default(),
            faults: Vec::new(),
            quirks: Quirks::default(),
            premium_licence: true,
            request_log_capacity: DEFAULT_REQUEST_LOG_CAPACITY,
        }
    }
}

impl SimConfig {
    /// The demo tenant: the defaults (about 300 apps, the demo client, documented limits).
    pub fn demo() -> Self {
        Self::default()
    }
}
