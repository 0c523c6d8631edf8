//! Reading a certificate credential from disk: a PEM file with the certificate and its RSA key
//! (the key optionally encrypted with a password), or a PKCS#12 bundle with a password, as
//! Azure Key Vault and `openssl pkcs12 -export` write them.
//!
//! The result holds what a client assertion needs (reference §11.2): the key as PKCS#1 DER for
//! signing, the certificate chain as DER for `x5c`, and both thumbprints for `x5t#S256` / `x5t`.

use std::path::Path;
use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use x509_cert::der::{Decode as _, Encode as _};

use crate::config::Secret;

/// Why a certificate credential could not be used. Messages name the file and say what to do;
/// they never contain key material or the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The file could not be read.
    #[error("cannot read certificate file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The file is neither PEM nor PKCS#12, or a part of it does not decode.
    #[error("certificate file {path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// The certificate's validity period does not include now.
    #[error("certificate in {path} (thumbprint {thumbprint}) {reason}; upload a new certificate to the app registration and mount it here")]
    Validity {
        /// The file.
        path: String,
        /// SHA-1 thumbprint in hex, as the Entra admin center shows it.
        thumbprint: String,
        /// "expired on …" or "is not valid until …".
        reason: String,
    },
}

/// A certificate and its private key, ready to sign client assertions. `Debug` shows only
/// the thumbprint.
#[derive(Clone)]
pub struct LoadedCertificate {
    /// The RSA private key as PKCS#1 DER, the form the JWT signer takes. Never logged.
    pub key_pkcs1_der: Vec<u8>,
    /// The certificate chain as DER, the signing certificate first.
    pub chain_der: Vec<Vec<u8>>,
    /// base64url SHA-256 of the signing certificate's DER: the `x5t#S256` header.
    pub x5t_s256: String,
    /// base64url SHA-1 of the signing certificate's DER: the legacy `x5t` header.
    pub x5t: String,
    /// SHA-1 thumbprint in upper-case hex, as the admin center lists certificates.
    pub thumbprint_hex: String,
    /// End of the certificate's validity.
    pub not_after: SystemTime,
}

impl std::fmt::Debug for LoadedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedCertificate")
            .field("thumbprint", &self.thumbprint_hex)
            .finish_non_exhaustive()
    }
}

/// Reads and checks the certificate credential at `path`.
pub fn load(path: &Path, password: Option<&Secret>) -> Result<LoadedCertificate, CertificateError> {
    let bytes = std::fs::read(path).map_err(|e| CertificateError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    from_bytes(&bytes, path, password)
}

/// Checks a certificate credential already read from `path` (which only labels errors).
pub(crate) fn from_bytes(
    bytes: &[u8],
    path: &Path,
    password: Option<&Secret>,
) -> Result<LoadedCertificate, CertificateError> {
    let shown = path.display().to_string();
    let format = |reason: String| CertificateError::Format {
        path: shown.clone(),
        reason,
    };
    let looks_like_pem = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'-');
    let (key, chain) = if looks_like_pem {
        from_pem(bytes, password).map_err(format)?
    } else {
        from_pkcs12(bytes, password).map_err(format)?
    };
    let leaf = chain
        .first()
        .ok_or_else(|| format("holds no certificate; the file must contain the certificate as well as its private key".into()))?;
    let cert = x509_cert::Certificate::from_der(leaf)
        .map_err(|e| format(format!("the certificate does not decode: {e}")))?;

    // A key that does not belong to the certificate would only fail at Entra, with a vaguer
    // AADSTS700027; say so here instead.
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format(format!("the certificate's public key does not encode: {e}")))?;
    let public = rsa::RsaPublicKey::from_public_key_der(&spki).map_err(|_| {
        format("the certificate's key is not RSA; Entra client assertions are signed with RSA (PS256 or RS256)".into())
    })?;
    if public != key.to_public_key() {
        return Err(format(
            "the private key does not belong to the certificate; put the matching key beside it"
                .into(),
        ));
    }

    let thumbprint_hex = Sha1::digest(leaf)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<String>();
    let validity = &cert.tbs_certificate.validity;
    let not_before = validity.not_before.to_system_time();
    let not_after = validity.not_after.to_system_time();
    let now = SystemTime::now();
    let validity_error = |reason: String| CertificateError::Validity {
        path: shown.clone(),
        thumbprint: thumbprint_hex.clone(),
        reason,
    };
    if now > not_after {
        return Err(validity_error(format!(
            "expired on {}",
            humantime::format_rfc3339_seconds(not_after)
        )));
    }
    if now < not_before {
        return Err(validity_error(format!(
            "is not valid until {}",
            humantime::format_rfc3339_seconds(not_before)
        )));
    }
    let key_der = key
        .to_pkcs1_der()
        .map_err(|e| format(format!("the private key does not encode: {e}")))?;
    Ok(LoadedCertificate {
        key_pkcs1_der: key_der.as_bytes().to_vec(),
        x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(leaf)),
        x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(leaf)),
        thumbprint_hex,
        not_after,
        chain_der: chain,
    })
}

