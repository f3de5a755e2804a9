//! The hub's configuration, read once at start from the environment (and `.env`).

use std::net::SocketAddr;
use std::path::PathBuf;

use hub_core::domain::email::Email;
use hub_core::mail::{SmtpSettings, Tls};

/// Every setting the hub reads, already parsed.
#[derive(Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The address users and OAuth providers see, without a trailing slash.
    pub public_url: String,
    pub company_name: String,
    pub admin_email: Email,
    pub admin_password: Option<String>,
    /// The raw `HUB_SECRET_KEY`, parsed when the key is loaded.
    pub secret_key: Option<String>,
    /// Where the built site (wasm, CSS, public files) is served from.
    pub site_root: PathBuf,
    /// The folder of connector definitions (`*.yaml`).
    pub connectors_dir: PathBuf,
    /// The catalogue's connectors to use (`HUB_CATALOGUE`, names separated by commas).
    pub catalogue: Vec<String>,
    /// The folder of sample integrations seeded into a new hub.
    pub samples_dir: PathBuf,
    /// Seed the samples when the hub starts on an empty database.
    pub demo: bool,
    /// How long a release's build command may run.
    pub build_timeout: std::time::Duration,
    /// How many builds run at once (`HUB_MAX_BUILDS`).
    pub max_builds: usize,
    /// The run engine: concurrent runs (`HUB_MAX_RUNS`), the run lease
    /// (`HUB_RUN_LEASE_SECS`), retries of platform failures (`HUB_RUN_RETRIES`, the
    /// first after `HUB_RUN_RETRY_SECS`) and
    /// `PAN_CTX_ENV` (`HUB_ENV`).
    pub runs: hub_core::engine::runs::Settings,
    /// Where mail goes; `None` keeps messages in the console's Sent mail page.
    pub smtp: Option<SmtpSettings>,
    /// The sender of the hub's mail.
    pub mail_from: String,
    /// The sandbox of builds and runs (`HUB_SANDBOX*`).
    pub sandbox: hub_core::engine::sandbox::Policy,
    /// The header a reverse proxy puts the client's address in
    /// (`HUB_CLIENT_ADDRESS_HEADER`, such as `X-Forwarded-For`), for sign-in throttling.
    pub client_address_header: Option<String>,
    /// The internal ranges the hub may call on a user's say-so
    /// (`HUB_ALLOW_PRIVATE_TARGETS`): webhook receivers, token endpoints, repositories.
    pub egress: hub_core::egress::Egress,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Passwords and keys are never printed.
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("public_url", &self.public_url)
            .field("admin_email", &self.admin_email)
            .finish_non_exhaustive()
    }
}

/// A setting that could not be used; the message names the variable and what to write.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { var, message: message.into() }
}

impl Config {
    /// Reads the configuration through `get`, which returns a variable's value if set.
    /// Empty values count as unset.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());

