//! The connections to the upstream ERP, of [`crate::odoo`] (REST calls) and
//! [`crate::passthrough`] alike: HTTP/1.1 (plain or TLS) kept alive between requests in a
//! small LIFO pool, and driven by the task of the request that uses them. No connection has a
//! task of its own and no request crosses a channel to reach one: one task reads the client,
//! writes the ERP, reads the ERP and writes the client, as one nginx event loop does. It knows
//! nothing of headers; its callers decide what is sent, in origin form (`/path`) with a
//! `Host`.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tower_service::Service;

use crate::odoo::UpstreamError;
use crate::plumbing::{Body, BoxError};

/// How long an idle connection is kept for reuse.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
type Stream = hyper_rustls::MaybeHttpsStream<TokioIo<tokio::net::TcpStream>>;

/// One HTTP/1.1 connection to the upstream: the handle that sends and the state machine that
/// does the I/O. The latter only makes progress while someone polls it. About 1.7 KiB (the
/// TLS state is inline), so it lives in a `Box` and moves as a pointer.
struct Connection {
    sender: http1::SendRequest<Body>,
    io: http1::Connection<Stream, Body>,
}

impl Connection {
    /// Lets the connection catch up without waiting (reads an EOF, turns idle) and says
    /// whether it can carry another request.
    fn settle(&mut self) -> bool {
        let mut context = Context::from_waker(Waker::noop());
        match Pin::new(&mut self.io).poll(&mut context) {
            Poll::Ready(_) => false,
            Poll::Pending => self.sender.is_ready(),
        }
    }
}

struct Idle {
    connection: Box<Connection>,
    since: Instant,
}

/// Keep-alive connections to one upstream, for the runtime (thread) that uses them.
pub struct Pool {
    connector: Connector,
    /// Scheme and authority of the upstream, what the connector dials.
    target: Uri,
    /// Idle connections, oldest first; the newest is reused first.
    idle: Mutex<VecDeque<Idle>>,
    max_idle: usize,
}

impl Pool {
    /// Connections to the scheme and authority of `upstream` (http or https), each dial
    /// given `connect_timeout`; at most `max_idle` kept idle.
    pub fn new(upstream: &Uri, connect_timeout: Duration, max_idle: usize) -> Result<Pool, String> {
        let (Some(scheme), Some(authority)) = (upstream.scheme(), upstream.authority()) else {
            return Err("the upstream URL needs a scheme and a host".into());
        };
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let target = Uri::builder()
            .scheme(scheme.clone())
            .authority(authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| format!("invalid upstream URL: {e}"))?;
        Ok(Pool {
            connector,
            target,
            idle: Mutex::new(VecDeque::new()),
            max_idle,
        })
    }

    /// Sends `request` on an idle connection, or a new one, and drives the connection until
    /// the response head is in. A reused connection that turns out closed before the request
    /// went out is dropped and the request goes on a new one.
    pub async fn send(
        self: &Arc<Pool>,
        mut request: Request<Body>,
    ) -> Result<Response<Streamed>, UpstreamError> {
        loop {
            let (mut connection, reused) = match self.checkout() {
                Some(connection) => (connection, true),
                // Boxed: connecting is the rare case, and its future (about 2.4 KiB) would
                // otherwise be carried, and copied, by every call's future up to the server.
                None => (Box::pin(self.connect()).await?, false),
            };
            let sending = connection.sender.try_send_request(request);
            let (answer, open) = drive(&mut connection.io, sending).await;
            match answer {
                Ok(response) => {
                    let pool = Arc::clone(self);
                    return Ok(response.map(|body| Streamed {
                        body,
                        connection: open.then_some(connection),
                        pool,
                        ended: false,
                    }));
                }
                Err(mut error) => match error.take_message() {
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(broke_off(&error.into_error())),
                },
            }
        }
    }

    /// Sends an upgrade request (`Connection: upgrade`) on a connection of its own, driven by
    /// a task of its own until the switch, then handed to `hyper::upgrade::on(response)`.
    pub async fn send_upgrade(
        &self,
        request: Request<Body>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        // Boxed for the reason `send` boxes it: a pass-through's future stays small.
        let Connection { mut sender, io } = *Box::pin(self.connect()).await?;
        tokio::spawn(async move {
            if let Err(error) = io.with_upgrades().await {
                tracing::debug!(%error, "upstream upgrade connection ended with an error");
            }
        });
        sender
            .send_request(request)
            .await
            .map_err(|error| broke_off(&error))
    }

