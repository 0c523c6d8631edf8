//! HTTPS for the main listener (reference §12): with a certificate for, say,
//! `login.microsoftonline.us` and `graph.microsoft.us`, a test can put the simulator behind a
//! CONNECT proxy and let a client talk to a national cloud's real host names.
//!
//! The listener hands axum connections whose TLS handshake is already done. Handshakes run in
//! their own tasks, so a client that connects and never speaks cannot hold up the others.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::SimTls;

/// Longest a client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for axum.
const QUEUE: usize = 64;

/// Why the TLS identity cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// `cert_pem` holds no usable certificate.
    #[error("SimTls.cert_pem holds no PEM certificate: {0}")]
    Certificate(String),
    /// `key_pem` holds no usable private key.
    #[error("SimTls.key_pem holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {0}")]
    Key(String),
    /// rustls refused the pair (key does not match the certificate, unsupported key type…).
    #[error("the TLS certificate and key cannot be used together: {0}")]
    Config(#[from] rustls::Error),
}

impl From<TlsSetupError> for io::Error {
    fn from(e: TlsSetupError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, e)
    }
}

/// A TLS acceptor for `tls`, using the ring provider explicitly so no process-wide default
/// provider has to be installed.
pub(crate) fn acceptor(tls: &SimTls) -> Result<TlsAcceptor, TlsSetupError> {
    let certs = CertificateDer::pem_slice_iter(tls.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::Certificate(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsSetupError::Certificate("no CERTIFICATE block".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes())
        .map_err(|e| TlsSetupError::Key(e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    // HTTP/1.1 only: the simulator's server speaks nothing else.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// A listener yielding TLS connections, for `axum::serve`.
pub(crate) struct TlsListener {
    /// Handshaken connections.
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    /// The bound address.
    local_addr: SocketAddr,
    /// The accept loop; stopped when the listener is dropped so the port is released.
    accept_loop: JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `listener`, handshaking with `acceptor`.
    pub(crate) fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(QUEUE);
        let accept_loop = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off as axum does.
                        tracing::warn!(error = %e, "graph-sim TLS accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "graph-sim TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "graph-sim TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
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
