//! Workload identity federation (reference §11.5): the Kubernetes service-account token that
//! the Azure Workload Identity webhook projects into the pod is exchanged for a Graph token.

use std::path::PathBuf;

use super::oauth::{TokenEndpoint, JWT_BEARER};
use super::{AccessToken, BoxFuture, TokenError, TokenSource};

/// Exchanges the projected federated token for an access token.
pub struct WorkloadIdentitySource {
    /// `{AZURE_AUTHORITY_HOST}{tenant}/oauth2/v2.0/token`, for the app registration (or
    /// user-assigned identity) that trusts the federated issuer.
    endpoint: TokenEndpoint,
    /// `AZURE_FEDERATED_TOKEN_FILE`. Kubelet rotates its contents, so it is read anew for
    /// every token request and never cached.
    token_file: PathBuf,
}

impl WorkloadIdentitySource {
    /// A source exchanging the token in `token_file` at `endpoint`.
    pub fn new(endpoint: TokenEndpoint, token_file: PathBuf) -> Self {
        WorkloadIdentitySource {
            endpoint,
            token_file,
        }
    }
}

impl TokenSource for WorkloadIdentitySource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            // A small file read about once an hour: not worth a blocking-pool hop.
            let text = std::fs::read_to_string(&self.token_file).map_err(|e| {
                self.endpoint.credential_error(format!(
                    "cannot read the federated token file {}: {e}; is the pod labelled azure.workload.identity/use: \"true\"?",
                    self.token_file.display()
                ))
            })?;
            let assertion = text.trim();
            if assertion.is_empty() {
                return Err(self.endpoint.credential_error(format!(
                    "the federated token file {} is empty",
                    self.token_file.display()
                )));
            }
            self.endpoint
                .request(&[
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion),
                ])
                .await
        })
    }

    fn kind(&self) -> &'static str {
        "workload_identity"
    }
}
