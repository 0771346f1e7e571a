//! The Redis token store: several proxy instances on one real `redis-server` (started here on a
//! free 127.0.0.1 port, killed at the end). These tests fail, not skip, when redis-server is
//! missing: tests/run installs it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use odoo_rest_proxy::config::Config;
use odoo_rest_proxy::demo::{self, DemoConfig, DemoErp};
use odoo_rest_proxy::tokens::{RedisConfig, SealKey, StoreConfig};
use reqwest::Method;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use crate::support::{self, Stack};

const PREFIX: &str = "orp-test:";

/// A `redis-server` of our own on 127.0.0.1, killed when dropped.
struct RedisServer {
    port: u16,
    child: Child,
    /// Where the append-only file lives, when the server persists.
    dir: Option<PathBuf>,
}

impl RedisServer {
    /// An in-memory server (no RDB, no AOF) on a free port.
    async fn start() -> RedisServer {
        let port = free_port().await;
        RedisServer::start_on(port, None).await
    }

    /// A server that writes every change to an append-only file (fsync always) in `dir`.
    async fn start_persistent() -> RedisServer {
        let port = free_port().await;
        let dir = std::env::temp_dir().join(format!("orp-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        RedisServer::start_on(port, Some(dir)).await
    }

    async fn start_on(port: u16, dir: Option<PathBuf>) -> RedisServer {
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--protected-mode", "no", "--loglevel", "notice"]);
        match &dir {
            Some(dir) => command
                .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
                .arg(dir),
            None => command.args(["--appendonly", "no"]),
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server runs (Debian's redis-server package; tests/run installs it)");
        // Ready once it says so on its log (stdout); the rest of the log is drained.
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Ready to accept connections") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "redis-server did not start on port {port}");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        RedisServer { port, child, dir }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    async fn kill(&mut self) {
        self.child.kill().await.expect("redis-server is killed");
    }

    /// The same server again once killed, on the same port and with the same files.
    async fn start_again(mut self) -> RedisServer {
        let dir = self.dir.take();
        RedisServer::start_on(self.port, dir).await
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("redis-server runs").to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("a Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("a connection to the test redis-server")
    }

    /// Every key with its whole value (strings, sorted sets, hashes), as bytes.
    async fn dump(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut connection = self.connection().await;
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut connection)
            .await
            .expect("KEYS");
        let mut dump = Vec::new();
        for key in keys {
            let kind: String = redis::cmd("TYPE")
                .arg(&key)
                .query_async(&mut connection)
                .await
                .expect("TYPE");
            let parts: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .expect("GET")],
                "zset" => redis::cmd("ZRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query_async(&mut connection)
                    .await
                    .expect("ZRANGE"),
                "hash" => redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .expect("HGETALL"),
                other => panic!("unexpected {other} key in Redis"),
            };
            dump.push((key, parts.concat()));
        }
        dump
    }

    async fn total_commands(&self) -> u64 {
        let mut connection = self.connection().await;
        let info: String = redis::cmd("INFO")
            .arg("stats")
            .query_async(&mut connection)
            .await
            .expect("INFO");
        info.lines()
            .find_map(|line| line.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("INFO stats has total_commands_processed")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    listener.local_addr().expect("an address").port()
}

fn key(byte: u8) -> SealKey {
    let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    SealKey::from_base64(&text).expect("32 bytes")
}

/// Generous timeout: a debug build on two busy cores may poll a call late.
fn redis_store(redis: &RedisServer, key: SealKey, previous_key: Option<SealKey>) -> StoreConfig {
    redis_store_timing_out(redis, key, previous_key, Duration::from_secs(3))
}

fn redis_store_timing_out(
    redis: &RedisServer,
    key: SealKey,
    previous_key: Option<SealKey>,
    timeout: Duration,
) -> StoreConfig {
    StoreConfig::Redis(RedisConfig {
        url: redis.url(),
        password: None,
        key_prefix: PREFIX.to_owned(),
        key,
        previous_key,
        timeout,
    })
}

async fn demo_erp() -> DemoErp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the demo ERP");
    demo::spawn(
        listener,
        DemoConfig {
            keep_alive: true,
            ..Default::default()
        },
    )
    .await
    .expect("the demo ERP starts")
}

/// A proxy in front of `erp` whose tokens live in `store`.
async fn instance(erp: &DemoErp, store: StoreConfig, adjust: impl FnOnce(&mut Config)) -> Stack {
    let mut config = Config::default();
    config.upstream.url = format!("http://{}", erp.addr());
    config.tokens.store = store;
    adjust(&mut config);
    support::start_proxy(erp.clone(), config).await
}

async fn status_of(stack: &Stack, token: &str) -> u16 {
    stack
        .send(stack.call(Method::GET, "/api/res.partner/1", token))
        .await
        .status
}

#[tokio::test]
async fn two_instances_share_tokens_revocations_and_restarts() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let a = instance(&erp, redis_store(&redis, key(1), None), |_| {}).await;
    let b = instance(&erp, redis_store(&redis, key(1), None), |_| {}).await;

    let first = a.token().await;
    assert_eq!(status_of(&b, &first).await, 200, "issued on A, works on B");
    let answer = b
        .send(b.call(Method::POST, "/api/auth/delete_tokens", &first))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.json);
    let refused = a
        .send(a.call(Method::GET, "/api/res.partner/1", &first))
        .await;
    assert_eq!(refused.status, 401, "revoked on B, refused on A at once");
    assert_eq!(refused.error().0, "invalid_token");
    let again = a
        .send(a.call(Method::POST, "/api/auth/delete_tokens", &first))
        .await;
    assert_eq!(again.status, 400, "{}", again.json);

    let second = a.token().await;
    drop(a);
    let restarted = instance(&erp, redis_store(&redis, key(1), None), |_| {}).await;
    assert_eq!(
        status_of(&restarted, &second).await,
        200,
        "A restarted keeps its tokens"
    );
    assert_eq!(status_of(&b, &second).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_user_cap_holds_when_two_instances_issue_at_once() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let adjust = |config: &mut Config| {
        config.tokens.max_per_user = 8;
        config.limits.login_attempts = 0;
    };
    let a = instance(&erp, redis_store(&redis, key(1), None), adjust).await;
    let b = instance(&erp, redis_store(&redis, key(1), None), adjust).await;

    let logins = (0..50).flat_map(|_| [&a, &b]).map(|stack| stack.token());
    let tokens = futures_util::future::join_all(logins).await;
    assert_eq!(tokens.len(), 100);
    let mut live = 0;
    for (index, token) in tokens.iter().enumerate() {
        let stack = if index % 2 == 0 { &b } else { &a };
        match status_of(stack, token).await {
            200 => live += 1,
            401 => {}
            other => panic!("status {other}"),
        }
    }
    assert_eq!(live, 8, "max_per_user = 8 holds across instances");
    let sessions = redis
        .dump()
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with(format!("{PREFIX}s:").as_bytes()))
        .count();
    assert_eq!(sessions, 8, "evicted sessions are deleted");
}

#[tokio::test]
async fn the_global_cap_holds_across_instances() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let adjust = |config: &mut Config| config.tokens.max_tokens = 3;
    let a = instance(&erp, redis_store(&redis, key(1), None), adjust).await;
    let b = instance(&erp, redis_store(&redis, key(1), None), adjust).await;
    a.token().await;
    b.token().await;
    a.token().await;
    let refused = b.login_as(demo::DEMO_LOGIN, demo::DEMO_PASSWORD).await;
    assert_eq!(refused.status, 503, "{}", refused.json);
    assert_eq!(refused.error().0, "token_store_full");
}

#[tokio::test]
async fn the_login_limiter_counts_failures_from_both_instances() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let adjust = |config: &mut Config| config.limits.login_attempts = 3;
    let a = instance(&erp, redis_store(&redis, key(1), None), adjust).await;
    let b = instance(&erp, redis_store(&redis, key(1), None), adjust).await;
    for stack in [&a, &b, &a] {
        let failed = stack.login_as(demo::DEMO_LOGIN, "wrong").await;
        assert_eq!(failed.status, 401, "{}", failed.json);
    }
    let limited = b.login_as(demo::DEMO_LOGIN, demo::DEMO_PASSWORD).await;
    assert_eq!(
        limited.status, 429,
        "three failures in all: {}",
        limited.json
    );
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    for stack in [&a, &b] {
        let other = stack
            .login_as(demo::DEMO_USER_LOGIN, demo::DEMO_USER_PASSWORD)
            .await;
        assert_eq!(other.status, 429, "the client address is limited on both");
    }
}

