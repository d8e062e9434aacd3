//! A collection's lifecycle (issue 14): retention rules, pins and PRUNE.

use super::*;

#[test]
fn prune_keeps_what_the_rules_and_pins_say_and_never_breaks_a_chain() {
    let s = Scratch::new();
    s.ok("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true', KEEP_LAST = '2' )");
    let first = backup_id(&s.ok("BACKUP c"));
    s.ok("INSERT INTO t VALUES (2, 'b')");
    let second = backup_id(&s.ok("BACKUP c"));
    s.ok("INSERT INTO t VALUES (3, 'c')");
    let third = backup_id(&s.ok("BACKUP c INCREMENTAL"));
    s.ok("INSERT INTO t VALUES (4, 'd')");
    let fourth = backup_id(&s.ok("BACKUP c INCREMENTAL"));

    // Pins must name a backup of the collection.
    let err = s.fails("ALTER BACKUP COLLECTION c PIN '20200101T000000.000Z_full'");
    assert_mentions(&err, &["has no backup `20200101T000000.000Z_full`"]);
    s.ok(&format!("ALTER BACKUP COLLECTION c PIN '{first}'"));

    // A dry run lists, removes nothing. KEEP_LAST = 2 keeps the two incrementals, and so
    // the full backup they build on; the pin keeps the first.
    let files = s.repo_files();
    let out = succeeded(s.quiver(&["prune", "c", "--dry-run"]));
    assert_mentions(
        &out,
        &[
            "PRUNE c: would remove 0 of 4 backup(s)",
            "(KEEP_LAST = '2')",
            &format!("keep   {fourth}: KEEP_LAST"),
            &format!("keep   {second}: backup {third} builds on it"),
            &format!("keep   {first}: pinned"),
        ],
    );
    assert_eq!(s.repo_files(), files);

    // Unpinned, the first backup goes; every other still restores.
    s.ok(&format!("ALTER BACKUP COLLECTION c UNPIN '{first}'"));
    let err = s.fails(&format!("ALTER BACKUP COLLECTION c UNPIN '{first}'"));
    assert_mentions(&err, &["is not pinned"]);
    let out = s.ok("PRUNE c DRY RUN");
    assert_mentions(
        &out,
        &["would remove 1 of 4", &format!("would remove {first}")],
    );
    let report: serde_json::Value =
        serde_json::from_str(&succeeded(s.quiver(&["prune", "c", "--json"]))).unwrap();
    assert_eq!(report["dry_run"], false);
    let gone: Vec<&str> = report["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kept"] == false)
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(gone, [first.as_str()]);
    let (remaining, incomplete) = committed_backups(&s.repo(), "c");
    assert_eq!(remaining, [second.clone(), third.clone(), fourth.clone()]);
    assert_eq!(incomplete, 0, "nothing is left of the removed backup");
    assert!(succeeded(s.quiver(&["verify", "c"])).contains("3 backup(s)"));
    let err = s.fails(&format!("RESTORE c AT '{first}'"));
    assert_mentions(&err, &["has no backup"]);
    for id in [&second, &third, &fourth] {
        let restored = s.restore_elsewhere(&format!("{id}.db"), &format!("RESTORE c AT '{id}'"));
        assert!(!fingerprint(&restored).is_empty());
    }

    // Rules can be reset: with none, everything is kept.
    s.ok("ALTER BACKUP COLLECTION c RESET (KEEP_LAST)");
    let out = s.ok("PRUNE c");
    assert_mentions(&out, &["removed 0 of 3", "no KEEP_… setting"]);
}

