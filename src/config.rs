//! Configuration: the command line (clap) and `proxy.toml` (serde) merged into one validated
//! [`Config`]. All defaults live here. Secrets come from environment variables only.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Deserialize;

use crate::odoo::UpstreamConfig;
use crate::secret::Secret;
use crate::tokens::{RedisConfig, SealKey, StoreConfig};

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "odoo-rest-proxy",
    version,
    about = "Flectra's REST API in front of any Odoo or Flectra, over XML-RPC"
)]
pub struct Cli {
    /// The config file (default: ./proxy.toml when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (overrides [server] listen).
    #[arg(long, global = true)]
    pub listen: Option<SocketAddr>,
    /// The ERP's base URL, e.g. http://127.0.0.1:8069 (overrides [upstream] url).
    #[arg(long)]
    pub upstream: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve in front of the embedded demo ERP (no Odoo needed).
    Demo {
        /// The ERP the demo imitates on the wire: 18, 17, flectra-1.4, or 19 (also JSON-2).
        #[arg(long, value_enum, default_value = "18")]
        odoo_version: crate::demo::OdooVersion,
        #[command(flatten)]
        overload: DemoOverloadArgs,
    },
    /// Serve only the embedded demo ERP's XML-RPC endpoint (for load tests and nginx).
    DemoErp {
        /// Keep connections alive instead of closing after each answer as Odoo does.
        #[arg(long)]
        keep_alive: bool,
        /// The ERP the demo imitates on the wire: 18, 17, flectra-1.4, or 19 (also JSON-2).
        #[arg(long, value_enum, default_value = "18")]
        odoo_version: crate::demo::OdooVersion,
        #[command(flatten)]
        overload: DemoOverloadArgs,
    },
    /// Check whether this config can work (upstream, database, gate), one line per item;
    /// exits 0 when everything works, 1 otherwise.
    Check {
        /// The database to check (default: the only one `db.list` answers, if it is allowed).
        #[arg(long)]
        db: Option<String>,
    },
}

/// The demo ERP's overload mode, on the command line.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DemoOverloadArgs {
    /// Overload mode: a cursor pool of this many (like Odoo's db_maxconn); a call that finds
    /// them all in use fails as a threaded Odoo does (PoolError, HTML 500, too many clients).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub cursor_pool: Option<u64>,
    /// In overload mode, how long each call holds its cursor (milliseconds).
    #[arg(long, default_value_t = 0, requires = "cursor_pool")]
    pub cursor_hold_ms: u64,
}

impl DemoOverloadArgs {
    /// The demo ERP's overload mode, when `--cursor-pool` is given.
    pub fn mode(&self) -> Option<crate::demo::OverloadMode> {
        self.cursor_pool.map(|cursors| crate::demo::OverloadMode {
            cursors: usize::try_from(cursors).unwrap_or(usize::MAX),
            hold: Duration::from_millis(self.cursor_hold_ms),
        })
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Server threads, each with its own runtime and listener; 0: one per core.
    pub threads: usize,
    pub upstream: UpstreamConfig,
    pub tokens: TokensConfig,
    pub gate: GateConfig,
    pub limits: Limits,
    pub passthrough: PassthroughConfig,
    pub openapi: OpenApiConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
    pub cors: CorsConfig,
}

/// The admin listener: `/healthz`, `/readyz`, `/metrics`.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// `None`: no admin listener.
    pub listen: Option<SocketAddr>,
    /// How often the readiness probe calls the upstream's `version`.
    pub probe_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// One access-log line per request, at INFO on the `access` target.
    pub access: bool,
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `odoo_rest_proxy=debug`; `RUST_LOG` wins.
    pub level: String,
}

#[derive(Debug, Clone)]
pub struct CorsConfig {
    /// Origins allowed to call `/api` from a browser (`"*"`: any); empty: CORS off.
    pub allow_origins: Vec<String>,
    pub allow_headers: Vec<String>,
    pub max_age: Duration,
}

#[derive(Debug, Clone)]
pub struct TokensConfig {
    pub ttl: Duration,
    pub max_tokens: usize,
    pub max_per_user: usize,
    /// Where tokens live: this process's memory, or a Redis shared by every instance.
    pub store: StoreConfig,
}

/// Which `ir.model` field says that a model is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagField {
    /// `rest_api` where ir.model has it, else `x_rest_api`, else only `allow`.
    Auto,
    /// This boolean field of ir.model.
    Field(String),
    /// No flag: only the models in `allow`.
    None,
}

