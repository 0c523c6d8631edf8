//! Client credentials with a client secret (reference §11.1).

use super::oauth::TokenEndpoint;
use super::{AccessToken, BoxFuture, TokenError, TokenSource};
use crate::config::Secret;

/// Gets tokens with an application's client secret, sent in the form body.
pub struct ClientSecretSource {
    /// The tenant's token endpoint.
    endpoint: TokenEndpoint,
    /// The secret value.
    secret: Secret,
}

impl ClientSecretSource {
    /// A source sending `secret` to `endpoint`.
    pub fn new(endpoint: TokenEndpoint, secret: &Secret) -> Self {
        ClientSecretSource {
            endpoint,
            secret: secret.clone(),
        }
    }
}

impl TokenSource for ClientSecretSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            self.endpoint
                .request(&[("client_secret", self.secret.expose())])
                .await
        })
    }

    fn kind(&self) -> &'static str {
        "client_secret"
    }
}