    async fn connect(&self) -> Result<Box<Connection>, UpstreamError> {
        let mut connector = self.connector.clone();
        let stream = async {
            poll_fn(|cx| connector.poll_ready(cx)).await?;
            connector.call(self.target.clone()).await
        }
        .await
        .map_err(|error| UpstreamError::Unreachable(innermost(&*error)))?;
        let (sender, io) = http1::handshake(stream)
            .await
            .map_err(|error| UpstreamError::Unreachable(innermost(&error)))?;
        Ok(Box::new(Connection { sender, io }))
    }

    /// The newest idle connection still usable; stale and closed ones are dropped on the way.
    fn checkout(&self) -> Option<Box<Connection>> {
        let mut dropped = Vec::new();
        let found = {
            let mut idle = self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.expire(&mut idle, &mut dropped);
            loop {
                let Some(mut entry) = idle.pop_back() else {
                    break None;
                };
                if entry.connection.settle() {
                    break Some(entry.connection);
                }
                dropped.push(entry);
            }
        };
        // Closing sockets happens outside the lock.
        drop(dropped);
        found
    }

    fn checkin(&self, connection: Box<Connection>) {
        if self.max_idle == 0 {
            return;
        }
        let mut dropped = Vec::new();
        {
            let mut idle = self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.expire(&mut idle, &mut dropped);
            if idle.len() >= self.max_idle {
                dropped.extend(idle.pop_front());
            }
            idle.push_back(Idle {
                connection,
                since: Instant::now(),
            });
        }
        drop(dropped);
    }

    fn expire(&self, idle: &mut VecDeque<Idle>, dropped: &mut Vec<Idle>) {
        while idle
            .front()
            .is_some_and(|entry| entry.since.elapsed() >= IDLE_TIMEOUT)
        {
            dropped.extend(idle.pop_front());
        }
    }
}

/// Polls the connection and the response future together until the response head is in;
/// also says whether the connection is still open.
async fn drive<F, T>(io: &mut http1::Connection<Stream, Body>, response: F) -> (T, bool)
where
    F: Future<Output = T>,
{
    let mut response = pin!(response);
    let mut open = true;
    poll_fn(|cx| {
        // The connection first: it writes the request and reads the answer.
        if open && Pin::new(&mut *io).poll(cx).is_ready() {
            open = false;
        }
        response.as_mut().poll(cx).map(|answer| (answer, open))
    })
    .await
}

/// A response body from the upstream that drives its connection while it is read, and puts
/// the connection back in the pool once the body is complete. Dropped early, it closes it.
pub struct Streamed {
    body: Incoming,
    /// The connection, while still open.
    connection: Option<Box<Connection>>,
    pool: Arc<Pool>,
    ended: bool,
}

impl Streamed {
    fn release(&mut self) {
        if let Some(mut connection) = self.connection.take() {
            if connection.settle() {
                self.pool.checkin(connection);
            }
        }
    }

    /// The body boxed as the server sends it.
    pub fn boxed(self) -> Body {
        BodyExt::map_err(self, |error| -> BoxError { Box::new(error) }).boxed()
    }
}

impl HttpBody for Streamed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        // The body first: reading it tells the connection that more is wanted. Then the
        // connection, which may fill the body at once; then the body again, so that a chunk
        // that just came in goes out in this same poll.
        let mut frame = Pin::new(&mut this.body).poll_frame(cx);
        if frame.is_pending() {
            let Some(connection) = &mut this.connection else {
                return Poll::Pending;
            };
            if Pin::new(&mut connection.io).poll(cx).is_ready() {
                this.connection = None;
            }
            frame = Pin::new(&mut this.body).poll_frame(cx);
        }
        let frame = std::task::ready!(frame);
        if frame.is_none() {
            this.ended = true;
            this.release();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        // A body the server never read because it was empty (HEAD, 204, 304, length 0)
        // leaves a reusable connection too.
        if self.is_end_stream() {
            self.release();
        }
    }
}

/// The innermost cause: "connection refused" rather than a chain of wrappers.
pub fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The connection failed after the request may have gone out: it may have run.
fn broke_off(error: &hyper::Error) -> UpstreamError {
    UpstreamError::ConnectionLost(format!("the ERP broke off: {}", innermost(error)))
}