#[derive(Debug, Clone)]
pub struct GateConfig {
    pub flag_field: FlagField,
    pub cache_ttl: Duration,
    /// Entries kept per cache (gate decisions, `fields_get`); the coldest go past it.
    pub cache_max_entries: usize,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// A service account that reads ir.model (ordinary users cannot).
    pub service: Option<ServiceAccount>,
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub login: String,
    pub password: Secret,
}

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_url_bytes: usize,
    pub max_filter_bytes: usize,
    pub max_filter_depth: usize,
    /// When set, a larger (or absent) `limit` on a list is lowered to this.
    pub max_limit: Option<u64>,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// Failed logins allowed per client address, and per login, in `login_window`.
    pub login_attempts: u32,
    pub login_window: Duration,
    pub shutdown_grace: Duration,
    /// Whether `get_tokens` may take the password from the query string (it then lands in the
    /// access log of every proxy on the way); off: a 400 that says to send it in the body.
    pub allow_query_credentials: bool,
}

#[derive(Debug, Clone)]
pub struct PassthroughConfig {
    pub enabled: bool,
    /// Addresses whose own `X-Forwarded-*` headers are trusted and extended.
    pub trusted_proxies: Vec<IpAddr>,
    /// Send this `Host` upstream instead of the client's.
    pub host: Option<String>,
    /// A request body larger than this is refused (413), with or without a Content-Length.
    pub max_body_bytes: usize,
}

/// `GET /api/openapi.json` and the `GET /api/docs` page.
#[derive(Debug, Clone)]
pub struct OpenApiConfig {
    pub enabled: bool,
    /// Where the docs page loads Swagger UI from (`swagger-ui.css`, `swagger-ui-bundle.js`):
    /// a CDN by default, or a local copy of the `swagger-ui-dist` package for offline sites.
    pub ui_assets_url: String,
}

/// The default of `[openapi] ui_assets_url`.
pub const SWAGGER_UI_CDN: &str = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5";

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            threads: 0,
            upstream: UpstreamConfig {
                url: "http://127.0.0.1:8069".into(),
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(60),
                max_concurrency: 64,
                min_concurrency: 4,
                max_queue: 1024,
                queue_timeout: Duration::from_secs(10),
                max_response_bytes: 256 << 20,
                protocol: Default::default(),
            },
            tokens: TokensConfig {
                ttl: Duration::from_secs(600),
                max_tokens: 100_000,
                max_per_user: 32,
                store: StoreConfig::Memory,
            },
            gate: GateConfig {
                flag_field: FlagField::Auto,
                cache_ttl: Duration::from_secs(60),
                cache_max_entries: 10_000,
                allow: Vec::new(),
                deny: Vec::new(),
                service: None,
            },
            limits: Limits {
                max_body_bytes: 16 << 20,
                max_header_bytes: 64 << 10,
                max_headers: 100,
                max_url_bytes: 8 << 10,
                max_filter_bytes: 64 << 10,
                max_filter_depth: 32,
                max_limit: None,
                header_read_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                max_connections: 10_000,
                login_attempts: 10,
                login_window: Duration::from_secs(60),
                shutdown_grace: Duration::from_secs(30),
                allow_query_credentials: false,
            },
            passthrough: PassthroughConfig {
                enabled: true,
                trusted_proxies: Vec::new(),
                host: None,
                // Odoo's own default (`DEFAULT_MAX_CONTENT_LENGTH` in odoo/http.py, and the web
                // client's upload limit): an attachment upload it accepts passes.
                max_body_bytes: 128 << 20,
            },
            openapi: OpenApiConfig {
                enabled: true,
                ui_assets_url: SWAGGER_UI_CDN.into(),
            },
            admin: AdminConfig {
                listen: Some(SocketAddr::from(([127, 0, 0, 1], 9180))),
                probe_interval: Duration::from_secs(5),
            },
            log: LogConfig {
                access: true,
                format: LogFormat::Text,
                level: "info".into(),
            },
            cors: CorsConfig {
                allow_origins: Vec::new(),
                allow_headers: [
                    "access_token",
                    "Access-Token",
                    "Authorization",
                    "Content-Type",
                ]
                .map(String::from)
                .to_vec(),
                max_age: Duration::from_secs(600),
            },
        }
    }
}