#[tokio::test]
async fn nothing_secret_is_stored_in_clear() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let a = instance(&erp, redis_store(&redis, key(1), None), |_| {}).await;
    let b = instance(&erp, redis_store(&redis, key(1), None), |_| {}).await;
    let mut tokens = vec![a.token().await, b.token().await];
    for (stack, login, password) in [
        (&a, demo::DEMO_LOGIN, demo::DEMO_ADMIN_API_KEY),
        (&b, demo::DEMO_USER_LOGIN, demo::DEMO_USER_PASSWORD),
    ] {
        let answer = stack.login_as(login, password).await;
        assert_eq!(answer.status, 200, "{}", answer.json);
        tokens.push(
            answer.json["access_token"]
                .as_str()
                .expect("a token")
                .into(),
        );
    }
    let failed = a.login_as(demo::DEMO_LOGIN, "a-wrong-password").await;
    assert_eq!(failed.status, 401);
    for token in &tokens {
        assert_eq!(status_of(&b, token).await, 200);
    }

    let dump = redis.dump().await;
    assert!(
        dump.len() >= 6,
        "sessions, user sets, the global set, counters"
    );
    let secrets = [
        demo::DEMO_PASSWORD,
        demo::DEMO_ADMIN_API_KEY,
        demo::DEMO_USER_PASSWORD,
        "a-wrong-password",
    ];
    for (key, value) in &dump {
        let shown = String::from_utf8_lossy(key);
        for secret in secrets
            .iter()
            .copied()
            .chain(tokens.iter().map(|t| t.as_str()))
            .chain(tokens.iter().map(|t| &t[..32]))
            .chain(tokens.iter().map(|t| &t[32..]))
        {
            for bytes in [key, value] {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{secret:?} in clear under {shown}"
                );
            }
        }
        // Nor the login or the database a session belongs to.
        if shown.starts_with(&format!("{PREFIX}s:")) {
            assert!(!value.windows(8).any(|w| w == b"demo_api"), "{shown}");
            assert!(!value.windows(10).any(|w| w == b"user_conte"), "{shown}");
        }
    }
}

