//! A real PostgreSQL server for tests, on 127.0.0.1.
//!
//! With `QUIVER_TEST_POSTGRES_URL` set (as `.ci/run` does, after starting one server for the
//! whole run), tests use that server. Otherwise the first test of a process starts one from
//! this machine's PostgreSQL binaries (Debian's `postgresql` package, installed first with
//! apt-get when missing and the tests run as root): `initdb` into a
//! temporary directory (owned by the `postgres` system user when running as root, since the
//! server refuses to run as root), trust authentication, a free port, `pg_ctl start`. A
//! watchdog stops it (`pg_ctl stop -m immediate`) and removes the directory when the
//! process ends, however it ends. Each test gets a database of its own on it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How to install the server, for the message of a test that cannot find one.
pub const INSTALL_HINT: &str = "install PostgreSQL (Debian: apt-get install -y postgresql), or set QUIVER_TEST_POSTGRES_URL=postgresql://user@127.0.0.1:port/postgres to a server the tests may create databases on";

/// A PostgreSQL server the tests may create databases on.
pub struct PgTestServer {
    /// URL of its `postgres` database (as a superuser).
    admin_url: String,
}

static SHARED: OnceLock<PgTestServer> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);
static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl PgTestServer {
    /// The server of this process: `QUIVER_TEST_POSTGRES_URL`'s, or one started now.
    ///
    /// # Panics
    /// When no server can be found or started: the message says how to install one.
    pub fn shared() -> &'static PgTestServer {
        SHARED.get_or_init(|| match std::env::var("QUIVER_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => PgTestServer { admin_url: url },
            _ => start(),
        })
    }

    /// A new, empty database named after `name` (and this process), and its URL.
    ///
    /// # Panics
    /// When the server refuses.
    pub fn database(&self, name: &str) -> String {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut db: String = format!("{name}_{}_{n}", std::process::id())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        db.truncate(63);
        let mut admin =
            postgres::Client::connect(&self.admin_url, postgres::NoTls).unwrap_or_else(|e| {
                panic!(
                    "cannot reach the test server {}: {e}\n{INSTALL_HINT}",
                    self.admin_url
                )
            });
        // CREATE DATABASE copies template1, which must have no other session meanwhile:
        // tests take turns here, and retry when another process's test is copying it.
        // (Each statement alone: neither runs inside a transaction block.)
        let _turn = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        for statement in [
            format!("DROP DATABASE IF EXISTS {db}"),
            format!("CREATE DATABASE {db}"),
        ] {
            let mut attempts = 0;
            loop {
                match admin.batch_execute(&statement) {
                    Ok(()) => break,
                    Err(e)
                        if attempts < 50
                            && e.code() == Some(&postgres::error::SqlState::OBJECT_IN_USE) =>
                    {
                        attempts += 1;
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    Err(e) => panic!(
                        "{statement}: {}",
                        e.as_db_error()
                            .map_or(e.to_string(), |d| d.message().to_string())
                    ),
                }
            }
        }
        self.url_of(&db)
    }

    /// The URL of database `db` on this server.
    pub fn url_of(&self, db: &str) -> String {
        match self.admin_url.rfind('/') {
            Some(slash) if slash > "postgresql://".len() => {
                let rest = &self.admin_url[slash + 1..];
                let query = rest.find('?').map_or("", |q| &rest[q..]);
                format!("{}/{db}{query}", &self.admin_url[..slash])
            }
            _ => format!("{}/{db}", self.admin_url),
        }
    }

    /// The URL of the server's `postgres` database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

/// The directory of `initdb`, `pg_ctl` and `postgres`: `QUIVER_PG_BIN`, else Debian's newest
/// `/usr/lib/postgresql/<version>/bin`, else wherever `initdb` is on the PATH.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("QUIVER_PG_BIN") {
        return Some(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
    })
}

/// Installs Debian's server package when this process may (as root, with apt-get), as
/// `.ci/run` does: a fresh machine's test run starts its own server.
fn install() {
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !apt(&["install", "-y", "postgresql"]) {
        apt(&["update"]);
        apt(&["install", "-y", "postgresql"]);
    }
}

fn start() -> PgTestServer {
    let bin = bin_dir()
        .or_else(|| {
            install();
            bin_dir()
        })
        .unwrap_or_else(|| {
            panic!("no PostgreSQL server binaries (initdb, pg_ctl) found; {INSTALL_HINT}")
        });
    let root = std::env::temp_dir().join(format!("quiver-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("a temporary directory for the test server");
    let data = root.join("data");
    let as_root = is_root();
    if as_root {
        run(
            Command::new("chown").arg("postgres:").arg(&root),
            "chown the test server's directory to postgres",
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1");
    let as_server_user = |program: &str| {
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join(program));
            c
        } else {
            Command::new(bin.join(program))
        };
        command.current_dir(&root);
        command
    };
    run(
        as_server_user("initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ])
            // A default collation other than C, so that key order is tested against one.
            .args(["--locale-provider=icu", "--icu-locale=en-US"]),
        "initdb",
    );
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=200",
        root.display()
    );
    run(
        as_server_user("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(root.join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]),
        "pg_ctl start",
    );
    watch(&bin, &data, &root, as_root);
    PgTestServer {
        admin_url: format!("postgresql://postgres@127.0.0.1:{port}/postgres"),
    }
}

/// Stops the server and removes its directory once this process has ended.
fn watch(bin: &Path, data: &Path, root: &Path, as_root: bool) {
    let stop = format!(
        "{}{} -D '{}' stop -m immediate",
        if as_root {
            "runuser -u postgres -- "
        } else {
            ""
        },
        bin.join("pg_ctl").display(),
        data.display()
    );
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{}'",
        root.display(),
        pid = std::process::id()
    );
    // Not waited for: it outlives this process, which is the point.
    #[allow(clippy::zombie_processes)]
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the test server's watchdog (setsid sh)");
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}; {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}
