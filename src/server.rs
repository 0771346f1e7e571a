//! The accept loop: hyper HTTP/1 connections on a tokio listener, routing (`/api` to the REST
//! surface, everything else to pass-through or a JSON 404), and graceful shutdown.
//!
//! Every connection has a watchdog: a connection that takes longer than `header_read_timeout`
//! to send a request head (slowloris), or sits idle between requests for `idle_timeout`, or
//! stops reading an answer for `idle_timeout`, is closed. hyper answers a head that is too
//! large (431), a URI beyond its own cap (414) or a malformed head (400) itself.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::Body as _;
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use http::header;
use tracing::Instrument;

use crate::access;
use crate::api::{self, AppState};
use crate::error::Error;
use crate::metrics::{Direction, HttpMethod, Route};
use crate::plumbing::{error_response, Body};

/// A listener with `SO_REUSEPORT` (on Unix), so that several threads can each accept on the
/// same address and the kernel spreads connections between them.
pub fn reuse_port_listener(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves `listener` until `shutdown` resolves, then stops accepting and waits (at most the
/// configured grace period) for requests in flight.
pub async fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let limits = &state.config.limits;
    // Every connection task holds a sender; when the last one is dropped, `open_rx` closes.
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    // The watchdog times heads and idle connections: hyper's own header timer would also
    // close idle keep-alive connections after `header_read_timeout`.
    http.timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(
            limits
                .max_header_bytes
                .saturating_add(8192)
                .max(HYPER_BUF_SIZE),
        )
        .max_headers(limits.max_headers)
        .keep_alive(true);
    let timeouts = Timeouts {
        head: limits.header_read_timeout,
        idle: limits.idle_timeout,
    };
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&state.connections).acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let open_gauge = state.metrics.connection_open();
        let activity = Arc::new(Activity::new());
        let state = Arc::clone(&state);
        let service = {
            let activity = Arc::clone(&activity);
            service_fn(move |request| {
                let state = Arc::clone(&state);
                let busy = Busy::start(&activity);
                async move {
                    let response = route(&state, request, peer).await;
                    drop(busy);
                    Ok::<_, Infallible>(response)
                }
            })
        };
        let io = Watched {
            stream,
            activity: Arc::clone(&activity),
        };
        let connection = http
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let open = open_tx.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            // The watchdog keeps watching during a graceful shutdown: a slow head cannot hold
            // the shutdown for the whole grace period.
            let watchdog = activity.expired(timeouts);
            tokio::pin!(watchdog);
            let result = tokio::select! {
                result = connection.as_mut() => Ok(result),
                why = watchdog.as_mut() => Err(why),
                _ = async { stop.wait_for(|&stop| stop).await.map(|_| ()) } => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        result = connection.as_mut() => Ok(result),
                        why = watchdog.as_mut() => Err(why),
                    }
                }
            };
            match result {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::debug!(%error, %peer, "connection ended with an error"),
                Err(why) => tracing::debug!(%peer, why, "connection closed"),
            }
            drop((permit, open, open_gauge));
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(open_tx);
    let grace = state.config.limits.shutdown_grace;
    tokio::select! {
        _ = open_rx.recv() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!(?grace, "grace period over; closing the remaining connections"),
    }
}

/// Serves one request inside its span and access record: request id in and out, CORS under
/// `/api`, the request metrics, and the access-log line (written when the body is sent).
async fn route(
    state: &AppState,
    mut request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = access::request_id(request.headers());
    // Sent upstream on pass-through as the client's own would be.
    request
        .headers_mut()
        .insert(access::X_REQUEST_ID, request_id.clone());
    let path = request.uri().path();
    let is_api = path == "/api" || path.starts_with("/api/");
    let route = match (is_api, &state.passthrough) {
        (false, Some(_)) => Route::Passthrough,
        _ => Route::of(path),
    };
    let method = request.method().clone();
    // Nothing is gathered for a line the log filter drops (`RUST_LOG=warn`, `access=off`).
    let logged =
        state.config.log.access && tracing::enabled!(target: "access", tracing::Level::INFO);
    let entry = logged.then(|| access::Entry {
        started,
        request_id: request_id.clone(),
        client: api::client_address(
            peer,
            request.headers(),
            &state.config.passthrough.trusted_proxies,
        ),
        method: method.clone(),
        path: path.to_owned(),
        status: 0,
        upstream: Duration::ZERO,
        user: None,
    });
    let origin = (is_api && state.cors.enabled())
        .then(|| request.headers().get(header::ORIGIN).cloned())
        .flatten();
    let span = tracing::info_span!("request", id = request_id.to_str().unwrap_or_default());
    let preflight = if is_api {
        state.cors.preflight(&method, request.headers())
    } else {
        None
    };
    let (mut response, upstream, user) = match preflight {
        Some(response) => (response, Duration::ZERO, None),
        None => {
            // Boxed: the handlers' future is about 6 KiB, and each wrapper around it (the
            // record, the span, hyper's slot) would copy it again; the request's future stays
            // at about 1 KiB and moves as such (callgrind: about 19 k instructions of memcpy per
            // REST call before).
            access::recording(Box::pin(dispatch(state, request, peer)))
                .instrument(span.clone())
                .await
        }
    };
    if is_api && state.cors.enabled() {
        state.cors.decorate(origin.as_ref(), &mut response);
    }
    response
        .headers_mut()
        .insert(access::X_REQUEST_ID, request_id);
    let status = response.status().as_u16();
    state
        .metrics
        .http_request(route, HttpMethod::of(&method), status, started.elapsed());
    let entry = entry.map(|entry| access::Entry {
        status,
        upstream,
        user,
        ..entry
    });
    let to_client =
        (route == Route::Passthrough).then(|| state.metrics.passthrough_bytes(Direction::ToClient));
    match (entry, response.body().size_hint().exact()) {
        // A complete body: its size is known now.
        (Some(entry), Some(bytes)) if to_client.is_none() => {
            let _span = span.enter();
            entry.log(bytes);
            response
        }
        (None, _) if to_client.is_none() => response,
        (entry, _) => response.map(|body| access::Counted::wrap(body, entry, to_client)),
    }
}