#[tokio::test]
async fn sessions_that_do_not_open_are_invalid_tokens_and_keys_rotate() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let old = instance(&erp, redis_store(&redis, key(1), None), |_| {}).await;
    let rotated = instance(&erp, redis_store(&redis, key(2), Some(key(1))), |_| {}).await;
    let other = instance(&erp, redis_store(&redis, key(3), None), |_| {}).await;

    let before = old.token().await;
    assert_eq!(
        status_of(&rotated, &before).await,
        200,
        "the previous key opens it"
    );
    let after = rotated.token().await;
    assert_eq!(status_of(&rotated, &after).await, 200);
    assert_eq!(
        status_of(&old, &after).await,
        401,
        "sealed with the new key"
    );
    let refused = other
        .send(other.call(Method::GET, "/api/res.partner/1", &before))
        .await;
    assert_eq!(refused.status, 401, "another key: {}", refused.json);
    assert_eq!(refused.error().0, "invalid_token");

    // Altered values: one byte of the sealed part, or the user part, or a value moved under
    // another token's key.
    let mut connection = redis.connection().await;
    let session_key = |token: &str| {
        use sha2::Digest;
        let hash = sha2::Sha256::digest(token.as_bytes());
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        format!("{PREFIX}s:{hex}")
    };
    let value: Vec<u8> = redis::cmd("GET")
        .arg(session_key(&after))
        .query_async(&mut connection)
        .await
        .expect("GET");
    let third = rotated.token().await;
    for at in [1, 70, value.len() - 1] {
        let mut altered = value.clone();
        altered[at] ^= 0x01;
        let _: () = redis::cmd("SET")
            .arg(session_key(&after))
            .arg(altered)
            .query_async(&mut connection)
            .await
            .expect("SET");
        assert_eq!(status_of(&rotated, &after).await, 401, "byte {at} altered");
    }
    let _: () = redis::cmd("SET")
        .arg(session_key(&third))
        .arg(&value)
        .query_async(&mut connection)
        .await
        .expect("SET");
    assert_eq!(
        status_of(&rotated, &third).await,
        401,
        "a session moved under another token's key"
    );
}

