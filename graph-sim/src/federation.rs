//! A simulated OIDC issuer for workload identity federation (reference §11.5): what an AKS
//! cluster's service-account issuer is to Entra. It owns an RSA key, mints RS256 tokens like
//! kubelet's projected service-account tokens, and serves the discovery document and JWKS
//! under `{base}/federation/issuer`, the way a cluster issuer does under its URL.
//!
//! The key is made on first use: RSA key generation is slow in debug builds, and most
//! simulators never federate.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::EncodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::reply::{Ordered, Reply};
use crate::server::Ctx;

/// Path of the issuer under the simulator's base URL.
pub(crate) const ISSUER_PATH: &str = "/federation/issuer";

/// Path of the JWKS under the issuer, as Kubernetes serves it.
const JWKS_PATH: &str = "/openid/v1/jwks";

/// Size of the issuer's RSA key.
const KEY_BITS: usize = 2048;

/// `Content-Type` of the discovery document and the JWKS.
const JSON: &str = "application/json";

/// Why the issuer cannot sign or verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FederationError {
    /// The RSA key could not be generated (the OS random source failed).
    #[error("cannot generate the federated issuer's RSA key: {0}")]
    KeyGeneration(String),
    /// Signing a token failed.
    #[error("cannot sign a federated token: {0}")]
    Signing(String),
}

/// The issuer's key in the forms it is used in.
struct IssuerKey {
    /// Signs minted tokens.
    encoding: EncodingKey,
    /// Verifies presented tokens.
    decoding: DecodingKey,
    /// `kid`: base64url SHA-256 of the public key, as Kubernetes derives it.
    kid: String,
    /// JWK `n`.
    n: String,
    /// JWK `e`.
    e: String,
}

impl std::fmt::Debug for IssuerKey {
    /// Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IssuerKey {
    /// A fresh key.
    fn generate() -> Result<Self, FederationError> {
        let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, KEY_BITS)
            .map_err(|e| FederationError::KeyGeneration(e.to_string()))?;
        let public = private.to_public_key();
        let pkcs1 = private
            .to_pkcs1_der()
            .map_err(|e| FederationError::KeyGeneration(e.to_string()))?;
        let spki = public
            .to_public_key_der()
            .map_err(|e| FederationError::KeyGeneration(e.to_string()))?;
        let n = public.n().to_bytes_be();
        let e = public.e().to_bytes_be();
        Ok(Self {
            encoding: EncodingKey::from_rsa_der(pkcs1.as_bytes()),
            decoding: DecodingKey::from_rsa_raw_components(&n, &e),
            kid: BASE64URL.encode(Sha256::digest(spki.as_bytes())),
            n: BASE64URL.encode(n),
            e: BASE64URL.encode(e),
        })
    }
}

/// Claims of a minted token, shaped like a projected service-account token.
#[derive(Serialize)]
struct FederatedClaims<'a> {
    /// The issuer URL.
    iss: &'a str,
    /// The workload, e.g. `system:serviceaccount:ns:name`.
    sub: &'a str,
    /// Audiences; Kubernetes writes a list.
    aud: [&'a str; 1],
    /// Issued at.
    iat: u64,
    /// Not before.
    nbf: u64,
    /// Expiry.
    exp: u64,
    /// Unique id.
    jti: String,
}

/// The simulator's OIDC issuer.
#[derive(Debug)]
pub(crate) struct FederatedIssuer {
    /// `{base}/federation/issuer`.
    url: String,
    /// The key, made on first use.
    key: OnceLock<Result<IssuerKey, FederationError>>,
}

impl FederatedIssuer {
    /// The issuer of the simulator at `base_url`.
    pub(crate) fn new(base_url: &str) -> Self {
        Self {
            url: format!("{base_url}{ISSUER_PATH}"),
            key: OnceLock::new(),
        }
    }

    /// The issuer URL (`iss` of its tokens).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The key, generating it on first use.
    fn key(&self) -> Result<&IssuerKey, FederationError> {
        self.key
            .get_or_init(IssuerKey::generate)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// An RS256 token for `subject` and `audience`, valid for `lifetime` from now.
    pub(crate) fn mint(
        &self,
        subject: &str,
        audience: &str,
        lifetime: Duration,
    ) -> Result<String, FederationError> {
        let key = self.key()?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = FederatedClaims {
            iss: &self.url,
            sub: subject,
            aud: [audience],
            iat: now,
            nbf: now,
            exp: now.saturating_add(lifetime.as_secs()),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|e| FederationError::Signing(e.to_string()))
    }

    /// Whether `token` carries a valid RS256 signature by this issuer's key (claims are
    /// checked by the token endpoint itself).
    pub(crate) fn verify_signature(
        &self,
        token: &str,
        header: &Header,
    ) -> Result<bool, FederationError> {
        let key = self.key()?;
        if header.alg != Algorithm::RS256 || header.kid.as_deref().is_some_and(|kid| kid != key.kid)
        {
            return Ok(false);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        Ok(jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, &validation).is_ok())
    }
}

/// `GET {issuer}/.well-known/openid-configuration`: the discovery document, with the fields a
/// Kubernetes service-account issuer publishes.
pub(crate) fn discovery(ctx: &Ctx<'_>) -> Reply {
    let url = ctx.sim.federation.url();
    let fields = [
        ("issuer", json!(url)),
        ("jwks_uri", json!(format!("{url}{JWKS_PATH}"))),
        ("response_types_supported", json!(["id_token"])),
        ("subject_types_supported", json!(["public"])),
        ("id_token_signing_alg_values_supported", json!(["RS256"])),
    ];
    Reply::json(StatusCode::OK, JSON, &Ordered(&fields))
}

/// `GET {issuer}/openid/v1/jwks`: the issuer's public key.
pub(crate) fn jwks(ctx: &Ctx<'_>) -> Reply {
    match ctx.sim.federation.key() {
        Ok(key) => Reply::json(
            StatusCode::OK,
            JSON,
            &json!({ "keys": [{
                "use": "sig",
                "kty": "RSA",
                "kid": key.kid,
                "alg": "RS256",
                "n": key.n,
                "e": key.e,
            }]}),
        ),
        Err(e) => Reply::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            JSON,
            &json!({ "error": e.to_string() }),
        ),
    }
}
