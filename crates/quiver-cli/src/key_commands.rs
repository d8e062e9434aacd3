//! `quiver key generate` and `quiver rekey`: master keys of encrypted collections.

use std::io::{IsTerminal, Write};

use quiver::catalog::Repository;
use quiver::catalog::crypto::SecretKey;

use crate::repo_commands::render;

/// `quiver key generate [--base64]`: 32 random bytes on standard output, which must not
/// be a terminal (a key shown on screen is a key leaked). When it is a file, the file is
/// made readable by its owner only (mode 0600), as `ENCRYPTION_KEY_FILE` requires.
pub(crate) fn generate(base64: bool) -> Result<(), String> {
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        return Err("error: quiver key generate writes a secret key: send it to a file, e.g. `quiver key generate > orders.key`, not to the terminal\n".into());
    }
    restrict_to_owner(&stdout)?;
    let key = SecretKey::generate();
    let mut out = stdout.lock();
    let written = if base64 {
        writeln!(out, "{}", key.to_base64())
    } else {
        out.write_all(key.bytes())
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| format!("error: writing the key: {e}\n"))
}

/// Makes standard output, when it is a regular file, readable and writable by its owner only.
fn restrict_to_owner(stdout: &std::io::Stdout) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let fd = stdout.as_raw_fd();
    // SAFETY: fstat and fchmod on our own open descriptor, with a zeroed stat to fill.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return Ok(());
    }
    if stat.st_mode & libc::S_IFMT == libc::S_IFREG && unsafe { libc::fchmod(fd, 0o600) } != 0 {
        return Err(format!(
            "error: cannot make the key file readable by its owner only: {}\n",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// `quiver rekey <collection> --new-key-file F`.
pub(crate) fn rekey(repo: &Repository, collection: &str, new_key_file: &str) -> Result<(), String> {
    let done = quiver::rekeying::rekey(repo, collection, new_key_file).map_err(|e| render(&e))?;
    outln!(
        "rekey {}: {} backup(s) in the repository{} now open with key {} from {new_key_file}; the old key no longer opens the collection (no data file was rewritten)",
        done.collection,
        done.backups,
        match &done.external {
            Some((url, n)) => format!(" and {n} at {url}"),
            None => String::new(),
        },
        done.fingerprint
    );
    Ok(())
}