/// Key and certificates from PEM blocks in any order.
fn from_pem(
    bytes: &[u8],
    password: Option<&Secret>,
) -> Result<(rsa::RsaPrivateKey, Vec<Vec<u8>>), String> {
    let blocks = pem::parse_many(bytes).map_err(|e| format!("is not valid PEM: {e}"))?;
    let mut key = None;
    let mut chain = Vec::new();
    for block in blocks {
        match block.tag() {
            "CERTIFICATE" => chain.push(block.into_contents()),
            "PRIVATE KEY" => {
                key = Some(
                    rsa::RsaPrivateKey::from_pkcs8_der(block.contents()).map_err(|_| {
                        "the PKCS#8 private key is not an RSA key; Entra client assertions need RSA"
                            .to_string()
                    })?,
                )
            }
            "RSA PRIVATE KEY" => {
                if block.headers().get("Proc-Type").is_some() {
                    return Err("the key is encrypted in the legacy OpenSSL format; convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc` and set the password".into());
                }
                key = Some(
                    rsa::RsaPrivateKey::from_pkcs1_der(block.contents())
                        .map_err(|e| format!("the PKCS#1 private key does not decode: {e}"))?,
                )
            }
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or_else(|| {
                    "the private key is encrypted; set certificate_password_file (or AZURE_CLIENT_CERTIFICATE_PASSWORD)".to_string()
                })?;
                let info = pkcs8::EncryptedPrivateKeyInfo::try_from(block.contents())
                    .map_err(|e| format!("the encrypted private key does not decode: {e}"))?;
                let document = info.decrypt(password.expose().as_bytes()).map_err(|_| {
                    "cannot decrypt the private key: the password is wrong or the cipher is unsupported (use PBES2 with AES)".to_string()
                })?;
                key = Some(
                    rsa::RsaPrivateKey::from_pkcs8_der(document.as_bytes()).map_err(|_| {
                        "the decrypted private key is not an RSA key; Entra client assertions need RSA".to_string()
                    })?,
                );
            }
            // Parameters and the like that some tools add; not ours to judge.
            _ => {}
        }
    }
    let key = key.ok_or_else(|| {
        "holds no private key; put the certificate and its key in one PEM file".to_string()
    })?;
    Ok((key, chain))
}

/// Key and chain from a PKCS#12 (`.pfx` / `.p12`) bundle.
fn from_pkcs12(
    bytes: &[u8],
    password: Option<&Secret>,
) -> Result<(rsa::RsaPrivateKey, Vec<Vec<u8>>), String> {
    let password = password.map(Secret::expose).unwrap_or("");
    let store = p12_keystore::KeyStore::from_pkcs12(
        bytes,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|e| {
        format!("is neither PEM nor a readable PKCS#12 bundle ({e}); check the file and certificate_password")
    })?;
    let (_, chain) = store.private_key_chain().ok_or_else(|| {
        "the PKCS#12 bundle holds no private key with its certificate".to_string()
    })?;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(chain.key().as_der()).map_err(|_| {
        "the PKCS#12 private key is not an RSA key; Entra client assertions need RSA".to_string()
    })?;
    let certs = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
    Ok((key, certs))
}
