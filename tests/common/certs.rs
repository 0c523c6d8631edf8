//! Certificates made at test time for the certificate-credential tests, in every form users
//! deploy them: PEM with a plain or password-encrypted PKCS#8 key, and PKCS#12. No private key
//! is committed to the repository.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};

/// One RSA key per test process: generating 2048-bit keys is the slow part.
fn key() -> &'static rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key"))
}

/// A self-signed certificate and its key.
pub struct TestCertificate {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER, as registered on the simulated app.
    pub cert_der: Vec<u8>,
    /// The key as unencrypted PKCS#8 DER.
    key_pkcs8_der: Vec<u8>,
}

impl TestCertificate {
    /// A certificate valid from `not_before` to `not_after`.
    pub fn new(not_before: SystemTime, not_after: SystemTime) -> Self {
        let key_der = key().to_pkcs8_der().expect("PKCS#8").as_bytes().to_vec();
        let key_pem = key().to_pkcs8_pem(LineEnding::LF).expect("PEM key");
        let key_pair = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256)
            .expect("rcgen key pair");
        let mut params =
            rcgen::CertificateParams::new(vec!["entra-exporter.test".to_owned()]).unwrap();
        params.not_before = time::OffsetDateTime::from(not_before);
        params.not_after = time::OffsetDateTime::from(not_after);
        let cert = params
            .self_signed(&key_pair)
            .expect("self-signed certificate");
        TestCertificate {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pkcs8_der: key_der,
        }
    }

    /// Valid from a day ago for a year.
    pub fn valid() -> Self {
        let now = SystemTime::now();
        Self::new(
            now - Duration::from_secs(86_400),
            now + Duration::from_secs(365 * 86_400),
        )
    }

    /// Expired yesterday.
    pub fn expired() -> Self {
        let now = SystemTime::now();
        Self::new(
            now - Duration::from_secs(30 * 86_400),
            now - Duration::from_secs(86_400),
        )
    }

    /// Certificate and unencrypted PKCS#8 key in one PEM file.
    pub fn pem_with_key(&self) -> String {
        let key = key().to_pkcs8_pem(LineEnding::LF).expect("PEM key");
        format!("{}{}", self.cert_pem, key.as_str())
    }

    /// Certificate and a password-encrypted PKCS#8 key (PBES2, AES-256-CBC).
    pub fn pem_with_encrypted_key(&self, password: &str) -> String {
        let key = key()
            .to_pkcs8_encrypted_pem(&mut rand::thread_rng(), password, LineEnding::LF)
            .expect("encrypted PEM key");
        format!("{}{}", key.as_str(), self.cert_pem)
    }

    /// A PKCS#12 bundle protected by `password`.
    pub fn pkcs12(&self, password: &str) -> Vec<u8> {
        let key = p12_keystore::PrivateKey::from_der(&self.key_pkcs8_der).expect("PKCS#8 key");
        let cert = p12_keystore::Certificate::from_der(&self.cert_der).expect("certificate");
        let chain = p12_keystore::PrivateKeyChain::new(b"exporter".to_vec(), key, [cert]);
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(
            "exporter",
            p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
        );
        store.writer(password).write().expect("PKCS#12")
    }
}

/// A test CA and a server certificate for `names` signed by it (ECDSA; TLS servers in tests).
/// Returns the CA's certificate, the server's certificate and its key, all PEM.
pub fn ca_and_server(names: &[&str]) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "entra-exporter test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let cert = rcgen::CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}
