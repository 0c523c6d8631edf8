//! What a simulator instance looks like: the tenant to generate, the clients that may get
//! tokens, throttling and faults, and knobs for every behaviour the reference marks UNCONFIRMED.
//!
//! All defaults live here, as documented constants, so that the library, the CLI and the
//! exporter's demo mode agree on them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cert::SimCertificate;
use crate::faults::FaultRule;
use crate::reports_throttle::ReportsThrottleConfig;
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
    "CustomSecAttributeAuditLogs.Read.All",
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

/// Default number of AD FS relying parties in `getRelyingPartyDetailedSummary` (§3).
pub const DEFAULT_RELYING_PARTIES: usize = 12;

/// Default multiplier of the activity streams ([`SimConfig::activity_rate`]).
pub const DEFAULT_ACTIVITY_RATE: f64 = 1.0;

/// Default access-token lifetime, as Entra reports it in `expires_in` (§11.3).
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// Default bound of the request log kept for tests.
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 100_000;

/// Default `Content-Type` of successful Graph JSON responses ("Common conventions").
pub const GRAPH_JSON_CONTENT_TYPE: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/// Audience of the tokens a workload identity federation exchange expects by default (§11.5:
/// the projected service-account token's audience, and the default of a new federated
/// identity credential).
pub const DEFAULT_FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Audience of Graph tokens in the global cloud (§11.3, §12).
pub const GLOBAL_GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";

/// An app registration that may obtain tokens from the simulated token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimClient {
    /// The application (client) id sent as `client_id`.
    pub client_id: String,
    /// The secret value the client must present. Empty: the app has no secret.
    pub secret: String,
    /// When true the secret is recognised but expired: AADSTS7000222 instead of a token.
    pub secret_expired: bool,
    /// Application permissions granted to the client; they become the token's `roles` claim.
    pub roles: Vec<String>,
    /// Public certificates registered on the app; a client assertion signed with the matching
    /// private key authenticates it (§11.2).
    pub certificates: Vec<SimCertificate>,
    /// Federated identity credentials: external tokens whose issuer, subject and audience
    /// match one of these authenticate the app (§11.5).
    pub federated: Vec<FederatedCredential>,
}

impl SimClient {
    /// A client with a valid secret and the given roles.
    pub fn new(client_id: impl Into<String>, secret: impl Into<String>, roles: &[&str]) -> Self {
        Self {
            client_id: client_id.into(),
            secret: secret.into(),
            secret_expired: false,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            certificates: Vec::new(),
            federated: Vec::new(),
        }
    }

    /// The demo client: [`DEMO_CLIENT_ID`] / [`DEMO_CLIENT_SECRET`] with [`ALL_ROLES`].
    pub fn demo() -> Self {
        Self::new(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, ALL_ROLES)
    }

    /// The same client with `certificate` registered as well.
    pub fn with_certificate(mut self, certificate: SimCertificate) -> Self {
        self.certificates.push(certificate);
        self
    }

    /// The same client with a federated identity credential added.
    pub fn with_federated(mut self, credential: FederatedCredential) -> Self {
        self.federated.push(credential);
        self
    }
}

/// A federated identity credential on an app registration (§11.5): which external tokens the
/// app trusts. Entra compares all three fields case-sensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The external token's `iss`, e.g. an AKS cluster's OIDC issuer URL.
    pub issuer: String,
    /// The external token's `sub`, e.g. `system:serviceaccount:monitoring:entra-exporter`.
    pub subject: String,
    /// Accepted `aud` values; one must appear in the token.
    pub audiences: Vec<String>,
}

impl FederatedCredential {
    /// A credential for `issuer` and `subject` with the default audience
    /// [`DEFAULT_FEDERATED_AUDIENCE`].
    pub fn new(issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: vec![DEFAULT_FEDERATED_AUDIENCE.to_owned()],
        }
    }
}

