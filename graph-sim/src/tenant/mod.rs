//! The deterministic tenant model: app registrations and service principals with their
//! credentials (reference §7) and their last sign-ins (§4, §5), generated from a seed.
//!
//! The model is the single source of truth: the Graph endpoints serialise it and the ground
//! truth is computed from it, independently of the JSON.

mod activity;
pub mod activity_log;
mod generate;
pub mod insights;
pub mod registration;
pub mod reports;
pub mod usage;
mod words;

use crate::config::SimConfig;
use crate::time::UtcTime;

/// A generated tenant.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Tenant id (GUID).
    pub tenant_id: String,
    /// Verified `*.onmicrosoft.com` domain.
    pub tenant_domain: String,
    /// The instant the credential dates were generated around.
    pub now: UtcTime,
    /// Number of users (drives the throttling tier).
    pub users: u64,
    /// App registrations, in the order `/applications` lists them.
    pub applications: Vec<Application>,
    /// Service principals, in the order `/servicePrincipals` lists them.
    pub service_principals: Vec<ServicePrincipal>,
    /// Last sign-ins of each service principal: one entry per element of
    /// `service_principals`, in the same order (`servicePrincipalSignInActivities`, §4).
    pub service_principal_activity: Vec<ServicePrincipalActivity>,
    /// Every credential of `applications` and `service_principals` with its last sign-in, in
    /// the order `appCredentialSignInActivities` lists them (§5): holders as
    /// [`Tenant::credential_holders`] yields them, secrets before certificates.
    pub app_credential_activity: Vec<AppCredentialActivity>,
    /// Hash of the generation inputs; page tokens carry it so that a token from another tenant
    /// is recognised as stale.
    pub fingerprint: u32,
    /// Daily sign-in, relying-party and credential activity, and the users' authentication
    /// methods (§2, §3, §6).
    pub reports: reports::ReportsModel,
    /// External ID user insights of the customer-facing apps (§1).
    pub user_insights: insights::UserInsights,
}

/// An app registration (`microsoft.graph.application`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// Object id.
    pub id: String,
    /// Application (client) id, shared with the app's service principal.
    pub app_id: String,
    /// Display name; not unique (about 5% share one, as in real tenants).
    pub display_name: String,
    /// Free-text description, often null.
    pub description: Option<String>,
    /// When the registration was created.
    pub created_date_time: UtcTime,
    /// `AzureADMyOrg`, `AzureADMultipleOrgs`, `AzureADandPersonalMicrosoftAccount`, …
    pub sign_in_audience: String,
    /// Verified publisher domain.
    pub publisher_domain: String,
    /// Client secrets.
    pub password_credentials: Vec<PasswordCredential>,
    /// Certificates.
    pub key_credentials: Vec<KeyCredential>,
}

/// A service principal (`microsoft.graph.servicePrincipal`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePrincipal {
    /// Object id.
    pub id: String,
    /// Application id of the app it instantiates.
    pub app_id: String,
    /// Display name of the service principal.
    pub display_name: String,
    /// Display name of the backing application (null for managed identities).
    pub app_display_name: Option<String>,
    /// Whether sign-in is enabled.
    pub account_enabled: bool,
    /// `Application`, `ManagedIdentity`, `Legacy` or `SocialIdp`.
    pub service_principal_type: String,
    /// Tenant that owns the backing application (null for managed identities).
    pub app_owner_organization_id: Option<String>,
    /// Sign-in audience of the backing application.
    pub sign_in_audience: Option<String>,
    /// SP tags, e.g. `WindowsAzureActiveDirectoryIntegratedApp`.
    pub tags: Vec<String>,
    /// Password credentials (rare on SPs; SAML apps may have one).
    pub password_credentials: Vec<PasswordCredential>,
    /// Key credentials, notably SAML signing certificates (`usage: Sign`).
    pub key_credentials: Vec<KeyCredential>,
}

/// A client secret (`microsoft.graph.passwordCredential`, §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordCredential {
    /// Credential id (GUID).
    pub key_id: String,
    /// Friendly name; may be null.
    pub display_name: Option<String>,
    /// Start of validity.
    pub start_date_time: Option<UtcTime>,
    /// Expiry; null means the secret never expires.
    pub end_date_time: Option<UtcTime>,
    /// First three characters of the secret.
    pub hint: Option<String>,
    /// Base64 binary the caller may set ("do not use"); usually null.
    pub custom_key_identifier: Option<String>,
}

/// A certificate (`microsoft.graph.keyCredential`, §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCredential {
    /// Credential id (GUID).
    pub key_id: String,
    /// Friendly name, typically the certificate subject `CN=…`; may be null.
    pub display_name: Option<String>,
    /// Start of validity.
    pub start_date_time: Option<UtcTime>,
    /// Expiry; null means no expiry recorded.
    pub end_date_time: Option<UtcTime>,
    /// `AsymmetricX509Cert` (or `X509CertAndPassword`, `Symmetric`).
    pub key_type: String,
    /// `Verify` (app authentication) or `Sign` (SAML token signing).
    pub usage: String,
    /// Base64 of the certificate thumbprint.
    pub custom_key_identifier: Option<String>,
}

