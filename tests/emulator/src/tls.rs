//! HTTPS: a CA and a server certificate generated at start (ring provider, no files read).

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The TLS side of a running emulator.
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    /// PEM of the generated CA, for clients to trust.
    pub ca_pem: String,
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("cannot set up TLS: {e}"))
}

/// Generates a CA and a leaf for `127.0.0.1`, `::1`, `localhost` (and `listen_ip` when it
/// is a specific address) and builds the acceptor (HTTP/2 and HTTP/1.1 by ALPN).
pub(crate) fn generate(listen_ip: IpAddr) -> std::io::Result<Tls> {
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    ca.distinguished_name.push(DnType::CommonName, "deviceauth-emulator test CA");
    let issuer = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(other)?).map_err(other)?;

    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !listen_ip.is_unspecified() && !listen_ip.is_loopback() {
        names.push(listen_ip.to_string());
    }
    let mut leaf = CertificateParams::new(names).map_err(other)?;
    leaf.distinguished_name.push(DnType::CommonName, "deviceauth-emulator");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // OpenSSL's strict mode (Python 3.13's default context) wants the issuer's key id.
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().map_err(other)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(other)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![leaf_cert.der().clone(), issuer.der().clone()];
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls { acceptor: TlsAcceptor::from(Arc::new(config)), ca_pem: pem("CERTIFICATE", issuer.der()) })
}

/// PEM text of one DER block (64-character lines).
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
