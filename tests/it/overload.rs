//! The proxy in front of a demo ERP in overload mode (a cursor pool of 8, like a threaded Odoo
//! with a small `db_maxconn`): bursts far above the pool are all served, a short queue timeout
//! turns the excess into 503 + Retry-After and nothing else, a create is never made twice, and
//! no error body quotes the upstream's host, port or a path.

use std::sync::Arc;
use std::time::Duration;

use odoo_rest_proxy::config::Config;
use odoo_rest_proxy::demo::{self, DemoConfig, OverloadMode};
use odoo_rest_proxy::odoo::OdooClient;
use odoo_rest_proxy::secret::Secret;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::support::{self, Answer, Stack};

const POOL: usize = 8;

/// A demo ERP with a cursor pool of [`POOL`], each call holding its cursor for `hold`, and a
/// proxy in front of it.
async fn overloaded_stack(hold: Duration, adjust: impl FnOnce(&mut Config)) -> Stack {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the demo ERP");
    let erp = demo::spawn(
        listener,
        DemoConfig {
            keep_alive: false,
            overload: Some(OverloadMode {
                cursors: POOL,
                hold,
            }),
            ..Default::default()
        },
    )
    .await
    .expect("the demo ERP starts");
    let mut config = Config::default();
    config.upstream.url = erp.url();
    adjust(&mut config);
    support::start_proxy(erp, config).await
}

/// `count` copies of one request, `concurrency` at a time; the answers in order.
async fn burst(
    stack: &Arc<Stack>,
    count: usize,
    concurrency: usize,
    request: impl Fn(&Stack, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> Vec<Answer> {
    let request = Arc::new(request);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (stack, request, next) = (Arc::clone(stack), Arc::clone(&request), Arc::clone(&next));
        workers.spawn(async move {
            let mut answers = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    return answers;
                }
                answers.push((i, stack.send(request(&stack, i)).await));
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(answers) = workers.join_next().await {
        all.extend(answers.expect("a worker finishes"));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, answer)| answer).collect()
}

/// No error body names the ERP's address, its port, PostgreSQL's port or a file path.
fn assert_nothing_internal(stack: &Stack, answers: &[Answer]) {
    let erp = stack.erp.addr();
    for answer in answers.iter().filter(|a| a.status != 200) {
        let body = answer.json.to_string();
        for internal in [
            erp.to_string(),
            format!(":{}", erp.port()),
            "5432".to_owned(),
            "/opt/odoo".to_owned(),
            "sql_db.py".to_owned(),
            "Traceback".to_owned(),
        ] {
            assert!(!body.contains(&internal), "{internal:?} in {body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_256_reads_at_c256_against_a_pool_of_8_is_all_served() {
    let stack = Arc::new(overloaded_stack(Duration::from_millis(2), |_| {}).await);
    read_burst_is_all_served(&stack, 256).await;
}

/// Even from a limit that starts above the pool: the ERP refuses, the proxy retries what did
/// not run and cuts its limit, and every client is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_that_starts_above_the_pool_comes_down_and_every_read_is_served() {
    let stack = Arc::new(
        overloaded_stack(Duration::from_millis(2), |config| {
            config.upstream.min_concurrency = 2 * POOL;
        })
        .await,
    );
    read_burst_is_all_served(&stack, 128).await;
    assert!(stack.erp.overload_refusals() > 0, "the pool ran dry");
}

/// `count` reads at c=`count`: every one answers 200 with its rows.
async fn read_burst_is_all_served(stack: &Arc<Stack>, count: usize) {
    let token = stack.token().await;
    let answers = burst(stack, count, count, move |stack, _| {
        stack
            .call(Method::GET, "/api/res.partner", &token)
            .query(&[("field", "['name']"), ("limit", "3")])
    })
    .await;
    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.json);
        assert_eq!(answer.json["count"], 3);
    }
    assert_nothing_internal(stack, &answers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_a_short_queue_timeout_the_excess_gets_503_with_retry_after_and_nothing_else() {
    let stack = Arc::new(
        overloaded_stack(Duration::from_millis(20), |config| {
            config.upstream.max_concurrency = POOL;
            config.upstream.queue_timeout = Duration::from_millis(100);
        })
        .await,
    );
    let token = stack.token().await;
    let answers = burst(&stack, 256, 256, move |stack, _| {
        stack
            .call(Method::GET, "/api/res.partner", &token)
            .query(&[("field", "['name']"), ("limit", "1")])
    })
    .await;
    let (mut served, mut refused) = (0, 0);
    for answer in &answers {
        match answer.status {
            200 => served += 1,
            503 => {
                refused += 1;
                assert_eq!(answer.error().0, "erp_overloaded", "{}", answer.json);
                assert!(answer.error().1.contains("overloaded"), "{}", answer.json);
                assert_eq!(
                    answer
                        .headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()),
                    Some("1"),
                    "{}",
                    answer.json
                );
            }
            other => panic!("{other}: {}", answer.json),
        }
    }
    // 256 calls of 20 ms on at most 8 cursors take 640 ms: a 100 ms queue cannot hold them all.
    assert!(
        served > 0 && refused > 0,
        "{served} served, {refused} refused"
    );
    assert_nothing_internal(&stack, &answers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_256_creates_at_c128_makes_exactly_one_record_each() {
    // The limit starts above the pool, so that creates meet a full pool and are retried.
    let stack = Arc::new(
        overloaded_stack(Duration::from_millis(2), |config| {
            config.upstream.min_concurrency = 2 * POOL;
        })
        .await,
    );
    let token = stack.token().await;
    let answers = burst(&stack, 256, 128, move |stack, i| {
        stack
            .call(Method::POST, "/api/res.partner", &token)
            .form(&[("name", format!("overload burst {i:03}"))])
    })
    .await;
    // A create the proxy could not get run within its deadline (every retry met a full pool)
    // is a 503 that made nothing; every other answer is a 200 for exactly one record.
    let mut ids = Vec::new();
    let mut created = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        match answer.status {
            200 => {
                ids.push(answer.json["id"].as_i64().expect("an id"));
                created.push(format!("overload burst {i:03}"));
            }
            503 => assert_eq!(answer.error().0, "erp_overloaded", "{}", answer.json),
            _ => panic!("{}: {}", answer.status, answer.json),
        }
    }
    assert!(
        ids.len() >= 256 * 9 / 10,
        "most creates got through the retries: {} of 256",
        ids.len()
    );
    // Counted on the ERP itself, not through the proxy.
    let erp = OdooClient::new(&odoo_rest_proxy::odoo::UpstreamConfig {
        url: stack.erp.url(),
        ..Config::default().upstream
    })
    .expect("a client for the ERP");
    let rows: Value = erp
        .execute_kw(
            demo::DEMO_DB,
            demo::DEMO_ADMIN_UID,
            &Secret::new(demo::DEMO_PASSWORD),
            "res.partner",
            "search_read",
            json!([[["name", "ilike", "overload burst "]]]),
            Some(json!({"fields": ["name"], "order": "id"})),
        )
        .await
        .expect("the ERP answers");
    let rows = rows.as_array().expect("rows");
    assert_eq!(
        rows.len(),
        ids.len(),
        "one record per answered create, no more"
    );
    let mut names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names, created,
        "every answered name exactly once, no refused one"
    );
    let mut found: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
    ids.sort_unstable();
    found.sort_unstable();
    assert_eq!(ids, found, "the ids the clients got are the records made");
    assert!(stack.erp.overload_refusals() > 0, "the pool ran dry");
}
