//! A hostile HTTP/1.1 server for tests: every byte it answers is the test's. It records
//! each request (head and body) and answers with whatever the handler returns, then
//! closes the connection. Optionally over TLS with a CA made for the test.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request line and headers.
    pub head: String,
    pub body: Vec<u8>,
}

impl Seen {
    /// The path and query of the request line.
    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Vec<u8> + Send + Sync>;

/// A running server.
pub struct RawServer {
    pub port: u16,
    pub tls: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
    handler: Arc<Mutex<Handler>>,
}

impl RawServer {
    /// A plain-HTTP server on 127.0.0.1 answering with `handler`.
    pub async fn start(handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) -> RawServer {
        Self::serve(handler, None).await
    }

    /// The same over TLS; returns the server and the PEM of the CA that signed it.
    pub async fn start_tls(handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) -> (RawServer, String) {
        let (acceptor, ca) = tls_acceptor();
        (Self::serve(handler, Some(acceptor)).await, ca)
    }

    async fn serve(
        handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Mutex<Handler>> = Arc::new(Mutex::new(Arc::new(handler)));
        let server = RawServer { port, tls: tls.is_some(), seen: seen.clone(), handler: handler.clone() };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, handler, tls) = (seen.clone(), handler.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                answer(stream, seen, handler).await;
                            }
                        }
                        None => answer(stream, seen, handler).await,
                    }
                });
            }
        });
        server
    }

    /// `http://127.0.0.1:PORT` (or `https://`).
    pub fn origin(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "https" } else { "http" }, self.port)
    }

    /// The origin with `path` appended.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Replaces the handler.
    pub fn answer_with(&self, handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) {
        *self.handler.lock().unwrap() = Arc::new(handler);
    }
}

async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    seen: Arc<Mutex<Vec<Seen>>>,
    handler: Arc<Mutex<Handler>>,
) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    let request = Seen { head, body: data[head_end..].to_vec() };
    seen.lock().unwrap().push(request.clone());
    let handler = handler.lock().unwrap().clone();
    let response = handler(&request);
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// A full response: status line, the extra header lines, `Content-Length`,
/// `Connection: close`, and the body.
pub fn response(status: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\n");
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    text.into_bytes()
}

/// A 200 answer with a JSON body.
pub fn json(body: &str) -> Vec<u8> {
    response("200 OK", &["Content-Type: application/json"], body)
}

/// A CA and a server certificate for 127.0.0.1 and localhost, as an acceptor and the CA's PEM.
fn tls_acceptor() -> (tokio_rustls::TlsAcceptor, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
    use tokio_rustls::rustls::ServerConfig;
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let issuer = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone(), issuer.der().clone()], key)
        .unwrap();
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), pem(issuer.der()))
}

/// PEM text of a DER certificate.
fn pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|l| std::str::from_utf8(l).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}
