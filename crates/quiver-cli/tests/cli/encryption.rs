//! Encrypted collections: every key kind through chains, export (file://, S3) and import;
//! no plaintext stored; tampering, wrong and missing keys refused; re-keying.

use std::os::unix::fs::PermissionsExt;

use quiver::catalog::{BackupManifest, SealedManifest};
use quiver_storage::Location;
use quiver_storage::test_server::S3TestServer;

use super::external::failed;
use super::*;

/// How a collection's key is given.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KeyKind {
    File,
    Environment,
    Passphrase,
}

/// A scratch database with an encrypted collection's key at hand.
struct Encrypted {
    s: Scratch,
    kind: KeyKind,
    key_file: PathBuf,
    env: Vec<(String, String)>,
}

/// A new key made by `quiver key generate`, into `path`.
fn generate_key(path: &Path, base64: bool) {
    let mut args = vec!["key", "generate"];
    if base64 {
        args.push("--base64");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(&args)
        .stdout(std::fs::File::create(path).unwrap())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a generated key file is its owner's only");
}

impl Encrypted {
    fn new(kind: KeyKind) -> Encrypted {
        let s = Scratch::new();
        let key_file = s.dir.path().join("orders.key");
        generate_key(&key_file, kind == KeyKind::Environment);
        let env = match kind {
            KeyKind::File => vec![],
            KeyKind::Environment => vec![(
                "QUIVER_ENCRYPTION_KEY".to_string(),
                std::fs::read_to_string(&key_file)
                    .unwrap()
                    .trim()
                    .to_string(),
            )],
            KeyKind::Passphrase => vec![(
                "QUIVER_PASSPHRASE".to_string(),
                "correct horse battery staple".to_string(),
            )],
        };
        assert_eq!(
            std::fs::read(&key_file).unwrap().len(),
            if kind == KeyKind::Environment { 45 } else { 32 }
        );
        Encrypted {
            s,
            kind,
            key_file,
            env,
        }
    }

    /// The WITH settings that encrypt a collection with this key.
    fn settings(&self) -> String {
        match self.kind {
            KeyKind::File => format!(
                "ENCRYPTION = 'aes-256-gcm', ENCRYPTION_KEY_FILE = '{}'",
                self.key_file.display()
            ),
            _ => "ENCRYPTION = 'aes-256-gcm'".to_string(),
        }
    }

    /// `quiver <args>` with this key's environment (and `extra`), and nothing else of the
    /// test's own environment's keys.
    fn run_with<S: AsRef<std::ffi::OsStr>>(&self, args: &[S], extra: &[(&str, String)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_quiver"));
        command
            .args(args)
            .env_remove("QUIVER_ENCRYPTION_KEY")
            .env_remove("QUIVER_PASSPHRASE")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null());
        command.output().unwrap()
    }

    /// `quiver --db app.db <sql>` that must succeed.
    fn ok(&self, sql: &str) -> String {
        let db = self.s.db();
        succeeded(self.run_with(&["--db", db.to_str().unwrap(), sql], &[]))
    }

    /// `quiver --db <name> --repo <this repo> <statement>` that must succeed.
    fn ok_elsewhere(&self, name: &str, statement: &str) -> Connection {
        succeeded(self.run_with(&self.s.elsewhere(name, statement), &[]));
        Connection::open(self.s.dir.path().join(name)).unwrap()
    }
}

/// Values, names and DDL of [`TYPED_TABLES`] that must never be stored in the clear.
const PLAINTEXT: &[&str] = &[
    "typed",
    "no_pk",
    "strict_t",
    "untyped",
    "CREATE",
    "PRIMARY KEY",
    "INTEGER",
    "ünïcödé",
    "way too long for five",
    "text in blob",
    "not a number",
    "after gap",
    "quote '' and",
    "2026-11-25 10:00:00",
    "changed",
    "brand new row",
];

/// Fails naming the file and the text if any byte string in `files` holds a plaintext value.
fn assert_no_plaintext(files: &[(String, Vec<u8>)]) {
    assert!(!files.is_empty());
    for (name, bytes) in files {
        for text in PLAINTEXT {
            let needle = text.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "`{text}` is stored in the clear in {name}"
            );
        }
    }
}

/// Every file under `root`, with its bytes.
fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut listed = Vec::new();
    list_files(root, root, &mut listed);
    listed
        .into_iter()
        .map(|(rel, _, _)| {
            let bytes = std::fs::read(root.join(&rel)).unwrap();
            (format!("{}/{rel}", root.display()), bytes)
        })
        .collect()
}

/// Every object at `url`, with its bytes.
fn objects_at(server: &S3TestServer, url: &str) -> Vec<(String, Vec<u8>)> {
    let location = Location::parse_with(url, &server.options()).unwrap();
    location
        .list()
        .unwrap()
        .into_keys()
        .map(|rel| {
            let bytes = location.read(&rel).unwrap().unwrap().to_vec();
            (format!("{url}/{rel}"), bytes)
        })
        .collect()
}

/// The typed tables backed up encrypted as a chain (full, incremental, incremental): the
/// backup ids with the database's state at each.
fn encrypted_chain(e: &Encrypted) -> Vec<(String, Vec<String>)> {
    e.ok(TYPED_TABLES);
    e.ok(&format!(
        "CREATE BACKUP COLLECTION everything ( TABLE typed, TABLE no_pk, TABLE kv, TABLE strict_t ) \
         WITH ( INCREMENTAL_BACKUP_ENABLED = 'true', {} )",
        e.settings()
    ));
    let mut states = vec![(backup_id(&e.ok("BACKUP everything")), e.s.fingerprint())];
    e.ok("UPDATE typed SET t = 'changed' WHERE id = 1; DELETE FROM kv WHERE tenant = 'b'; INSERT INTO no_pk VALUES ('brand new row', 9)");
    states.push((
        backup_id(&e.ok("BACKUP everything INCREMENTAL")),
        e.s.fingerprint(),
    ));
    e.ok("DELETE FROM typed WHERE id = 3; INSERT INTO strict_t VALUES (4, 4, 'four', NULL)");
    states.push((
        backup_id(&e.ok("BACKUP everything INCREMENTAL")),
        e.s.fingerprint(),
    ));
    states
}