/// Which kind of directory object holds a credential; the `object` label of the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// An app registration.
    Application,
    /// A service principal.
    ServicePrincipal,
}

impl ObjectKind {
    /// The metric label value: `application` or `service_principal`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::ServicePrincipal => "service_principal",
        }
    }
}

/// Which kind of credential: the `credential_type` label of the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CredentialType {
    /// A `passwordCredential` (client secret).
    ClientSecret,
    /// A `keyCredential` (certificate).
    Certificate,
}

impl CredentialType {
    /// The metric label value: `client_secret` or `certificate`.
    pub fn label(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::Certificate => "certificate",
        }
    }

    /// The `applicationKeyType` Graph reports (§5; the schema says `clientSecret`, the stale
    /// doc example `secret`, Appendix B.6).
    pub fn key_type(self) -> &'static str {
        match self {
            Self::ClientSecret => "clientSecret",
            Self::Certificate => "certificate",
        }
    }
}

/// One sign-in event as a `signInActivity` names it (§4): when, and which request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    /// `lastSignInDateTime`.
    pub date_time: UtcTime,
    /// `lastSignInRequestId` (GUID of the sign-in log entry).
    pub request_id: String,
}

/// The last sign-ins of one service principal by kind (`servicePrincipalSignInActivity`, §4).
/// `None` where the service principal never signed in that way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePrincipalActivity {
    /// `appId` of the service principal.
    pub app_id: String,
    /// Sign-ins as a client on behalf of a user (`delegatedClientSignInActivity`).
    pub delegated_client: Option<SignIn>,
    /// Tokens issued for this app as the resource, on behalf of users
    /// (`delegatedResourceSignInActivity`).
    pub delegated_resource: Option<SignIn>,
    /// App-only sign-ins as a client (`applicationAuthenticationClientSignInActivity`).
    pub app_only_client: Option<SignIn>,
    /// App-only tokens issued for this app as the resource
    /// (`applicationAuthenticationResourceSignInActivity`).
    pub app_only_resource: Option<SignIn>,
}

impl ServicePrincipalActivity {
    /// `lastSignInActivity`: the latest of the four kinds (§4).
    pub fn last(&self) -> Option<&SignIn> {
        [
            &self.delegated_client,
            &self.delegated_resource,
            &self.app_only_client,
            &self.app_only_resource,
        ]
        .into_iter()
        .flatten()
        .max_by_key(|s| s.date_time)
    }
}

/// One credential as `appCredentialSignInActivities` reports it (§5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppCredentialActivity {
    /// `keyId` of the credential (same as in `/applications` or `/servicePrincipals`).
    pub key_id: String,
    /// Kind of object holding the credential (`credentialOrigin`).
    pub origin: ObjectKind,
    /// Secret or certificate (`keyType`).
    pub credential_type: CredentialType,
    /// `appId` of the holder.
    pub app_id: String,
    /// Object id of the app registration with this `appId`, if it is in this tenant.
    pub app_object_id: Option<String>,
    /// Object id of the service principal with this `appId`, if it is in this tenant.
    pub service_principal_object_id: Option<String>,
    /// `usage` of a key credential (`Sign` / `Verify`); `None` for client secrets, whose
    /// reported `keyUsage` is a quirk ([`crate::Quirks::password_credential_key_usage`]).
    pub key_usage: Option<String>,
    /// The credential's `startDateTime` (`createdDateTime` in the report).
    pub created_date_time: Option<UtcTime>,
    /// The credential's `endDateTime` (`expirationDateTime` in the report).
    pub expiration_date_time: Option<UtcTime>,
    /// Resource the credential was last used for (`resourceId`); `None` when never used.
    pub resource_id: Option<String>,
    /// Last sign-in with the credential; `None` when it was never used.
    pub last_sign_in: Option<SignIn>,
}

/// A credential-holding object, whichever its kind.
#[derive(Clone, Copy, Debug)]
pub struct CredentialHolder<'a> {
    /// Application or service principal.
    pub kind: ObjectKind,
    /// Its `appId`.
    pub app_id: &'a str,
    /// Its `displayName`.
    pub display_name: &'a str,
    /// Its client secrets.
    pub password_credentials: &'a [PasswordCredential],
    /// Its certificates.
    pub key_credentials: &'a [KeyCredential],
}

impl Tenant {
    /// Generates the tenant described by `config`.
    pub fn generate(config: &SimConfig) -> Self {
        generate::generate(config)
    }

    /// Every application, then every service principal, as credential holders.
    pub fn credential_holders(&self) -> impl Iterator<Item = CredentialHolder<'_>> {
        let apps = self.applications.iter().map(|a| CredentialHolder {
            kind: ObjectKind::Application,
            app_id: &a.app_id,
            display_name: &a.display_name,
            password_credentials: &a.password_credentials,
            key_credentials: &a.key_credentials,
        });
        let sps = self.service_principals.iter().map(|s| CredentialHolder {
            kind: ObjectKind::ServicePrincipal,
            app_id: &s.app_id,
            display_name: &s.display_name,
            password_credentials: &s.password_credentials,
            key_credentials: &s.key_credentials,
        });
        apps.chain(sps)
    }
}
