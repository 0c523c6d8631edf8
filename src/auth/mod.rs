//! Access tokens for Microsoft Graph.
//!
//! A [`TokenSource`] knows one way of getting a token: client secret, certificate, workload
//! identity federation or managed identity ([`source_for`] picks the one a tenant's config
//! names). A [`TokenProvider`] wraps any source with what every credential type needs: a
//! cache, refresh shortly before expiry, and a single request in flight however many callers
//! wait.

pub mod certificate;
mod client_certificate;
mod client_secret;
mod error;
mod managed_identity;
pub(crate) mod oauth;
mod workload_identity;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
// tokio's clock, so tests can pause and advance time through a token's lifetime.
use tokio::time::Instant;

pub use client_certificate::ClientCertificateSource;
pub use client_secret::ClientSecretSource;
pub use error::TokenError;
pub use managed_identity::ManagedIdentitySource;
pub use workload_identity::WorkloadIdentitySource;

use crate::config::{Credential, Secret, TenantConfig};
use crate::telemetry::Telemetry;

/// A boxed future, so token sources can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A bearer token and how long it stays valid.
#[derive(Clone, Debug)]
pub struct AccessToken {
    /// The bearer token; never logged.
    pub token: Secret,
    /// Lifetime reported by the token endpoint, counted from when the response arrived.
    pub expires_in: Duration,
}

/// One way of obtaining an access token.
pub trait TokenSource: Send + Sync {
    /// Requests a new token from the identity endpoint.
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>>;
    /// Short name of the credential type for logs, e.g. `client_secret`.
    fn kind(&self) -> &'static str;
}

/// The token source for `tenant`'s configured credential.
pub fn source_for(
    http: &reqwest::Client,
    tenant: &TenantConfig,
    timeout: Duration,
) -> Result<Box<dyn TokenSource>, String> {
    let endpoint = |client_id: &str| {
        oauth::TokenEndpoint::new(http.clone(), tenant, client_id, timeout)
            .map_err(|e| format!("cannot build the token URL: {e}"))
    };
    Ok(match &tenant.credential {
        Credential::ClientSecret { client_id, secret } => {
            Box::new(ClientSecretSource::new(endpoint(client_id)?, secret))
        }
        Credential::ClientCertificate {
            client_id,
            certificate,
        } => Box::new(ClientCertificateSource::new(
            endpoint(client_id)?,
            certificate,
        )),
        Credential::WorkloadIdentity {
            client_id,
            token_file,
        } => Box::new(WorkloadIdentitySource::new(
            endpoint(client_id)?,
            token_file.clone(),
        )),
        Credential::ManagedIdentity(identity) => Box::new(ManagedIdentitySource::new(
            identity.clone(),
            &tenant.graph_root,
            timeout,
            tenant.label.clone(),
        )?),
    })
}

/// Refresh when less than this fraction of a token's lifetime remains...
const REFRESH_FRACTION: f64 = 0.1;
/// ...but never later than this before expiry (Entra tokens last about an hour).
const REFRESH_MARGIN_MAX: Duration = Duration::from_secs(300);

struct Cached {
    token: Secret,
    refresh_at: Instant,
    expires_at: Instant,
}

/// What the mutex guards.
#[derive(Default)]
struct State {
    /// The current token, if any.
    cached: Option<Cached>,
    /// The last failed request and its number, so callers that queued behind it get its error
    /// instead of each sending a request of their own.
    last_failure: Option<(u64, TokenError)>,
}

/// Caches a source's token and refreshes it once for all callers.
pub struct TokenProvider {
    /// Where tokens come from.
    source: Box<dyn TokenSource>,
    /// The current token. The async mutex is held across a refresh, which is what makes
    /// concurrent callers wait for one request instead of each sending their own.
    state: Mutex<State>,
    /// Token requests completed so far; numbers the failures in [`State::last_failure`].
    requests: AtomicU64,
    /// Value of the `tenant` label on token metrics.
    tenant: String,
    /// Where refreshes are counted.
    telemetry: Telemetry,
}

impl TokenProvider {
    /// Wraps `source` for `tenant`.
    pub fn new(source: Box<dyn TokenSource>, tenant: String, telemetry: Telemetry) -> Self {
        TokenProvider {
            source,
            state: Mutex::new(State::default()),
            requests: AtomicU64::new(0),
            tenant,
            telemetry,
        }
    }

    /// A valid token, from the cache when it is not due for refresh.
    pub async fn token(&self) -> Result<Secret, TokenError> {
        let seen = self.requests.load(Ordering::SeqCst);
        let mut state = self.state.lock().await;
        if let Some(c) = state.cached.as_ref() {
            if Instant::now() < c.refresh_at {
                return Ok(c.token.clone());
            }
        }
        if let Some((n, e)) = &state.last_failure {
            if *n > seen {
                return Err(e.clone());
            }
        }
        self.refresh(&mut state).await
    }

