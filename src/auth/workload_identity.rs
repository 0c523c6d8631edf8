//! Workload identity federation (reference §11.5): the Kubernetes service-account token that
//! the Azure Workload Identity webhook projects into the pod is exchanged for a Graph token.

use std::path::PathBuf;
use std::time::Duration;

use super::oauth::{request_token, JWT_BEARER};
use super::{AccessToken, BoxFuture, TokenError, TokenSource};
use crate::config::TenantConfig;

/// Exchanges the projected federated token for an access token.
pub struct WorkloadIdentitySource {
    /// Shared HTTP client.
    http: reqwest::Client,
    /// `{AZURE_AUTHORITY_HOST}{tenant}/oauth2/v2.0/token`.
    token_url: url::Url,
    /// The app registration (or user-assigned identity) trusting the federated issuer.
    client_id: String,
    /// `{graph root}/.default`.
    scope: String,
    /// `AZURE_FEDERATED_TOKEN_FILE`. Kubelet rotates its contents, so it is read anew for
    /// every token request and never cached.
    token_file: PathBuf,
    /// Per-request timeout.
    timeout: Duration,
    /// Tenant label, for errors.
    tenant: String,
}

impl WorkloadIdentitySource {
    /// A source for `tenant` reading `token_file`.
    pub fn new(
        http: reqwest::Client,
        tenant: &TenantConfig,
        client_id: &str,
        token_file: PathBuf,
        timeout: Duration,
    ) -> Result<Self, url::ParseError> {
        Ok(WorkloadIdentitySource {
            http,
            token_url: tenant.token_url()?,
            client_id: client_id.to_owned(),
            scope: tenant.scope(),
            token_file,
            timeout,
            tenant: tenant.label.clone(),
        })
    }
}

impl TokenSource for WorkloadIdentitySource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            // A small file read about once an hour: not worth a blocking-pool hop.
            let text = std::fs::read_to_string(&self.token_file).map_err(|e| TokenError::Credential {
                    tenant: self.tenant.clone(),
                    reason: format!(
                        "cannot read the federated token file {}: {e}; is the pod labelled azure.workload.identity/use: \"true\"?",
                        self.token_file.display()
                    ),
                })?;
            let assertion = text.trim();
            if assertion.is_empty() {
                return Err(TokenError::Credential {
                    tenant: self.tenant.clone(),
                    reason: format!(
                        "the federated token file {} is empty",
                        self.token_file.display()
                    ),
                });
            }
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", self.client_id.as_str()),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
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
        "workload_identity"
    }
}