async fn dispatch(
    state: &AppState,
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Body> {
    let max_url = state.config.limits.max_url_bytes;
    if url_length(request.uri()) > max_url {
        return error_response(&Error::UrlTooLong(max_url));
    }
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") {
        return api::handle(state, request, peer).await;
    }
    // Odoo 19 runs the method of an OPTIONS on /json/2 (no preflight there: quirk Q12).
    if request.method() == http::Method::OPTIONS
        && (path == "/json/2" || path.starts_with("/json/2/"))
    {
        return error_response(&Error::MethodNotAllowed("OPTIONS on /json/2".into()));
    }
    match &state.passthrough {
        Some(passthrough) => passthrough.forward(request, peer).await,
        None => error_response(&Error::RouteNotFound(path.to_owned())),
    }
}

/// hyper's default read buffer cap (8 KiB + 100 x 4 KiB).
const HYPER_BUF_SIZE: usize = 8192 + 4096 * 100;

fn url_length(uri: &http::Uri) -> usize {
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let path = uri.path_and_query().map_or(0, |p| p.as_str().len());
    authority + path
}

#[derive(Clone, Copy)]
struct Timeouts {
    head: Duration,
    idle: Duration,
}

/// What a connection is doing, for its watchdog: waiting for a request (idle), receiving a
/// request head, or serving a request. Times are milliseconds since `born`.
struct Activity {
    born: Instant,
    phase: AtomicU8,
    since: AtomicU64,
    /// Wakes the watchdog when the phase changes to one with a nearer deadline (or none).
    changed: Notify,
}

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;

impl Activity {
    /// A new connection is timed as a head from its first moment: a client that connects and
    /// sends nothing is a slow head.
    fn new() -> Activity {
        Activity {
            born: Instant::now(),
            phase: AtomicU8::new(HEAD),
            since: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Bytes came in: the first bytes after an idle spell start a head.
    fn read(&self) {
        if self
            .phase
            .compare_exchange(IDLE, HEAD, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.since.store(self.now(), Ordering::Release);
            self.changed.notify_one();
        }
    }

    /// Bytes went out: an answer still being written keeps an idle connection alive.
    fn wrote(&self) {
        if self.phase.load(Ordering::Acquire) == IDLE {
            self.since.store(self.now(), Ordering::Release);
        }
    }

    /// Resolves when the connection has been idle, or on one head, for too long; never while
    /// a request is being served (the upstream timeout and the body timeout bound those).
    async fn expired(&self, timeouts: Timeouts) -> &'static str {
        loop {
            let since = Duration::from_millis(self.since.load(Ordering::Acquire));
            let (limit, why) = match self.phase.load(Ordering::Acquire) {
                IDLE => (timeouts.idle, "idle timeout"),
                HEAD => (timeouts.head, "header read timeout"),
                _ => {
                    // `notify_one` keeps a wake-up that comes before this wait.
                    self.changed.notified().await;
                    continue;
                }
            };
            let deadline = self.born + since + limit;
            if Instant::now() >= deadline {
                return why;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline.into()) => {}
                () = self.changed.notified() => {}
            }
        }
    }
}

/// Marks a connection busy while one request is served, idle again when it is done (or
/// cancelled).
struct Busy(Arc<Activity>);

impl Busy {
    fn start(activity: &Arc<Activity>) -> Busy {
        activity.phase.store(BUSY, Ordering::Release);
        Busy(Arc::clone(activity))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.since.store(self.0.now(), Ordering::Release);
        self.0.phase.store(IDLE, Ordering::Release);
        self.0.changed.notify_one();
    }
}

/// A TCP stream that reports its reads and writes to the connection's [`Activity`].
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.read();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        poll
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