/// `proxy.toml` as written: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    upstream: UpstreamSection,
    #[serde(default)]
    tokens: TokensSection,
    #[serde(default)]
    gate: GateSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    passthrough: PassthroughSection,
    #[serde(default)]
    openapi: OpenApiSection,
    #[serde(default)]
    admin: AdminSection,
    #[serde(default)]
    log: LogSection,
    #[serde(default)]
    cors: CorsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminSection {
    listen: Option<String>,
    probe_interval_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    access: Option<bool>,
    format: Option<String>,
    level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorsSection {
    allow_origins: Option<Vec<String>>,
    allow_headers: Option<Vec<String>>,
    max_age_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<SocketAddr>,
    threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamSection {
    url: Option<String>,
    timeout_secs: Option<f64>,
    connect_timeout_secs: Option<f64>,
    max_concurrency: Option<usize>,
    min_concurrency: Option<usize>,
    max_queue: Option<usize>,
    queue_timeout_secs: Option<f64>,
    max_response_bytes: Option<usize>,
    protocol: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensSection {
    ttl_secs: Option<u64>,
    max_tokens: Option<usize>,
    max_per_user: Option<usize>,
    store: Option<String>,
    redis_url: Option<String>,
    redis_password_env: Option<String>,
    key_prefix: Option<String>,
    encryption_key_env: Option<String>,
    previous_encryption_key_env: Option<String>,
    redis_timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateSection {
    flag_field: Option<String>,
    cache_ttl_secs: Option<u64>,
    cache_max_entries: Option<usize>,
    allow: Option<Vec<String>>,
    deny: Option<Vec<String>>,
    service_login: Option<String>,
    service_password_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    max_body_bytes: Option<usize>,
    max_header_bytes: Option<usize>,
    max_headers: Option<usize>,
    max_url_bytes: Option<usize>,
    max_filter_bytes: Option<usize>,
    max_filter_depth: Option<usize>,
    max_limit: Option<u64>,
    header_read_timeout_secs: Option<f64>,
    idle_timeout_secs: Option<f64>,
    max_connections: Option<usize>,
    login_attempts: Option<u32>,
    login_window_secs: Option<u64>,
    shutdown_grace_secs: Option<f64>,
    allow_query_credentials: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PassthroughSection {
    enabled: Option<bool>,
    trusted_proxies: Option<Vec<IpAddr>>,
    host: Option<String>,
    max_body_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenApiSection {
    enabled: Option<bool>,
    ui_assets_url: Option<String>,
}

/// A configuration problem, as one line that names the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// How many server threads to run: `threads`, or one per core when it is 0.
    pub fn server_threads(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Reads the file named on the command line (or `./proxy.toml` when it exists), then
    /// applies the command-line overrides.
    pub fn load(cli: &Cli) -> Result<Config, ConfigError> {
        let path = match &cli.config {
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from("proxy.toml")).filter(|p| p.exists()),
        };
        let mut config = match &path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
                Config::from_toml(&text, path, |name| std::env::var(name).ok())?
            }
            None => Config::default(),
        };
        if let Some(listen) = cli.listen {
            config.listen = listen;
        }
        if let Some(url) = &cli.upstream {
            config.upstream.url = url.clone();
            check_url(url).map_err(|e| ConfigError(format!("--upstream: {e}")))?;
        }
        Ok(config)
    }

    /// Parses and validates a `proxy.toml` text; `env` reads secrets by variable name.
    pub fn from_toml(
        text: &str,
        path: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        let bad = |key: &str, why: &str| ConfigError(format!("{}: {key}: {why}", path.display()));
        let mut config = Config::default();

        if let Some(listen) = file.server.listen {
            config.listen = listen;
        }
        if let Some(threads) = file.server.threads {
            config.threads = threads;
        }

        let up = file.upstream;
        if let Some(url) = up.url {
            check_url(&url).map_err(|e| bad("[upstream] url", &e))?;
            config.upstream.url = url;
        }
        if let Some(secs) = up.timeout_secs {
            config.upstream.timeout = seconds(secs).ok_or_else(|| {
                bad(
                    "[upstream] timeout_secs",
                    "must be a positive number of seconds",
                )
            })?;
        }
        if let Some(secs) = up.connect_timeout_secs {
            config.upstream.connect_timeout = seconds(secs).ok_or_else(|| {
                bad(
                    "[upstream] connect_timeout_secs",
                    "must be a positive number of seconds",
                )
            })?;
        }
        set_positive(
            &mut config.upstream.max_concurrency,
            up.max_concurrency,
            || bad("[upstream] max_concurrency", "must be at least 1"),
        )?;
        set_positive(
            &mut config.upstream.min_concurrency,
            up.min_concurrency,
            || bad("[upstream] min_concurrency", "must be at least 1"),
        )?;
        if up.max_concurrency.is_some() && up.min_concurrency.is_none() {
            // A ceiling below the default floor lowers the floor with it.
            config.upstream.min_concurrency = config
                .upstream
                .min_concurrency
                .min(config.upstream.max_concurrency);
        }
        if config.upstream.min_concurrency > config.upstream.max_concurrency {
            return Err(bad(
                "[upstream] min_concurrency",
                &format!(
                    "must not exceed max_concurrency ({})",
                    config.upstream.max_concurrency
                ),
            ));
        }
        if let Some(max_queue) = up.max_queue {
            config.upstream.max_queue = max_queue;
        }
        if let Some(secs) = up.queue_timeout_secs {
            config.upstream.queue_timeout = seconds(secs).ok_or_else(|| {
                bad(
                    "[upstream] queue_timeout_secs",
                    "must be a positive number of seconds",
                )
            })?;
        }
        set_positive(
            &mut config.upstream.max_response_bytes,
            up.max_response_bytes,
            || bad("[upstream] max_response_bytes", "must be at least 1"),
        )?;
        if let Some(protocol) = up.protocol {
            config.upstream.protocol = protocol
                .parse()
                .map_err(|e: String| bad("[upstream] protocol", &e))?;
        }

        let tokens = file.tokens;
        if let Some(ttl) = tokens.ttl_secs {
            if ttl == 0 {
                return Err(bad("[tokens] ttl_secs", "must be at least 1"));
            }
            config.tokens.ttl = Duration::from_secs(ttl);
        }
        set_positive(&mut config.tokens.max_tokens, tokens.max_tokens, || {
            bad("[tokens] max_tokens", "must be at least 1")
        })?;
        set_positive(&mut config.tokens.max_per_user, tokens.max_per_user, || {
            bad("[tokens] max_per_user", "must be at least 1")
        })?;
        config.tokens.store = token_store(tokens, &env).map_err(|(key, why)| bad(key, &why))?;

        let gate = file.gate;
        if let Some(field) = gate.flag_field {
            config.gate.flag_field = match field.as_str() {
                "auto" => FlagField::Auto,
                "none" | "" => FlagField::None,
                name if is_field_name(name) => FlagField::Field(name.to_owned()),
                _ => {
                    return Err(bad(
                        "[gate] flag_field",
                        "must be \"auto\", \"none\" or a field name such as \"x_rest_api\"",
                    ))
                }
            };
        }
        // Zero is refused for cache_ttl_secs, login_attempts and login_window_secs alike: each
        // would silently turn a protection off (caching, and with it one upstream call per REST
        // call; the login limiter).
        if let Some(ttl) = gate.cache_ttl_secs {
            if ttl == 0 {
                return Err(bad(
                    "[gate] cache_ttl_secs",
                    "must be at least 1 (0 would turn caching off, and every REST call would cost extra ERP calls)",
                ));
            }
            config.gate.cache_ttl = Duration::from_secs(ttl);
        }
        set_positive(
            &mut config.gate.cache_max_entries,
            gate.cache_max_entries,
            || bad("[gate] cache_max_entries", "must be at least 1"),
        )?;
        config.gate.allow = gate.allow.unwrap_or_default();
        config.gate.deny = gate.deny.unwrap_or_default();
        config.gate.service = match (gate.service_login, gate.service_password_env) {
            (None, None) => None,
            (Some(login), Some(var)) => {
                let password = env(&var).filter(|p| !p.is_empty()).ok_or_else(|| {
                    bad("[gate] service_password_env", &format!("the environment variable {var} is not set"))
                })?;
                Some(ServiceAccount { login, password: Secret::new(password) })
            }
            (Some(_), None) => return Err(bad("[gate] service_password_env", "is needed with service_login (the name of the environment variable that holds the password)")),
            (None, Some(_)) => return Err(bad("[gate] service_login", "is needed with service_password_env")),
        };

        let l = file.limits;
        let limits = &mut config.limits;
        set_positive(&mut limits.max_body_bytes, l.max_body_bytes, || {
            bad("[limits] max_body_bytes", "must be at least 1")
        })?;
        set_positive(&mut limits.max_header_bytes, l.max_header_bytes, || {
            bad("[limits] max_header_bytes", "must be at least 1")
        })?;
        set_positive(&mut limits.max_headers, l.max_headers, || {
            bad("[limits] max_headers", "must be at least 1")
        })?;
        set_positive(&mut limits.max_url_bytes, l.max_url_bytes, || {
            bad("[limits] max_url_bytes", "must be at least 1")
        })?;
        set_positive(&mut limits.max_filter_bytes, l.max_filter_bytes, || {
            bad("[limits] max_filter_bytes", "must be at least 1")
        })?;
        set_positive(&mut limits.max_filter_depth, l.max_filter_depth, || {
            bad("[limits] max_filter_depth", "must be at least 1")
        })?;
        set_positive(&mut limits.max_connections, l.max_connections, || {
            bad("[limits] max_connections", "must be at least 1")
        })?;
        if let Some(max) = l.max_limit {
            limits.max_limit = Some(max).filter(|&m| m > 0);
        }
        if let Some(secs) = l.header_read_timeout_secs {
            limits.header_read_timeout = seconds(secs).ok_or_else(|| {
                bad(
                    "[limits] header_read_timeout_secs",
                    "must be a positive number of seconds",
                )
            })?;
        }
        if let Some(secs) = l.idle_timeout_secs {
            limits.idle_timeout = seconds(secs).ok_or_else(|| {
                bad(
                    "[limits] idle_timeout_secs",
                    "must be a positive number of seconds",
                )
            })?;
        }
        if let Some(secs) = l.shutdown_grace_secs {
            limits.shutdown_grace = seconds(secs).ok_or_else(|| {
                bad(
                    "[limits] shutdown_grace_secs",
                    "must be a positive number of seconds",
                )
            })?;
        }
        if let Some(n) = l.login_attempts {
            if n == 0 {
                return Err(bad(
                    "[limits] login_attempts",
                    "must be at least 1 (0 would turn the login limiter off)",
                ));
            }
            limits.login_attempts = n;
        }
        if let Some(allow) = l.allow_query_credentials {
            limits.allow_query_credentials = allow;
        }
        if let Some(secs) = l.login_window_secs {
            if secs == 0 {
                return Err(bad(
                    "[limits] login_window_secs",
                    "must be at least 1 (0 would turn the login limiter off)",
                ));
            }
            limits.login_window = Duration::from_secs(secs);
        }

        let p = file.passthrough;
        if let Some(enabled) = p.enabled {
            config.passthrough.enabled = enabled;
        }
        config.passthrough.trusted_proxies = p.trusted_proxies.unwrap_or_default();
        config.passthrough.host = p.host.filter(|h| !h.is_empty());
        set_positive(
            &mut config.passthrough.max_body_bytes,
            p.max_body_bytes,
            || bad("[passthrough] max_body_bytes", "must be at least 1"),
        )?;

        let o = file.openapi;
        if let Some(enabled) = o.enabled {
            config.openapi.enabled = enabled;
        }
        if let Some(url) = o.ui_assets_url {
            let url = url.trim_end_matches('/').to_owned();
            if !is_assets_url(&url) {
                return Err(bad(
                    "[openapi] ui_assets_url",
                    "must be an http:// or https:// URL or a path starting with /, without quotes, spaces or angle brackets",
                ));
            }
            config.openapi.ui_assets_url = url;
        }

        let admin = file.admin;
        if let Some(listen) = admin.listen {
            config.admin.listen = match listen.as_str() {
                "" => None,
                addr => Some(addr.parse().map_err(|_| {
                    bad(
                        "[admin] listen",
                        "must be an address such as \"127.0.0.1:9180\", or \"\" for no admin listener",
                    )
                })?),
            };
        }
        if let Some(secs) = admin.probe_interval_secs {
            config.admin.probe_interval = seconds(secs).ok_or_else(|| {
                bad(
                    "[admin] probe_interval_secs",
                    "must be a positive number of seconds",
                )
            })?;
        }

        let log = file.log;
        if let Some(access) = log.access {
            config.log.access = access;
        }
        if let Some(format) = log.format {
            config.log.format = match format.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err(bad("[log] format", "must be \"text\" or \"json\"")),
            };
        }
        if let Some(level) = log.level {
            if level.trim().is_empty() {
                return Err(bad(
                    "[log] level",
                    "must be a filter such as \"info\" or \"odoo_rest_proxy=debug\"",
                ));
            }
            config.log.level = level;
        }

        let cors = file.cors;
        if let Some(origins) = cors.allow_origins {
            if let Some(bad_origin) = origins.iter().find(|o| !is_origin(o)) {
                return Err(bad(
                    "[cors] allow_origins",
                    &format!("{bad_origin:?} is not an origin such as \"https://app.example.com\" (scheme and host, no path) or \"*\""),
                ));
            }
            config.cors.allow_origins = origins;
        }
        if let Some(headers) = cors.allow_headers {
            if let Some(bad_header) = headers
                .iter()
                .find(|h| http::HeaderName::from_bytes(h.as_bytes()).is_err())
            {
                return Err(bad(
                    "[cors] allow_headers",
                    &format!("{bad_header:?} is not a header name"),
                ));
            }
            config.cors.allow_headers = headers;
        }
        if let Some(secs) = cors.max_age_secs {
            config.cors.max_age = Duration::from_secs(secs);
        }
        Ok(config)
    }
}

/// `[tokens] store` and the keys that go with `store = "redis"`: (the key, what is wrong).
fn token_store(
    tokens: TokensSection,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<StoreConfig, (&'static str, String)> {
    match tokens.store.as_deref() {
        None | Some("memory") => return Ok(StoreConfig::Memory),
        Some("redis") => {}
        Some(_) => {
            return Err((
                "[tokens] store",
                "must be \"memory\" or \"redis\"".to_owned(),
            ))
        }
    }
    let url = tokens
        .redis_url
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned());
    RedisConfig::check_url(&url).map_err(|why| ("[tokens] redis_url", why))?;
    let variable = |key: &'static str, name: &str| {
        env(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| (key, format!("the environment variable {name} is not set")))
    };
    let password = match &tokens.redis_password_env {
        Some(name) => Some(Secret::new(variable("[tokens] redis_password_env", name)?)),
        None => None,
    };
    let seal_key = |key: &'static str, name: &str| {
        SealKey::from_base64(&variable(key, name)?)
            .map_err(|why| (key, format!("the environment variable {name} {why}")))
    };
    let key = match &tokens.encryption_key_env {
        Some(name) => seal_key("[tokens] encryption_key_env", name)?,
        None => {
            return Err((
                "[tokens] encryption_key_env",
                "is needed with store = \"redis\" (the name of the environment variable that holds 32 random bytes in base64, e.g. from `openssl rand -base64 32`)".to_owned(),
            ))
        }
    };
    let previous_key = match &tokens.previous_encryption_key_env {
        Some(name) => Some(seal_key("[tokens] previous_encryption_key_env", name)?),
        None => None,
    };
    let timeout = match tokens.redis_timeout_ms {
        None => Duration::from_millis(1000),
        Some(0) => return Err(("[tokens] redis_timeout_ms", "must be at least 1".to_owned())),
        Some(ms) => Duration::from_millis(ms),
    };
    Ok(StoreConfig::Redis(RedisConfig {
        url,
        password,
        key_prefix: tokens
            .key_prefix
            .unwrap_or_else(|| "odoo-rest-proxy:".to_owned()),
        key,
        previous_key,
        timeout,
    }))
}

