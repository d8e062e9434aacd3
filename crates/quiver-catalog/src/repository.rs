//! The repository: the root directory holding every collection.

use std::fs;
use std::path::{Path, PathBuf};

use crate::collection::DEFINITION_FILE;
use crate::{
    Clock, Collection, CollectionDef, Error, Result, create_dir_durably, encode_path_segment,
    fsync_dir, write_new,
};

const COLLECTIONS_DIR: &str = "collections";
const DROPPED_PREFIX: &str = ".dropped-";
/// Hidden, so never taken for a collection.
const CREATE_LOCK_FILE: &str = ".create.lock";

/// The repository's CREATE lock, held until dropped (an advisory `flock` on a hidden file of
/// `collections/`, released by the OS if the process dies).
struct CreateTurn {
    _file: fs::File,
}

impl CreateTurn {
    /// Waits for the lock.
    fn take(collections: &Path) -> Result<CreateTurn> {
        let path = collections.join(CREATE_LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io("opening lock file", &path))?;
        file.lock().map_err(Error::io("locking", &path))?;
        Ok(CreateTurn { _file: file })
    }
}

/// One directory of a repository's `collections/`.
#[derive(Debug)]
pub struct CollectionEntry {
    /// The directory's name (the collection's name, encoded).
    pub dir_name: String,
    /// The collection, or why its definition cannot be read.
    pub collection: Result<Collection>,
}

impl CollectionEntry {
    fn sort_key(&self) -> &str {
        match &self.collection {
            Ok(c) => &c.def().name,
            Err(_) => &self.dir_name,
        }
    }
}

/// A backup repository rooted at a directory (by default `<database file>.quiver/`).
#[derive(Debug, Clone)]
pub struct Repository {
    root: PathBuf,
    clock: Clock,
    keys: crate::crypto::KeyEnvironment,
}

impl Repository {
    /// Opens the repository at `root`. Nothing is created until the first collection is.
    pub fn open(root: impl AsRef<Path>) -> Result<Repository> {
        Ok(Repository {
            root: root.as_ref().to_path_buf(),
            clock: Clock::system(),
            keys: crate::crypto::KeyEnvironment::from_process(),
        })
    }

    /// The repository, taking encrypted collections' keys from `keys` instead of this
    /// process's environment.
    pub fn with_keys(mut self, keys: crate::crypto::KeyEnvironment) -> Repository {
        self.keys = keys;
        self
    }

    /// The keys encrypted collections are opened with.
    pub fn keys(&self) -> &crate::crypto::KeyEnvironment {
        &self.keys
    }