        let addr_text = get("HUB_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let addr: SocketAddr = addr_text.trim().parse().map_err(|_| {
            err("HUB_ADDR", format!("{addr_text:?} is not an address; write IP:PORT, e.g. 127.0.0.1:3000"))
        })?;

        let data_dir = PathBuf::from(get("HUB_DATA_DIR").unwrap_or_else(|| "./data".to_owned()));

        let public_url = match get("HUB_PUBLIC_URL") {
            Some(url) => {
                let url = url.trim().trim_end_matches('/').to_owned();
                let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"));
                match rest {
                    Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => url,
                    _ => {
                        return Err(err(
                            "HUB_PUBLIC_URL",
                            format!("{url:?} is not a URL; write e.g. https://hub.example.com"),
                        ))
                    }
                }
            }
            None if addr.ip().is_unspecified() => format!("http://localhost:{}", addr.port()),
            None => format!("http://{addr}"),
        };

        let admin_text = get("HUB_ADMIN_EMAIL").unwrap_or_else(|| "admin@example.com".to_owned());
        let admin_email = Email::parse(&admin_text).map_err(|e| err("HUB_ADMIN_EMAIL", e.to_string()))?;

        let admin_password = get("HUB_ADMIN_PASSWORD");
        if let Some(p) = &admin_password {
            hub_core::domain::user::check_new_password(p).map_err(|m| err("HUB_ADMIN_PASSWORD", m))?;
        }

        let demo = match get("HUB_DEMO").map(|v| v.trim().to_lowercase()).as_deref() {
            None | Some("on" | "true" | "1" | "yes") => true,
            Some("off" | "false" | "0" | "no") => false,
            Some(other) => return Err(err("HUB_DEMO", format!("{other:?} is neither on nor off"))),
        };
        let build_secs = match get("HUB_BUILD_TIMEOUT_SECS") {
            None => 600,
            Some(v) => v.trim().parse::<u64>().ok().filter(|s| (1..=86_400).contains(s)).ok_or_else(|| {
                err("HUB_BUILD_TIMEOUT_SECS", format!("{v:?} is not a number of seconds from 1 to 86400"))
            })?,
        };

        let number = |var: &'static str, default: u64, max: u64| match get(var) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| err(var, format!("{v:?} is not a whole number from 1 to {max}"))),
        };
        let egress = match get("HUB_ALLOW_PRIVATE_TARGETS") {
            None => hub_core::egress::Egress::strict(),
            Some(list) => hub_core::egress::Egress::allowing(&list).map_err(|m| err("HUB_ALLOW_PRIVATE_TARGETS", m))?,
        };
        let fair_use = {
            use hub_core::domain::fair_use::{FairUse, Limit};
            let d = FairUse::default();
            let max = |var: &'static str, default: u32| -> Result<u32, ConfigError> {
                let n = number(var, u64::from(default), 1_000_000)?;
                Ok(u32::try_from(n).unwrap_or(default))
            };
            FairUse {
                installs_per_user: Limit::per_hour(max("HUB_LIMIT_INSTALLS_PER_USER", d.installs_per_user.max)?),
                runs_per_user: Limit::per_hour(max("HUB_LIMIT_RUNS_PER_USER", d.runs_per_user.max)?),
                runs_per_organization: Limit::per_hour(max(
                    "HUB_LIMIT_RUNS_PER_ORGANIZATION",
                    d.runs_per_organization.max,
                )?),
                webhooks_per_tenant: Limit::per_minute(max(
                    "HUB_LIMIT_WEBHOOKS_PER_TENANT",
                    d.webhooks_per_tenant.max,
                )?),
            }
        };
        let runs = hub_core::engine::runs::Settings {
            egress: egress.clone(),
            fair_use,
            max_concurrent: usize::try_from(number("HUB_MAX_RUNS", 8, 1024)?).unwrap_or(8),
            lease: std::time::Duration::from_secs(number("HUB_RUN_LEASE_SECS", 60, 3600)?),
            retry_after: std::time::Duration::from_secs(number("HUB_RUN_RETRY_SECS", 30, 3600)?),
            retries: match get("HUB_RUN_RETRIES") {
                None => 2,
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 10)
                    .ok_or_else(|| err("HUB_RUN_RETRIES", format!("{v:?} is not a whole number from 0 to 10")))?,
            },
            env_name: get("HUB_ENV").map_or_else(|| "production".to_owned(), |v| v.trim().to_owned()),
            ..hub_core::engine::runs::Settings::default()
        };

        let smtp = match get("HUB_SMTP_HOST") {
            None => None,
            Some(host) => {
                let tls = match get("HUB_SMTP_TLS").map(|v| v.trim().to_lowercase()).as_deref() {
                    None | Some("starttls") => Tls::StartTls,
                    Some("tls") => Tls::Tls,
                    Some("none") => Tls::None,
                    Some(other) => {
                        return Err(err(
                            "HUB_SMTP_TLS",
                            format!("{other:?} is not a TLS mode; use starttls, tls or none"),
                        ))
                    }
                };
                let default_port = match tls {
                    Tls::StartTls => 587,
                    Tls::Tls => 465,
                    Tls::None => 25,
                };
                let port = match get("HUB_SMTP_PORT") {
                    None => default_port,
                    Some(p) => p
                        .trim()
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| err("HUB_SMTP_PORT", format!("{p:?} is not a port number")))?,
                };
                Some(SmtpSettings {
                    host: host.trim().to_owned(),
                    port,
                    tls,
                    user: get("HUB_SMTP_USER"),
                    password: get("HUB_SMTP_PASSWORD"),
                })
            }
        };
        let mail_from = get("HUB_MAIL_FROM").unwrap_or_else(|| "Integration Hub <hub@localhost>".to_owned());

        // The helper is this very executable unless told otherwise (tests run the hub
        // inside a test binary, which has no helper in it).
        let helper = get("HUB_SANDBOX_HELPER")
            .map(PathBuf::from)
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| PathBuf::from("server"));
        let mut sandbox = hub_core::engine::sandbox::Policy::new(helper);
        sandbox.etc_copy = Some(data_dir.join("sandbox").join("etc"));
        sandbox.enabled = match get("HUB_SANDBOX").map(|v| v.trim().to_lowercase()).as_deref() {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => return Err(err("HUB_SANDBOX", format!("{other:?} is neither on nor off"))),
        };
        (sandbox.block_local_network, sandbox.block_private_network) = match get("HUB_SANDBOX_LOCAL_NETWORK")
            .map(|v| v.trim().to_lowercase())
            .as_deref()
        {
            None | Some("block") => (true, false),
            Some("block-private") => (true, true),
            Some("allow") => (false, false),
            Some(other) => {
                return Err(err("HUB_SANDBOX_LOCAL_NETWORK", format!("{other:?} is not block, block-private or allow")))
            }
        };
        let uid = number("HUB_SANDBOX_UID", 3_000_000, 4_000_000_000)?;
        sandbox.uid_base = u32::try_from(uid).unwrap_or(3_000_000);
        let d = hub_core::engine::sandbox::Limits::default();
        sandbox.limits = hub_core::engine::sandbox::Limits {
            open_files: number("HUB_SANDBOX_MAX_FILES", d.open_files, 1_048_576)?,
            processes: number("HUB_SANDBOX_MAX_PROCESSES", d.processes, 1_000_000)?,
            file_size_mb: number("HUB_SANDBOX_MAX_FILE_MB", d.file_size_mb, 1_048_576)?,
            cpu_secs: number("HUB_SANDBOX_CPU_SECS", d.cpu_secs, 604_800)?,
            memory_mb: number("HUB_SANDBOX_MEMORY_MB", d.memory_mb, 1_048_576)?,
            scratch_mb: number("HUB_SANDBOX_SCRATCH_MB", d.scratch_mb, 1_048_576)?,
            build_mb: number("HUB_SANDBOX_BUILD_MB", d.build_mb, 1_048_576)?,
        };

        Ok(Self {
            addr,
            data_dir,
            public_url,
            company_name: get("HUB_COMPANY_NAME").unwrap_or_else(|| "My Company".to_owned()),
            admin_email,
            admin_password,
            secret_key: get("HUB_SECRET_KEY"),
            site_root: PathBuf::from(get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".to_owned())),
            connectors_dir: PathBuf::from(get("HUB_CONNECTORS_DIR").unwrap_or_else(|| "./connectors".to_owned())),
            catalogue: get("HUB_CATALOGUE")
                .map(|names| {
                    names.split([',', ' ']).map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect()
                })
                .unwrap_or_default(),
            samples_dir: PathBuf::from(get("HUB_SAMPLES_DIR").unwrap_or_else(|| "./samples".to_owned())),
            demo,
            build_timeout: std::time::Duration::from_secs(build_secs),
            max_builds: usize::try_from(number("HUB_MAX_BUILDS", 2, 64)?).unwrap_or(2),
            runs,
            smtp,
            mail_from,
            sandbox,
            egress,
            client_address_header: match get("HUB_CLIENT_ADDRESS_HEADER") {
                None => None,
                Some(h) if axum::http::HeaderName::from_bytes(h.trim().as_bytes()).is_ok() => Some(h.trim().to_owned()),
                Some(h) => return Err(err("HUB_CLIENT_ADDRESS_HEADER", format!("{h:?} is not a header name"))),
            },
        })
    }

    /// Reads `.env` if present, then the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a broken one is reported by the variables it leaves unset.
        let _ = dotenvy::dotenv();
        Self::from_vars(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_give_a_local_hub() {
        let c = read(&[]).expect("defaults");
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.admin_email.as_str(), "admin@example.com");
        assert!(c.admin_password.is_none());
    }

    #[test]
    fn public_url_follows_the_address_unless_given() {
        assert_eq!(read(&[("HUB_ADDR", "0.0.0.0:8080")]).expect("ok").public_url, "http://localhost:8080");
        let c = read(&[("HUB_PUBLIC_URL", "https://hub.example.com/")]).expect("ok");
        assert_eq!(c.public_url, "https://hub.example.com");
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (pairs, var) in [
            (vec![("HUB_ADDR", "localhost")], "HUB_ADDR"),
            (vec![("HUB_ADDR", "127.0.0.1:99999")], "HUB_ADDR"),
            (vec![("HUB_PUBLIC_URL", "hub.example.com")], "HUB_PUBLIC_URL"),
            (vec![("HUB_ADMIN_EMAIL", "admin")], "HUB_ADMIN_EMAIL"),
            (vec![("HUB_ADMIN_PASSWORD", "short")], "HUB_ADMIN_PASSWORD"),
            (vec![("HUB_DEMO", "maybe")], "HUB_DEMO"),
            (vec![("HUB_SMTP_HOST", "mail"), ("HUB_SMTP_TLS", "ssl3")], "HUB_SMTP_TLS"),
            (vec![("HUB_SMTP_HOST", "mail"), ("HUB_SMTP_PORT", "x")], "HUB_SMTP_PORT"),
            (vec![("HUB_BUILD_TIMEOUT_SECS", "0")], "HUB_BUILD_TIMEOUT_SECS"),
            (vec![("HUB_SANDBOX", "maybe")], "HUB_SANDBOX"),
            (vec![("HUB_SANDBOX_LOCAL_NETWORK", "closed")], "HUB_SANDBOX_LOCAL_NETWORK"),
            (vec![("HUB_SANDBOX_MEMORY_MB", "lots")], "HUB_SANDBOX_MEMORY_MB"),
            (vec![("HUB_SANDBOX_UID", "0")], "HUB_SANDBOX_UID"),
        ] {
            let e = read(&pairs).expect_err("refused");
            assert_eq!(e.var, var, "{e}");
        }
    }

    #[test]
    fn the_sandbox_is_on_unless_turned_off_and_its_limits_are_read() {
        let c = read(&[]).expect("defaults");
        assert!(c.sandbox.enabled && c.sandbox.block_local_network && !c.sandbox.block_private_network);
        let c = read(&[
            ("HUB_SANDBOX", "off"),
            ("HUB_SANDBOX_LOCAL_NETWORK", "block-private"),
            ("HUB_SANDBOX_SCRATCH_MB", "64"),
            ("HUB_SANDBOX_HELPER", "/opt/hub/server"),
        ])
        .expect("ok");
        assert!(!c.sandbox.enabled && c.sandbox.block_private_network);
        assert_eq!(c.sandbox.limits.scratch_mb, 64);
        assert_eq!(c.sandbox.helper, PathBuf::from("/opt/hub/server"));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = read(&[("HUB_ADMIN_PASSWORD", "a-long-secret-pw"), ("HUB_SECRET_KEY", "k")]).expect("ok");
        let shown = format!("{c:?}");
        assert!(!shown.contains("a-long-secret-pw"));
    }
}
