//! Certificates registered on simulated app registrations (reference §11.2): the public X.509
//! certificate an app's owner uploads, parsed once into what the token endpoint needs to check
//! a client assertion: the two thumbprints a JWT header may name (`x5t` = SHA-1, `x5t#S256` =
//! SHA-256 of the DER bytes), the RSA public key and the validity window.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use base64::Engine as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::traits::PublicKeyParts as _;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use x509_cert::der::{Decode as _, Encode as _};

/// PEM armour around a certificate.
const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
/// See [`PEM_BEGIN`].
const PEM_END: &str = "-----END CERTIFICATE-----";

/// Why a certificate could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The PEM text holds no `BEGIN CERTIFICATE` block.
    #[error("no '-----BEGIN CERTIFICATE-----' block found; pass the public certificate, not only the key")]
    NoPemCertificate,
    /// The PEM block's body is not base64.
    #[error("the certificate PEM block is not valid base64: {0}")]
    Base64(String),
    /// The bytes are not a DER X.509 certificate.
    #[error("not a DER-encoded X.509 certificate: {0}")]
    Der(String),
    /// The certificate's key is not RSA; Entra's client assertions are RS256/PS256 (§11.2).
    #[error(
        "the certificate's public key is not RSA ({0}); client assertions need RS256 or PS256"
    )]
    NotRsa(String),
}

/// A public X.509 certificate registered on an app (`keyCredentials` of type
/// `AsymmetricX509Cert`, usage `Verify`).
#[derive(Clone, PartialEq, Eq)]
pub struct SimCertificate {
    /// The DER bytes, as uploaded.
    der: Vec<u8>,
    /// SHA-1 of `der`: the legacy `x5t` thumbprint and the one Entra prints in errors.
    sha1: [u8; 20],
    /// SHA-256 of `der`: the current `x5t#S256` thumbprint.
    sha256: [u8; 32],
    /// RSA modulus, big-endian.
    modulus: Vec<u8>,
    /// RSA public exponent, big-endian.
    exponent: Vec<u8>,
    /// `notBefore`, Unix seconds.
    not_before: u64,
    /// `notAfter`, Unix seconds: Entra refuses assertions signed with an expired key.
    not_after: u64,
}

impl std::fmt::Debug for SimCertificate {
    /// Thumbprint and validity instead of a page of bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCertificate")
            .field("thumbprint", &self.thumbprint())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl SimCertificate {
    /// Parses a DER-encoded X.509 certificate with an RSA key.
    pub fn from_der(der: Vec<u8>) -> Result<Self, CertificateError> {
        let cert = x509_cert::Certificate::from_der(&der)
            .map_err(|e| CertificateError::Der(e.to_string()))?;
        let tbs = &cert.tbs_certificate;
        let spki = tbs
            .subject_public_key_info
            .to_der()
            .map_err(|e| CertificateError::Der(e.to_string()))?;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki).map_err(|_| {
            CertificateError::NotRsa(tbs.subject_public_key_info.algorithm.oid.to_string())
        })?;
        let validity = &tbs.validity;
        Ok(Self {
            sha1: Sha1::digest(&der).into(),
            sha256: Sha256::digest(&der).into(),
            modulus: key.n().to_bytes_be(),
            exponent: key.e().to_bytes_be(),
            not_before: validity.not_before.to_unix_duration().as_secs(),
            not_after: validity.not_after.to_unix_duration().as_secs(),
            der,
        })
    }

    /// Parses the first `CERTIFICATE` block of PEM text; other blocks (a private key in the
    /// same file, say) are ignored.
    pub fn from_pem(pem: &str) -> Result<Self, CertificateError> {
        let start = pem
            .find(PEM_BEGIN)
            .ok_or(CertificateError::NoPemCertificate)?
            + PEM_BEGIN.len();
        let len = pem[start..]
            .find(PEM_END)
            .ok_or(CertificateError::NoPemCertificate)?;
        let body: String = pem[start..start + len]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = BASE64
            .decode(body)
            .map_err(|e| CertificateError::Base64(e.to_string()))?;
        Self::from_der(der)
    }

    /// The DER bytes (what an `x5c` header entry carries, base64-encoded).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The legacy `x5t` header value: base64url SHA-1 of the DER certificate (§11.2).
    pub fn x5t(&self) -> String {
        BASE64URL.encode(self.sha1)
    }

    /// The current `x5t#S256` header value: base64url SHA-256 of the DER certificate (§11.2).
    pub fn x5t_s256(&self) -> String {
        BASE64URL.encode(self.sha256)
    }

    /// The SHA-1 thumbprint in upper-case hex, as the portal and Entra's errors print it.
    pub fn thumbprint(&self) -> String {
        hex_upper(&self.sha1)
    }

    /// Start of the validity window.
    pub fn not_before(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.not_before)
    }

    /// End of the validity window.
    pub fn not_after(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.not_after)
    }

    /// `notBefore` in Unix seconds.
    pub(crate) fn not_before_secs(&self) -> u64 {
        self.not_before
    }

    /// `notAfter` in Unix seconds.
    pub(crate) fn not_after_secs(&self) -> u64 {
        self.not_after
    }

    /// Whether a decoded `x5t` (`sha256` false) or `x5t#S256` thumbprint names this certificate.
    pub(crate) fn has_thumbprint(&self, digest: &[u8], sha256: bool) -> bool {
        if sha256 {
            digest == self.sha256.as_slice()
        } else {
            digest == self.sha1.as_slice()
        }
    }

    /// The key that verifies this certificate's RS256/PS256 signatures.
    pub(crate) fn decoding_key(&self) -> jsonwebtoken::DecodingKey {
        jsonwebtoken::DecodingKey::from_rsa_raw_components(&self.modulus, &self.exponent)
    }
}

/// Bytes as upper-case hex.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_a_certificate() {
        assert_eq!(
            SimCertificate::from_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
            ),
            Err(CertificateError::NoPemCertificate)
        );
        assert!(matches!(
            SimCertificate::from_pem("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"),
            Err(CertificateError::Base64(_))
        ));
        assert!(matches!(
            SimCertificate::from_der(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
            Err(CertificateError::Der(_))
        ));
        assert_eq!(hex_upper(&[0x0a, 0xff]), "0AFF");
    }
}
