//! The HTTP side of the demo ERP: an accept loop serving hyper http1 connections, routing
//! `POST /xmlrpc/2/<service>` (and, as Flectra 1.4, unknown `/xmlrpc/<service>`) to `dispatch`, with Odoo's (Werkzeug's) status lines, headers
//! and HTML error pages. Data is read under a short lock inside `dispatch`; the answer is
//! encoded after the lock is released.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::ext::ReasonPhrase;
use hyper::header::{HeaderValue, ALLOW, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use super::dispatch::Erp;
use super::faults::Fault;
use super::overload::{CursorPool, Refusal};
use super::OdooVersion;
use crate::xmlrpc;

/// Request bodies larger than this are refused (413) instead of buffered.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

const NOT_FOUND_PAGE: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n\
<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL \
manually please check your spelling and try again.</p>\n";

const METHOD_NOT_ALLOWED_PAGE: &str = "<!doctype html>\n<html lang=en>\n\
<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n\
<p>The method is not allowed for the requested URL.</p>\n";

/// Werkzeug 0.11's pages, as Flectra 1.4 sends them (tests/fixtures/flectra14/40 and 41).
const FLECTRA_NOT_FOUND_PAGE: &str = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n\
<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the \
server.  If you entered the URL manually please check your spelling and try again.</p>\n";

const FLECTRA_SERVER_ERROR_PAGE: &str =
    "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n\
<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server \
encountered an internal error and was unable to complete your request.  Either the server is \
overloaded or there is an error in the application.</p>\n";

const INTERNAL_ERROR_PAGE: &str = "<!doctype html>\n<html lang=en>\n\
<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n\
<p>The server encountered an internal error and was unable to complete your request. Either the \
server is overloaded or there is an error in the application.</p>\n";

/// How the demo ERP serves HTTP.
pub(crate) struct Options {
    pub(crate) keep_alive: bool,
    /// Overload mode's cursor pool.
    pub(crate) cursors: Option<Arc<CursorPool>>,
}

const TOO_LARGE_PAGE: &str = "<!doctype html>\n<html lang=en>\n\
<title>413 Request Entity Too Large</title>\n<h1>Request Entity Too Large</h1>\n\
<p>The data value transmitted exceeds the capacity limit.</p>\n";

/// Accepts connections until `stop` turns true; then asks open connections to finish.
pub(crate) async fn serve(
    listener: TcpListener,
    erp: Arc<Erp>,
    options: Options,
    mut stop: watch::Receiver<bool>,
) {
    let keep_alive = options.keep_alive;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped(&mut stop) => break,
        };
        let Ok((stream, _)) = accepted else {
            // A failed accept (e.g. out of file descriptors) concerns that one connection.
            continue;
        };
        let _ = stream.set_nodelay(true);
        let erp = Arc::clone(&erp);
        let cursors = options.cursors.clone();
        let mut stop = stop.clone();
        // Flectra 1.4 closes after every answer without saying so (no `Connection: close`):
        // hyper keeps the connection alive (so it adds no header) until the answer's body has
        // been sent, then the connection is shut down.
        let close_after_answer = erp.version() == OdooVersion::Flectra14;
        let answered = Arc::new(Notify::new());
        tokio::spawn(async move {
            let sent = Arc::clone(&answered);
            let service = service_fn(move |request| {
                let erp = Arc::clone(&erp);
                let sent = Arc::clone(&sent);
                let cursors = cursors.clone();
                async move {
                    let response = super::web::serve_or(request, keep_alive, move |request| {
                        handle(erp, cursors, keep_alive, request)
                    })
                    .await?;
                    Ok::<_, Infallible>(response.map(|body| NotifyOnDrop { body, sent }.boxed()))
                }
            });
            let mut builder = http1::Builder::new();
            builder
                .keep_alive(keep_alive || close_after_answer)
                .title_case_headers(true);
            let connection = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = answered.notified(), if close_after_answer => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
                _ = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
}

/// A response body that tells when hyper is done with it (sent, or the connection gone).
struct NotifyOnDrop {
    body: crate::plumbing::Body,
    sent: Arc<Notify>,
}

impl Drop for NotifyOnDrop {
    fn drop(&mut self) {
        self.sent.notify_one();
    }
}

impl hyper::body::Body for NotifyOnDrop {
    type Data = Bytes;
    type Error = crate::plumbing::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Resolves once the stop flag is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn handle(
    erp: Arc<Erp>,
    cursors: Option<Arc<CursorPool>>,
    keep_alive: bool,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if erp.version == super::OdooVersion::Odoo19
        && super::json2::is_json2_route(request.uri().path())
    {
        return Ok(super::json2::serve(erp, request, keep_alive).await);
    }
    if erp.version() == OdooVersion::Flectra14 {
        return Ok(flectra(handle_odoo(Arc::clone(&erp), cursors, false, request).await?).await);
    }
    handle_odoo(erp, cursors, keep_alive, request).await
}

/// An answer as Werkzeug 0.11 under Flectra 1.4 sends it: `HTTP/1.0`, no `Connection`
/// header (the connection is closed all the same), no `nosniff`, plain CPython's
/// `<?xml version='1.0'?>` without the blank line before `</methodResponse>`, Werkzeug
/// 0.11's pages: a 404 for anything but a POST, a 500 for a body that is not XML-RPC.
async fn flectra(response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let page = match response.status() {
        StatusCode::OK => None,
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND => Some((
            StatusCode::NOT_FOUND,
            &b"NOT FOUND"[..],
            FLECTRA_NOT_FOUND_PAGE,
        )),
        _ => Some((
            StatusCode::INTERNAL_SERVER_ERROR,
            &b"INTERNAL SERVER ERROR"[..],
            FLECTRA_SERVER_ERROR_PAGE,
        )),
    };
    let mut response = match page {
        Some((status, reason, page)) => {
            let mut response = respond(
                status,
                reason,
                "text/html",
                Bytes::from_static(page.as_bytes()),
                false,
            );
            response.headers_mut().remove(ALLOW);
            response
        }
        None => {
            let (parts, body) = response.into_parts();
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let text = String::from_utf8_lossy(&bytes)
                .replacen("<?xml version=\"1.0\"?>", "<?xml version='1.0'?>", 1)
                .replace("\n\n</methodResponse>", "\n</methodResponse>");
            let length = text.len();
            let mut response = Response::from_parts(parts, Full::new(Bytes::from(text)));
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(length));
            response
        }
    };
    *response.version_mut() = Version::HTTP_10;
    let headers = response.headers_mut();
    headers.remove(CONNECTION);
    headers.remove("x-content-type-options");
    response
}

async fn handle_odoo(
    erp: Arc<Erp>,
    cursors: Option<Arc<CursorPool>>,
    keep_alive: bool,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    let (service, legacy) = match path.strip_prefix("/xmlrpc/2/") {
        Some(service) if !service.is_empty() && !service.contains('/') => {
            (service.to_string(), false)
        }
        // Flectra 1.4 takes any other `/xmlrpc/<service>` for a legacy endpoint, whose faults
        // have a string code (fixture flectra14/50); the demo serves no legacy service there.
        _ => match path.strip_prefix("/xmlrpc/") {
            Some(service)
                if erp.version() == OdooVersion::Flectra14
                    && !service.is_empty()
                    && !matches!(service, "common" | "db" | "object") =>
            {
                (service.to_string(), true)
            }
            _ => {
                return Ok(html(
                    StatusCode::NOT_FOUND,
                    b"NOT FOUND",
                    NOT_FOUND_PAGE,
                    keep_alive,
                ))
            }
        },
    };
    if request.method() == Method::OPTIONS {
        let mut response = html(StatusCode::OK, b"OK", "", keep_alive);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, OPTIONS"));
        return Ok(response);
    }
    if request.method() != Method::POST {
        let mut response = html(
            StatusCode::METHOD_NOT_ALLOWED,
            b"METHOD NOT ALLOWED",
            METHOD_NOT_ALLOWED_PAGE,
            keep_alive,
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, OPTIONS"));
        return Ok(response);
    }
    let body = match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(html(
                StatusCode::PAYLOAD_TOO_LARGE,
                b"REQUEST ENTITY TOO LARGE",
                TOO_LARGE_PAGE,
                keep_alive,
            ));
        }
    };
    // Overload mode: no free cursor, no method run.
    let cursor = match cursors.as_deref().map(CursorPool::borrow) {
        Some(Err(Refusal::SetupError)) => {
            return Ok(html(
                StatusCode::INTERNAL_SERVER_ERROR,
                b"INTERNAL SERVER ERROR",
                INTERNAL_ERROR_PAGE,
                keep_alive,
            ))
        }
        Some(Err(Refusal::Fault(fault))) => {
            let mut out = Vec::with_capacity(2048);
            xmlrpc::encode_fault(&mut out, fault.code, &fault.string);
            return Ok(respond(
                StatusCode::OK,
                b"OK",
                "text/xml; charset=utf-8",
                out.into(),
                keep_alive,
            ));
        }
        Some(Ok(cursor)) => Some(cursor),
        None => None,
    };
    if let Some(pool) = cursors.as_deref().filter(|_| cursor.is_some()) {
        // The time the call's queries take, holding the cursor.
        tokio::time::sleep(pool.hold()).await;
    }
    let answer = match xmlrpc::decode_call(&body) {
        Ok((method, params)) => erp.dispatch(&service, &method, &params),
        // Flectra 1.4: the ExpatError escapes the XML-RPC handler (fixtures 41, 42).
        Err(_) if erp.version() == OdooVersion::Flectra14 => {
            return Ok(html(
                StatusCode::INTERNAL_SERVER_ERROR,
                b"INTERNAL SERVER ERROR",
                "",
                false,
            ));
        }
        Err(error) => Err(malformed(&body, error.offset)),
    };
    let mut out = Vec::with_capacity(4096);
    match answer {
        Ok(value) => xmlrpc::encode_response(&mut out, &value),
        Err(fault) if legacy => {
            let code = xmlrpc::FaultCode::Text(super::flectra::legacy_fault_code(&fault));
            xmlrpc::encode_fault_code(&mut out, &code, &fault.string);
        }
        Err(fault) => xmlrpc::encode_fault(&mut out, fault.code, &fault.string),
    }
    drop(cursor);
    Ok(respond(
        StatusCode::OK,
        b"OK",
        "text/xml; charset=utf-8",
        out.into(),
        keep_alive,
    ))
}

/// The fault Python's expat parser reports for a body that is not a complete XML document:
/// "no element found" when the input ends early, "syntax error" where it is not XML.
fn malformed(body: &[u8], offset: usize) -> Fault {
    let at_end = offset >= body.len() || body[offset..].iter().all(u8::is_ascii_whitespace);
    let position = if at_end { body.len() } else { offset };
    let before = &body[..position.min(body.len())];
    let line = 1 + before.iter().filter(|byte| **byte == b'\n').count();
    let column = before
        .iter()
        .rev()
        .take_while(|byte| **byte != b'\n')
        .count();
    let message = if at_end {
        "no element found"
    } else {
        "syntax error"
    };
    Fault::malformed(message, line, column)
}

fn html(
    status: StatusCode,
    reason: &'static [u8],
    page: &'static str,
    keep_alive: bool,
) -> Response<Full<Bytes>> {
    respond(
        status,
        reason,
        "text/html; charset=utf-8",
        Bytes::from_static(page.as_bytes()),
        keep_alive,
    )
}

/// A response as the demo's Werkzeug sends it: the reason phrase, `Content-Type`,
/// `Content-Length`, `nosniff` on XML, and `Connection: close` unless kept alive.
pub(super) fn respond(
    status: StatusCode,
    reason: &'static [u8],
    content_type: &'static str,
    body: Bytes,
    keep_alive: bool,
) -> Response<Full<Bytes>> {
    let length = body.len();
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .extensions_mut()
        .insert(ReasonPhrase::from_static(reason));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
    if content_type.starts_with("text/xml") {
        headers.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
    }
    if !keep_alive {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_bodies_are_located_like_expat() {
        let truncated = b"<?xml version='1.0'?>\n<methodCall><methodName>execute_kw</methodName>\n";
        let fault = malformed(truncated, truncated.len());
        assert!(fault
            .string
            .ends_with("\nxml.parsers.expat.ExpatError: no element found: line 3, column 0\n"));
        let fault = malformed(b"hello", 0);
        assert!(fault
            .string
            .ends_with("\nxml.parsers.expat.ExpatError: syntax error: line 1, column 0\n"));
        let fault = malformed(b"<a>\n  <b", 6);
        assert!(fault.string.ends_with("syntax error: line 2, column 2\n"));
    }
}
