//! Configuration: the command line (clap) and `proxy.toml` (serde) merged into one validated
//! [`Config`]. All defaults live here. Secrets come from environment variables only.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Deserialize;

use crate::odoo::UpstreamConfig;
use crate::secret::Secret;

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
    Demo,
    /// Serve only the embedded demo ERP's XML-RPC endpoint (for load tests and nginx).
    DemoErp {
        /// Keep connections alive instead of closing after each answer as Odoo does.
        #[arg(long)]
        keep_alive: bool,
    },
    /// Check whether this config can work (upstream, database, gate), one line per item;
    /// exits 0 when everything works, 1 otherwise.
    Check {
        /// The database to check (default: the only one `db.list` answers, if it is allowed).
        #[arg(long)]
        db: Option<String>,
    },
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
}

#[derive(Debug, Clone)]
pub struct PassthroughConfig {
    pub enabled: bool,
    /// Addresses whose own `X-Forwarded-*` headers are trusted and extended.
    pub trusted_proxies: Vec<IpAddr>,
    /// Send this `Host` upstream instead of the client's.
    pub host: Option<String>,
}

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
                max_response_bytes: 256 << 20,
            },
            tokens: TokensConfig {
                ttl: Duration::from_secs(600),
                max_tokens: 100_000,
                max_per_user: 32,
            },
            gate: GateConfig {
                flag_field: FlagField::Auto,
                cache_ttl: Duration::from_secs(60),
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
            },
            passthrough: PassthroughConfig {
                enabled: true,
                trusted_proxies: Vec::new(),
                host: None,
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
    max_response_bytes: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensSection {
    ttl_secs: Option<u64>,
    max_tokens: Option<usize>,
    max_per_user: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateSection {
    flag_field: Option<String>,
    cache_ttl_secs: Option<u64>,
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PassthroughSection {
    enabled: Option<bool>,
    trusted_proxies: Option<Vec<IpAddr>>,
    host: Option<String>,
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
            &mut config.upstream.max_response_bytes,
            up.max_response_bytes,
            || bad("[upstream] max_response_bytes", "must be at least 1"),
        )?;

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
        if let Some(ttl) = gate.cache_ttl_secs {
            config.gate.cache_ttl = Duration::from_secs(ttl);
        }
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
            limits.login_attempts = n;
        }
        if let Some(secs) = l.login_window_secs {
            limits.login_window = Duration::from_secs(secs.max(1));
        }

        let p = file.passthrough;
        if let Some(enabled) = p.enabled {
            config.passthrough.enabled = enabled;
        }
        config.passthrough.trusted_proxies = p.trusted_proxies.unwrap_or_default();
        config.passthrough.host = p.host.filter(|h| !h.is_empty());

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
    match url.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(()),
        _ => Err(format!("{url:?} is not an http:// or https:// URL")),
    }
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