fn set_positive<T: Default + PartialEq + Copy>(
    slot: &mut T,
    value: Option<T>,
    error: impl FnOnce() -> ConfigError,
) -> Result<(), ConfigError> {
    match value {
        Some(v) if v == T::default() => Err(error()),
        Some(v) => {
            *slot = v;
            Ok(())
        }
        None => Ok(()),
    }
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs > 0.0 && secs < 1e9).then(|| Duration::from_secs_f64(secs))
}

fn check_url(url: &str) -> Result<(), String> {
    if crate::secret::has_userinfo(url) {
        return Err(USERINFO_REFUSED.to_owned());
    }
    match url.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(()),
        _ => Err(format!("{url:?} is not an http:// or https:// URL")),
    }
}

/// Why an upstream URL with `user:password@` is refused (the message names no part of it).
pub const USERINFO_REFUSED: &str = "must not carry a user name or password (user:password@): \
    the proxy sends no HTTP credentials to the ERP (each user's login travels inside the \
    XML-RPC call, a service account's password comes from [gate] service_password_env); \
    give the ERP's address alone";
/// A URL the docs page can put in an HTML attribute as it is.
fn is_assets_url(url: &str) -> bool {
    let absolute = check_url(url).is_ok() || (url.starts_with('/') && !url.starts_with("//"));
    absolute
        && url
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\'))
}

