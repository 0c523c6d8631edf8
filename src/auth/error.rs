//! Token errors, with Entra's AADSTS codes turned into advice.

/// Why no token could be obtained.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TokenError {
    /// The token endpoint answered with an OAuth error (reference §11.4).
    #[error("token request for tenant {tenant} was rejected (HTTP {status}, {error}): {description}{hint}")]
    Rejected {
        /// Tenant label.
        tenant: String,
        /// HTTP status.
        status: u16,
        /// OAuth `error`, e.g. `invalid_client`.
        error: String,
        /// First line of `error_description`, which starts with `AADSTSnnnn:`.
        description: String,
        /// The first of `error_codes`, when present.
        aadsts: Option<u64>,
        /// What to do about it, derived from the AADSTS code; may be empty.
        hint: String,
    },
    /// The endpoint answered with something that is not a token response.
    #[error(
        "token endpoint for tenant {tenant} sent an unreadable response (HTTP {status}): {reason}"
    )]
    Malformed {
        /// Tenant label.
        tenant: String,
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The credential itself could not be used: an unreadable or expired certificate, a
    /// missing federated token file.
    #[error("credential for tenant {tenant} cannot be used: {reason}")]
    Credential {
        /// Tenant label.
        tenant: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// No response: DNS, connection, TLS or timeout.
    #[error("token endpoint for tenant {tenant} unreachable: {reason}")]
    Unreachable {
        /// Tenant label.
        tenant: String,
        /// The transport error, without URLs carrying credentials (there are none in a token URL).
        reason: String,
    },
}

impl TokenError {
    /// Whether trying again later may succeed (so a still-valid cached token is worth keeping).
    pub fn is_transient(&self) -> bool {
        match self {
            TokenError::Unreachable { .. } => true,
            // A mounted file being rotated may be readable at the next attempt; until then a
            // still-valid token keeps working.
            TokenError::Credential { .. } => true,
            TokenError::Malformed { status, .. } => *status >= 500 || *status == 429,
            TokenError::Rejected { status, .. } => *status >= 500 || *status == 429,
        }
    }

    /// The AADSTS code, if Entra sent one.
    pub fn aadsts(&self) -> Option<u64> {
        match self {
            TokenError::Rejected { aadsts, .. } => *aadsts,
            _ => None,
        }
    }
}

/// Advice for the AADSTS codes a daemon meets (reference §11.4).
pub fn hint_for(code: u64) -> &'static str {
    match code {
        7000215 => "the client secret is wrong: use the secret's Value, not its Secret ID (tenants[].auth.client_secret_file or AZURE_CLIENT_SECRET)",
        7000222 => "the client secret has expired: add a new secret to the app registration and update the exporter's secret",
        7000218 => "no client secret or assertion was sent: configure tenants[].auth (see docs/configuration.md)",
        700016 => "the client id is not an application in this tenant: check tenants[].client_id / AZURE_CLIENT_ID and tenant_id",
        90002 => "the tenant was not found: check tenants[].tenant_id / AZURE_TENANT_ID and the cloud",
        900023 => "the tenant id is not a GUID or domain: check tenants[].tenant_id",
        70011 => "the scope is invalid: check tenants[].cloud and graph_base_url; the scope is <graph root>/.default",
        9001023 => "the client-credentials grant needs a specific tenant, not common/organizations/consumers",
        500011 => "Microsoft Graph is not available in this tenant or cloud: check tenants[].cloud",
        700027 => "the certificate was refused: upload this certificate (its thumbprint is in the log at start-up) to the app registration's Certificates & secrets, or renew it if it expired",
        700024 => "the client assertion is outside its valid time range: check this host's clock (NTP)",
        70021 => "no federated credential on the app matches this token's issuer, subject and audience: add one under Certificates & secrets > Federated credentials (issuer = the cluster's OIDC issuer URL, subject = system:serviceaccount:<namespace>:<service account>)",
        _ => "",
    }
}