#[tokio::test]
async fn a_lookup_is_one_redis_round_trip() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let a = instance(&erp, redis_store(&redis, key(1), None), |_| {}).await;
    let token = a.token().await;
    assert_eq!(status_of(&a, &token).await, 200);
    let before = redis.total_commands().await;
    for _ in 0..20 {
        assert_eq!(status_of(&a, &token).await, 200);
    }
    let after = redis.total_commands().await;
    // The INFO of `before` is counted in `after`.
    assert_eq!(after - before, 20 + 1, "one command per REST call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_is_503_then_recovers_without_losing_tokens() {
    let redis = RedisServer::start_persistent().await;
    let erp = demo_erp().await;
    let store = redis_store_timing_out(&redis, key(1), None, Duration::from_millis(1500));
    let a = instance(&erp, store.clone(), |_| {}).await;
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(a.token().await);
    }
    let probe = odoo_rest_proxy::tokens::TokenStore::new(
        odoo_rest_proxy::tokens::TokenLimits {
            ttl: Duration::from_secs(600),
            max_tokens: 10,
            max_per_user: 10,
        },
        &store,
    )
    .expect("a store");
    assert!(probe.is_reachable().await);

    // Load: 8 clients, each with its own token, until told to stop.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut clients = Vec::new();
    for token in tokens[..8].iter() {
        let token = token.clone();
        let url = a.url("/api/res.partner/1");
        let http = a.http.clone();
        let mut stopped = stopped.clone();
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..100_000 {
                if *stopped.borrow_and_update() {
                    break;
                }
                let started = Instant::now();
                let response = http
                    .get(&url)
                    .header("access_token", &token)
                    .send()
                    .await
                    .expect("an answer, never a dropped connection");
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body = response.text().await.expect("a body");
                seen.push((status, started.elapsed(), retry_after, body));
            }
            seen
        }));
    }
    let warm = a.http.get(a.url("/web/login")).send().await.expect("up");
    assert_eq!(warm.status(), 200);

    let mut redis = redis;
    redis.kill().await;
    let down_since = Instant::now();
    // While it is down: 503 token_store_unavailable, fast, and pass-through still works.
    for _ in 0..5 {
        let answer = a
            .send(a.call(Method::GET, "/api/res.partner/1", &tokens[9]))
            .await;
        assert_eq!(answer.status, 503, "{}", answer.json);
        assert_eq!(answer.error().0, "token_store_unavailable");
        assert_eq!(answer.headers["retry-after"], "1");
        let login = a.login_as(demo::DEMO_LOGIN, demo::DEMO_PASSWORD).await;
        assert_eq!(login.status, 503, "{}", login.json);
    }
    let page = a.http.get(a.url("/web/login")).send().await.expect("up");
    assert_eq!(page.status(), 200, "pass-through does not need Redis");
    assert!(
        !probe.is_reachable().await,
        "the readiness probe says not ready"
    );
    let down_for = down_since.elapsed();

    let redis = redis.start_again().await;
    let back_at = Instant::now();
    // Bounded in time: each try is a real request, answered 503 until the proxy reconnects.
    while status_of(&a, &tokens[9]).await != 200 {
        assert!(
            back_at.elapsed() < Duration::from_secs(5),
            "serves again within 5 s of Redis being back"
        );
    }
    stop.send_replace(true);

    let mut statuses = std::collections::BTreeMap::new();
    for client in clients {
        for (status, elapsed, retry_after, body) in client.await.expect("a client") {
            *statuses.entry(status).or_insert(0) += 1;
            assert!(
                elapsed < Duration::from_millis(3500),
                "an answer took {elapsed:?} (down for {down_for:?})"
            );
            match status {
                200 => {}
                503 => {
                    assert!(retry_after, "503 with Retry-After");
                    assert!(body.contains("token_store_unavailable"), "{body}");
                }
                other => panic!("status {other}: {body}"),
            }
        }
    }
    assert!(
        statuses.contains_key(&503),
        "the load saw the outage: {statuses:?}"
    );
    assert!(probe.is_reachable().await);
    for token in &tokens {
        assert_eq!(status_of(&a, token).await, 200, "no live token lost");
    }
    drop(redis);
}

