//! Where the database is: a `postgresql://` URL, completed from libpq's environment
//! (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGCONNECT_TIMEOUT`), and
//! shown without its password.

use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use crate::error::{Error, Result, server};

/// How to reach a PostgreSQL database.
#[derive(Clone)]
pub struct ConnectionSpec {
    config: Config,
    shown: String,
}

impl std::fmt::Debug for ConnectionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password: only what `display` shows.
        f.debug_tuple("ConnectionSpec").field(&self.shown).finish()
    }
}

/// Whether `spec` names a PostgreSQL database (`postgresql://…` or `postgres://…`).
pub fn is_postgres_url(spec: &str) -> bool {
    let lower = spec.get(..13).unwrap_or(spec).to_ascii_lowercase();
    lower.starts_with("postgresql:/") || lower.starts_with("postgres:/")
}

impl ConnectionSpec {
    /// Reads a `postgresql://[user[:password]@][host][:port][/dbname][?param=value&...]`
    /// URL; what it leaves out comes from the libpq environment, then libpq's defaults
    /// (the local socket directory, port 5432, the user named after the OS user, a database
    /// named after the user).
    pub fn parse(url: &str) -> Result<ConnectionSpec> {
        if !is_postgres_url(url) {
            return Err(Error::BadUrl(
                "a PostgreSQL database is given as postgresql://user@host:port/dbname".into(),
            ));
        }
        let mut config = Config::from_str(url).map_err(|e| {
            // The parser's message may quote the URL: say only what is wrong with it.
            Error::BadUrl(format!(
                "the PostgreSQL URL cannot be read ({}); it looks like postgresql://user@host:port/dbname",
                mask(&e.to_string())
            ))
        })?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            let host = env("PGHOST").unwrap_or_else(default_host);
            for host in host.split(',') {
                config.host(host);
            }
        }
        if config.get_ports().is_empty()
            && let Some(port) = env("PGPORT")
        {
            let port = port
                .parse()
                .map_err(|_| Error::BadUrl(format!("PGPORT `{port}` is not a port number")))?;
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "postgres".into());
            config.user(&user);
        }
        if config.get_password().is_none()
            && let Some(password) = env("PGPASSWORD")
        {
            config.password(password);
        }
        if config.get_dbname().is_none() {
            let dbname = env("PGDATABASE")
                .or_else(|| config.get_user().map(String::from))
                .unwrap_or_default();
            config.dbname(&dbname);
        }
        if config.get_connect_timeout().is_none() {
            let seconds = env("PGCONNECT_TIMEOUT")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10);
            config.connect_timeout(Duration::from_secs(seconds));
        }
        config.application_name("quiver");
        let shown = shown(&config);
        Ok(ConnectionSpec { config, shown })
    }

    /// The database as shown to users: `postgresql://user@host:port/dbname`, no password.
    pub fn display(&self) -> &str {
        &self.shown
    }

    /// Opens a new session, with the settings every quiver session runs with
    /// ([`SESSION_OPTIONS`]): UTC, ISO dates, floats printed exactly, standard strings.
    pub fn connect(&self) -> Result<Client> {
        let mut config = self.config.clone();
        let options = match config.get_options() {
            Some(given) => format!("{given} {SESSION_OPTIONS}"),
            None => SESSION_OPTIONS.to_string(),
        };
        config.options(&options);
        config
            .connect(NoTls)
            .map_err(server(|| format!("connecting to {}", self.shown)))
    }
}

/// Settings under which every value's text form is exact and the same on every server, and
/// every string literal reads as the tokenizer reads it (`standard_conforming_strings`: a
/// backslash in '...' is an ordinary character), as pg_dump sets them; no statement timeout
/// (a backup's COPY may take long), and lock waits that end after 30 s with a clear error.
/// `row_security=off`, as pg_dump sets it: a table whose row policies would hide rows from
/// this user is an error, never a silently partial backup.
/// They go in the startup packet, so they hold from the session's first statement and
/// override what the database or role sets.
pub(crate) const SESSION_OPTIONS: &str = "-c standard_conforming_strings=on -c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3 -c bytea_output=hex -c client_encoding=UTF8 -c array_nulls=on -c xmloption=content -c lc_monetary=C -c row_security=off -c statement_timeout=0 -c idle_in_transaction_session_timeout=0 -c lock_timeout=30s";

/// libpq's default: the Debian socket directory when it exists, else localhost.
fn default_host() -> String {
    for dir in ["/var/run/postgresql", "/tmp"] {
        if std::path::Path::new(dir).join(".s.PGSQL.5432").exists() {
            return dir.to_string();
        }
    }
    "localhost".to_string()
}

fn shown(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    format!(
        "postgresql://{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

/// `text` with anything after a `:` and before an `@` hidden (a password in a URL).
fn mask(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            format!("{}***{}", &text[..start + 3], &text[at..])
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_never_shown() {
        let spec = ConnectionSpec::parse("postgresql://app:s3cret@db.example:6543/orders").unwrap();
        assert_eq!(spec.display(), "postgresql://app@db.example:6543/orders");
        assert!(!format!("{spec:?}").contains("s3cret"));
    }

    #[test]
    fn other_urls_are_refused_with_the_form_to_use() {
        let err = ConnectionSpec::parse("mysql://x@y/z")
            .unwrap_err()
            .to_string();
        assert!(err.contains("postgresql://user@host:port/dbname"), "{err}");
        assert!(is_postgres_url("POSTGRES://h/d") && !is_postgres_url("app.db"));
    }
}