#[test]
fn prune_of_a_collection_with_a_damaged_backup_removes_nothing() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( KEEP_LAST = '1' );
          BACKUP c; BACKUP c; BACKUP c",
    );
    let (ids, _) = committed_backups(&s.repo(), "c");
    std::fs::write(manifest_path(&s.repo(), "c", &ids[1]), b"{ not json").unwrap();
    let files = s.repo_files();
    let out = s.quiver(&["prune", "c"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_mentions(
        &err,
        &["was not pruned (nothing was removed)", &ids[1], "VERIFY c"],
    );
    assert_eq!(s.repo_files(), files);
}

#[test]
fn schedule_run_takes_what_is_due_logs_each_run_and_stops_cleanly_on_sigterm() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE TABLE u (id INTEGER PRIMARY KEY);
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true',
              BACKUP_SCHEDULE = 'every 15m', KEEP_LAST = '5' );
          CREATE BACKUP COLLECTION manual ( TABLE u )",
    );
    // Never backed up: due at once, a full backup; nothing more is due right after.
    let out = succeeded(s.quiver(&["schedule", "run", "--once", "--json"]));
    let entries: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2, "{out}");
    assert_eq!(entries[0]["collection"], "c");
    assert_eq!(entries[0]["kind"], "backup");
    assert_eq!(entries[0]["result"], "ok");
    assert_eq!(entries[0]["trigger"], "schedule");
    assert_eq!(entries[0]["rows"], 1);
    assert!(
        entries[0]["detail"]
            .as_str()
            .unwrap()
            .contains("has no readable full backup yet")
    );
    assert_eq!(entries[1]["kind"], "prune");
    let out = s.quiver(&["schedule", "run", "--once"]);
    assert!(succeeded_stderr(out).contains("nothing is due"));

    // SHOW SCHEDULES and `schedule show` list the scheduled collection only.
    let shown = s.ok("SHOW SCHEDULES");
    assert_mentions(
        &shown,
        &[
            "every 15m",
            "0 0 * * * (default)",
            "UTC",
            "incremental",
            "ok",
        ],
    );
    assert!(!shown.contains("manual"), "{shown}");
    let json = succeeded(s.quiver(&["schedule", "show", "--json"]));
    let statuses: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(statuses[0]["collection"], "c");
    assert_eq!(statuses[0]["due"], false);

    // Statements are logged too; SHOW OPERATIONS and `quiver log` list them in order.
    s.ok("BACKUP manual");
    s.fails("BACKUP manual INCREMENTAL");
    let log = succeeded(s.quiver(&["log"]));
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "{log}");
    assert_mentions(
        lines[0],
        &[" backup c ok ", "(scheduled)", "_full, 1 row(s)"],
    );
    assert_mentions(lines[2], &[" backup manual ok "]);
    assert_mentions(
        lines[3],
        &[" backup manual failed ", "Incremental backup is disabled"],
    );
    // A restore logs the rows it restored and the bytes of the chain it read.
    s.ok("DROP TABLE t; RESTORE c");
    let json = succeeded(s.quiver(&["log", "c", "--json"]));
    let restore: serde_json::Value = serde_json::from_str(json.lines().last().unwrap()).unwrap();
    assert_eq!(restore["kind"], "restore");
    assert_eq!(restore["rows"], 1);
    assert!(restore["bytes"].as_u64().unwrap() > 0, "{restore}");
    let shown = s.ok("SHOW OPERATIONS IN manual");
    assert_mentions(
        &shown,
        &["statement", "failed", "Incremental backup is disabled"],
    );
    assert!(!shown.contains("schedule"), "{shown}");

    // In the foreground: SIGTERM lets it finish, and it exits 0.
    let db = s.db();
    let child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["--db", db.to_str().unwrap(), "schedule", "run"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_mentions(
        &err,
        &["1 scheduled collection(s)", "quiver schedule: stopped"],
    );
}

/// The standard error of a command that must succeed.
#[track_caller]
fn succeeded_stderr(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn killed_compactions_leave_every_visible_backup_restorable_and_a_rerun_finishes() {
    let s = Scratch::new();
    s.ok("CREATE TABLE big (id INTEGER PRIMARY KEY, t TEXT, r REAL);
          WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40000)
          INSERT INTO big SELECT i, 'row ' || i, i / 7.0 FROM n;
          CREATE BACKUP COLLECTION c ( TABLE big ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )");
    // Each backup's state, by its time: compaction changes an id's kind, never its time.
    let stamp = |id: &str| id.split('_').next().unwrap().to_string();
    let mut states = std::collections::HashMap::new();
    let mut middle = None;
    s.ok("BACKUP c");
    for round in 0..5 {
        s.ok(&format!(
            "UPDATE big SET t = 'round {round}' WHERE id % 50 = {round};
             DELETE FROM big WHERE id % 97 = {round}; INSERT INTO big VALUES ({}, 'new', 0)",
            100_000 + round
        ));
        let id = backup_id(&s.ok("BACKUP c INCREMENTAL"));
        states.insert(stamp(&id), s.fingerprint());
        if round == 2 {
            middle = Some(id);
        }
    }
    let middle = middle.unwrap();
    let started = std::time::Instant::now();
    let db = s.db();
    let args = |at: &str| {
        vec![
            "--db".to_string(),
            db.to_string_lossy().into_owned(),
            "compact".into(),
            "c".into(),
            "--at".into(),
            at.to_string(),
        ]
    };
    let out = quiver(&args(&middle));
    let time = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = |when: &str| {
        let (committed, _) = committed_backups(&s.repo(), "c");
        for (n, id) in committed.iter().enumerate() {
            let Some(expected) = states.get(&stamp(id)) else {
                continue; // the first full backup
            };
            let conn =
                s.restore_elsewhere(&format!("{when}-{n}.db"), &format!("RESTORE c AT '{id}'"));
            assert_eq!(&fingerprint(&conn), expected, "{when}: backup {id}");
        }
        committed
    };
    check("after");
    // Kill compactions of the latest backup at points over its run time.
    let latest = committed_backups(&s.repo(), "c").0.pop().unwrap();
    assert!(latest.ends_with("_incremental"));
    let mut interrupted = 0;
    for step in 0..10u32 {
        if !s
            .repo()
            .join("collections/c")
            .join(&latest)
            .join("manifest.json")
            .exists()
        {
            break;
        }
        kill_after(&args(&latest), time * step / 8);
        let full = s
            .repo()
            .join("collections/c")
            .join(latest.replace("_incremental", "_full"));
        if full.exists() && s.repo().join("collections/c").join(&latest).exists() {
            interrupted += 1;
        }
        check(&format!("kill{step}"));
    }
    assert!(interrupted > 0, "no kill hit a compaction at work");
    if s.repo()
        .join("collections/c")
        .join(&latest)
        .join("manifest.json")
        .exists()
    {
        succeeded(quiver(&args(&latest)));
    }
    let committed = check("final");
    assert!(
        committed.last().unwrap().ends_with("_full"),
        "{committed:?}"
    );
    // A rerun says where the compacted backup went.
    let out = quiver(&args(&latest));
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &["was compacted into"],
    );
    assert_verifies_but_for_one_interrupted_backup(&s, "c", 0);
}

