//! Managed identity: the Azure VM / AKS node Instance Metadata Service (reference §11.6) and
//! the App Service / Functions / Container Apps identity endpoint (§11.7).
//!
//! Both are plain `GET`s to a local endpoint that answer with a token for `resource` (not a
//! scope). Neither may go through a proxy, so this source has its own HTTP client.

use std::time::Duration;

use super::oauth::{parse_token_response, too_large, MAX_TOKEN_RESPONSE_BYTES};
use super::{AccessToken, BoxFuture, TokenError, TokenSource};
use crate::config::{ManagedIdentity, ManagedIdentityEndpoint, UserAssignedIdentity};
use crate::http_body::{read_limited, BodyError};

/// IMDS API version (reference §11.6).
const IMDS_API_VERSION: &str = "2018-02-01";
/// App Service identity API version (reference §11.7).
const APP_SERVICE_API_VERSION: &str = "2019-08-01";
/// Delay before the first retry; doubled for each further one.
const FIRST_RETRY_DELAY: Duration = Duration::from_secs(1);
/// Retries after the first attempt. With doubling from 1 s that waits 63 s in all, which
/// covers IMDS's documented "back within 70 s" after a 410 while it updates.
const MAX_RETRIES: u32 = 6;

/// Gets tokens from the host's managed identity endpoint.
pub struct ManagedIdentitySource {
    /// A client without proxy: IMDS and the App Service endpoint are local.
    http: reqwest::Client,
    /// Which endpoint and identity.
    identity: ManagedIdentity,
    /// `resource` parameter: the Graph root without the trailing slash.
    resource: String,
    /// Per-request timeout.
    timeout: Duration,
    /// Tenant label, for errors.
    tenant: String,
}

impl ManagedIdentitySource {
    /// A source for `identity`, asking for tokens for `graph_root`.
    pub fn new(
        identity: ManagedIdentity,
        graph_root: &url::Url,
        timeout: Duration,
        tenant: String,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ManagedIdentitySource {
            http,
            identity,
            resource: graph_root.as_str().trim_end_matches('/').to_owned(),
            timeout,
            tenant,
        })
    }

    /// The request for this identity's endpoint.
    fn request(&self) -> reqwest::RequestBuilder {
        let (url, api_version, ids) = match &self.identity.endpoint {
            ManagedIdentityEndpoint::Imds(url) => (
                url,
                IMDS_API_VERSION,
                ["client_id", "object_id", "msi_res_id"],
            ),
            ManagedIdentityEndpoint::AppService { endpoint, .. } => (
                endpoint,
                APP_SERVICE_API_VERSION,
                ["client_id", "principal_id", "mi_res_id"],
            ),
        };
        let mut query = vec![
            ("api-version", api_version.to_owned()),
            ("resource", self.resource.clone()),
        ];
        match &self.identity.user_assigned {
            Some(UserAssignedIdentity::ClientId(id)) => query.push((ids[0], id.clone())),
            Some(UserAssignedIdentity::ObjectId(id)) => query.push((ids[1], id.clone())),
            Some(UserAssignedIdentity::ResourceId(id)) => query.push((ids[2], id.clone())),
            None => {}
        }
        let request = self
            .http
            .get(url.clone())
            .query(&query)
            .timeout(self.timeout);
        match &self.identity.endpoint {
            // The value must be lower-case `true` (reference §11.6).
            ManagedIdentityEndpoint::Imds(_) => request.header("Metadata", "true"),
            ManagedIdentityEndpoint::AppService { header, .. } => {
                request.header("X-IDENTITY-HEADER", header.expose())
            }
        }
    }

    /// Whether a failed answer is worth retrying (reference §11.6: 404, 410, 429 and 5xx).
    fn retryable(status: u16) -> bool {
        matches!(status, 404 | 410 | 429) || status >= 500
    }

    async fn attempt(&self) -> Result<AccessToken, (bool, TokenError)> {
        let unreachable = |reason: String| TokenError::Unreachable {
            tenant: self.tenant.clone(),
            reason: format!(
                "managed identity endpoint {}: {reason}",
                self.endpoint_shown()
            ),
        };
        let response = self
            .request()
            .send()
            .await
            .map_err(|e| (true, unreachable(e.without_url().to_string())))?;
        let status = response.status().as_u16();
        let body = read_limited(response, MAX_TOKEN_RESPONSE_BYTES)
            .await
            .map_err(|e| match e {
                BodyError::Broken(e) => (
                    true,
                    unreachable(format!("response body broke off: {}", e.without_url())),
                ),
                BodyError::TooLarge => (false, too_large(&self.tenant, status)),
            })?;
        parse_token_response(status, &body, &self.tenant).map_err(|e| (Self::retryable(status), e))
    }

    /// Where tokens come from, for messages; never includes the identity header.
    fn endpoint_shown(&self) -> String {
        match &self.identity.endpoint {
            ManagedIdentityEndpoint::Imds(u) => u.to_string(),
            ManagedIdentityEndpoint::AppService { endpoint, .. } => endpoint.to_string(),
        }
    }
}

impl TokenSource for ManagedIdentitySource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            let mut delay = FIRST_RETRY_DELAY;
            let mut retries = 0;
            loop {
                match self.attempt().await {
                    Ok(token) => return Ok(token),
                    Err((true, e)) if retries < MAX_RETRIES => {
                        tracing::debug!(tenant = %self.tenant, error = %e, ?delay, "managed identity endpoint not ready; retrying");
                        tokio::time::sleep(delay).await;
                        delay *= 2;
                        retries += 1;
                    }
                    Err((_, e)) => return Err(e),
                }
            }
        })
    }

    fn kind(&self) -> &'static str {
        match self.identity.endpoint {
            ManagedIdentityEndpoint::Imds(_) => "managed_identity_imds",
            ManagedIdentityEndpoint::AppService { .. } => "managed_identity_app_service",
        }
    }
}
