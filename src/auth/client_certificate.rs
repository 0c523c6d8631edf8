//! Client credentials with a certificate (reference §11.2): a short-lived JWT signed with the
//! certificate's key, sent as `client_assertion`.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::certificate::{self, LoadedCertificate};
use super::oauth::{TokenEndpoint, JWT_BEARER};
use super::{AccessToken, BoxFuture, TokenError, TokenSource};
use crate::config::{AssertionForm, CertificateCredential, Secret};

/// How long an assertion is valid: the 10 minutes Microsoft recommends at most.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// The claims Entra checks in a client assertion.
#[derive(Serialize)]
struct AssertionClaims<'a> {
    /// The token URL of the tenant, in the same cloud.
    aud: &'a str,
    /// The client id.
    iss: &'a str,
    /// The client id again.
    sub: &'a str,
    /// A fresh GUID, so a captured assertion cannot be replayed.
    jti: String,
    /// Issue time.
    iat: u64,
    /// Not before: now.
    nbf: u64,
    /// Expiry.
    exp: u64,
}

/// Gets tokens by signing assertions with a certificate read from disk.
pub struct ClientCertificateSource {
    /// The tenant's token endpoint; its URL is the assertion's audience.
    endpoint: TokenEndpoint,
    /// The PEM or PKCS#12 file. Read again for every token, so a certificate rotated in a
    /// mounted Kubernetes secret is picked up without a restart.
    path: PathBuf,
    /// Password of the key or bundle.
    password: Option<Secret>,
    /// PS256 with `x5t#S256`, or the legacy RS256 with `x5t`.
    form: AssertionForm,
    /// Whether to send the chain in `x5c` (subject-name/issuer authentication).
    send_chain: bool,
}

impl ClientCertificateSource {
    /// A source signing with `cert` for `endpoint`.
    pub fn new(endpoint: TokenEndpoint, cert: &CertificateCredential) -> Self {
        ClientCertificateSource {
            endpoint,
            path: cert.path.clone(),
            password: cert.password.clone(),
            form: cert.form,
            send_chain: cert.send_chain,
        }
    }

    /// A signed assertion for `now`.
    fn assertion(&self, cert: &LoadedCertificate, now: SystemTime) -> Result<String, String> {
        let mut header = match self.form {
            AssertionForm::Current => {
                let mut h = Header::new(Algorithm::PS256);
                h.x5t_s256 = Some(cert.x5t_s256.clone());
                h
            }
            AssertionForm::Legacy => {
                let mut h = Header::new(Algorithm::RS256);
                h.x5t = Some(cert.x5t.clone());
                h
            }
        };
        if self.send_chain {
            header.x5c = Some(cert.chain_der.iter().map(|d| STANDARD.encode(d)).collect());
        }
        let now = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = AssertionClaims {
            aud: self.endpoint.url.as_str(),
            iss: &self.endpoint.client_id,
            sub: &self.endpoint.client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            nbf: now,
            exp: now + ASSERTION_LIFETIME.as_secs(),
        };
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_rsa_der(&cert.key_pkcs1_der),
        )
        .map_err(|e| format!("cannot sign the client assertion: {e}"))
    }
}

impl TokenSource for ClientCertificateSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, TokenError>> {
        Box::pin(async move {
            let cert = certificate::load(&self.path, self.password.as_ref())
                .map_err(|e| self.endpoint.credential_error(e.to_string()))?;
            let assertion = self
                .assertion(&cert, SystemTime::now())
                .map_err(|e| self.endpoint.credential_error(e))?;
            self.endpoint
                .request(&[
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", assertion.as_str()),
                ])
                .await
        })
    }

    fn kind(&self) -> &'static str {
        "client_certificate"
    }
}