    /// Called after Graph rejected `rejected` with 401: fetches a new token unless another
    /// caller already replaced that one.
    pub async fn token_after_rejection(&self, rejected: &Secret) -> Result<Secret, TokenError> {
        let mut state = self.state.lock().await;
        if let Some(c) = state.cached.as_ref() {
            if &c.token != rejected && Instant::now() < c.expires_at {
                return Ok(c.token.clone());
            }
        }
        // Graph refused this token: it must not come back as the "still valid" fallback when
        // the refresh below fails transiently, or the caller would retry with it and meet the
        // same 401.
        if state.cached.as_ref().is_some_and(|c| &c.token == rejected) {
            state.cached = None;
        }
        self.refresh(&mut state).await
    }

    async fn refresh(&self, state: &mut State) -> Result<Secret, TokenError> {
        let started = Instant::now();
        let result = self.source.fetch().await;
        // Numbered on completion: a caller that read the count while this request was in
        // flight queued behind it, and so shares its outcome.
        let number = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        match result {
            Ok(t) => {
                self.count("success");
                let margin = t
                    .expires_in
                    .mul_f64(REFRESH_FRACTION)
                    .min(REFRESH_MARGIN_MAX);
                tracing::debug!(tenant = %self.tenant, expires_in = ?t.expires_in, "token refreshed");
                state.last_failure = None;
                state.cached = Some(Cached {
                    token: t.token.clone(),
                    refresh_at: started + t.expires_in.saturating_sub(margin),
                    expires_at: started + t.expires_in,
                });
                Ok(t.token)
            }
            Err(e) => {
                self.count("error");
                // A token that is still valid keeps working while the endpoint has trouble.
                if let Some(c) = state.cached.as_ref() {
                    if Instant::now() < c.expires_at && e.is_transient() {
                        tracing::warn!(tenant = %self.tenant, error = %e, "token refresh failed; using the current token until it expires");
                        return Ok(c.token.clone());
                    }
                }
                state.last_failure = Some((number, e.clone()));
                Err(e)
            }
        }
    }

    fn count(&self, result: &str) {
        self.telemetry
            .token_refreshes
            .with_label_values(&[self.tenant.as_str(), result])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    struct Counting {
        calls: Arc<AtomicU32>,
        lifetime: Duration,
    }

    impl TokenSource for Counting {
        fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(AccessToken {
                    token: Secret::new(format!("token-{n}")),
                    expires_in: self.lifetime,
                })
            })
        }
        fn kind(&self) -> &'static str {
            "test"
        }
    }

    fn provider(lifetime: Duration) -> (Arc<TokenProvider>, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let source = Counting {
            calls: calls.clone(),
            lifetime,
        };
        let p = TokenProvider::new(Box::new(source), "t".into(), Telemetry::new());
        (Arc::new(p), calls)
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_request() {
        let (p, calls) = provider(Duration::from_secs(3600));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.token().await.unwrap() })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().expose(), "token-1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_before_expiry() {
        let (p, calls) = provider(Duration::from_secs(100));
        assert_eq!(p.token().await.unwrap().expose(), "token-1");
        // 10 % of 100 s before expiry is 90 s after issue.
        tokio::time::advance(Duration::from_secs(85)).await;
        assert_eq!(p.token().await.unwrap().expose(), "token-1");
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(p.token().await.unwrap().expose(), "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    /// Issues `successes` tokens, then fails as an unreachable endpoint does.
    struct Failing {
        calls: Arc<AtomicU32>,
        successes: u32,
    }

    impl TokenSource for Failing {
        fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                if n < self.successes {
                    return Ok(AccessToken {
                        token: Secret::new(format!("token-{}", n + 1)),
                        expires_in: Duration::from_secs(3600),
                    });
                }
                Err(TokenError::Unreachable {
                    tenant: "t".into(),
                    reason: "down".into(),
                })
            })
        }
        fn kind(&self) -> &'static str {
            "test"
        }
    }

    #[tokio::test]
    async fn callers_queued_behind_a_failure_share_it() {
        let calls = Arc::new(AtomicU32::new(0));
        let p = Arc::new(TokenProvider::new(
            Box::new(Failing {
                calls: calls.clone(),
                successes: 0,
            }),
            "t".into(),
            Telemetry::new(),
        ));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.token().await.is_err() })
            })
            .collect();
        for t in tasks {
            assert!(t.await.unwrap());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A later caller tries again.
        assert!(p.token().await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_rejected_token_is_not_handed_back_when_the_refresh_fails() {
        let calls = Arc::new(AtomicU32::new(0));
        let p = TokenProvider::new(
            Box::new(Failing {
                calls: calls.clone(),
                successes: 1,
            }),
            "t".into(),
            Telemetry::new(),
        );
        let first = p.token().await.unwrap();
        // Graph answered 401 to `first`; the endpoint is down, so no new token: an error, not
        // `first` again.
        let e = p.token_after_rejection(&first).await.unwrap_err();
        assert!(e.is_transient(), "{e}");
        // Nor does a later plain caller get it back from the cache.
        assert!(p.token().await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn rejection_refreshes_once_for_all_holders_of_the_old_token() {
        let (p, calls) = provider(Duration::from_secs(3600));
        let old = p.token().await.unwrap();
        let a = p.token_after_rejection(&old).await.unwrap();
        let b = p.token_after_rejection(&old).await.unwrap();
        assert_eq!(a.expose(), "token-2");
        assert_eq!(b.expose(), "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
