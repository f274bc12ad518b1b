//! Built-in HTTPS (`--tls-cert`, `--tls-key`): rustls with the `ring` provider, offering
//! HTTP/2 and HTTP/1.1 by ALPN.
//!
//! Why it matters for Pulse: every open tab holds one event stream, and browsers allow six
//! HTTP/1.1 connections per host — the seventh tab's stream (or its page loads) waits. Over
//! HTTP/2 all of a browser's tabs share one connection, each stream a multiplexed HTTP/2
//! stream, and browsers speak HTTP/2 only over TLS. The event stream itself is the same bytes
//! either way.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// An acceptor for the PEM certificate chain and key at these paths. Errors name the file and
/// say what is wrong with it (they stop the server at start, exit code 2).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--tls-cert {}: no `BEGIN CERTIFICATE` block in the file",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        format!(
            "--tls-key {}: {e} (a PEM private key: PKCS#8, PKCS#1 or SEC1)",
            key.display()
        )
    })?;
    // `ring` on purpose (it builds with nothing but a C compiler; aws-lc needs cmake): rustls
    // marks it deprecated only because it lacks post-quantum key exchange. X25519 and the
    // NIST curves remain, as in every browser's fallback.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("--tls-cert/--tls-key do not make a usable pair: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