#[test]
fn every_key_kind_round_trips_chains_exports_and_imports_and_stores_no_plaintext() {
    let server = S3TestServer::start();
    let bucket = server.bucket("encrypted");
    for kind in [KeyKind::File, KeyKind::Environment, KeyKind::Passphrase] {
        let e = Encrypted::new(kind);
        let states = encrypted_chain(&e);
        for (n, (id, expected)) in states.iter().enumerate() {
            let restored = e.ok_elsewhere(
                &format!("at{n}.db"),
                &format!("RESTORE everything AT '{id}'"),
            );
            assert_eq!(
                &fingerprint(&restored),
                expected,
                "{kind:?}: RESTORE AT {id}"
            );
        }
        // QUERY reads the encrypted files through DataFusion, filters pushed into the scan.
        let out = e.ok("QUERY SELECT id, t FROM everything.typed WHERE id = 2");
        assert_mentions(&out, &["ünïcödé", "(1 row)"]);
        let full = &states[0].0;
        let out = e.ok(&format!(
            "QUERY AT '{full}' SELECT count(*) AS n FROM everything.typed WHERE id >= 5"
        ));
        assert_mentions(&out, &["| 2 |"]);
        // Exported to file:// and S3, and imported back into new repositories.
        let dir = tempfile::tempdir().unwrap();
        let file_url = format!("file://{}/export", dir.path().display());
        let s3_url = format!("{bucket}/{kind:?}");
        let db = e.s.db();
        let s3_env: Vec<(&str, String)> = server.env();
        for url in [&file_url, &s3_url] {
            succeeded(e.run_with(
                &[
                    "--db",
                    db.to_str().unwrap(),
                    "export",
                    "everything",
                    "--to",
                    url,
                ],
                &s3_env,
            ));
            let t = Scratch::new();
            let t_db = t.db();
            succeeded(e.run_with(
                &[
                    "--db",
                    t_db.to_str().unwrap(),
                    "import",
                    "--from",
                    url,
                    "--as",
                    "everything",
                ],
                &s3_env,
            ));
            succeeded(e.run_with(&["--db", t_db.to_str().unwrap(), "RESTORE everything"], &[]));
            assert_eq!(
                t.fingerprint(),
                states[2].1,
                "{kind:?}: imported from {url}"
            );
            assert_no_plaintext(&files_under(&t.repo()));
        }
        // A failure that names the tables: the operations log does not keep its text.
        let out = failed(e.run_with(&["--db", db.to_str().unwrap(), "RESTORE everything"], &[]));
        assert_mentions(&out, &["typed"]);
        assert_mentions(
            &succeeded(e.run_with(&["--db", db.to_str().unwrap(), "log"], &[])),
            &["not kept"],
        );
        assert_no_plaintext(&files_under(&e.s.repo()));
        assert_no_plaintext(&files_under(&dir.path().join("export")));
        assert_no_plaintext(&objects_at(&server, &s3_url));
        // With the key, VERIFY checks everything.
        assert_mentions(
            &e.ok("VERIFY everything"),
            &["every size, crc32, manifest and chain link is sound"],
        );
    }
}

/// The manifest and data files of backup `id` of `everything`.
fn backup_files(e: &Encrypted, id: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = e.s.repo().join("collections/everything").join(id);
    let mut data: Vec<PathBuf> = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    data.sort();
    (dir.join("manifest.json"), data)
}

