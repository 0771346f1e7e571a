//! `OdooClient` against scripted upstreams that replay the recorded Odoo 18 answers byte for
//! byte (tests/fixtures/odoo18), and against upstreams that fail in each way it must tell apart.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use odoo_rest_proxy::odoo::{OdooClient, OdooFault, Overload, UpstreamConfig, UpstreamError};
use odoo_rest_proxy::secret::Secret;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn fixture(name: &str) -> Vec<u8> {
    fixture_in("odoo18", name)
}

fn fixture_in(version: &str, name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/{version}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What a scripted upstream answers to every request.
#[derive(Clone)]
struct Script {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    /// Close after each answer, as Odoo does (`Connection: close`).
    close: bool,
}

impl Script {
    /// A recorded Odoo 18 answer, with the headers Odoo sent.
    fn odoo(name: &str) -> Script {
        Script::odoo_in("odoo18", name)
    }

    /// A recorded answer of Odoo `version` (`odoo18`, `odoo17`): the same headers on both.
    fn odoo_in(version: &str, name: &str) -> Script {
        Script {
            status: "200 OK",
            content_type: "text/xml; charset=utf-8",
            body: fixture_in(version, name),
            close: true,
        }
    }
}

/// Serves `script` on 127.0.0.1:0; counts the connections it accepted.
async fn upstream(script: Script) -> (String, Arc<AtomicUsize>) {
    upstream_in_turn(vec![script]).await
}

/// Serves the nth connection with `scripts[n]` (the last one from then on); counts them.
async fn upstream_in_turn(scripts: Vec<Script>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let script = scripts[n.min(scripts.len() - 1)].clone();
            tokio::spawn(answer(stream, script));
        }
    });
    (url, accepted)
}

async fn answer(mut stream: TcpStream, script: Script) {
    let mut buffer = Vec::new();
    loop {
        // Read one request: the head, then Content-Length bytes.
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..head_end + length);
        let connection = if script.close { "close" } else { "keep-alive" };
        let response = format!(
            "HTTP/1.1 {}\r\nServer: Werkzeug/2.2.2 Python/3.11.7\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
            script.status,
            script.content_type,
            script.body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.write_all(&script.body).await;
        if script.close {
            return;
        }
    }
}

fn client(url: &str) -> OdooClient {
    OdooClient::new(&UpstreamConfig {
        url: url.to_owned(),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_millis(500),
        max_concurrency: 4,
        max_response_bytes: 1 << 20,
        ..odoo_rest_proxy::config::Config::default().upstream
    })
    .expect("a valid client")
}

async fn execute(url: &str) -> Result<serde_json::Value, UpstreamError> {
    let password = Secret::new("admin");
    client(url)
        .execute_kw(
            "rest",
            2,
            &password,
            "res.partner",
            "search_read",
            json!([[]]),
            None,
        )
        .await
}

#[tokio::test]
async fn connection_close_on_every_answer_is_not_an_error() {
    let (url, accepted) = upstream(Script::odoo("01-common-version.response.xml")).await;
    let odoo = client(&url);
    for _ in 0..5 {
        let version = odoo.version().await.expect("a version");
        assert_eq!(version["server_version"], "18.0");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        5,
        "one connection per call, as Odoo closes each"
    );
}