/// `*`, or `scheme://host[:port]` with nothing after.
fn is_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    match origin.split_once("://") {
        Some((scheme, host)) => {
            !scheme.is_empty()
                && !host.is_empty()
                && !host.contains(['/', '?', '#', ' '])
                && http::HeaderValue::from_str(origin).is_ok()
        }
        None => false,
    }
}

fn is_field_name(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One line: `proxy.toml:12: [tokens] ttl_secs: invalid type: ...`.
fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let message = error.message().replace('\n', " ");
    let Some(span) = error.span() else {
        return ConfigError(format!("{}: {message}", path.display()));
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
    let section = text[..span.start.min(text.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with('['))
        .unwrap_or("");
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    let key = line.split('=').next().unwrap_or("").trim();
    let key = if key.starts_with('[') || key.is_empty() {
        String::new()
    } else {
        format!("{section} {key}: ").trim_start().to_owned()
    };
    ConfigError(format!("{}:{line_no}: {key}{message}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("proxy.toml"), |name| {
            (name == "SVC_PW").then(|| "s3cret".to_owned())
        })
    }

    #[test]
    fn the_example_config_in_the_repo_is_valid() {
        let text = include_str!("../proxy.toml");
        let config = Config::from_toml(text, Path::new("proxy.toml"), |_| Some("x".into()))
            .expect("proxy.toml at the repo root is valid");
        assert_eq!(config.tokens.ttl, Duration::from_secs(600));
    }

    #[test]
    fn defaults_and_overrides() {
        let config = parse("[tokens]\nttl_secs = 60\n[gate]\nflag_field = \"x_rest_api\"\nallow = [\"res.partner\"]\nservice_login = \"svc\"\nservice_password_env = \"SVC_PW\"\n").unwrap();
        assert_eq!(config.tokens.ttl, Duration::from_secs(60));
        assert_eq!(
            config.gate.flag_field,
            FlagField::Field("x_rest_api".into())
        );
        let service = config.gate.service.unwrap();
        assert_eq!(service.password.expose(), "s3cret");
        assert!(!format!("{service:?}").contains("s3cret"));
        assert_eq!(parse("").unwrap().upstream.url, "http://127.0.0.1:8069");
    }

    #[test]
    fn the_redis_store_and_its_one_line_errors() {
        let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="; // 32 bytes of 0x01
        let env = |name: &str| match name {
            "KEY" => Some(key.to_owned()),
            "SHORT" => Some("AQEB".to_owned()),
            "PW" => Some("redis-s3cret".to_owned()),
            _ => None,
        };
        let load = |text: &str| Config::from_toml(text, Path::new("proxy.toml"), env);
        assert!(matches!(
            load("").unwrap().tokens.store,
            StoreConfig::Memory
        ));
        let config = load("[tokens]\nstore = \"redis\"\nredis_url = \"redis://:inurl-s3cret@10.0.0.5:6380/2\"\nredis_password_env = \"PW\"\nencryption_key_env = \"KEY\"\nprevious_encryption_key_env = \"KEY\"\nkey_prefix = \"p:\"\nredis_timeout_ms = 250\n").unwrap();
        let StoreConfig::Redis(redis) = &config.tokens.store else {
            panic!("the redis store");
        };
        assert_eq!(redis.timeout, Duration::from_millis(250));
        assert_eq!(redis.key_prefix, "p:");
        assert_eq!(
            redis.password.as_ref().map(|p| p.expose()),
            Some("redis-s3cret")
        );
        assert!(redis.previous_key.is_some());
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && !shown.contains(key), "{shown}");

        let redis_with = |extra: &str| {
            load(&format!("[tokens]\nstore = \"redis\"\n{extra}"))
                .unwrap_err()
                .to_string()
        };
        for (extra, expected) in [
            ("", "[tokens] encryption_key_env: is needed"),
            ("encryption_key_env = \"NOPE\"", "NOPE is not set"),
            ("encryption_key_env = \"SHORT\"", "SHORT holds 3 bytes"),
            (
                "encryption_key_env = \"KEY\"\nredis_timeout_ms = 0",
                "[tokens] redis_timeout_ms: must be at least 1",
            ),
            (
                "encryption_key_env = \"KEY\"\nredis_password_env = \"NOPE\"",
                "[tokens] redis_password_env",
            ),
            (
                "encryption_key_env = \"KEY\"\nredis_url = \"http://:inurl-s3cret@h/\"",
                "[tokens] redis_url: is not a redis://",
            ),
        ] {
            let error = redis_with(extra);
            assert!(error.starts_with("proxy.toml: [tokens] "), "{error}");
            assert!(error.contains(expected), "{error}");
            assert!(
                !error.contains('\n') && !error.contains("s3cret"),
                "{error}"
            );
        }
        let error = load("[tokens]\nstore = \"valkey\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("[tokens] store: must be"), "{error}");
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let e = parse("[tokens]\nttl_secs = \"ten\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("proxy.toml:2: [tokens] ttl_secs: "), "{e}");
        assert!(!e.contains('\n'));
        let e = parse("[tokens]\nttl = 5\n").unwrap_err().to_string();
        assert!(e.contains("proxy.toml:2") && e.contains("ttl"), "{e}");
        let e = parse("[upstream]\nurl = \"ftp://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("proxy.toml: [upstream] url:"), "{e}");
        let e = parse("[gate]\nservice_login = \"svc\"\nservice_password_env = \"NOPE\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("NOPE is not set"), "{e}");
    }

    #[test]
    fn upstream_protocol() {
        use crate::odoo::ProtocolChoice;
        assert_eq!(parse("").unwrap().upstream.protocol, ProtocolChoice::Auto);
        let config = parse("[upstream]\nprotocol = \"json2\"\n").unwrap();
        assert_eq!(config.upstream.protocol, ProtocolChoice::Json2);
        let config = parse("[upstream]\nprotocol = \"xmlrpc\"\n").unwrap();
        assert_eq!(config.upstream.protocol, ProtocolChoice::XmlRpc);
        let e = parse("[upstream]\nprotocol = \"soap\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[upstream] protocol") && e.contains("\"soap\""),
            "{e}"
        );
    }

    #[test]
    fn zero_is_refused_wherever_it_would_turn_a_protection_off() {
        for (text, key) in [
            ("[gate]\ncache_ttl_secs = 0\n", "[gate] cache_ttl_secs"),
            ("[limits]\nlogin_attempts = 0\n", "[limits] login_attempts"),
            (
                "[limits]\nlogin_window_secs = 0\n",
                "[limits] login_window_secs",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!(
                    "proxy.toml: {key}: must be at least 1 (0 would turn"
                )),
                "{e}"
            );
        }
        let config = parse(
            "[gate]\ncache_ttl_secs = 1\n[limits]\nlogin_attempts = 1\nlogin_window_secs = 1\n",
        )
        .unwrap();
        assert_eq!(config.gate.cache_ttl, Duration::from_secs(1));
        assert_eq!(config.limits.login_attempts, 1);
        assert_eq!(config.limits.login_window, Duration::from_secs(1));
    }

    #[test]
    fn an_upstream_url_with_a_password_is_refused_without_quoting_it() {
        let e = parse("[upstream]\nurl = \"http://rpc:S3cr3t-pw@erp.internal:8069\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("proxy.toml: [upstream] url: must not carry"),
            "{e}"
        );
        assert!(!e.contains("S3cr3t-pw") && !e.contains("rpc:"), "{e}");
        let cli = Cli::parse_from(["odoo-rest-proxy", "--upstream", "https://S3cr3t-pw@erp"]);
        let e = Config::load(&cli).unwrap_err().to_string();
        assert!(e.starts_with("--upstream: must not carry"), "{e}");
        assert!(!e.contains("S3cr3t-pw"), "{e}");
    }

    #[test]
    fn overload_keys_are_validated() {
        let config = parse("[upstream]\nmin_concurrency = 2\nmax_concurrency = 16\nmax_queue = 0\nqueue_timeout_secs = 0.5\n").unwrap();
        assert_eq!(config.upstream.min_concurrency, 2);
        assert_eq!(config.upstream.max_queue, 0);
        assert_eq!(config.upstream.queue_timeout, Duration::from_millis(500));
        let config = parse("[upstream]\nmax_concurrency = 2\n").unwrap();
        assert_eq!(config.upstream.min_concurrency, 2);
        let e = parse("[upstream]\nmin_concurrency = 9\nmax_concurrency = 8\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "proxy.toml: [upstream] min_concurrency: must not exceed max_concurrency (8)"
        );
        let e = parse("[upstream]\nqueue_timeout_secs = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("proxy.toml: [upstream] queue_timeout_secs:"),
            "{e}"
        );
        let e = parse("[upstream]\nmin_concurrency = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("min_concurrency: must be at least 1"), "{e}");
    }

    #[test]
    fn admin_log_and_cors_sections() {
        let config = parse("").unwrap();
        assert_eq!(config.admin.listen, Some("127.0.0.1:9180".parse().unwrap()));
        assert!(config.log.access);
        assert!(config.cors.allow_origins.is_empty());
        let config = parse("[admin]\nlisten = \"\"\nprobe_interval_secs = 0.5\n[log]\nformat = \"json\"\naccess = false\n[cors]\nallow_origins = [\"https://app.example.com\"]\nmax_age_secs = 60\n").unwrap();
        assert_eq!(config.admin.listen, None);
        assert_eq!(config.admin.probe_interval, Duration::from_millis(500));
        assert_eq!(config.log.format, LogFormat::Json);
        assert!(!config.log.access);
        assert_eq!(config.cors.allow_origins, ["https://app.example.com"]);
        for (text, key) in [
            ("[admin]\nlisten = \"nowhere\"\n", "[admin] listen"),
            ("[log]\nformat = \"xml\"\n", "[log] format"),
            (
                "[cors]\nallow_origins = [\"https://a.example/path\"]\n",
                "[cors] allow_origins",
            ),
            (
                "[cors]\nallow_headers = [\"bad header\"]\n",
                "[cors] allow_headers",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }
}