/// RESTORE of `at` into a new database is refused, naming `why`, and the database gets no table.
#[track_caller]
fn refused_restore(e: &Encrypted, at: &str, why: &[&str]) {
    let name = format!("refused{}.db", rand_suffix());
    let out = e.run_with(
        &e.s.elsewhere(&name, &format!("RESTORE everything AT '{at}'")),
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_mentions(&String::from_utf8_lossy(&out.stderr), why);
    let conn = Connection::open(e.s.dir.path().join(name)).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "a refused restore wrote nothing");
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `damage` on the files, checks that RESTORE AT `at` is refused naming `why`, then
/// puts every file back as it was.
#[track_caller]
fn refused_after(e: &Encrypted, at: &str, why: &[&str], damage: impl FnOnce()) {
    let saved = files_under(&e.s.repo().join("collections/everything"));
    damage();
    refused_restore(e, at, why);
    let root = e.s.repo().join("collections/everything");
    for (path, _) in files_under(&root) {
        if !saved.iter().any(|(saved, _)| *saved == path) {
            std::fs::remove_file(&path).unwrap();
        }
    }
    for (path, bytes) in saved {
        std::fs::write(&path, bytes).unwrap();
    }
}

#[test]
fn tampered_encrypted_backups_are_refused_by_cryptography_before_anything_is_restored() {
    let e = Encrypted::new(KeyKind::File);
    let states = encrypted_chain(&e);
    let ids: Vec<&str> = states.iter().map(|(id, _)| id.as_str()).collect();
    let (manifest0, data0) = backup_files(&e, ids[0]);
    let (manifest1, data1) = backup_files(&e, ids[1]);
    let (manifest2, _) = backup_files(&e, ids[2]);
    let flip = |path: &Path, at: usize| {
        let mut bytes = std::fs::read(path).unwrap();
        let at = at.min(bytes.len() - 1);
        bytes[at] ^= 0x01;
        std::fs::write(path, bytes).unwrap();
    };
    // A flipped byte anywhere in a data file.
    for at in [0, 100, usize::MAX] {
        refused_after(&e, ids[0], &["damaged"], || flip(&data0[0], at));
    }
    // A data file damaged with its crc32 and size "fixed" in the manifest's public part (as
    // anyone can): the manifest's AEAD no longer opens.
    refused_after(
        &e,
        ids[0],
        &["does not open with the collection's key"],
        || {
            flip(&data0[0], 200);
            let bytes = std::fs::read(&data0[0]).unwrap();
            let mut sealed = SealedManifest::decode(&std::fs::read(&manifest0).unwrap()).unwrap();
            let rel = format!("data/{}", data0[0].file_name().unwrap().to_string_lossy());
            let file = sealed.files.iter_mut().find(|f| f.path == rel).unwrap();
            file.crc32 = crc32(&bytes);
            std::fs::write(&manifest0, sealed.encode()).unwrap();
        },
    );
    // A flipped byte in a manifest: in its sealed contents, its wrapped key, its public part.
    for field in ["contents", "data_key"] {
        refused_after(&e, ids[0], &["manifest"], || {
            let mut sealed = SealedManifest::decode(&std::fs::read(&manifest0).unwrap()).unwrap();
            let text = match field {
                "contents" => &mut sealed.sealed.contents,
                _ => &mut sealed.sealed.data_key,
            };
            let middle = text.len() / 2;
            let replaced = if &text[middle..=middle] == "A" {
                "B"
            } else {
                "A"
            };
            text.replace_range(middle..=middle, replaced);
            std::fs::write(&manifest0, sealed.encode()).unwrap();
        });
    }
    refused_after(
        &e,
        ids[1],
        &["does not open with the collection's key"],
        || {
            let mut sealed = SealedManifest::decode(&std::fs::read(&manifest1).unwrap()).unwrap();
            sealed.created_at = "2020-01-01T00:00:00Z".into();
            std::fs::write(&manifest1, sealed.encode()).unwrap();
        },
    );
    for at in [10, 500] {
        refused_after(&e, ids[0], &["manifest"], || flip(&manifest0, at));
    }
    // A manifest swapped between two backups, as it is, and re-labelled with the other's id.
    refused_after(&e, ids[1], &["manifest"], || {
        std::fs::copy(&manifest2, &manifest1).unwrap();
    });
    refused_after(
        &e,
        ids[1],
        &["does not open with the collection's key"],
        || {
            let mut sealed = SealedManifest::decode(&std::fs::read(&manifest2).unwrap()).unwrap();
            sealed.id = ids[1].to_string();
            sealed.parent = Some(ids[0].to_string());
            std::fs::write(&manifest1, sealed.encode()).unwrap();
        },
    );
    // A data file swapped between two backups, and between two tables of one backup.
    refused_after(&e, ids[1], &["damaged"], || {
        std::fs::copy(&data0[0], &data1[0]).unwrap();
    });
    refused_after(&e, ids[0], &["damaged"], || {
        std::fs::copy(&data0[1], &data0[0]).unwrap();
    });
    // A plain manifest forged, dated after the collection turned encryption on or before
    // (a collection created encrypted has no plain backup at all); VERIFY names it too.
    for forged_id in ["20990101T000000.000Z_full", "20200101T000000.000Z_full"] {
        refused_after(&e, forged_id, &["not encrypted", "forged"], || {
            let forged = BackupManifest {
                id: forged_id.to_string(),
                kind: quiver::catalog::BackupKind::Full,
                parent: None,
                sealing: None,
                tables: vec![],
                ..SealedManifest::decode(&std::fs::read(&manifest0).unwrap())
                    .unwrap()
                    .public_view()
            };
            let dir = e.s.repo().join("collections/everything").join(forged_id);
            std::fs::create_dir_all(dir.join("data")).unwrap();
            std::fs::write(dir.join("manifest.json"), forged.encode()).unwrap();
            assert_mentions(
                &e.s.fails("VERIFY everything"),
                &["not encrypted", "forged"],
            );
        });
    }
    // A data file altered with its crc32 kept (crc32 is linear: four bytes make it match):
    // VERIFY with the key authenticates every page, and RESTORE refuses it.
    refused_after(&e, ids[0], &["does not decrypt and authenticate"], || {
        let original = std::fs::read(&data0[0]).unwrap();
        let mut altered = original.clone();
        altered[60] ^= 0xff;
        forge_crc32(&mut altered, 64, crc32(&original));
        assert_eq!(crc32(&altered), crc32(&original));
        std::fs::write(&data0[0], &altered).unwrap();
        assert_mentions(
            &e.s.fails("VERIFY everything"),
            &["does not decrypt and authenticate"],
        );
    });
    // After all that, with every file back as it was, every backup restores.
    for (n, (id, expected)) in states.iter().enumerate() {
        let restored = e.ok_elsewhere(
            &format!("after{n}.db"),
            &format!("RESTORE everything AT '{id}'"),
        );
        assert_eq!(&fingerprint(&restored), expected);
    }
}

/// Every statement that needs the key fails at once without it (or with another key),
/// naming where the key comes from, and writes nothing; VERIFY checks the ciphertext.
fn assert_key_refused(e: &Encrypted, extra: &[(&str, String)], why: &[&str]) {
    let before = e.s.repo_files();
    let db = e.s.db();
    let db = db.to_str().unwrap();
    let export = e.s.dir.path().join("export-without-key");
    let url = format!("file://{}", export.display());
    for args in [
        vec!["--db", db, "BACKUP everything"],
        vec!["--db", db, "BACKUP everything INCREMENTAL"],
        vec!["--db", db, "QUERY SELECT count(*) FROM everything.typed"],
        vec!["--db", db, "SHOW BACKUPS IN everything"],
        vec!["--db", db, "export", "everything", "--to", &url],
    ] {
        let out = failed(e.run_with(&args, extra));
        assert_mentions(&out, why);
        assert!(
            !out.contains("SecretKey(") && !out.contains("correct horse"),
            "{out}"
        );
    }
    let out = failed(e.run_with(&e.s.elsewhere("nokey.db", "RESTORE everything"), extra));
    assert_mentions(&out, why);
    let conn = Connection::open(e.s.dir.path().join("nokey.db")).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0);
    assert_eq!(e.s.repo_files(), before, "nothing was written");
    assert!(!export.exists());
    let out = succeeded(e.run_with(&["--db", db, "VERIFY everything"], extra));
    assert_mentions(
        &out,
        &[
            "CONTENTS NOT CHECKED",
            "every size, crc32 and chain link is sound",
        ],
    );
    let out = succeeded(e.run_with(&["--db", db, "verify", "everything"], extra));
    assert_mentions(&out, &["contents not checked"]);
}