#[tokio::test]
async fn connections_are_reused_where_the_upstream_keeps_alive() {
    let script = Script {
        close: false,
        ..Script::odoo("01-common-version.response.xml")
    };
    let (url, accepted) = upstream(script).await;
    let odoo = client(&url);
    for _ in 0..5 {
        odoo.version().await.expect("a version");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn authenticate_answers_a_uid_or_none() {
    let password = Secret::new("admin");
    let (ok, _) = upstream(Script::odoo("02-common-authenticate-ok.response.xml")).await;
    assert_eq!(
        client(&ok)
            .authenticate("rest", "admin", &password)
            .await
            .unwrap(),
        Some(2)
    );
    let (bad, _) = upstream(Script::odoo(
        "03-common-authenticate-bad-password.response.xml",
    ))
    .await;
    assert_eq!(
        client(&bad)
            .authenticate("rest", "admin", &password)
            .await
            .unwrap(),
        None
    );
    let (no_db, _) = upstream(Script::odoo(
        "04-common-authenticate-unknown-db.response.xml",
    ))
    .await;
    let error = client(&no_db)
        .authenticate("no_such_db", "admin", &password)
        .await
        .unwrap_err();
    assert!(
        matches!(error, UpstreamError::Fault(OdooFault::UnknownDatabase(db)) if db == "no_such_db")
    );
}

#[tokio::test]
async fn recorded_faults_are_classified() {
    type Check = fn(&OdooFault) -> bool;
    let cases: [(&str, Check); 7] = [
        ("27-wrong-password.response.xml", |f| {
            *f == OdooFault::AccessDenied
        }),
        (
            "31-access-error-create-partner.response.xml",
            |f| matches!(f, OdooFault::AccessError(m) if m.starts_with("You are not allowed to create 'Contact'")),
        ),
        ("21-write-missing-id.response.xml", |f| {
            matches!(f, OdooFault::MissingRecord(_))
        }),
        ("26-unknown-model.response.xml", |f| {
            *f == OdooFault::UnknownModel("x.no.such.model".into())
        }),
        ("33-validation-cyclic-parent.response.xml", |f| {
            *f == OdooFault::UserError("You cannot create recursive Partner hierarchies.".into())
        }),
        (
            "25-create-unknown-field.response.xml",
            |f| matches!(f, OdooFault::ServerError { class, message, .. } if class == "ValueError" && message == "Invalid field 'no_such_field' on model 'res.partner'"),
        ),
        ("53-legacy-endpoint-access-denied.response.xml", |f| {
            *f == OdooFault::AccessDenied
        }),
    ];
    // Odoo 17 sends the same faults (codes and texts) as 18.
    for version in ["odoo18", "odoo17"] {
        for (name, check) in cases {
            let (url, _) = upstream(Script::odoo_in(version, name)).await;
            match execute(&url).await {
                Err(UpstreamError::Fault(fault)) => {
                    assert!(check(&fault), "{version} {name}: {fault:?}");
                    assert!(
                        !fault.to_string().contains("Traceback"),
                        "{version} {name}: {fault}"
                    );
                }
                other => panic!("{version} {name}: {other:?}"),
            }
        }
    }
}

/// Where 17 and 18 differ in a fault: `check_access` is new in 18 (17 has no such method),
/// and 17's unknown database fault has one more frame but the same last line.
#[tokio::test]
async fn the_faults_that_differ_in_odoo17_are_classified_as_what_they_are() {
    type Check = fn(&UpstreamError) -> bool;
    let expectations: [(&str, &str, Check); 4] = [
        ("odoo18", "45-method-returns-none.response.xml", |e| {
            matches!(e, UpstreamError::Fault(OdooFault::ReturnedNone))
        }),
        ("odoo17", "45-method-returns-none.response.xml", |e| {
            matches!(e, UpstreamError::Fault(OdooFault::ServerError { class, message, .. })
                if class == "AttributeError" && message.contains("'check_access' does not exist"))
        }),
        (
            "odoo18",
            "04-common-authenticate-unknown-db.response.xml",
            |e| matches!(e, UpstreamError::Fault(OdooFault::UnknownDatabase(db)) if db == "no_such_db"),
        ),
        (
            "odoo17",
            "04-common-authenticate-unknown-db.response.xml",
            |e| matches!(e, UpstreamError::Fault(OdooFault::UnknownDatabase(db)) if db == "no_such_db"),
        ),
    ];
    for (version, name, check) in expectations {
        let (url, _) = upstream(Script::odoo_in(version, name)).await;
        let error = execute(&url).await.expect_err("a fault");
        assert!(check(&error), "{version} {name}: {error:?}");
    }
}

#[tokio::test]
async fn each_way_of_failing_is_its_own_error_kind() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert!(matches!(
        execute(&format!("http://127.0.0.1:{port}")).await,
        Err(UpstreamError::Unreachable(_))
    ));

    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    assert!(matches!(
        execute(&silent_url).await,
        Err(UpstreamError::Timeout)
    ));
    held.abort();

    let html = Script {
        status: "405 METHOD NOT ALLOWED",
        content_type: "text/html; charset=utf-8",
        body: fixture("40-http-get-object.response.xml"),
        close: true,
    };
    let (url, _) = upstream(html).await;
    assert!(matches!(
        execute(&url).await,
        Err(UpstreamError::HttpError { status: 405, .. })
    ));

    let garbage = Script {
        body: b"<?xml version=\"1.0\"?>\n<methodResponse><params><param><value><int>1".to_vec(),
        ..Script::odoo("01-common-version.response.xml")
    };
    let (url, _) = upstream(garbage).await;
    assert!(matches!(
        execute(&url).await,
        Err(UpstreamError::Unreadable(_))
    ));
}

/// Flectra 1.4 answers a body it cannot parse with Werkzeug's HTML 500
/// (tests/fixtures/flectra14/41): the call provably did not run.
#[tokio::test]
async fn flectra_html_500_is_an_http_error_that_did_not_run() {
    let body = std::fs::read(format!(
        "{}/tests/fixtures/flectra14/41-malformed-xml.response.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("the Flectra fixture");
    let (url, _) = upstream(Script {
        status: "500 INTERNAL SERVER ERROR",
        content_type: "text/html",
        body,
        close: true,
    })
    .await;
    let error = execute(&url)
        .await
        .expect_err("an HTML page is not an answer");
    assert!(
        matches!(error, UpstreamError::Overloaded(Overload::SetupFailed)),
        "{error:?}"
    );
    assert!(error.did_not_run(), "{error:?}");
}

/// A code-1 fault as Odoo sends it, the traceback ending with `exception`.
fn code_1_fault(exception: &str) -> Script {
    let mut body = Vec::new();
    let traceback = format!(
        "Traceback (most recent call last):\n  File \"/opt/odoo/odoo/sql_db.py\", line 667, in borrow\n{exception}\n"
    );
    odoo_rest_proxy::xmlrpc::encode_fault(&mut body, 1, &traceback);
    Script {
        body,
        ..Script::odoo("01-common-version.response.xml")
    }
}

const POOL_FULL: &str = "psycopg2.pool.PoolError: The Connection Pool Is Full";
const TOO_MANY_CLIENTS: &str = "psycopg2.OperationalError: connection to server at \"10.9.8.7\", port 6543 failed: FATAL:  sorry, too many clients already";

fn html_500() -> Script {
    Script {
        status: "500 INTERNAL SERVER ERROR",
        content_type: "text/html; charset=utf-8",
        body: b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
            .to_vec(),
        close: true,
    }
}

#[tokio::test]
async fn a_call_that_did_not_run_is_sent_again_until_it_is_answered() {
    let (url, accepted) = upstream_in_turn(vec![
        code_1_fault(POOL_FULL),
        html_500(),
        code_1_fault(TOO_MANY_CLIENTS),
        Script::odoo("01-common-version.response.xml"),
    ])
    .await;
    let version = client(&url)
        .version()
        .await
        .expect("answered on the 4th try");
    assert_eq!(version["server_version"], "18.0");
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_call_that_never_gets_a_cursor_is_an_overload_after_a_few_tries() {
    for (script, expected) in [
        (code_1_fault(POOL_FULL), Overload::PoolFull),
        (code_1_fault(TOO_MANY_CLIENTS), Overload::TooManyClients),
        (html_500(), Overload::SetupFailed),
    ] {
        let (url, accepted) = upstream(script).await;
        match execute(&url).await {
            Err(UpstreamError::Overloaded(overload)) => assert_eq!(overload, expected),
            other => panic!("{expected:?}: {other:?}"),
        }
        let tries = accepted.load(Ordering::SeqCst);
        assert!((2..=10).contains(&tries), "{expected:?}: {tries} tries");
    }
}

#[tokio::test]
async fn a_call_that_may_have_run_is_never_sent_again() {
    let serialization = code_1_fault(
        "psycopg2.errors.SerializationFailure: could not serialize access due to concurrent update",
    );
    let unavailable = Script {
        status: "503 SERVICE UNAVAILABLE",
        content_type: "text/html",
        body: b"busy".to_vec(),
        close: true,
    };
    let gateway = Script {
        status: "502 BAD GATEWAY",
        content_type: "text/html",
        body: b"bad gateway".to_vec(),
        close: true,
    };
    for (name, script) in [
        ("a code-1 fault", serialization),
        ("HTTP 503", unavailable),
        ("HTTP 502", gateway),
    ] {
        let (url, accepted) = upstream(script).await;
        let result = execute(&url).await;
        assert!(result.is_err(), "{name}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "{name}: {result:?}");
    }
    // The connection drops once the request is read: it may have run.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut chunk = [0u8; 8192];
            let _ = stream.read(&mut chunk).await;
        }
    });
    let result = execute(&url).await;
    assert!(
        matches!(result, Err(UpstreamError::ConnectionLost(_))),
        "{result:?}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// `auto` asks `GET /web/version` once: an ERP that answers without a version (Flectra 1.x,
/// whose Werkzeug answers 404) is kept as "before 19", not asked again at every login.
#[tokio::test]
async fn an_erp_without_web_version_is_asked_once() {
    let (url, accepted) = upstream(Script {
        status: "404 NOT FOUND",
        content_type: "text/html",
        body: b"<title>404 Not Found</title>".to_vec(),
        close: true,
    })
    .await;
    let odoo = client(&url);
    assert!(!odoo.offers_json2().await);
    assert!(!odoo.offers_json2().await);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}
