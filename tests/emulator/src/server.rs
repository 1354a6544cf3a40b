//! The accept loop (hyper-util, so a fault can drop a connection without a response),
//! TLS, connection time-outs, fault injection, the request log, the `Date` header and
//! the stderr access log.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Version;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::clock::http_date;
use crate::conn::{ConnState, Limits, Tracked};
use crate::faults::Outcome;
use crate::requestlog::Ticket;
use crate::state::Shared;

/// What every connection needs.
pub(crate) struct Context {
    pub shared: Arc<Shared>,
    pub router: Router,
    /// Write one line per request to stderr.
    pub log: bool,
    /// Serve HTTPS with this acceptor.
    pub tls: Option<TlsAcceptor>,
    /// Connection time-outs.
    pub limits: Limits,
}

/// Largest request body accepted (larger ones get 413 and the connection is closed).
const MAX_BODY: usize = 2 * 1024 * 1024;

/// How long an HTTP/2 connection gets to finish after its time-out sent GOAWAY.
const H2_GRACE: Duration = Duration::from_secs(2);

/// The error a service returns to make hyper close the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by an emulated fault")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until the task is aborted; aborting also ends every connection.
pub(crate) async fn accept_loop(listener: TcpListener, ctx: Arc<Context>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, ctx.clone()));
                }
                // e.g. out of file descriptors: wait a little instead of spinning
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Counts a connection in `Shared::connections` while alive.
struct Open(Arc<Shared>);

impl Open {
    fn new(shared: &Arc<Shared>) -> Open {
        shared.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Open(shared.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

async fn serve_connection(stream: TcpStream, ctx: Arc<Context>) {
    let _open = Open::new(&ctx.shared);
    let _ = stream.set_nodelay(true);
    match ctx.tls.clone() {
        None => serve_io(stream, ctx).await,
        Some(acceptor) => {
            // A handshake that stalls counts as a half-sent request.
            if let Ok(Ok(tls)) = tokio::time::timeout(ctx.limits.header, acceptor.accept(stream)).await {
                serve_io(tls, ctx).await;
            }
        }
    }
}

/// Serves HTTP/1.1 or HTTP/2 on one connection until it ends or its watchdog fires:
/// a half-sent or idle HTTP/1 connection is closed at once, HTTP/2 gets a GOAWAY first.
async fn serve_io<I>(io: I, ctx: Arc<Context>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let state = ConnState::new();
    let limits = ctx.limits;
    let service_state = state.clone();
    let service = service_fn(move |req: Request<Incoming>| handle(ctx.clone(), service_state.clone(), req));
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection(TokioIo::new(Tracked::new(io, state.clone())), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = state.watchdog(limits) => {}
    }
    if state.is_h2() {
        connection.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(H2_GRACE, connection).await;
    }
}

fn is_control(path: &str) -> bool {
    path == "/_emulator" || path.starts_with("/_emulator/")
}

async fn handle(
    ctx: Arc<Context>,
    conn: Arc<ConnState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let _in_progress = conn.begin_request(req.version() == Version::HTTP_2);
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let control = is_control(&path);
    if !control {
        ctx.shared.requests_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let ticket = (!control).then(|| ctx.shared.requests.lock().arrived(&method, &path));
    let (parts, body) = req.into_parts();
    let req = match read_body(body, ctx.limits.header).await {
        Ok(bytes) => Request::from_parts(parts, Body::from(bytes)),
        Err(status) => {
            let mut response = fault_response(status.as_u16(), None, body_problem(status).into(), false);
            if parts.version < Version::HTTP_2 {
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            record(&ctx, &method, &path, status.as_u16(), ticket);
            return Ok(response);
        }
    };
    let effect = if control { None } else { ctx.shared.faults.lock().take(&method, &path) };
    let mut faulted = None;
    if let Some(effect) = effect {
        if let Some(ms) = effect.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        match effect.outcome {
            Outcome::Serve => {}
            Outcome::Drop => {
                record(&ctx, &method, &path, 0, ticket);
                return Err(DropConnection);
            }
            Outcome::Respond { status, retry_after, body, json_like, headers } => {
                let mut response = fault_response(status, retry_after, body, json_like);
                for (name, value) in headers {
                    if let (Ok(name), Ok(value)) =
                        (header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value))
                    {
                        response.headers_mut().insert(name, value);
                    }
                }
                faulted = Some(response);
            }
        }
    }
    let mut response = match faulted {
        Some(response) => response,
        None => match ctx.router.clone().oneshot(req).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
    };
    if let Ok(date) = HeaderValue::from_str(&http_date(ctx.shared.clock.now())) {
        response.headers_mut().insert(header::DATE, date);
    }
    record(&ctx, &method, &path, response.status().as_u16(), ticket);
    Ok(response)
}

/// Reads the whole body within `limit` of time and [`MAX_BODY`] bytes: 408 or 413 otherwise
/// (400 when the client broke off or sent a malformed body).
async fn read_body(body: Incoming, limit: Duration) -> Result<bytes::Bytes, StatusCode> {
    match tokio::time::timeout(limit, Limited::new(body, MAX_BODY).collect()).await {
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Ok(Err(_)) => Err(StatusCode::BAD_REQUEST),
    }
}

fn body_problem(status: StatusCode) -> &'static str {
    match status {
        StatusCode::REQUEST_TIMEOUT => "Request body not received in time",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        _ => "Request body incomplete or malformed",
    }
}

fn fault_response(status: u16, retry_after: Option<String>, body: String, json_like: bool) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if json_like { "application/json" } else { "text/plain; charset=utf-8" };
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Completes the request log entry (control requests have none) and writes the access log.
fn record(ctx: &Context, method: &str, path: &str, status: u16, ticket: Option<Ticket>) {
    if let Some(ticket) = ticket {
        ctx.shared.requests.lock().answered(ticket, status);
    }
    if ctx.log {
        let shown = if status == 0 { "dropped".to_owned() } else { status.to_string() };
        eprintln!("{method} {} {shown}", redact(path));
    }
}

/// Segments after which a credential (session or registration token) follows.
const BEFORE_SECRET: [&str; 4] = ["session_status", "logout", "phone", "sessions"];

/// The path with credential segments replaced, for the log.
pub(crate) fn redact(path: &str) -> String {
    if !(path.starts_with("/authentication/") || is_control(path)) {
        return path.to_owned();
    }
    let mut previous = "";
    path.split('/')
        .map(|segment| {
            let shown = if BEFORE_SECRET.contains(&previous) { "[redacted]" } else { segment };
            previous = segment;
            shown
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction() {
        assert_eq!(redact("/authentication/session_status/abc"), "/authentication/session_status/[redacted]");
        assert_eq!(
            redact("/_emulator/phone/abc/sessions/def/approve"),
            "/_emulator/phone/[redacted]/sessions/[redacted]/approve"
        );
        assert_eq!(redact("/_emulator/sessions/abc/approve"), "/_emulator/sessions/[redacted]/approve");
        assert_eq!(redact("/management/add_users/APP"), "/management/add_users/APP");
        assert_eq!(redact("/management/x/phone/u"), "/management/x/phone/u");
    }
}