#[test]
fn changes_over_a_schema_change_say_where_the_new_chain_starts() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
          CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( INCREMENTAL_BACKUP_ENABLED = 'true' )",
    );
    s.ok("BACKUP c");
    s.ok("INSERT INTO t VALUES (2, 'b')");
    let before = backup_id(&s.ok("BACKUP c INCREMENTAL"));
    s.ok("ALTER TABLE t ADD COLUMN w INTEGER");
    let full = backup_id(&s.ok("BACKUP c INCREMENTAL"));
    assert!(full.ends_with("_full"));
    s.ok("INSERT INTO t VALUES (3, 'c', 1)");
    let latest = backup_id(&s.ok("BACKUP c INCREMENTAL"));
    let err = s.fails(&format!(
        "QUERY SELECT * FROM changes('c', 't', '{before}')"
    ));
    assert_mentions(
        &err,
        &[
            "spans two chains",
            &format!("starts at the full backup `{full}`, after `{before}`"),
            "column `w` was added",
            &format!("changes('c', 't', '{full}', '{latest}')"),
        ],
    );
    // What it suggests works.
    let out = s.ok(&format!(
        "QUERY SELECT id FROM changes('c', 't', '{full}', '{latest}')"
    ));
    assert!(out.contains('3'), "{out}");
    // A compacted id says what replaced it.
    s.ok("INSERT INTO t VALUES (4, 'd', 2)");
    let top = backup_id(&s.ok("BACKUP c INCREMENTAL"));
    s.ok("COMPACT c");
    let replaced = top.replace("_incremental", "_full");
    let err = s.fails(&format!("QUERY SELECT * FROM changes('c', 't', '{top}')"));
    assert_mentions(
        &err,
        &[&format!("was compacted into the full backup `{replaced}`")],
    );
    let err = s.fails(&format!("QUERY SELECT * FROM backup_at('c', 't', '{top}')"));
    assert_mentions(&err, &[&format!("use `{replaced}`")]);
}

#[test]
fn prune_applies_the_same_rules_to_external_storage() {
    let s = Scratch::new();
    let remote = s.dir.path().join("offsite");
    let url = format!("file://{}", remote.display());
    s.ok(&format!(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');
         CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( STORAGE = '{url}', INCREMENTAL_BACKUP_ENABLED = 'true', KEEP_LAST = '2' )"
    ));
    let mut ids = Vec::new();
    for i in 0..4 {
        s.ok(&format!("INSERT INTO t VALUES ({}, 'x')", i + 10));
        let statement = if i == 2 {
            "BACKUP c INCREMENTAL"
        } else {
            "BACKUP c"
        };
        ids.push(backup_id(&s.ok(statement)));
    }
    let at_remote = || {
        let mut ids: Vec<String> = std::fs::read_dir(&remote)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| remote.join(n).join("manifest.json").exists())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(at_remote(), ids);
    let dry = succeeded(s.quiver(&["prune", "c", "--dry-run"]));
    assert_mentions(&dry, &["would remove 1 of 4", "would remove 1 backup(s)"]);
    assert_eq!(at_remote(), ids);
    // KEEP_LAST = 2 keeps the last two, and the full backup the incremental builds on.
    let out = succeeded(s.quiver(&["prune", "c"]));
    assert_mentions(
        &out,
        &["removed 1 of 4", &format!("at {url}: removed 1 backup(s)")],
    );
    assert_eq!(at_remote(), ids[1..]);
    let mut left = Vec::new();
    list_files(&remote.join(&ids[0]), &remote.join(&ids[0]), &mut left);
    assert!(left.is_empty(), "{left:?}");
    // A damaged manifest there stops the prune there only, with a warning.
    s.ok("BACKUP c");
    std::fs::write(remote.join(&ids[3]).join("manifest.json"), b"{").unwrap();
    let out = succeeded(s.quiver(&["prune", "c"]));
    assert_mentions(
        &out,
        &["removed 2 of 4", "were not pruned", "cannot be read"],
    );
    assert_eq!(at_remote().len(), 4);
}