#[test]
fn missing_and_wrong_keys_are_refused_at_once_and_rekey_retires_the_old_key() {
    // A key file: gone, then another key in its place.
    let e = Encrypted::new(KeyKind::File);
    encrypted_chain(&e);
    let key = std::fs::read(&e.key_file).unwrap();
    std::fs::remove_file(&e.key_file).unwrap();
    // The missing key is that collection's fault only: another goes on.
    e.ok("CREATE TABLE side_table (id INTEGER PRIMARY KEY); INSERT INTO side_table VALUES (7)");
    e.ok("CREATE BACKUP COLLECTION side ( TABLE side_table )");
    e.ok("BACKUP side");
    assert_mentions(&e.ok("QUERY SELECT id FROM side.side_table"), &["| 7 "]);
    assert_mentions(
        &e.ok("SHOW BACKUP COLLECTIONS"),
        &["side", "everything", "ENCRYPTION_KEY_FILE"],
    );
    assert_key_refused(
        &e,
        &[],
        &["is encrypted", "ENCRYPTION_KEY_FILE", "cannot be read"],
    );
    generate_key(&e.key_file, false);
    assert_key_refused(&e, &[], &["does not open it", "ENCRYPTION_KEY_FILE"]);
    std::fs::write(&e.key_file, &key).unwrap();
    // A key file others can read is refused.
    std::fs::set_permissions(&e.key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_mentions(&e.s.fails("BACKUP everything"), &["chmod 600"]);
    std::fs::set_permissions(&e.key_file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The environment's key and the passphrase: unset, then wrong.
    for kind in [KeyKind::Environment, KeyKind::Passphrase] {
        let mut e = Encrypted::new(kind);
        encrypted_chain(&e);
        let (variable, right) = e.env.pop().unwrap();
        assert_key_refused(&e, &[], &["is encrypted", &variable]);
        let wrong = match kind {
            KeyKind::Environment => {
                let other = e.s.dir.path().join("other.key");
                generate_key(&other, true);
                std::fs::read_to_string(other).unwrap().trim().to_string()
            }
            _ => "wrong horse".to_string(),
        };
        assert_key_refused(
            &e,
            &[(variable.as_str(), wrong)],
            &["does not open it", &variable],
        );
        e.env.push((variable, right));
        e.ok("BACKUP everything INCREMENTAL");
    }

    // Re-keying: the repository and the collection's external location.
    let e = Encrypted::new(KeyKind::File);
    let states = encrypted_chain(&e);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/offsite", dir.path().display());
    e.ok(&format!(
        "ALTER BACKUP COLLECTION everything SET (STORAGE = '{url}')"
    ));
    e.ok("BACKUP everything INCREMENTAL");
    let latest = e.s.fingerprint();
    let before: Vec<(String, u64, u32)> =
        e.s.repo_files()
            .into_iter()
            .filter(|(p, _, _)| p.ends_with(".parquet"))
            .collect();
    let old_key = std::fs::read(&e.key_file).unwrap();
    let new_key_file = e.s.dir.path().join("new.key");
    generate_key(&new_key_file, false);
    let db = e.s.db();
    let rekey = [
        "--db",
        db.to_str().unwrap(),
        "rekey",
        "everything",
        "--new-key-file",
        new_key_file.to_str().unwrap(),
    ];
    // The location not there (unmounted): refused, nothing changed.
    let offsite = dir.path().join("offsite");
    let away = dir.path().join("offsite-away");
    std::fs::rename(&offsite, &away).unwrap();
    let unchanged = e.s.repo_files();
    assert_mentions(
        &failed(e.run_with(&rekey, &[])),
        &["holds no collection definition", "nothing was re-keyed"],
    );
    assert_eq!(e.s.repo_files(), unchanged);
    std::fs::rename(&away, &offsite).unwrap();
    let manifests_before: Vec<(PathBuf, Vec<u8>)> =
        files_under(&e.s.repo().join("collections/everything"))
            .into_iter()
            .filter(|(path, _)| path.ends_with("manifest.json"))
            .map(|(path, bytes)| (PathBuf::from(path), bytes))
            .collect();
    // A re-keying killed before the definition switched, twice: the first run left a
    // manifest wrapped by both keys (new first); the old key must still open it, and the
    // next run must keep the old key's wrapping, not wrap the new key's twice.
    half_rekeyed(&manifests_before[1], &old_key, &new_key_file);
    let out = succeeded(e.run_with(&rekey, &[]));
    assert_mentions(
        &out,
        &[
            "rekey everything: 4 backup(s) in the repository and 4 at",
            "no data file was rewritten",
        ],
    );
    // A re-keying killed after the definition switched leaves manifests that the old key
    // still opens (their data key wrapped by both): running it again finishes it.
    let (old_master, new_master, id) = half_rekeyed(&manifests_before[0], &old_key, &new_key_file);
    // ... and, killed mid-write, a temporary manifest, which the next run clears away.
    let leftover = manifests_before[0]
        .0
        .with_file_name(".manifest.json.999.tmp");
    std::fs::write(&leftover, b"{").unwrap();
    let path = &manifests_before[0].0;
    assert!(BackupManifest::decode(&std::fs::read(path).unwrap(), &id, Some(&old_master)).is_ok());
    let out = succeeded(e.run_with(&rekey, &[]));
    assert_mentions(&out, &["rekey everything"]);
    let finished = std::fs::read(path).unwrap();
    assert!(
        BackupManifest::decode(&finished, &id, Some(&old_master)).is_err(),
        "the old key opens nothing"
    );
    assert!(BackupManifest::decode(&finished, &id, Some(&new_master)).is_ok());
    assert!(
        !leftover.exists(),
        "the killed run's temporary manifest is gone"
    );
    let after: Vec<(String, u64, u32)> =
        e.s.repo_files()
            .into_iter()
            .filter(|(p, _, _)| p.ends_with(".parquet"))
            .collect();
    assert_eq!(before, after, "no data file changed");
    for (n, (id, expected)) in states.iter().enumerate() {
        let restored = e.ok_elsewhere(
            &format!("rekeyed{n}.db"),
            &format!("RESTORE everything AT '{id}'"),
        );
        assert_eq!(&fingerprint(&restored), expected);
    }
    // The old key in the new key's place opens nothing, here or at the location.
    let new_key = std::fs::read(&new_key_file).unwrap();
    std::fs::write(&new_key_file, &old_key).unwrap();
    assert_mentions(&e.s.fails("BACKUP everything"), &["does not open it"]);
    let t = Scratch::new();
    let t_db = t.db();
    let old_b64 = base64_of(&old_key);
    let import = [
        "--db",
        t_db.to_str().unwrap(),
        "import",
        "--from",
        &url,
        "--as",
        "everything",
    ];
    let out = failed(e.run_with(&import, &[("QUIVER_ENCRYPTION_KEY", old_b64)]));
    assert_mentions(&out, &["cannot be opened", "nothing was imported"]);
    std::fs::write(&new_key_file, &new_key).unwrap();
    succeeded(e.run_with(&import, &[("QUIVER_ENCRYPTION_KEY", base64_of(&new_key))]));
    succeeded(e.run_with(
        &["--db", t_db.to_str().unwrap(), "RESTORE everything"],
        &[("QUIVER_ENCRYPTION_KEY", base64_of(&new_key))],
    ));
    assert_eq!(t.fingerprint(), latest);
    assert_mentions(
        &e.ok("VERIFY everything"),
        &["every size, crc32, manifest and chain link is sound"],
    );
}

/// Standard base64 of `bytes`.
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn changing_the_encryption_setting_starts_a_new_chain() {
    let e = Encrypted::new(KeyKind::File);
    e.ok(TYPED_TABLES);
    e.ok(TYPED_COLLECTION);
    let plain = backup_id(&e.ok("BACKUP everything"));
    let plain_state = e.s.fingerprint();
    e.ok(&format!(
        "ALTER BACKUP COLLECTION everything SET ({})",
        e.settings()
    ));
    // The plain backup it had then is pinned by its manifest's digest: another manifest
    // under its id (other rows, another time) is refused.
    let path = manifest_path(&e.s.repo(), "everything", &plain);
    let original = std::fs::read(&path).unwrap();
    let mut forged = BackupManifest::decode(&original, &plain, None).unwrap();
    forged.created_at = "2099-01-01T00:00:00Z".into();
    std::fs::write(&path, forged.encode()).unwrap();
    assert_mentions(
        &e.s.fails(&format!("RESTORE everything AT '{plain}'")),
        &["not encrypted", "forged"],
    );
    std::fs::write(&path, &original).unwrap();
    assert_mentions(
        &e.s.fails("BACKUP everything INCREMENTAL"),
        &[
            "never mixes encrypted and plain backups",
            "BACKUP everything",
        ],
    );
    e.ok("INSERT INTO typed (id, t) VALUES (100, 'brand new row')");
    e.ok("BACKUP everything");
    e.ok("UPDATE typed SET t = 'changed' WHERE id = 100");
    let encrypted = backup_id(&e.ok("BACKUP everything INCREMENTAL"));
    let encrypted_state = e.s.fingerprint();
    e.ok("ALTER BACKUP COLLECTION everything SET (ENCRYPTION = 'none')");
    assert_mentions(
        &e.s.fails("BACKUP everything INCREMENTAL"),
        &["never mixes"],
    );
    e.ok("BACKUP everything");
    // The older backups of either kind still restore: the key settings were kept.
    let restored = e.ok_elsewhere("plain.db", &format!("RESTORE everything AT '{plain}'"));
    assert_eq!(fingerprint(&restored), plain_state);
    let restored = e.ok_elsewhere(
        "encrypted.db",
        &format!("RESTORE everything AT '{encrypted}'"),
    );
    assert_eq!(fingerprint(&restored), encrypted_state);
}

#[test]
fn pyarrow_reads_an_encrypted_data_file_with_the_master_key_and_refuses_another() {
    let e = Encrypted::new(KeyKind::File);
    let states = encrypted_chain(&e);
    let (_, data) = backup_files(&e, &states[0].0);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/read_encrypted.py"
    );
    let read = |file: &Path, key: &Path| {
        Command::new(quiver_storage::test_server::python())
            .args([script, file.to_str().unwrap(), key.to_str().unwrap()])
            .output()
            .unwrap()
    };
    // Which file is strict_t's the manifest's sealed part alone says; the reader finds it.
    let rows: Vec<String> = data
        .iter()
        .map(|file| succeeded(read(file, &e.key_file)))
        .collect();
    let strict: Vec<serde_json::Value> = rows
        .iter()
        .find(|out| out.contains("\"s\": \"five\""))
        .unwrap_or_else(|| panic!("no file holds strict_t's rows: {rows:?}"))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let values: Vec<(i64, String)> = strict
        .iter()
        .map(|row| {
            (
                row["id"].as_i64().unwrap(),
                row["s"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [(1, "five".into()), (2, "two".into()), (3, String::new())]
    );
    let other = e.s.dir.path().join("other.key");
    generate_key(&other, false);
    let out = read(&data[0], &other);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &["does not open backup"],
    );
}

#[test]
fn compaction_and_prune_keep_an_encrypted_collection_encrypted() {
    let e = Encrypted::new(KeyKind::File);
    let states = encrypted_chain(&e);
    let out = e.ok("COMPACT everything");
    assert_mentions(&out, &["is now the full backup"]);
    let compacted = states[2].0.replace("_incremental", "_full");
    let (manifest, _) = backup_files(&e, &compacted);
    assert!(
        BackupManifest::is_sealed(&std::fs::read(manifest).unwrap()),
        "the compacted backup is encrypted as its chain was"
    );
    let restored = e.ok_elsewhere(
        "compacted.db",
        &format!("RESTORE everything AT '{compacted}'"),
    );
    assert_eq!(fingerprint(&restored), states[2].1);
    e.ok("ALTER BACKUP COLLECTION everything SET (KEEP_LAST = '1')");
    e.ok("PRUNE everything");
    let restored = e.ok_elsewhere("pruned.db", "RESTORE everything");
    assert_eq!(fingerprint(&restored), states[2].1);
    assert_mentions(
        &e.ok("VERIFY everything"),
        &["manifest and chain link is sound"],
    );
    assert_no_plaintext(&files_under(&e.s.repo()));
}

#[test]
fn query_pushdown_prunes_encrypted_row_groups_and_pages_by_their_statistics() {
    let e = Encrypted::new(KeyKind::File);
    e.ok("CREATE TABLE wide (id INTEGER PRIMARY KEY, v TEXT);
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
          INSERT INTO wide SELECT i, 'value ' || i FROM n");
    e.ok(&format!(
        "CREATE BACKUP COLLECTION big ( TABLE wide ) WITH ( {} )",
        e.settings()
    ));
    e.ok("BACKUP big");
    let out = e.ok("QUERY SELECT v FROM big.wide WHERE id = 150000");
    assert_mentions(&out, &["value 150000", "(1 row)"]);
    // The statistics and page index are decrypted and used: 1 of 4 row groups is read,
    // and of its pages only those that can hold the key.
    let plan = e.ok("QUERY EXPLAIN ANALYZE SELECT v FROM big.wide WHERE id = 150000");
    assert_mentions(
        &plan,
        &[
            "row_groups_pruned_statistics=4 total → 1 matched",
            "page_index_rows_pruned=65.54 K total → 24.58 K matched",
        ],
    );
}

/// Sets the four bytes of `bytes` at `at` so that the whole has crc32 `target`: crc32 is
/// affine over GF(2), so the 32 bits are solved for by Gaussian elimination.
fn forge_crc32(bytes: &mut [u8], at: usize, target: u32) {
    bytes[at..at + 4].copy_from_slice(&[0; 4]);
    let base = crc32(bytes);
    // The effect of each of the 32 bits on the crc (the constant part cancels out).
    let mut columns: Vec<(u32, u32)> = (0..32)
        .map(|bit| {
            let mut flipped = bytes.to_vec();
            flipped[at + bit / 8] ^= 1 << (bit % 8);
            (crc32(&flipped) ^ base, 1u32 << bit)
        })
        .collect();
    let mut want = base ^ target;
    let mut choice = 0u32;
    for row in 0..32 {
        let pivot = (row..32)
            .find(|&i| columns[i].0 >> row & 1 == 1)
            .expect("crc32's bits are independent");
        columns.swap(row, pivot);
        let (effect, bits) = columns[row];
        for (other, column) in columns.iter_mut().enumerate() {
            if other != row && column.0 >> row & 1 == 1 {
                column.0 ^= effect;
                column.1 ^= bits;
            }
        }
    }
    for (row, (_, bits)) in columns.iter().enumerate() {
        if want >> row & 1 == 1 {
            choice ^= bits;
            want ^= 1 << row;
        }
    }
    assert_eq!(want, 0);
    bytes[at..at + 4].copy_from_slice(&choice.to_le_bytes());
}

#[test]
fn a_plain_definition_forged_in_place_of_an_encrypted_one_opens_nothing_and_writes_nothing() {
    let e = Encrypted::new(KeyKind::File);
    let states = encrypted_chain(&e);
    let path = e.s.repo().join("collections/everything/collection.json");
    let keys = quiver::catalog::crypto::KeyEnvironment::default();
    let original = std::fs::read(&path).unwrap();
    let (def, _) = quiver::catalog::CollectionDef::decode(&original, &keys).unwrap();
    // Encryption "off", the key source kept so that the encrypted backups would still open.
    let mut forged = def.clone();
    forged.encryption.algorithm = quiver::catalog::crypto::Algorithm::None;
    forged.sealing = None;
    std::fs::write(&path, forged.encode().unwrap()).unwrap();
    let before = e.s.repo_files();
    for sql in [
        "BACKUP everything",
        "BACKUP everything INCREMENTAL",
        "RESTORE everything",
    ] {
        assert_mentions(&e.s.fails(sql), &["forged or altered definition"]);
    }
    let written: Vec<_> =
        e.s.repo_files()
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
    assert!(written.is_empty(), "nothing was written: {written:?}");
    // But for the forged definition itself, nothing holds a plaintext.
    let files: Vec<_> = files_under(&e.s.repo())
        .into_iter()
        .filter(|(path, _)| !path.ends_with("collection.json"))
        .collect();
    assert_no_plaintext(&files);
    // Turned off with the key (ALTER), the same backups open and new ones are plain.
    std::fs::write(&path, original).unwrap();
    e.ok("ALTER BACKUP COLLECTION everything SET (ENCRYPTION = 'none')");
    e.ok("BACKUP everything");
    let restored = e.ok_elsewhere(
        "first.db",
        &format!("RESTORE everything AT '{}'", states[0].0),
    );
    assert_eq!(fingerprint(&restored), states[0].1);
    // That genuine plain definition, put back after encryption was turned on again and an
    // encrypted backup taken, is refused: its record is older than that backup.
    let turned_off = std::fs::read(&path).unwrap();
    e.ok(&format!(
        "ALTER BACKUP COLLECTION everything SET ({})",
        e.settings()
    ));
    e.ok("BACKUP everything");
    let encrypted_again = std::fs::read(&path).unwrap();
    std::fs::write(&path, &turned_off).unwrap();
    let before = e.s.repo_files();
    assert_mentions(
        &e.s.fails("BACKUP everything"),
        &["forged or altered definition"],
    );
    assert_eq!(e.s.repo_files().len(), before.len(), "nothing was written");
    std::fs::write(&path, &encrypted_again).unwrap();
    // A collection turned off and re-keyed still opens its encrypted backups.
    e.ok("ALTER BACKUP COLLECTION everything SET (ENCRYPTION = 'none')");
    let new_key = e.s.dir.path().join("next.key");
    generate_key(&new_key, false);
    let db = e.s.db();
    succeeded(e.run_with(
        &[
            "--db",
            db.to_str().unwrap(),
            "rekey",
            "everything",
            "--new-key-file",
            new_key.to_str().unwrap(),
        ],
        &[],
    ));
    e.ok("BACKUP everything");
    let restored = e.ok_elsewhere(
        "after-rekey.db",
        &format!("RESTORE everything AT '{}'", states[2].0),
    );
    assert_eq!(fingerprint(&restored), states[2].1);
}

#[test]
fn key_files_are_regular_files_named_absolutely() {
    let e = Encrypted::new(KeyKind::File);
    e.ok("CREATE TABLE t (id INTEGER PRIMARY KEY)");
    let fifo = e.s.dir.path().join("key.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let start = std::time::Instant::now();
    let err = e.s.fails(&format!(
        "CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( ENCRYPTION = 'aes-256-gcm', ENCRYPTION_KEY_FILE = '{}' )",
        fifo.display()
    ));
    assert_mentions(&err, &["is not a file"]);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "a FIFO is not waited on"
    );
    // A relative path is made absolute, so a scheduler started elsewhere finds the key.
    let db = e.s.db();
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .current_dir(e.s.dir.path())
        .args([
            "--db",
            db.to_str().unwrap(),
            "CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( ENCRYPTION = 'aes-256-gcm', ENCRYPTION_KEY_FILE = 'orders.key' )",
        ])
        .output()
        .unwrap();
    succeeded(out);
    e.ok("BACKUP c");
    let def = std::fs::read_to_string(e.s.repo().join("collections/c/collection.json")).unwrap();
    assert_mentions(&def, &[&e.key_file.display().to_string()]);
}

/// Puts the manifest `(path, bytes)` (as it was under `old_key`) in the state a re-keying to
/// the key in `new_key_file` leaves it half-way: its data key wrapped by both keys, the new
/// first. Returns both keys and the backup's id.
fn half_rekeyed(
    (path, bytes): &(PathBuf, Vec<u8>),
    old_key: &[u8],
    new_key_file: &Path,
) -> (
    quiver::catalog::crypto::SecretKey,
    quiver::catalog::crypto::SecretKey,
    String,
) {
    let key =
        |bytes: &[u8]| quiver::catalog::crypto::SecretKey::from_bytes(bytes.try_into().unwrap());
    let (old_master, new_master) = (key(old_key), key(&std::fs::read(new_key_file).unwrap()));
    let id = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let old = BackupManifest::decode(bytes, &id, Some(&old_master)).unwrap();
    let collection_id = old.collection_id.clone().unwrap();
    let sealing = old
        .sealing
        .as_ref()
        .unwrap()
        .rewrapped(&new_master, &collection_id, &id);
    let half = BackupManifest {
        sealing: Some(sealing),
        ..old
    };
    std::fs::write(path, half.encode()).unwrap();
    (old_master, new_master, id)
}

/// Collection `everything` stored at a `file://` location (in the directory returned), not
/// encrypted, with one backup: its id and the state it holds.
fn plain_backup_offsite() -> (Encrypted, tempfile::TempDir, String, String, Vec<String>) {
    let e = Encrypted::new(KeyKind::File);
    e.ok(TYPED_TABLES);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/offsite", dir.path().display());
    e.ok(&format!(
        "CREATE BACKUP COLLECTION everything ( TABLE typed, TABLE no_pk, TABLE kv, TABLE strict_t ) WITH ( STORAGE = '{url}' )"
    ));
    let plain = backup_id(&e.ok("BACKUP everything"));
    let plain_state = e.s.fingerprint();
    (e, dir, url, plain, plain_state)
}

#[test]
fn plain_backups_kept_only_at_the_external_location_stay_accepted_once_encrypted() {
    let (e, _dir, url, plain, plain_state) = plain_backup_offsite();
    // The repository loses its copy (rebuilt, say); the location keeps it.
    std::fs::remove_dir_all(e.s.repo().join("collections/everything").join(&plain)).unwrap();
    e.ok(&format!(
        "ALTER BACKUP COLLECTION everything SET ({})",
        e.settings()
    ));
    e.ok("BACKUP everything");
    let restored = e.ok_elsewhere("plain.db", &format!("RESTORE everything AT '{plain}'"));
    assert_eq!(fingerprint(&restored), plain_state);
    succeeded(e.run_with(&["verify", &url], &[]));
}

/// Alters bytes of the first page of the data file at `path` (not its footer, which every
/// reader checks), its size and crc32 kept.
fn alter_keeping_crc32(path: &Path) {
    let original = std::fs::read(path).unwrap();
    let mut altered = original.clone();
    altered[8] ^= 0x20;
    forge_crc32(&mut altered, 9, crc32(&original));
    std::fs::write(path, &altered).unwrap();
}

/// A plain backup taken before encryption was turned on is pinned file by file: a data
/// file altered since, its crc32 made to match, is refused by RESTORE, QUERY, VERIFY,
/// export and import, in the repository and at the external location; a damaged plain
/// backup refuses turning encryption on.
#[test]
fn plain_backups_are_pinned_by_every_data_files_sha256_when_encryption_is_turned_on() {
    let (e, dir, url, plain, plain_state) = plain_backup_offsite();
    // Damaged before: encryption is not turned on (its pin would pin the damage).
    let (_, data) = backup_files(&e, &plain);
    let original = std::fs::read(&data[0]).unwrap();
    std::fs::write(&data[0], b"not what was backed up").unwrap();
    assert_mentions(
        &e.s.fails(&format!(
            "ALTER BACKUP COLLECTION everything SET ({})",
            e.settings()
        )),
        &[
            "encryption was not turned on",
            "does not match its manifest",
        ],
    );
    std::fs::write(&data[0], &original).unwrap();
    e.ok(&format!(
        "ALTER BACKUP COLLECTION everything SET ({})",
        e.settings()
    ));
    // The next backup (encrypted) also puts the sealed definition, with its pins, at the
    // location.
    e.ok("BACKUP everything");
    let db = e.s.db();
    let db = db.to_str().unwrap();
    let why = ["SHA-256", "pinned"];
    // In the repository.
    refused_after(&e, &plain, &why, || {
        alter_keeping_crc32(&data[0]);
        assert_mentions(&e.s.fails("VERIFY everything"), &why);
        let name = data[0].file_name().unwrap().to_str().unwrap();
        let table = name.split('.').next().unwrap();
        assert_mentions(
            &e.s.fails(&format!(
                "QUERY AT '{plain}' SELECT * FROM everything.{table}"
            )),
            &why,
        );
        let export = format!("file://{}/export", dir.path().display());
        assert_mentions(
            &failed(e.run_with(&["--db", db, "export", "everything", "--to", &export], &[])),
            &why,
        );
    });
    // A plain definition forged in place of the encrypted one (everything in it is
    // public), which would drop the pins: nothing opens under it, pinned backups neither.
    let definition = e.s.repo().join("collections/everything/collection.json");
    let genuine = std::fs::read(&definition).unwrap();
    let (def, _) = quiver::catalog::CollectionDef::decode(
        &genuine,
        &quiver::catalog::crypto::KeyEnvironment::default(),
    )
    .unwrap();
    let mut forged = def.clone();
    forged.encryption.algorithm = quiver::catalog::crypto::Algorithm::None;
    forged.encryption.plain_backups.clear();
    forged.encryption.since = None;
    forged.sealing = None;
    let mut keyless = forged.clone();
    keyless.encryption.key = None;
    for (forged, why) in [
        (forged, "forged or altered definition"),
        (keyless, "has encrypted backups but names no key"),
    ] {
        refused_after(&e, &plain, &[why], || {
            alter_keeping_crc32(&data[0]);
            std::fs::write(&definition, forged.encode().unwrap()).unwrap();
            assert_mentions(
                &e.s.fails(&format!("VERIFY everything AT '{plain}'")),
                &[why],
            );
        });
    }
    // At the external location, the repository's copy gone: RESTORE fetches it from there.
    let local = e.s.repo().join("collections/everything").join(&plain);
    let saved = files_under(&local);
    std::fs::remove_dir_all(&local).unwrap();
    let offsite = dir.path().join("offsite").join(&plain).join("data");
    let offsite_file = std::fs::read_dir(&offsite)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let offsite_original = std::fs::read(&offsite_file).unwrap();
    alter_keeping_crc32(&offsite_file);
    refused_restore(&e, &plain, &why);
    assert_mentions(&failed(e.run_with(&["verify", &url], &[])), &why);
    std::fs::write(&offsite_file, &offsite_original).unwrap();
    for (path, bytes) in saved {
        std::fs::create_dir_all(Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let restored = e.ok_elsewhere("plain.db", &format!("RESTORE everything AT '{plain}'"));
    assert_eq!(fingerprint(&restored), plain_state);
    succeeded(e.run_with(&["verify", &url], &[]));
}

/// Every byte of an encrypted data file is authenticated before RESTORE commits anything:
/// the file altered at any place, its crc32 kept, is refused, even in the row hashes that
/// a restore does not read (they were accepted), and the target gets no table.
#[test]
fn an_encrypted_data_file_altered_anywhere_with_its_crc32_kept_is_refused_by_restore() {
    let e = Encrypted::new(KeyKind::File);
    e.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
          INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, NULL)");
    e.ok(&format!(
        "CREATE BACKUP COLLECTION everything ( TABLE t ) WITH ( {} )",
        e.settings()
    ));
    let id = backup_id(&e.ok("BACKUP everything"));
    let (_, data) = backup_files(&e, &id);
    let original = std::fs::read(&data[0]).unwrap();
    let end = original.len() - 8;
    let mut accepted = Vec::new();
    for at in (0..end).step_by(7) {
        let mut altered = original.clone();
        altered[at] ^= 0x01;
        let fix = if at + 5 <= end { at + 1 } else { at - 4 };
        forge_crc32(&mut altered, fix, crc32(&original));
        std::fs::write(&data[0], &altered).unwrap();
        let name = format!("altered{at}.db");
        let out = e.run_with(&e.s.elsewhere(&name, "RESTORE everything"), &[]);
        let conn = Connection::open(e.s.dir.path().join(&name)).unwrap();
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .unwrap();
        if out.status.success() || tables != 0 {
            accepted.push(at);
        }
    }
    std::fs::write(&data[0], &original).unwrap();
    assert!(
        accepted.is_empty(),
        "RESTORE accepted the file altered at {accepted:?} of {} bytes",
        original.len()
    );
    e.ok_elsewhere("unaltered.db", "RESTORE everything");
}

/// Without the key, VERIFY still checks that each manifest's public part names the
/// collection its definition does (a manifest of another collection, or one altered so).
#[test]
fn verify_without_the_key_refuses_a_manifest_whose_public_part_names_another_collection() {
    let e = Encrypted::new(KeyKind::File);
    let states = encrypted_chain(&e);
    let (manifest, _) = backup_files(&e, &states[0].0);
    let mut sealed = SealedManifest::decode(&std::fs::read(&manifest).unwrap()).unwrap();
    sealed.collection_id = "11111111-2222-3333-4444-555555555555".into();
    std::fs::write(&manifest, sealed.encode()).unwrap();
    std::fs::rename(&e.key_file, e.key_file.with_extension("away")).unwrap();
    let db = e.s.db();
    let out = failed(e.run_with(&["--db", db.to_str().unwrap(), "VERIFY everything"], &[]));
    assert_mentions(&out, &["names collection", "another collection"]);
}
