//! A real S3 server for tests: moto (`moto[server]` from PyPI) on 127.0.0.1.
//!
//! With `QUIVER_TEST_S3_ENDPOINT` set (as `.ci/run` does, after starting one server for the
//! whole run), tests use that server. Otherwise each [`S3TestServer`] starts its own
//! `moto_server` on a free port and stops it, by its PID, when dropped; if moto is not
//! installed, it is installed first into `target/test-tools/moto` (a Python venv), once.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::io::{Read, Write};

/// The moto release the tests run against (also installed by `.ci/run`).
pub const MOTO_REQUIREMENT: &str = "moto[server]==5.2.5";
/// pyarrow, the external reader that shows backup files are plain Parquet, and reads
/// encrypted ones with the key (25 added explicit decryption keys; also installed by
/// `.ci/run`), with cryptography for unwrapping a backup's data key.
pub const PYARROW_REQUIREMENT: &str = "pyarrow==26.0.1";
/// See [`PYARROW_REQUIREMENT`].
pub const CRYPTOGRAPHY_REQUIREMENT: &str = "cryptography==50.0.2";

/// Credentials moto accepts (any will do; these are its documented test values).
const ACCESS_KEY: &str = "testing";
const SECRET_KEY: &str = "testing";
const REGION: &str = "us-east-1";

/// An S3 endpoint on 127.0.0.1, stopped when dropped if this process started it.
pub struct S3TestServer {
    endpoint: String,
    child: Option<Child>,
}

impl S3TestServer {
    /// The shared server named by `QUIVER_TEST_S3_ENDPOINT`, or a new moto server.
    ///
    /// # Panics
    /// When no server can be found, installed or started: the message says what to do.
    pub fn start() -> S3TestServer {
        if let Ok(endpoint) = std::env::var("QUIVER_TEST_S3_ENDPOINT") {
            return S3TestServer {
                endpoint,
                child: None,
            };
        }
        let program = moto_server();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port on 127.0.0.1");
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let server = S3TestServer {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:5000`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Creates bucket `name` (a new one per test keeps tests apart) and returns `s3://name`.
    ///
    /// # Panics
    /// When the server refuses.
    pub fn bucket(&self, name: &str) -> String {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("S3 test server reachable");
        write!(
            stream,
            "PUT /{name} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("request sent");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response read");
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "creating bucket {name}: {response}"
        );
        format!("s3://{name}")
    }

    /// The environment a `quiver` process needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
    }

    /// The same as S3 options for [`crate::Location::parse_with`].
    pub fn options(&self) -> Vec<(String, String)> {
        [
            ("endpoint", self.endpoint.clone()),
            ("region", REGION.into()),
            ("access_key_id", ACCESS_KEY.into()),
            ("secret_access_key", SECRET_KEY.into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `moto_server`: from `QUIVER_MOTO_SERVER`, or the tools venv.
fn moto_server() -> PathBuf {
    if let Some(path) = std::env::var_os("QUIVER_MOTO_SERVER") {
        return path.into();
    }
    tools_venv().join("bin/moto_server")
}

/// The Python of the test tools venv (with pyarrow), for tests that read backup files with
/// an external reader.
pub fn python() -> PathBuf {
    tools_venv().join("bin/python")
}

/// `target/test-tools/moto`: a Python venv with moto and pyarrow, installed now if missing.
fn tools_venv() -> PathBuf {
    let tools = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools");
    let venv = tools.join("moto");
    // The marker names what was installed: other requirements install again.
    let installed = venv.join(".installed");
    let requirements =
        format!("{MOTO_REQUIREMENT} {PYARROW_REQUIREMENT} {CRYPTOGRAPHY_REQUIREMENT}");
    let current = || std::fs::read_to_string(&installed).is_ok_and(|r| r.trim() == requirements);
    if current() {
        return venv;
    }
    std::fs::create_dir_all(&tools).expect("target/test-tools can be created");
    // Test binaries run at once: one installs, the others wait on the lock.
    let lock = std::fs::File::create(tools.join(".install.lock")).expect("install lock file");
    lock.lock().expect("install lock");
    if !current() {
        let run = |command: &mut Command| {
            let status = command.status();
            assert!(
                status.as_ref().is_ok_and(|s| s.success()),
                "installing the test tools failed ({status:?}): they need python3 with venv and \
                 pip, and PyPI; or run .ci/run, which installs them"
            );
        };
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv));
        run(Command::new(venv.join("bin/pip")).args([
            "install",
            "-q",
            MOTO_REQUIREMENT,
            PYARROW_REQUIREMENT,
            CRYPTOGRAPHY_REQUIREMENT,
        ]));
        std::fs::write(&installed, &requirements).expect("install marker");
    }
    venv
}
