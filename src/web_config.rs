//! `--web.config.file`: TLS, basic auth and response headers for the HTTP server, in the
//! Prometheus exporter-toolkit web configuration format, so users keep the files they already
//! give node_exporter and blackbox_exporter.
//!
//! TLS is rustls. Keys Go's `crypto/tls` understands but rustls does not configure
//! (`cipher_suites`, `curve_preferences`, `prefer_server_cipher_suites`) are accepted and
//! ignored with a warning: rustls only offers suites considered secure.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Headers exporter-toolkit lets `http_server_config.headers` set.
const ALLOWED_HEADERS: [&str; 5] = [
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

/// Paths served without basic auth: probes carry no data, and kubelet cannot easily send
/// credentials.
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// A handshake that has not finished by then is dropped, so slow clients cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the web configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file could not be read.
    #[error("cannot read web config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The YAML does not decode, or a key is unknown.
    #[error("web config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde's message, with the position.
        message: String,
    },
    /// A value is wrong.
    #[error("web config file {path}: {key}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `tls_server_config.min_version`.
        key: String,
        /// What is wrong and what to do.
        reason: String,
    },
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<FileTls>,
    #[serde(default)]
    http_server_config: FileHttp,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    cert: Option<String>,
    key: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_ca: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    #[serde(default)]
    client_allowed_sans: Vec<String>,
    // Go-only tuning that rustls does not expose; accepted so existing files keep working.
    cipher_suites: Option<serde_norway::Value>,
    curve_preferences: Option<serde_norway::Value>,
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHttp {
    /// Accepted for compatibility; the server speaks HTTP/1.1.
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

/// The validated web configuration.
#[derive(Clone)]
pub struct WebConfig {
    /// TLS acceptor; `None` serves plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// Basic auth; empty means none.
    pub auth: Arc<BasicAuth>,
    /// Extra response headers.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field(
                "basic_auth_users",
                &self.auth.users.keys().collect::<Vec<_>>(),
            )
            .field("headers", &self.headers)
            .finish()
    }
}

impl WebConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Validates the text of the file at `path`; relative file names in it are relative to
    /// `path`'s directory.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<WebConfig, WebConfigError> {
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_norway::from_str(text).map_err(|e| WebConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?
        };
        let invalid = |key: &str, reason: String| WebConfigError::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            reason,
        };

        let tls =
            match file.tls_server_config {
                Some(t) => Some(acceptor(t, path).map_err(|(key, reason)| {
                    invalid(&format!("tls_server_config.{key}"), reason)
                })?),
                None => None,
            };

        let mut headers = Vec::new();
        for (name, value) in file.http_server_config.headers {
            let Some(allowed) = ALLOWED_HEADERS
                .iter()
                .find(|h| h.eq_ignore_ascii_case(&name))
            else {
                return Err(invalid(
                    &format!("http_server_config.headers.{name}"),
                    format!("cannot be set; allowed: {}", ALLOWED_HEADERS.join(", ")),
                ));
            };
            let name = HeaderName::from_bytes(allowed.as_bytes()).map_err(|_| {
                invalid(
                    &format!("http_server_config.headers.{name}"),
                    "is not a valid header name".into(),
                )
            })?;
            let value = HeaderValue::from_str(&value).map_err(|_| {
                invalid(
                    &format!("http_server_config.headers.{allowed}"),
                    "is not a valid header value".into(),
                )
            })?;
            headers.push((name, value));
        }

        let mut users = BTreeMap::new();
        for (user, hash) in file.basic_auth_users {
            if let Err(e) = hash.parse::<bcrypt::HashParts>() {
                return Err(invalid(
                    &format!("basic_auth_users.{user}"),
                    format!("is not a bcrypt hash ({e}); make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"),
                ));
            }
            users.insert(user, hash);
        }
        Ok(WebConfig {
            tls,
            auth: Arc::new(BasicAuth {
                users,
                verified: Mutex::new(BTreeMap::new()),
            }),
            headers,
        })
    }
}

