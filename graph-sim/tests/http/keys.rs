//! Keys, certificates and client assertions made at test time: nothing private is committed.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD as BASE64, URL_SAFE_NO_PAD as BASE64URL};
use base64::Engine as _;
use graph_sim::SimCertificate;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::EncodePrivateKey as _;
use serde_json::{json, Value};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;

/// The current Unix second.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An RSA key pair for signing client assertions.
pub struct ClientKey {
    /// The key.
    pub private: rsa::RsaPrivateKey,
}

impl ClientKey {
    /// A fresh 2048-bit key, the size Entra requires.
    pub fn generate() -> Self {
        Self {
            private: rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("rsa key"),
        }
    }

    /// The key as jsonwebtoken wants it (PKCS#1 DER).
    pub fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_rsa_der(self.private.to_pkcs1_der().expect("pkcs1").as_bytes())
    }

    /// A self-signed certificate for this key, valid between the two dates.
    pub fn certificate(
        &self,
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> TestCertificate {
        let pkcs8 = self.private.to_pkcs8_der().expect("pkcs8");
        let der_key = PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec());
        let key_pair =
            rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der_key, &rcgen::PKCS_RSA_SHA256)
                .expect("rcgen key");
        let mut params =
            rcgen::CertificateParams::new(vec!["entra-exporter.test".to_owned()]).expect("params");
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let cert = params.self_signed(&key_pair).expect("self-signed");
        let der = cert.der().to_vec();
        TestCertificate {
            sim: SimCertificate::from_pem(&cert.pem()).expect("parse own certificate"),
            der,
        }
    }

    /// A certificate valid from 2020 to 2099.
    pub fn valid_certificate(&self) -> TestCertificate {
        self.certificate((2020, 1, 1), (2099, 1, 1))
    }
}

/// A certificate as registered on the app and as the client holds it.
pub struct TestCertificate {
    /// What the app registration holds.
    pub sim: SimCertificate,
    /// The DER bytes, for thumbprints and `x5c`.
    pub der: Vec<u8>,
}

impl TestCertificate {
    /// base64url SHA-256 of the DER: the `x5t#S256` header.
    pub fn x5t_s256(&self) -> String {
        BASE64URL.encode(Sha256::digest(&self.der))
    }

    /// base64url SHA-1 of the DER: the `x5t` header.
    pub fn x5t(&self) -> String {
        BASE64URL.encode(Sha1::digest(&self.der))
    }

    /// The `x5c` header value.
    pub fn x5c(&self) -> Vec<String> {
        vec![BASE64.encode(&self.der)]
    }
}

/// The form of a client assertion header (§11.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// PS256 with `x5t#S256`.
    Current,
    /// RS256 with `x5t`.
    Legacy,
}

/// A client assertion for `client_id` at `aud`, valid for ten minutes from now, signed by
/// `key` and naming `cert` by thumbprint.
pub fn assertion(
    key: &ClientKey,
    cert: &TestCertificate,
    form: Form,
    client_id: &str,
    aud: &str,
) -> String {
    let now = now();
    sign(
        key,
        header(cert, form),
        &json!({
            "aud": aud,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "exp": now + 600,
        }),
    )
}

/// The header of `form` naming `cert`.
pub fn header(cert: &TestCertificate, form: Form) -> Header {
    match form {
        Form::Current => {
            let mut header = Header::new(Algorithm::PS256);
            header.x5t_s256 = Some(cert.x5t_s256());
            header
        }
        Form::Legacy => {
            let mut header = Header::new(Algorithm::RS256);
            header.x5t = Some(cert.x5t());
            header
        }
    }
}

/// Signs `claims` under `header` with `key`.
pub fn sign(key: &ClientKey, header: Header, claims: &Value) -> String {
    jsonwebtoken::encode(&header, claims, &key.encoding_key()).expect("sign assertion")
}