#[test]
fn schedule_run_once_exits_1_when_a_run_failed_and_log_lines_cannot_forge_output() {
    let s = Scratch::new();
    s.ok(
        "CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE TABLE u (id INTEGER PRIMARY KEY);
          CREATE BACKUP COLLECTION good ( TABLE t ) WITH ( BACKUP_SCHEDULE = '@hourly' );
          CREATE BACKUP COLLECTION bad ( TABLE u ) WITH ( BACKUP_SCHEDULE = '@hourly' );
          DROP TABLE u",
    );
    let out = s.quiver(&["schedule", "run", "--once"]);
    assert_eq!(out.status.code(), Some(1));
    assert_mentions(
        &String::from_utf8_lossy(&out.stderr),
        &["1 scheduled run(s) failed: backup of `bad`"],
    );
    assert_mentions(&String::from_utf8_lossy(&out.stdout), &[" backup good ok "]);
    // A forged entry cannot colour the terminal or print a line of its own.
    let log = s.repo().join("collections/good/operations.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"kind\":\"backup\",\"started_at\":\"2026-01-01T00:00:00Z\",\"duration_ms\":1,\"result\":\"ok\",\"backup\":\"x\\u202e\",\"detail\":\"\\u001b[31mRED\\r\\nFAKE LINE\\u007f\\u009b\"}\n");
    std::fs::write(&log, text).unwrap();
    let out = succeeded(s.quiver(&["log", "good"]));
    for hidden in ['\u{1b}', '\r', '\u{202e}', '\u{7f}', '\u{9b}'] {
        assert!(!out.contains(hidden), "{hidden:?} in {out:?}");
    }
    assert_eq!(out.lines().count(), 2, "{out}");
    assert_mentions(&out, &["\\u{1b}[31mRED\\u{d}\\u{a}FAKE LINE", "x\\u{202e}"]);
    let json = succeeded(s.quiver(&["log", "good", "--json"]));
    for hidden in ['\u{202e}', '\u{7f}', '\u{9b}'] {
        assert!(!json.contains(hidden), "{hidden:?} in {json:?}");
    }
    // Sorted by time: the forged entry is dated first.
    let forged: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(forged["backup"], "x\u{202e}");
    // A log that cannot be written is said with the backup's own output.
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink("/dev/null", &log).unwrap();
    let out = s.ok("BACKUP good");
    assert_mentions(
        &out,
        &["warning: the operation is done, but recording it in the operations log"],
    );
}

#[test]
fn external_prune_never_follows_a_symbolic_link_nor_deletes_an_unproven_backup() {
    let s = Scratch::new();
    let remote = s.dir.path().join("offsite");
    let url = format!("file://{}", remote.display());
    s.ok(&format!(
        "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);
         CREATE BACKUP COLLECTION c ( TABLE t ) WITH ( STORAGE = '{url}', KEEP_LAST = '1' );
         BACKUP c; BACKUP c"
    ));
    let oldest = committed_backups(&s.repo(), "c").0[0].clone();
    // The oldest backup's data directory at the location is made a link to someone's files.
    let victim = s.dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("precious.parquet"), "not quiver's").unwrap();
    std::fs::remove_dir_all(remote.join(&oldest).join("data")).unwrap();
    std::os::unix::fs::symlink(&victim, remote.join(&oldest).join("data")).unwrap();
    let out = succeeded(s.quiver(&["prune", "c"]));
    assert_mentions(&out, &["were not pruned", "symbolic link"]);
    assert!(victim.join("precious.parquet").exists());
    assert!(remote.join(&oldest).join("manifest.json").exists());
    // A backup there without this collection's id cannot be proved ours: nothing goes.
    std::fs::remove_file(remote.join(&oldest).join("data")).unwrap();
    let manifest = remote.join(&oldest).join("manifest.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    let object = json.as_object_mut().unwrap();
    object.remove("checksum");
    object.remove("collection_id");
    object.insert("format_version".into(), 2.into());
    std::fs::write(&manifest, json.to_string()).unwrap();
    s.ok("BACKUP c");
    let out = succeeded(s.quiver(&["prune", "c"]));
    assert_mentions(
        &out,
        &["were not pruned", "cannot be proved this collection's"],
    );
    assert!(manifest.exists());
}