/// Builds the TLS acceptor; errors are `(key, reason)`.
fn acceptor(t: FileTls, config_path: &Path) -> Result<TlsAcceptor, (&'static str, String)> {
    // Relative paths are relative to the web config file, as in exporter-toolkit.
    let base = config_path.parent().unwrap_or(Path::new("."));
    let read = |key: &'static str, path: &Path| {
        std::fs::read(base.join(path)).map_err(|e| {
            (
                key,
                format!("cannot read {}: {e}", base.join(path).display()),
            )
        })
    };
    let cert_pem = match (&t.cert_file, &t.cert) {
        (Some(_), Some(_)) => return Err(("cert", "give cert or cert_file, not both".into())),
        (Some(p), None) => read("cert_file", p)?,
        (None, Some(text)) => text.clone().into_bytes(),
        (None, None) => return Err(("cert_file", "missing; TLS needs a certificate".into())),
    };
    let key_pem = match (&t.key_file, &t.key) {
        (Some(_), Some(_)) => return Err(("key", "give key or key_file, not both".into())),
        (Some(p), None) => read("key_file", p)?,
        (None, Some(text)) => text.clone().into_bytes(),
        (None, None) => {
            return Err((
                "key_file",
                "missing; TLS needs the certificate's key".into(),
            ))
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| ("cert_file", format!("is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(("cert_file", "holds no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| ("key_file", format!("holds no usable private key: {e}")))?;

    let versions: Vec<&'static rustls::SupportedProtocolVersion> = {
        let parse = |key: &'static str, v: &Option<String>, default: u8| match v.as_deref() {
            None | Some("") => Ok(default),
            Some("TLS12") => Ok(12),
            Some("TLS13") => Ok(13),
            Some(other @ ("TLS10" | "TLS11")) => Err((
                key,
                format!("{other} is not supported (rustls speaks TLS12 and TLS13)"),
            )),
            Some(other) => Err((key, format!("{other:?} is not one of TLS12, TLS13"))),
        };
        let min = parse("min_version", &t.min_version, 12)?;
        let max = parse("max_version", &t.max_version, 13)?;
        if min > max {
            return Err(("min_version", "is above max_version".into()));
        }
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect()
    };
    if t.cipher_suites.is_some()
        || t.curve_preferences.is_some()
        || t.prefer_server_cipher_suites.is_some()
    {
        tracing::warn!("web config: cipher_suites, curve_preferences and prefer_server_cipher_suites are ignored; rustls offers only secure suites");
    }
    if !t.client_allowed_sans.is_empty() {
        return Err((
            "client_allowed_sans",
            "is not supported yet; restrict clients with client_ca_file instead".into(),
        ));
    }

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| ("min_version", e.to_string()))?;
    let auth_type = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match auth_type {
        "" | "NoClientCert" => builder.with_no_client_auth(),
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            let ca_pem = match (&t.client_ca_file, &t.client_ca) {
                (Some(p), None) => read("client_ca_file", p)?,
                (None, Some(text)) => text.clone().into_bytes(),
                (Some(_), Some(_)) => {
                    return Err(("client_ca", "give client_ca or client_ca_file, not both".into()))
                }
                (None, None) => {
                    return Err((
                        "client_ca_file",
                        format!("missing; client_auth_type {auth_type} verifies client certificates against it"),
                    ))
                }
            };
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&ca_pem) {
                let cert = cert.map_err(|e| ("client_ca_file", format!("is not PEM: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| ("client_ca_file", format!("holds an unusable CA: {e}")))?;
            }
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth_type == "VerifyClientCertIfGiven" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| ("client_ca_file", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        "RequestClientCert" | "RequireAnyClientCert" => {
            return Err((
                "client_auth_type",
                format!("{auth_type} accepts certificates nobody verified and is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file"),
            ))
        }
        other => {
            return Err((
                "client_auth_type",
                format!("{other:?} is not one of NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert"),
            ))
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| ("key_file", format!("does not match the certificate: {e}")))?;
    // The server speaks HTTP/1.1 only, so that is all TLS offers; `http2: true` in
    // http_server_config is accepted and falls back to it, as scrapes gain nothing from h2.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Basic auth users and the credentials already verified, so bcrypt (deliberately slow) runs
/// once per credential rather than once per scrape.
pub struct BasicAuth {
    /// User name → bcrypt hash.
    users: BTreeMap<String, String>,
    /// User name → SHA-256 of the last password that verified.
    verified: Mutex<BTreeMap<String, [u8; 32]>>,
}

impl BasicAuth {
    /// Whether `Authorization` carries a known user's password.
    async fn allows(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(decode_basic) else {
            return false;
        };
        let digest: [u8; 32] = Sha256::digest(format!("{user}:{password}")).into();
        if self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            == Some(&digest)
        {
            return true;
        }
        // An unknown user is checked against a dummy hash, so timing does not tell which
        // user names exist.
        let hash = self.users.get(&user).cloned().unwrap_or_else(|| {
            "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi".to_owned()
        });
        let known = self.users.contains_key(&user);
        let ok =
            tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
                .await
                .unwrap_or(false);
        if ok && known {
            self.verified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(user, digest);
        }
        ok && known
    }
}

/// `user` and `password` from `Basic base64(user:password)`.
pub(crate) fn decode_basic(value: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Middleware: basic auth (when configured) and the configured headers.
pub async fn guard(
    axum::extract::State(web): axum::extract::State<Arc<WebConfig>>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let open = OPEN_PATHS.contains(&request.uri().path());
    let mut response = if !web.auth.users.is_empty() && !open {
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if web.auth.allows(authorization).await {
            next.run(request).await
        } else {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic")],
                "Unauthorized\n",
            )
                .into_response()
        }
    } else {
        next.run(request).await
    };
    for (name, value) in &web.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// A listener yielding TLS connections, for `axum::serve`.
pub struct TlsListener {
    /// Handshaken connections.
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// The bound address.
    local_addr: SocketAddr,
    /// The accept loop; stopped when the listener is dropped so the port is released.
    accept_loop: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener`, handshaking with `acceptor` off the accept loop so one
    /// slow client cannot stall the others.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<TlsListener> {
        let local_addr = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let accept_loop = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off as axum does.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener {
            ready,
            local_addr,
            accept_loop,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop only ends when aborted, which happens on drop: never wake.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