#[tokio::test]
async fn a_redis_slower_than_the_timeout_is_503_within_it() {
    let redis = RedisServer::start().await;
    let erp = demo_erp().await;
    let store = redis_store_timing_out(&redis, key(1), None, Duration::from_millis(1000));
    let a = instance(&erp, store, |_| {}).await;
    let token = a.token().await;
    redis.signal("-STOP");
    let started = Instant::now();
    let answer = a
        .send(a.call(Method::GET, "/api/res.partner/1", &token))
        .await;
    let took = started.elapsed();
    redis.signal("-CONT");
    assert_eq!(answer.status, 503, "{}", answer.json);
    assert_eq!(answer.error().0, "token_store_unavailable");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(
        took < Duration::from_secs(3),
        "within redis_timeout_ms: {took:?}"
    );
    let resumed = Instant::now();
    while status_of(&a, &token).await != 200 {
        assert!(
            resumed.elapsed() < Duration::from_secs(5),
            "serves again once Redis answers"
        );
    }
}

/// `CLIENT ID` of the connection that `store` uses on the current runtime.
async fn client_id(store: &odoo_rest_proxy::tokens::TokenStore) -> i64 {
    store
        .redis_link()
        .expect("a Redis store")
        .query(redis::cmd("CLIENT").arg("ID"))
        .await
        .expect("CLIENT ID")
}

/// Each server thread has its own connection, opened on its own runtime on first use: the
/// store is built with no runtime at all, another thread's link has another connection, and
/// that thread's runtime going away leaves the first thread's connection working.
#[test]
fn each_thread_has_its_own_connection_on_its_own_runtime() {
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    let main = runtime();
    let redis = main.block_on(RedisServer::start());
    let limits = odoo_rest_proxy::tokens::TokenLimits {
        ttl: Duration::from_secs(600),
        max_tokens: 10,
        max_per_user: 10,
    };
    let first =
        odoo_rest_proxy::tokens::TokenStore::new(limits, &redis_store(&redis, key(1), None))
            .expect("a store without a runtime");
    let second = first.for_another_thread();
    let id = main.block_on(client_id(&first));
    assert_eq!(
        main.block_on(client_id(&first)),
        id,
        "one connection per thread"
    );
    let other = std::thread::spawn(move || {
        let other = runtime();
        let id = other.block_on(client_id(&second));
        drop(other);
        id
    })
    .join()
    .expect("the other thread");
    assert_ne!(other, id, "the other thread has a connection of its own");
    main.block_on(async {
        assert_eq!(client_id(&first).await, id);
        assert!(first.is_reachable().await);
        drop(redis);
    });
}