    /// The repository, going by `clock` instead of the system's (for tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Repository {
        self.clock = clock;
        self
    }

    /// The clock backups are dated by and retention reckons with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The repository's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn collections_dir(&self) -> PathBuf {
        self.root.join(COLLECTIONS_DIR)
    }

    /// Takes collection `name`'s lock without reading its definition: for checking the
    /// files of an encrypted collection whose key is not at hand.
    pub fn lock_unopened(&self, name: &str) -> Result<crate::CollectionLock> {
        let dir = self.collection_dir(name);
        if !dir.join(DEFINITION_FILE).exists() {
            return Err(Error::UnknownCollection(name.to_string()));
        }
        crate::CollectionLock::try_acquire(name, &dir.join(crate::LOCK_FILE))
    }

    /// The directory collection `name` has (or would have).
    pub fn collection_dir(&self, name: &str) -> PathBuf {
        self.collections_dir().join(encode_path_segment(name))
    }

    /// Creates a collection. Fails with `Error::CollectionExists` if the name is taken.
    pub fn create_collection(&self, def: &CollectionDef) -> Result<Collection> {
        if def.name.is_empty() {
            return Err(Error::InvalidName {
                name: def.name.clone(),
                reason: "a collection name cannot be empty",
            });
        }
        let parent = self.collections_dir();
        create_dir_durably(&parent)?;
        // CREATEs take turns, so that the check for a name differing only in case and the
        // claim of the name are one step: of `Race` and `RACE` created at once, one is refused.
        let _turn = CreateTurn::take(&parent)?;
        if let Some(existing) = self
            .collections()?
            .into_iter()
            .map(|c| c.def().name.clone())
            .find(|n| n != &def.name && n.eq_ignore_ascii_case(&def.name))
        {
            return Err(Error::CaseCollision {
                name: def.name.clone(),
                existing,
            });
        }
        self.remove_dropped();
        let dir = self.collection_dir(&def.name);
        // The directory may be there without a definition: a CREATE that crashed half-way,
        // or one racing this one. The definition, written only where none is, is the claim
        // on the name: of two CREATEs racing, one wins and the other is told it exists.
        create_dir_durably(&dir)?;
        let bytes = def.encode().map_err(|message| Error::Corrupt {
            what: "collection definition",
            path: dir.join(DEFINITION_FILE),
            message,
        })?;
        if !write_new(&dir.join(DEFINITION_FILE), &bytes)? {
            return Err(Error::CollectionExists(def.name.clone()));
        }
        Collection::load(dir, &def.name, self.clock.clone(), self.keys.clone())
    }

    /// The collection named `name`, or `Error::UnknownCollection`.
    pub fn collection(&self, name: &str) -> Result<Collection> {
        Collection::load(
            self.collection_dir(name),
            name,
            self.clock.clone(),
            self.keys.clone(),
        )
    }

    /// Every collection directory, sorted: its collection, or why its definition cannot be
    /// read. One damaged collection is reported as such and never hides the others; entries
    /// that are not collection directories (a stray file, a directory without a definition)
    /// are skipped.
    pub fn collection_entries(&self) -> Result<Vec<CollectionEntry>> {
        let dir = self.collections_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("listing", &dir)(e)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Error::io("listing", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            match Collection::load(entry.path(), &name, self.clock.clone(), self.keys.clone()) {
                Err(Error::UnknownCollection(_)) => continue,
                collection => found.push(CollectionEntry {
                    dir_name: name,
                    collection,
                }),
            }
        }
        found.sort_by(|a, b| a.sort_key().cmp(b.sort_key()));
        Ok(found)
    }

    /// Every collection whose definition reads, sorted by name (see
    /// [`Repository::collection_entries`] for those that do not).
    pub fn collections(&self) -> Result<Vec<Collection>> {
        Ok(self
            .collection_entries()?
            .into_iter()
            .filter_map(|e| e.collection.ok())
            .collect())
    }

    /// Drops a collection and all its backups. Refused (`Error::Busy`) while a backup or
    /// restore of it runs. The directory is first renamed away (one atomic step, after which
    /// the collection is gone for every reader), then deleted.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        let collection = self.collection(name)?;
        let lock = collection.lock()?;
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // Not named after the collection: a long name would make it too long a file name.
        let trash = self
            .collections_dir()
            .join(format!("{DROPPED_PREFIX}{}-{unique}", std::process::id()));
        fs::rename(collection.dir(), &trash).map_err(Error::io("removing", collection.dir()))?;
        fsync_dir(&self.collections_dir())?;
        drop(lock);
        fs::remove_dir_all(&trash).map_err(Error::io("removing", &trash))?;
        Ok(())
    }

    /// Removes what dropped collections left behind after a crash mid-DROP (best effort).
    fn remove_dropped(&self) {
        let Ok(entries) = fs::read_dir(self.collections_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(DROPPED_PREFIX)
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BackupKind, CollectionLock, MANIFEST_FILE, StorageKind};

    fn def(name: &str) -> CollectionDef {
        CollectionDef::new(name, vec!["t".into()], StorageKind::Cluster, true)
    }

    #[test]
    fn create_list_drop() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        repo.create_collection(&def("b")).unwrap();
        repo.create_collection(&def("a/x")).unwrap();
        assert!(matches!(
            repo.create_collection(&def("b")),
            Err(Error::CollectionExists(_))
        ));
        let names: Vec<_> = repo
            .collections()
            .unwrap()
            .iter()
            .map(|c| c.def().name.clone())
            .collect();
        assert_eq!(names, ["a/x", "b"]);
        repo.drop_collection("b").unwrap();
        assert!(matches!(
            repo.collection("b"),
            Err(Error::UnknownCollection(_))
        ));
        assert!(matches!(
            repo.drop_collection("b"),
            Err(Error::UnknownCollection(_))
        ));
        assert_eq!(repo.collections().unwrap().len(), 1);
    }

    #[test]
    fn lock_is_exclusive_per_collection_only() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        let a = repo.create_collection(&def("a")).unwrap();
        let b = repo.create_collection(&def("b")).unwrap();
        let held = a.lock().unwrap();
        assert!(matches!(a.lock(), Err(Error::Busy(_))));
        assert!(matches!(repo.drop_collection("a"), Err(Error::Busy(_))));
        let _other = b.lock().unwrap();
        drop(held);
        a.lock().unwrap();
    }

    #[test]
    fn uncommitted_backups_are_invisible_and_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        let mut c = repo.create_collection(&def("c")).unwrap();
        let lock = c.lock().unwrap();
        let pending = c.begin_backup(BackupKind::Full, &lock).unwrap();
        let (_, path) = pending.data_file("t", 0);
        fs::write(&path, b"data").unwrap();
        // Simulate a crash: the directory stays, without a manifest.
        let crashed_dir = path.parent().unwrap().parent().unwrap().to_path_buf();
        std::mem::forget(pending);
        assert!(crashed_dir.exists());
        assert!(c.backups().unwrap().is_empty());

        let pending = c.begin_backup(BackupKind::Full, &lock).unwrap();
        assert!(
            !crashed_dir.exists(),
            "incomplete backup removed by the next writer"
        );
        let id = pending.id().to_string();
        let manifest = pending.commit(None, vec![]).unwrap();
        assert_eq!(manifest.id, id);
        assert_eq!(c.backups().unwrap(), vec![manifest.clone()]);
        assert_eq!(c.backup(&id).unwrap(), manifest);
        assert!(matches!(
            c.backup("20000101T000000.000Z_full"),
            Err(Error::UnknownBackup { .. })
        ));
    }

    #[test]
    fn manifests_with_paths_outside_the_backup_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        let mut c = repo.create_collection(&def("c")).unwrap();
        let lock = c.lock().unwrap();
        let file = |path: &str| crate::DataFile {
            path: path.into(),
            rows: 0,
            bytes: 0,
            crc32: 0,
        };
        let schema = crate::TableSchema {
            name: "t".into(),
            columns: vec![],
            primary_key: vec![crate::ROWID_COLUMN.into()],
            stores_rowid: true,
            create_sql: "CREATE TABLE t(a)".into(),
            index_sql: vec![],
            trigger_sql: vec![],
            autoincrement_seq: None,
            dialect: crate::Dialect::Sqlite,
            adapter: None,
        };
        for bad in [
            "../../etc/passwd",
            "/etc/passwd",
            "data/../../x",
            "data//x",
            "data\\..\\x",
            "",
        ] {
            let pending = c.begin_backup(BackupKind::Full, &lock).unwrap();
            let id = pending.id().to_string();
            let table = crate::TableBackup {
                schema: schema.clone(),
                files: vec![file(bad)],
                changes: None,
            };
            pending.commit(None, vec![table]).unwrap();
            let err = c.backup(&id).unwrap_err().to_string();
            assert!(err.contains("points outside the backup"), "{bad}: {err}");
            fs::remove_dir_all(c.backup_dir(&id)).unwrap();
        }
    }

    #[test]
    fn of_concurrent_creates_of_one_name_exactly_one_succeeds() {
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::open(dir.path()).unwrap();
            let barrier = std::sync::Barrier::new(8);
            let created = std::thread::scope(|scope| {
                let threads: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            barrier.wait();
                            repo.create_collection(&def("c"))
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .map(|t| t.join().unwrap())
                    .collect::<Vec<_>>()
            });
            let won: Vec<_> = created.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(won.len(), 1, "round {round}: {created:?}");
            assert!(
                created
                    .iter()
                    .filter(|r| r.is_err())
                    .all(|r| matches!(r, Err(Error::CollectionExists(_))))
            );
            // The one definition on disk is the winner's.
            let id = repo.collection("c").unwrap().def().id.clone();
            assert_eq!(id, won[0].def().id);
        }
    }

    #[test]
    fn of_concurrent_creates_of_names_differing_in_case_exactly_one_succeeds() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let repo = Repository::open(dir.path()).unwrap();
            let barrier = std::sync::Barrier::new(4);
            let names = ["Race", "RACE", "race", "rAcE"];
            let created = std::thread::scope(|scope| {
                let threads: Vec<_> = names
                    .iter()
                    .map(|name| {
                        let (repo, barrier) = (&repo, &barrier);
                        scope.spawn(move || {
                            barrier.wait();
                            repo.create_collection(&def(name))
                        })
                    })
                    .collect();
                threads
                    .into_iter()
                    .map(|t| t.join().unwrap())
                    .collect::<Vec<_>>()
            });
            assert_eq!(
                created.iter().filter(|r| r.is_ok()).count(),
                1,
                "round {round}: {created:?}"
            );
            assert_eq!(repo.collections().unwrap().len(), 1);
        }
    }

    #[test]
    fn new_directories_are_made_durable_in_their_parents() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("fresh").join("repo");
        let repo = Repository::open(&root).unwrap();
        crate::atomic::SYNCED.with(|s| s.borrow_mut().clear());
        let mut c = repo.create_collection(&def("c")).unwrap();
        let synced = crate::atomic::SYNCED.with(|s| s.take());
        for parent in [
            dir.path().to_path_buf(),
            dir.path().join("fresh"),
            root.clone(),
            root.join("collections"),
        ] {
            assert!(
                synced.contains(&parent),
                "{parent:?} not synced: {synced:?}"
            );
        }
        let lock = c.lock().unwrap();
        let pending = c.begin_backup(BackupKind::Full, &lock).unwrap();
        let backup_dir = c.backup_dir(&pending.id().to_string());
        let synced = crate::atomic::SYNCED.with(|s| s.take());
        assert!(synced.contains(&c.dir().to_path_buf()), "{synced:?}");
        assert!(synced.contains(&backup_dir), "{synced:?}");
    }

    #[test]
    fn long_names_work_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        let name = "c".repeat(230);
        let mut c = repo.create_collection(&def(&name)).unwrap();
        let lock = c.lock().unwrap();
        let pending = c.begin_backup(BackupKind::Full, &lock).unwrap();
        let (_, path) = pending.data_file(&"表".repeat(30), 0);
        fs::write(&path, b"x").unwrap();
        pending.commit(None, vec![]).unwrap();
        drop(lock);
        assert_eq!(repo.collections().unwrap()[0].def().name, name);
        repo.drop_collection(&name).unwrap();
        assert!(repo.collections().unwrap().is_empty());
    }

    #[test]
    fn dropped_pending_backup_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        let mut c = repo.create_collection(&def("c")).unwrap();
        let lock = c.lock().unwrap();
        let pending = c.begin_backup(BackupKind::Full, &lock).unwrap();
        let backup_dir = c.backup_dir(&pending.id().to_string());
        assert!(backup_dir.exists());
        drop(pending);
        assert!(!backup_dir.exists());
    }

    /// Collection `c` of a new repository with these retention rules and the backups of
    /// [`committed_history`], locked.
    fn history_with(
        retention: crate::Retention,
        steps: &[(i64, bool)],
    ) -> (tempfile::TempDir, Collection, CollectionLock) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        let c = repo
            .create_collection(&CollectionDef {
                retention,
                ..def("c")
            })
            .unwrap();
        let lock = c.lock().unwrap();
        committed_history(&c, &lock, steps);
        (dir, c, lock)
    }

    /// The verdicts of a prune, without their manifests.
    fn verdicts_of(pruned: Vec<(crate::Verdict, crate::BackupManifest)>) -> Vec<crate::Verdict> {
        pruned.into_iter().map(|(verdict, _)| verdict).collect()
    }

    /// Backups of collection `c` taken at these hours, a full one at each `true`.
    fn committed_history(c: &Collection, lock: &CollectionLock, steps: &[(i64, bool)]) {
        let start = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let mut hour = 0;
        let mut previous: Option<String> = None;
        for &(gap, full) in steps {
            hour += gap;
            let kind = if full || previous.is_none() {
                BackupKind::Full
            } else {
                BackupKind::Incremental
            };
            let id = crate::BackupId {
                taken_at: start + time::Duration::hours(hour),
                kind,
            };
            let pending = c.begin_copy(id, lock).unwrap();
            let (_, path) = pending.data_file("t", 0);
            fs::write(&path, b"rows").unwrap();
            let parent = if kind == BackupKind::Full {
                None
            } else {
                previous.clone()
            };
            previous = Some(pending.commit(parent, vec![]).unwrap().id);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn prune_keeps_what_the_rules_say_and_a_crash_at_any_step_breaks_no_chain(
            steps in proptest::collection::vec((1i64..60, proptest::bool::weighted(0.25)), 1..14),
            daily in 0u32..3,
            last in 0u32..3,
        ) {
            let retention = crate::Retention {
                daily: (daily > 0).then_some(daily),
                last: (last > 0).then_some(last),
                ..crate::Retention::default()
            };
            let (_dir, c, lock) = history_with(retention.clone(), &steps);
            let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_100);
            let planned = verdicts_of(c.prune(now, true, &lock).unwrap());
            proptest::prop_assert_eq!(c.backups().unwrap().len(), steps.len(), "a dry run removes nothing");
            // A crash after any number of removals, and between a manifest and its files.
            for verdict in planned.iter().filter(|v| !v.kept()) {
                let backup_dir = c.backup_dir(&verdict.id.to_string());
                fs::remove_file(backup_dir.join(MANIFEST_FILE)).unwrap();
                for visible in c.backups().unwrap() {
                    c.chain(visible).unwrap();
                }
                fs::remove_dir_all(&backup_dir).unwrap();
            }
            // Start over and prune for real: exactly the kept backups remain, whole.
            let (_dir, c, lock) = history_with(retention, &steps);
            let verdicts = verdicts_of(c.prune(now, false, &lock).unwrap());
            proptest::prop_assert_eq!(&verdicts, &planned);
            let remaining: Vec<String> = c.backups().unwrap().into_iter().map(|m| m.id).collect();
            let mut kept: Vec<String> =
                verdicts.iter().filter(|v| v.kept()).map(|v| v.id.to_string()).collect();
            kept.reverse();
            proptest::prop_assert_eq!(&remaining, &kept);
            for manifest in c.backups().unwrap() {
                proptest::prop_assert!(c.data_file_path(&manifest, "data/t.0.parquet").exists());
                c.chain(manifest).unwrap();
            }
            // Nothing else is left behind: the definition, the lock and the kept backups.
            proptest::prop_assert_eq!(fs::read_dir(c.dir()).unwrap().count(), kept.len() + 2);
        }
    }

    #[test]
    fn prune_refuses_when_a_manifest_cannot_be_read() {
        let retention = crate::Retention {
            last: Some(1),
            ..crate::Retention::default()
        };
        let (_dir, c, lock) = history_with(retention, &[(1, true), (1, true), (1, true)]);
        let middle = c.backups().unwrap()[1].id.clone();
        fs::write(c.backup_dir(&middle).join(MANIFEST_FILE), b"{ damaged").unwrap();
        let now = time::OffsetDateTime::now_utc();
        let err = c.prune(now, false, &lock).unwrap_err();
        assert!(
            matches!(err, Error::PruneBlocked { ref backup, .. } if *backup == middle),
            "{err}"
        );
        assert!(err.to_string().contains("nothing was removed"), "{err}");
        assert_eq!(fs::read_dir(c.dir()).unwrap().count(), 3 + 2);
    }

    #[test]
    fn only_an_ids_own_spelling_names_a_backup_so_prune_never_takes_a_kept_one() {
        let retention = crate::Retention {
            last: Some(1),
            within_hours: Some(0),
            ..crate::Retention::default()
        };
        let (_dir, c, lock) = history_with(retention, &[(1, true), (1, true)]);
        let newest = c.backups().unwrap()[1].id.clone();
        let copy = c.dir().join(format!("+{newest}"));
        fs::create_dir(&copy).unwrap();
        fs::copy(
            c.backup_dir(&newest).join(MANIFEST_FILE),
            copy.join(MANIFEST_FILE),
        )
        .unwrap();
        assert_eq!(c.backups().unwrap().len(), 2, "the `+` copy is no backup");
        c.prune(time::OffsetDateTime::now_utc(), false, &lock)
            .unwrap();
        let remaining: Vec<String> = c.backups().unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(remaining, [newest]);
    }

    #[test]
    fn a_stored_zero_within_is_no_rule_and_keeps_everything() {
        let retention = crate::Retention {
            within_hours: Some(0),
            ..crate::Retention::default()
        };
        let (_dir, c, lock) = history_with(retention, &[(1, true), (1, true)]);
        c.prune(time::OffsetDateTime::now_utc(), false, &lock)
            .unwrap();
        assert_eq!(c.backups().unwrap().len(), 2);
    }
}
