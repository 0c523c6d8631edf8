//! Client credentials with a client secret (reference §11.1).

use std::time::Duration;

use super::oauth::request_token;
use super::{AccessToken, BoxFuture, TokenError, TokenSource};
use crate::config::{Secret, TenantConfig};

/// Gets tokens with an application's client secret, sent in the form body.
pub struct ClientSecretSource {
    /// Shared HTTP client (connection pool, timeouts).
    http: reqwest::Client,
    /// Token endpoint of the tenant's authority.
    token_url: url::Url,
    /// The app registration's client id.
    client_id: String,
    /// The secret value.
    secret: Secret,
    /// `{graph root}/.default`.
    scope: String,
    /// Per-request timeout.
    timeout: Duration,
    /// Tenant label, for errors.
    tenant: String,
}

impl ClientSecretSource {
    /// A source for `tenant`'s configured secret.
    pub fn new(
        http: reqwest::Client,
        tenant: &TenantConfig,
        client_id: &str,
        secret: &Secret,
        timeout: Duration,
    ) -> Result<Self, url::ParseError> {
        Ok(ClientSecretSource {
            http,
            token_url: tenant.token_url()?,
            client_id: client_id.to_owned(),
            secret: secret.clone(),
            scope: tenant.scope(),
            timeout,
            tenant: tenant.label.clone(),
        })
    }
}

impl TokenSource for ClientSecretSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.secret.expose()),
                ("scope", self.scope.as_str()),
            ];
            request_token(
                &self.http,
                &self.token_url,
                &form,
                self.timeout,
                &self.tenant,
            )
            .await
        })
    }

    fn kind(&self) -> &'static str {
        "client_secret"
    }
}