/// A managed identity the simulated host (VM, App Service, Container App) carries (§11.6,
/// §11.7). Its tokens are app-only tokens with the identity's client id as `appid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimManagedIdentity {
    /// The identity's client (application) id: `client_id` selects it.
    pub client_id: String,
    /// The service principal's object id: IMDS `object_id` / App Service `principal_id`
    /// selects it.
    pub object_id: String,
    /// The ARM resource id (`/subscriptions/…/userAssignedIdentities/…`): IMDS `msi_res_id` /
    /// App Service `mi_res_id` selects it.
    pub resource_id: String,
    /// True for the host's system-assigned identity (used when no selector is sent); false
    /// for a user-assigned one.
    pub system_assigned: bool,
    /// Application permissions granted to the identity; they become the token's `roles`.
    pub roles: Vec<String>,
}

impl SimManagedIdentity {
    /// A system-assigned identity with the given roles.
    pub fn system_assigned(
        client_id: impl Into<String>,
        object_id: impl Into<String>,
        roles: &[&str],
    ) -> Self {
        let object_id = object_id.into();
        Self {
            client_id: client_id.into(),
            resource_id: format!(
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim/providers/Microsoft.Compute/virtualMachines/graph-sim-{object_id}"
            ),
            object_id,
            system_assigned: true,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    /// A user-assigned identity with the given roles; its resource id ends in `name`.
    pub fn user_assigned(
        client_id: impl Into<String>,
        object_id: impl Into<String>,
        name: &str,
        roles: &[&str],
    ) -> Self {
        Self {
            client_id: client_id.into(),
            object_id: object_id.into(),
            resource_id: format!(
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sim/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
            ),
            system_assigned: false,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }
}

/// The TLS identity of the main listener: with it the simulator serves HTTPS, so that a test
/// can put it behind a proxy under the real host names of a cloud (§12).
#[derive(Clone, PartialEq, Eq)]
pub struct SimTls {
    /// The certificate chain, PEM, leaf first.
    pub cert_pem: String,
    /// The leaf's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: String,
}

impl std::fmt::Debug for SimTls {
    /// Leaves the private key out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTls")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// How the token endpoint refuses a federated assertion that matches no federated identity
/// credential (§11.4, §11.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FederatedMismatch {
    /// AADSTS70021 `invalid_request` naming the assertion's issuer, subject and audience, as
    /// the reference's table and older Entra logs show.
    #[default]
    Combined,
    /// One code per claim, as newer Entra logs show (community): AADSTS700211 (issuer),
    /// AADSTS700213 (subject), AADSTS700212 (audience), `invalid_client`.
    PerClaim,
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
    /// Page size of `getAzureADApplicationSignInSummary` (§2.1: paging UNCONFIRMED). `None`
    /// serves every app in one response.
    pub app_sign_in_summary_page_size: Option<u32>,
    /// Let app-only tokens read `applicationSignInDetailedSummary` (§2.2: documented as
    /// delegated-only, whether app-only calls really fail is UNCONFIRMED; refused by default).
    pub app_sign_in_detailed_summary_app_only: bool,
    /// Require Entra ID P1/P2 for `getRelyingPartyDetailedSummary` (§3: licence UNCONFIRMED;
    /// not required by default).
    pub relying_party_requires_premium: bool,
    /// Scale of `relyingPartyDetailedSummary.signInSuccessRate` (§3: UNCONFIRMED; the example's
    /// 0.9875 suggests a fraction).
    pub relying_party_success_rate: RateScale,
    /// Accept `UserAuthenticationMethod.Read.All` alone for `userRegistrationDetails` (§6.1:
    /// the permission map says `AuditLog.Read.All`, older pages name both; UNCONFIRMED, refused
    /// by default).
    pub user_registration_accepts_user_authentication_method_role: bool,
    /// Page size of `userRegistrationDetails` when `$top` is absent (§6.1: UNCONFIRMED).
    pub user_registration_default_page_size: u32,
    /// Largest `$top` `userRegistrationDetails` accepts (§6.1: UNCONFIRMED).
    pub user_registration_max_page_size: u32,
    /// Let app-only tokens call `usersRegisteredByFeature` / `usersRegisteredByMethod` (§6.2:
    /// application permissions "Not supported", UNCONFIRMED whether they fail; refused by
    /// default).
    pub users_registered_by_app_only: bool,
    /// Include the evolvable `usageAuthMethod` members (those after `unknownFutureValue`) in
    /// `getCredentialUsageSummary` (§6.3: only sent to clients that opt in, UNCONFIRMED for
    /// this API; left out by default).
    pub credential_usage_include_evolvable: bool,
    /// Roles accepted by `userMfaSignInSummary` (§6.5: permission UNCONFIRMED).
    pub mfa_sign_in_summary_roles: Vec<String>,
    /// Status of the removed `activeUsersBreakdown` user-insight collections (§1.2, Appendix
    /// B.3: they stopped returning data on 2024-03-09 and left the schema; the exact error is
    /// UNCONFIRMED). 400 answers `BadRequest` "Resource not found for the segment …" like any
    /// unknown segment; any other status answers `Request_ResourceNotFound` with that status.
    pub insights_removed_metric_status: u16,
    /// What user insights answer on a workforce tenant ([`SimConfig::external_id`] false);
    /// §1.1 says they only cover External ID tenants, the behaviour elsewhere is UNCONFIRMED.
    pub insights_workforce: WorkforceInsights,
    /// Days of daily user-insight rows served, today (partial) included (§1.1: the portal
    /// shows about 30 days; the API's own retention is UNCONFIRMED).
    pub insights_daily_retention_days: u32,
    /// Months of monthly user-insight rows served, the current (partial) month included (§1.1:
    /// the portal shows about 12 months; UNCONFIRMED for the API).
    pub insights_monthly_retention_months: u32,
    /// Hours after the end of a UTC day before its user-insight rows appear (§1.1: the
    /// aggregation delay is UNCONFIRMED). With 0 the current day's partial rows are served.
    pub insights_lag_hours: u32,
    /// Refuse `$filter` on `factDate` with 400 `Request_UnsupportedQuery` (§1.4: date-range
    /// filters are not documented anywhere, UNCONFIRMED; accepted by default).
    pub insights_reject_fact_date_filter: bool,
    /// Page size of the user-insight collections when `$top` is absent (§1.5: UNCONFIRMED).
    pub insights_default_page_size: u32,
    /// Largest `$top` the user-insight collections accept (§1.5: UNCONFIRMED).
    pub insights_max_page_size: u32,
    /// Longest delay between an activity-log event's timestamp and the moment the audit logs
    /// (§8 sign-ins, directory audits, provisioning, custom security attribute audits) list it;
    /// each event draws its own delay in `[0, activity_max_lag]`. Real logs are typically
    /// minutes late; the bound is UNCONFIRMED. Zero lists every event at its timestamp.
    pub activity_max_lag: Duration,
    /// Days of activity-log events served, counted back from the request (§8: "commonly 7 days
    /// Free / 30 days P1/P2", UNCONFIRMED; the logs need P1/P2, so 30).
    pub activity_retention_days: u32,
    /// What `/beta/auditLogs/signIns` lists without a `signInEventTypes` filter: interactive
    /// user sign-ins only, like v1.0 (§8 implies it; UNCONFIRMED), or every event type.
    pub beta_sign_ins_default_interactive_only: bool,
    /// `status.failureReason` of successful sign-ins (§8: Graph often writes `"Other."` there,
    /// community-observed, UNCONFIRMED). `None` writes null.
    pub sign_in_success_failure_reason: Option<String>,
    /// Clock skew tolerated on a client assertion's `exp` and `nbf` (§11.2: Entra's tolerance
    /// is UNCONFIRMED; 5 minutes, the default of Microsoft's token validation libraries).
    pub assertion_clock_skew: Duration,
    /// AADSTS code for a certificate assertion whose `aud` is not this token endpoint (§11.2:
    /// UNCONFIRMED; AADSTS50012 "Client assertion audience claim does not match Realm issuer."
    /// is community-observed).
    pub assertion_audience_error_code: u32,
    /// AADSTS code for a certificate assertion whose `jti` was already used within its
    /// lifetime; `None` accepts replays (§11.2: whether Entra enforces `jti` uniqueness is
    /// UNCONFIRMED, and MSAL for Python reuses one assertion for several requests, so it may
    /// not). Rejected by default with AADSTS50027 ("JWT token is invalid or malformed"), so a
    /// client that reuses assertions is caught.
    pub assertion_replay_error_code: Option<u32>,
    /// When a certificate assertion carries `x5c`, require its first certificate to be the
    /// registered one its thumbprint names (§11.2: `x5c` serves subject-name/issuer
    /// authentication, which the simulator does not model; UNCONFIRMED).
    pub x5c_must_match: bool,
    /// How a federated assertion that matches no federated identity credential is refused
    /// (§11.4, §11.5).
    pub federated_mismatch: FederatedMismatch,
    /// HTTP status of the App Service identity endpoint when `X-IDENTITY-HEADER` is missing
    /// or wrong (§11.7: UNCONFIRMED).
    pub identity_header_status: u16,
    /// Most requests one `$batch` may carry (§9: 20, documented).
    pub batch_max_requests: usize,
    /// Status of a `$batch` with more than [`Quirks::batch_max_requests`] requests (§9: the
    /// over-limit error is UNCONFIRMED; 400 `BadRequest` naming the limit).
    pub batch_over_limit_status: u16,
    /// Answer a `$batch` with its responses in reverse request order (§9: "may come back in
    /// any order"), so clients must correlate by `id`. False keeps request order.
    pub batch_reverse_responses: bool,
    /// Write an inner response's `Retry-After` as a JSON number instead of a string (§9: the
    /// string form is UNCONFIRMED).
    pub batch_retry_after_as_number: bool,
    /// Accept absolute `https://…/v1.0/…` URLs as inner `url`s (§9: UNCONFIRMED whether Graph
    /// does; refused with an inner 400 by default, so clients strip the root).
    pub batch_accepts_absolute_urls: bool,
    /// Check the bearer token on the `$batch` request itself (401 for the whole batch) rather
    /// than only on each inner request (each inner 401, envelope 200). Not in the reference:
    /// UNCONFIRMED; the envelope is checked by default.
    pub batch_envelope_authenticates: bool,
}

/// How user insights (§1) answer on a tenant that is not an External ID tenant; §1.1 leaves
/// it UNCONFIRMED.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WorkforceInsights {
    /// 200 with an empty `value` array: the reports simply have no customer activity.
    #[default]
    EmptyCollections,
    /// 403 `Forbidden` "User insights are only available for Microsoft Entra External ID
    /// tenants." (code and message invented by the simulator).
    Forbidden,
}

/// How a success rate is written (§3 `signInSuccessRate`, scale UNCONFIRMED).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RateScale {
    /// A fraction in 0–1, like the reference example's 0.9875.
    #[default]
    Fraction,
    /// A percentage in 0–100.
    Percentage,
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
            app_sign_in_summary_page_size: None,
            app_sign_in_detailed_summary_app_only: false,
            relying_party_requires_premium: false,
            relying_party_success_rate: RateScale::Fraction,
            user_registration_accepts_user_authentication_method_role: false,
            user_registration_default_page_size: 1000,
            user_registration_max_page_size: 1000,
            users_registered_by_app_only: false,
            credential_usage_include_evolvable: false,
            mfa_sign_in_summary_roles: vec![
                "AuditLog.Read.All".to_owned(),
                "Reports.Read.All".to_owned(),
            ],
            insights_removed_metric_status: 400,
            insights_workforce: WorkforceInsights::EmptyCollections,
            insights_daily_retention_days: 30,
            insights_monthly_retention_months: 12,
            insights_lag_hours: 0,
            insights_reject_fact_date_filter: false,
            insights_default_page_size: 1000,
            insights_max_page_size: 1000,
            activity_max_lag: Duration::from_secs(120),
            activity_retention_days: 30,
            beta_sign_ins_default_interactive_only: true,
            sign_in_success_failure_reason: Some("Other.".to_owned()),
            assertion_clock_skew: Duration::from_secs(300),
            assertion_audience_error_code: 50_012,
            assertion_replay_error_code: Some(50_027),
            x5c_must_match: true,
            federated_mismatch: FederatedMismatch::Combined,
            identity_header_status: 401,
            batch_max_requests: 20,
            batch_over_limit_status: 400,
            batch_reverse_responses: true,
            batch_retry_after_as_number: false,
            batch_accepts_absolute_urls: false,
            batch_envelope_authenticates: true,
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
    /// Request budget of the identity and access reports (§10.2: 5 requests per 10 s per app
    /// per tenant).
    pub reports_throttle: ReportsThrottleConfig,
    /// Number of AD FS relying parties (`getRelyingPartyDetailedSummary`, §3).
    pub relying_parties: usize,
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
    /// Whether the tenant is a Microsoft Entra External ID (customer) tenant, the only kind
    /// with user insights (§1.1). The demo tenant is one; a workforce tenant answers as
    /// [`Quirks::insights_workforce`] says and has no user-insight ground truth.
    pub external_id: bool,
    /// Multiplier of every activity stream: the daily application sign-ins of the usage model
    /// (and so the §2 summaries and the sign-in log alike), service principal and managed
    /// identity sign-ins, directory audits, provisioning events and custom security attribute
    /// audits. Tests raise it to see many events within seconds; must be positive and finite
    /// (anything else counts as 1).
    pub activity_rate: f64,
    /// Whether the tenant has Entra ID P2 (Identity Protection). Without it the sign-in log
    /// reports every risk field as `hidden` (§8 `riskDetail`, `riskLevel*`).
    pub p2_licence: bool,
    /// When set (Unix seconds), the activity logs stop: no sign-in, audit or provisioning
    /// event has a later timestamp, so a test can let a client catch up and compare with a
    /// fixed ground truth. The §2 summaries are not cut (they agree with the log only for
    /// windows ending before this instant). `None`: the logs go on forever.
    pub activity_end: Option<f64>,
    /// Managed identities of the simulated host. When any is set, the IMDS (§11.6) and App
    /// Service (§11.7) identity endpoints are served, each on its own loopback listener.
    pub managed_identities: Vec<SimManagedIdentity>,
    /// When set, the main listener serves HTTPS with this identity (§12).
    pub tls: Option<SimTls>,
    /// The Graph host this simulator stands for (§12): the only Graph resource the token
    /// endpoint and the identity endpoints accept, and the `aud` of issued tokens, e.g.
    /// `https://graph.microsoft.us` for a US Government simulator.
    pub graph_audience: String,
    /// Test mode: each route accepts only its least-privileged application permission (the
    /// first of its roles), not broader ones such as `Directory.Read.All`.
    pub strict_least_privilege: bool,
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
            reports_throttle: ReportsThrottleConfig::default(),
            relying_parties: DEFAULT_RELYING_PARTIES,
            faults: Vec::new(),
            quirks: Quirks::default(),
            premium_licence: true,
            request_log_capacity: DEFAULT_REQUEST_LOG_CAPACITY,
            external_id: true,
            activity_rate: DEFAULT_ACTIVITY_RATE,
            p2_licence: true,
            activity_end: None,
            managed_identities: Vec::new(),
            tls: None,
            graph_audience: GLOBAL_GRAPH_AUDIENCE.to_owned(),
            strict_least_privilege: false,
        }
    }
}

impl SimConfig {
    /// [`SimConfig::activity_rate`] if usable, else 1.
    pub fn effective_activity_rate(&self) -> f64 {
        if self.activity_rate.is_finite() && self.activity_rate > 0.0 {
            self.activity_rate
        } else {
            DEFAULT_ACTIVITY_RATE
        }
    }

    /// The demo tenant: the defaults (about 300 apps, the demo client, documented limits).
    pub fn demo() -> Self {
        Self::default()
    }
}
