//! The proxy's Prometheus metrics: the one place where metric names, help texts and labels are
//! defined (as `error.rs` is for status codes); everything else calls the functions here. Label
//! values are closed enums (never a model name, an id or a login), so a series set is bounded
//! and recording allocates nothing once a series exists. Written by `prometheus-client` in the
//! OpenMetrics text format, which Prometheus scrapes natively; no I/O except `/proc` reads at
//! scrape time.

use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// Defines a closed set of label values: an enum, its text, and its Prometheus encoding.
macro_rules! label_values {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

label_values! {
    /// Which part of the proxy served a request.
    Route {
        Login => "login",
        Logout => "logout",
        Records => "records",
        Openapi => "openapi",
        Passthrough => "passthrough",
        Other => "other",
    }
}

label_values! {
    /// The HTTP method of a request; anything unusual is `OTHER`.
    HttpMethod {
        Get => "GET",
        Post => "POST",
        Put => "PUT",
        Delete => "DELETE",
        Patch => "PATCH",
        Head => "HEAD",
        Options => "OPTIONS",
        Other => "OTHER",
    }
}

label_values! {
    /// The ERP method an upstream call ran (the `method` of `execute_kw`, or the `common`
    /// service's own); a method the proxy does not call by name is `other`.
    UpstreamMethod {
        Version => "version",
        Authenticate => "authenticate",
        SearchRead => "search_read",
        Read => "read",
        Search => "search",
        SearchCount => "search_count",
        Create => "create",
        Write => "write",
        Unlink => "unlink",
        FieldsGet => "fields_get",
        ContextGet => "context_get",
        DbList => "list",
        Other => "other",
    }
}

label_values! {
    /// How an upstream call ended.
    Outcome {
        Ok => "ok",
        AccessDenied => "access_denied",
        AccessError => "access_error",
        Missing => "missing",
        UserError => "user_error",
        ServerError => "server_error",
        Overloaded => "overloaded",
        Unreachable => "unreachable",
        Timeout => "timeout",
        BadResponse => "bad_response",
    }
}

label_values! {
    /// How a `get_tokens` call ended.
    LoginOutcome {
        Ok => "ok",
        Denied => "denied",
        RateLimited => "rate_limited",
        Error => "error",
    }
}

label_values! {
    /// The proxy's caches.
    Cache {
        Gate => "gate",
        Fields => "fields",
    }
}

label_values! {
    /// Whether a cache had the entry.
    CacheResult {
        Hit => "hit",
        Miss => "miss",
    }
}

label_values! {
    /// Which way pass-through bytes went.
    Direction {
        ToUpstream => "to_upstream",
        ToClient => "to_client",
    }
}

impl UpstreamMethod {
    /// The label for an ERP method name.
    pub fn of(method: &str) -> UpstreamMethod {
        UpstreamMethod::ALL
            .iter()
            .copied()
            .find(|m| m.as_str() == method)
            .unwrap_or(UpstreamMethod::Other)
    }
}

impl HttpMethod {
    pub fn of(method: &http::Method) -> HttpMethod {
        match *method {
            http::Method::GET => HttpMethod::Get,
            http::Method::POST => HttpMethod::Post,
            http::Method::PUT => HttpMethod::Put,
            http::Method::DELETE => HttpMethod::Delete,
            http::Method::PATCH => HttpMethod::Patch,
            http::Method::HEAD => HttpMethod::Head,
            http::Method::OPTIONS => HttpMethod::Options,
            _ => HttpMethod::Other,
        }
    }
}

impl Route {
    /// The route label of a request path.
    pub fn of(path: &str) -> Route {
        match path {
            "/api/auth/get_tokens" => Route::Login,
            "/api/auth/delete_tokens" => Route::Logout,
            _ if path.starts_with("/api/docs") || path.starts_with("/api/openapi") => {
                Route::Openapi
            }
            _ if path.starts_with("/api/") && path.len() > "/api/".len() => Route::Records,
            _ => Route::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    route: Route,
    method: HttpMethod,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabel {
    route: Route,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct UpstreamLabels {
    method: UpstreamMethod,
    outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct MethodLabel {
    method: UpstreamMethod,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LoginLabel {
    outcome: LoginOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CacheLabels {
    cache: Cache,
    result: CacheResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct DirectionLabel {
    direction: Direction,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn request_histogram() -> Histogram {
    // 1 ms .. ~33 s
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn upstream_histogram() -> Histogram {
    // 1 ms .. ~65 s (the default upstream timeout is 60 s)
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Every series the proxy exports, shared by all server threads.
pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: HistogramFamily<RouteLabel>,
    upstream_calls: Family<UpstreamLabels, Counter>,
    upstream_duration: HistogramFamily<MethodLabel>,
    upstream_in_flight: Gauge,
    upstream_queued: Gauge,
    upstream_concurrency_limit: Gauge,
    tokens_live: Gauge,
    logins: Family<LoginLabel, Counter>,
    cache_lookups: Family<CacheLabels, Counter>,
    connections_open: Gauge,
    passthrough_bytes: Family<DirectionLabel, Counter>,
    websockets_open: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

const PREFIX: &str = "odoo_rest_proxy";

impl Metrics {
    pub fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(request_histogram),
            upstream_calls: Family::default(),
            upstream_duration: Family::new_with_constructor(upstream_histogram),
            upstream_in_flight: Gauge::default(),
            upstream_queued: Gauge::default(),
            upstream_concurrency_limit: Gauge::default(),
            tokens_live: Gauge::default(),
            logins: Family::default(),
            cache_lookups: Family::default(),
            connections_open: Gauge::default(),
            passthrough_bytes: Family::default(),
            websockets_open: Gauge::default(),
        };
        let registry = &mut metrics.registry;
        let sub = registry.sub_registry_with_prefix(PREFIX);
        sub.register(
            "http_requests",
            "Requests answered, by route, method and status",
            metrics.http_requests.clone(),
        );
        sub.register(
            "http_request_duration_seconds",
            "Time from the request head to the response head, by route",
            metrics.http_duration.clone(),
        );
        sub.register(
            "upstream_calls",
            "Calls to the ERP, by ERP method and outcome",
            metrics.upstream_calls.clone(),
        );
        sub.register(
            "upstream_call_duration_seconds",
            "Duration of calls to the ERP (waiting for a slot included), by ERP method",
            metrics.upstream_duration.clone(),
        );
        sub.register(
            "upstream_in_flight",
            "Calls to the ERP being sent or waiting for an answer",
            metrics.upstream_in_flight.clone(),
        );
        sub.register(
            "upstream_queued",
            "Calls to the ERP waiting for a concurrency slot",
            metrics.upstream_queued.clone(),
        );
        sub.register(
            "upstream_concurrency_limit",
            "The current cap on calls to the ERP in flight",
            metrics.upstream_concurrency_limit.clone(),
        );
        sub.register(
            "tokens_live",
            "Access tokens issued and not yet expired or revoked",
            metrics.tokens_live.clone(),
        );
        sub.register(
            "logins",
            "get_tokens calls, by outcome",
            metrics.logins.clone(),
        );
        sub.register(
            "cache_lookups",
            "Lookups in the gate and fields caches, by cache and result",
            metrics.cache_lookups.clone(),
        );
        sub.register(
            "connections_open",
            "Client connections open on the main listener",
            metrics.connections_open.clone(),
        );
        sub.register(
            "passthrough_bytes",
            "Body bytes streamed by pass-through, by direction",
            metrics.passthrough_bytes.clone(),
        );
        sub.register(
            "websockets_open",
            "Upgraded (WebSocket) pass-through connections open",
            metrics.websockets_open.clone(),
        );
        sub.register(
            "build",
            "The proxy's version",
            Info::new(VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        registry.register_collector(Box::new(ProcessCollector));
        metrics
    }

    /// One request answered: its route, method, status, and time to the response head.
    pub fn http_request(&self, route: Route, method: HttpMethod, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route,
                method,
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }

    /// One upstream call ended.
    pub fn upstream_call(&self, method: UpstreamMethod, outcome: Outcome, elapsed: Duration) {
        self.upstream_calls
            .get_or_create(&UpstreamLabels { method, outcome })
            .inc();
        self.upstream_duration
            .get_or_create(&MethodLabel { method })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one upstream call in flight until the guard is dropped.
    pub fn upstream_in_flight(&self) -> GaugeGuard<'_> {
        GaugeGuard::new(&self.upstream_in_flight)
    }

    /// Counts one upstream call waiting for a slot until the guard is dropped.
    pub fn upstream_queued(&self) -> GaugeGuard<'_> {
        GaugeGuard::new(&self.upstream_queued)
    }

    pub fn set_upstream_concurrency_limit(&self, limit: usize) {
        self.upstream_concurrency_limit.set(as_i64(limit));
    }

    pub fn set_tokens_live(&self, tokens: usize) {
        self.tokens_live.set(as_i64(tokens));
    }

    pub fn login(&self, outcome: LoginOutcome) {
        self.logins.get_or_create(&LoginLabel { outcome }).inc();
    }

    pub fn cache_lookup(&self, cache: Cache, hit: bool) {
        let result = if hit {
            CacheResult::Hit
        } else {
            CacheResult::Miss
        };
        self.cache_lookups
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }

    /// Counts one open client connection until the guard is dropped.
    pub fn connection_open(&self) -> OwnedGaugeGuard {
        OwnedGaugeGuard::new(self.connections_open.clone())
    }

    /// Counts one open WebSocket until the guard is dropped.
    pub fn websocket_open(&self) -> OwnedGaugeGuard {
        OwnedGaugeGuard::new(self.websockets_open.clone())
    }

    /// The counter of pass-through bytes in one direction, to add to as they stream.
    pub fn passthrough_bytes(&self, direction: Direction) -> Counter {
        self.passthrough_bytes
            .get_or_create_owned(&DirectionLabel { direction })
    }

    /// Every series in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity(16 << 10);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Adds one to a gauge for as long as it lives.
pub struct GaugeGuard<'a>(&'a Gauge);

impl<'a> GaugeGuard<'a> {
    fn new(gauge: &'a Gauge) -> GaugeGuard<'a> {
        gauge.inc();
        GaugeGuard(gauge)
    }
}

impl Drop for GaugeGuard<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// [`GaugeGuard`] that owns its gauge handle, for tasks that outlive a borrow.
pub struct OwnedGaugeGuard(Gauge);

impl OwnedGaugeGuard {
    fn new(gauge: Gauge) -> OwnedGaugeGuard {
        gauge.inc();
        OwnedGaugeGuard(gauge)
    }
}

impl Drop for OwnedGaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The standard `process_*` series, read from `/proc/self` at scrape time (absent elsewhere).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(process) = ProcessStats::read() else {
            return Ok(());
        };
        let counter = ConstCounter::new(process.cpu_seconds);
        counter.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            counter.metric_type(),
        )?)?;
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                process.resident_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                process.open_fds,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                process.start_time_seconds,
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// What `/proc` says of this process.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ProcessStats {
    cpu_seconds: f64,
    resident_bytes: f64,
    open_fds: f64,
    start_time_seconds: f64,
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`): 100 on every Linux that Rust targets.
const CLOCK_TICKS: f64 = 100.0;
/// Page size for `statm`: 4 KiB on x86-64 and most aarch64 kernels.
const PAGE_SIZE: f64 = 4096.0;

impl ProcessStats {
    fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
        let boot_time = boot_time()?;
        ProcessStats::parse(&stat, &statm, open_fds, boot_time)
    }

    /// `stat` and `statm` as the kernel writes them; `open_fds` counts the read_dir of
    /// `/proc/self/fd`, which itself holds one descriptor while it is read.
    fn parse(stat: &str, statm: &str, open_fds: usize, boot_time: i64) -> Option<ProcessStats> {
        // The command name is in parentheses and may hold spaces: fields start after ')'.
        let fields: Vec<&str> = stat
            .get(stat.rfind(')')? + 1..)?
            .split_whitespace()
            .collect();
        // After the name: state is field 3 (index 0), utime 14, stime 15, starttime 22.
        let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
        let resident_pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        Some(ProcessStats {
            cpu_seconds: (field(14)? + field(15)?) / CLOCK_TICKS,
            resident_bytes: resident_pages * PAGE_SIZE,
            open_fds: open_fds.saturating_sub(1) as f64,
            start_time_seconds: boot_time as f64 + field(22)? / CLOCK_TICKS,
        })
    }
}

/// The `btime` line of `/proc/stat`: when the machine booted, in seconds since the epoch.
fn boot_time() -> Option<i64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_closed_set() {
        assert_eq!(Route::of("/api/auth/get_tokens"), Route::Login);
        assert_eq!(Route::of("/api/auth/delete_tokens"), Route::Logout);
        assert_eq!(Route::of("/api/res.partner/7"), Route::Records);
        assert_eq!(Route::of("/api/docs"), Route::Openapi);
        assert_eq!(Route::of("/api/"), Route::Other);
        assert_eq!(Route::of("/web/login"), Route::Other);
        assert_eq!(
            UpstreamMethod::of("search_read"),
            UpstreamMethod::SearchRead
        );
        assert_eq!(UpstreamMethod::of("x_secret_method"), UpstreamMethod::Other);
    }

    #[test]
    fn reads_proc_stat_with_spaces_in_the_name() {
        let stat = "4242 (odoo rest) proxy) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 3 0 12345 1000 2000";
        let stats = ProcessStats::parse(stat, "5000 300 100 1 0 200 0", 8, 1_700_000_000)
            .expect("a valid stat line");
        assert_eq!(stats.cpu_seconds, 3.0);
        assert_eq!(stats.resident_bytes, 300.0 * 4096.0);
        assert_eq!(stats.open_fds, 7.0);
        assert_eq!(stats.start_time_seconds, 1_700_000_000.0 + 123.45);
        assert_eq!(ProcessStats::parse("garbage", "", 0, 0), None);
    }

    #[test]
    fn encodes_every_series_with_its_labels() {
        let metrics = Metrics::new();
        metrics.http_request(
            Route::Records,
            HttpMethod::Get,
            200,
            Duration::from_millis(3),
        );
        metrics.upstream_call(
            UpstreamMethod::SearchRead,
            Outcome::Ok,
            Duration::from_millis(2),
        );
        metrics.login(LoginOutcome::Denied);
        metrics.cache_lookup(Cache::Gate, true);
        let text = metrics.encode();
        for line in [
            "odoo_rest_proxy_http_requests_total{route=\"records\",method=\"GET\",status=\"200\"} 1",
            "odoo_rest_proxy_upstream_calls_total{method=\"search_read\",outcome=\"ok\"} 1",
            "odoo_rest_proxy_logins_total{outcome=\"denied\"} 1",
            "odoo_rest_proxy_cache_lookups_total{cache=\"gate\",result=\"hit\"} 1",
            "odoo_rest_proxy_build_info{version=\"",
            "odoo_rest_proxy_upstream_concurrency_limit 0",
            "process_cpu_seconds_total ",
            "process_open_fds ",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
