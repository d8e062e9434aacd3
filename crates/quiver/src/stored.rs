//! What a repository holds, and moving it: SHOW, VERIFY, export, import, gc.
//!
//! These work on a [`Repository`] alone (no database needed), so that the CLI can run them
//! against any repository, and the engine's SQL statements call the same functions.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use quiver_catalog::{BackupKind, Collection, Repository, StorageKind};
use quiver_storage::{
    CopyProgress, CopyReport, GcReport, Inventory, Location, VerifyProgress, VerifyReport,
};
use serde::Serialize;

use crate::error::ExecError;
use crate::outcome::{QueryResult, human_bytes};

/// One collection, as `SHOW BACKUP COLLECTIONS` and `quiver ls` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionSummary {
    /// The collection's name.
    pub name: String,
    /// Its tables, in order.
    pub tables: Vec<String>,
    /// `cluster` or the external URL.
    pub storage: String,
    /// Whether incremental backups are enabled.
    pub incremental_backup_enabled: bool,
    /// Committed backups.
    pub backups: usize,
    /// The latest committed backup's id.
    pub latest: Option<String>,
    /// Bytes of all committed backups' data files (those whose manifest reads).
    pub bytes: u64,
    /// `ok`, `damaged: …` (some backups' manifests cannot be read) or `unreadable: …` (the
    /// definition cannot be read; `name` is then the directory's name).
    pub status: String,
}

/// One backup, as `SHOW BACKUPS IN` and `quiver show` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupSummary {
    /// The backup's id.
    pub id: String,
    /// `full` or `incremental`; empty when the manifest is missing or unreadable.
    pub kind: String,
    /// The previous backup of its chain (incremental backups).
    pub parent: Option<String>,
    /// When it was taken (RFC 3339, UTC).
    pub time: String,
    /// Tables in it.
    pub tables: usize,
    /// Rows in its files (for incremental backups: rows changed, tombstones included).
    pub rows: u64,
    /// Bytes of its data files.
    pub bytes: u64,
    /// `committed`; `incomplete` (no manifest: being written, or interrupted);
    /// `broken chain: …`; `unreadable: …`. File contents are checked by VERIFY, not here.
    pub status: String,
}

/// Every collection of `repo`, by name. A collection that cannot be read is listed with
/// its fault in `status`, and never hides the others.
pub fn collections(repo: &Repository) -> Result<Vec<CollectionSummary>, ExecError> {
    let mut summaries = Vec::new();
    for entry in repo.collection_entries()? {
        let unreadable = |name: String, e: quiver_catalog::Error| CollectionSummary {
            name,
            tables: Vec::new(),
            storage: String::new(),
            incremental_backup_enabled: false,
            backups: 0,
            latest: None,
            bytes: 0,
            status: format!("unreadable: {e}"),
        };
        let collection = match entry.collection {
            Ok(collection) => collection,
            Err(e) => {
                summaries.push(unreadable(entry.dir_name, e));
                continue;
            }
        };
        let def = collection.def();
        let list = match collection.backup_list() {
            Ok(list) => list,
            Err(e) => {
                summaries.push(unreadable(def.name.clone(), e));
                continue;
            }
        };
        let broken = list
            .committed
            .last()
            .and_then(|latest| collection.chain(latest.clone()).err());
        let status = match list.unreadable.as_slice() {
            [] => match broken {
                None => "ok".to_string(),
                Some(e) => format!("damaged: {e}; VERIFY {} names each fault", def.name),
            },
            damaged => format!(
                "damaged: {} backup(s) cannot be read ({}); VERIFY {} names each fault",
                damaged.len(),
                damaged
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                def.name
            ),
        };
        let backups = list.committed;
        summaries.push(CollectionSummary {
            name: def.name.clone(),
            tables: def.tables.clone(),
            storage: match &def.storage {
                StorageKind::Cluster => "cluster".into(),
                StorageKind::External(url) => quiver_storage::redacted(url),
            },
            incremental_backup_enabled: def.incremental_backup_enabled,
            backups: backups.len(),
            latest: backups.last().map(|m| m.id.clone()),
            bytes: backups.iter().map(|m| m.bytes()).sum(),
            status,
        });
    }
    Ok(summaries)
}

/// Every backup directory of collection `name`, oldest first, with its status.
pub fn backups(repo: &Repository, name: &str) -> Result<Vec<BackupSummary>, ExecError> {
    let collection = repo.collection(name)?;
    let inventory = Inventory::read(&location_of(&collection)?, &collection)?;
    Ok(inventory
        .backups
        .iter()
        .map(|entry| match &entry.manifest {
            Some(Ok(m)) => BackupSummary {
                id: m.id.clone(),
                kind: m.kind.suffix().into(),
                parent: m.parent.clone(),
                time: m.created_at.clone(),
                tables: m.tables.len(),
                rows: m.rows(),
                bytes: m.bytes(),
                status: match (m.kind, inventory.chain(&m.id)) {
                    (BackupKind::Incremental, Err(why)) => format!("broken chain: {why}"),
                    _ => "committed".into(),
                },
            },
            other => BackupSummary {
                id: entry.id.clone(),
                kind: String::new(),
                parent: None,
                time: String::new(),
                tables: 0,
                rows: 0,
                bytes: 0,
                status: match other {
                    Some(Err(why)) => format!("unreadable: {why}"),
                    _ => "incomplete".into(),
                },
            },
        })
        .collect())
}

/// The rows of `SHOW BACKUP COLLECTIONS`.
pub fn collections_rows(summaries: &[CollectionSummary]) -> QueryResult {
    rows(vec![
        ("name", text(summaries, |s| s.name.clone())),
        ("tables", text(summaries, |s| s.tables.join(", "))),
        ("storage", text(summaries, |s| s.storage.clone())),
        (
            "incremental",
            text(summaries, |s| s.incremental_backup_enabled.to_string()),
        ),
        ("backups", number(summaries, |s| s.backups as u64)),
        (
            "latest",
            text(summaries, |s| s.latest.clone().unwrap_or_default()),
        ),
        ("size", text(summaries, |s| human_bytes(s.bytes))),
        ("status", text(summaries, |s| s.status.clone())),
    ])
}

/// The rows of `SHOW BACKUPS IN`.
pub fn backups_rows(summaries: &[BackupSummary]) -> QueryResult {
    rows(vec![
        ("id", text(summaries, |s| s.id.clone())),
        ("kind", text(summaries, |s| s.kind.clone())),
        (
            "parent",
            text(summaries, |s| s.parent.clone().unwrap_or_default()),
        ),
        ("time", text(summaries, |s| s.time.clone())),
        ("tables", number(summaries, |s| s.tables as u64)),
        ("rows", number(summaries, |s| s.rows)),
        ("size", text(summaries, |s| human_bytes(s.bytes))),
        ("status", text(summaries, |s| s.status.clone())),
    ])
}

/// A text column of one value per item.
pub(crate) fn text<T>(items: &[T], value: impl Fn(&T) -> String) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(items.iter().map(value)))
}

/// A number column of one value per item.
pub(crate) fn number<T>(items: &[T], value: impl Fn(&T) -> u64) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(items.iter().map(value)))
}

/// A result of these columns.
pub(crate) fn rows(columns: Vec<(&str, ArrayRef)>) -> QueryResult {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), false))
            .collect::<Vec<_>>(),
    ));
    let arrays = columns.into_iter().map(|(_, array)| array).collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).expect("columns of equal length");
    debug_assert!(
        schema
            .fields()
            .iter()
            .all(|f| f.data_type() != &DataType::Null)
    );
    QueryResult {
        schema,
        batches: vec![batch],
        warnings: Vec::new(),
    }
}

/// Runs a QUERY over `repo`'s backups (as of backup `at` for the collection holding it).
/// Collections that cannot be read are left out, each with a warning in the result; if the
/// query fails, the warnings go with the error, since a table it missed may be one of theirs.
pub fn query(
    repo: &Repository,
    at: Option<&str>,
    sql: &str,
    batch_rows: usize,
) -> Result<QueryResult, ExecError> {
    let session = quiver_query::QuerySession::open(repo, at, batch_rows)?;
    match session.sql(sql) {
        Ok(out) => Ok(QueryResult {
            schema: out.schema,
            batches: out.batches,
            warnings: session.warnings().to_vec(),
        }),
        Err(e) if !session.warnings().is_empty() => Err(ExecError::refused(
            e.to_string(),
            Some(format!(
                "{}; QUERY AT '<backup id>' reads an older backup of a damaged collection",
                session.warnings().join("; ")
            )),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The collection's directory, as a location.
fn location_of(collection: &Collection) -> Result<Location, ExecError> {
    Ok(Location::local_dir(collection.dir())?)
}

/// Verifies collection `name` of `repo` (with `at`, only that backup's chain). Holds the
/// collection's lock, so no backup is half-written while it looks.
pub fn verify(
    repo: &Repository,
    name: &str,
    at: Option<&str>,
    progress: &mut dyn FnMut(VerifyProgress),
) -> Result<VerifyReport, ExecError> {
    let collection = match repo.collection(name) {
        Ok(collection) => collection,
        // Without its key, an encrypted collection's ciphertext can still be checked.
        Err(quiver_catalog::Error::Key { .. }) => {
            let _lock = repo.lock_unopened(name)?;
            let dir = repo.collection_dir(name);
            return Ok(quiver_storage::verify(
                &Location::local_dir(&dir)?,
                at,
                &check_ddl,
                repo.keys(),
                progress,
            )?);
        }
        Err(e) => return Err(e.into()),
    };
    let _lock = collection.lock()?;
    if let Some(at) = at {
        collection.backup(at)?;
    }
    let mut report = quiver_storage::verify(
        &location_of(&collection)?,
        at,
        &check_ddl,
        &collection,
        progress,
    )?;
    authenticate(&collection, at, &mut report)?;
    Ok(report)
}

/// Every data file that passed its crc32 is opened as RESTORE opens it: its footer must
/// read and hold the rows its manifest records (a crc32 anyone can make match).
fn check_footers(
    collection: &Collection,
    backups: &[quiver_catalog::BackupManifest],
    location: &Location,
    report: &mut VerifyReport,
) {
    for backup in backups {
        for file in backup.tables.iter().flat_map(|t| &t.files) {
            let url = location.url_of(&format!("{}/{}", backup.id, file.path));
            if report.faults.iter().any(|f| f.url == url) {
                continue;
            }
            let path = collection.data_file_path(backup, &file.path);
            let cipher = quiver_restore::file_cipher(backup, &file.path);
            let message = match quiver_snapshot::check_footer(&path, file.rows, cipher.as_ref()) {
                Ok(()) => continue,
                Err(quiver_snapshot::Error::RowCountMismatch {
                    expected, actual, ..
                }) => format!("it holds {actual} rows, its manifest says {expected}"),
                Err(e) => format!("its Parquet footer does not read: {e}"),
            };
            report.faults.push(quiver_storage::Fault {
                kind: quiver_storage::FaultKind::Contents,
                backup: Some(backup.id.clone()),
                url,
                message,
            });
        }
    }
}

/// With the key, every page of every encrypted data file that passed its crc32 is
/// decrypted, which checks its AES-GCM tag: a crc32 anyone can make match, a tag no one
/// without the key can.
fn authenticate(
    collection: &Collection,
    at: Option<&str>,
    report: &mut VerifyReport,
) -> Result<(), ExecError> {
    let backups = match at {
        Some(id) => collection.chain(collection.backup(id)?)?,
        None => collection.backup_list()?.committed,
    };
    let location = location_of(collection)?;
    check_footers(collection, &backups, &location, report);
    for backup in backups.iter().filter(|b| b.sealing.is_some()) {
        for file in backup.tables.iter().flat_map(|t| &t.files) {
            let url = location.url_of(&format!("{}/{}", backup.id, file.path));
            if report.faults.iter().any(|f| f.url == url) {
                continue;
            }
            let path = collection.data_file_path(backup, &file.path);
            let Some(cipher) = quiver_restore::file_cipher(backup, &file.path) else {
                continue;
            };
            if let Err(e) = quiver_snapshot::authenticate_file(&path, &cipher, None) {
                report.faults.push(quiver_storage::Fault {
                    kind: quiver_storage::FaultKind::Authentication,
                    backup: Some(backup.id.clone()),
                    url,
                    message: format!("it does not decrypt and authenticate with its backup's key: it was altered ({e})"),
                });
            }
        }
    }
    Ok(())
}

/// Copies collection `name`'s backups (all, or the chain ending at `backup`) to `target`.
pub fn export(
    repo: &Repository,
    name: &str,
    target: &Location,
    backup: Option<&str>,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport, ExecError> {
    let collection = repo.collection(name)?;
    let _lock = collection.lock()?;
    let manifests = match backup {
        Some(id) => collection.chain(collection.backup(id)?)?,
        None => collection.backups()?,
    };
    if manifests.is_empty() {
        return Err(ExecError::refused(
            format!("backup collection `{name}` has no backups to export"),
            Some(format!("take one first: BACKUP {name}")),
        ));
    }
    Ok(quiver_storage::export(
        &location_of(&collection)?,
        collection.def(),
        &manifests,
        target,
        &collection,
        progress,
    )?)
}

/// Imports the collection exported to `source` as collection `name` of `repo` (all its
/// backups, or the chain ending at `backup`).
pub fn import(
    repo: &Repository,
    source: &Location,
    name: &str,
    backup: Option<&str>,
    progress: &mut dyn FnMut(&CopyProgress),
) -> Result<CopyReport, ExecError> {
    Ok(quiver_storage::import(
        source, repo, name, backup, progress,
    )?)
}

/// Removes what belongs to no backup in collection `name` (leftovers of interrupted backups);
/// with `dry_run`, only lists it. Holds the collection's lock.
pub fn gc(repo: &Repository, name: &str, dry_run: bool) -> Result<GcReport, ExecError> {
    let collection = repo.collection(name)?;
    let lock = collection.lock()?;
    // Under the collection's lock nothing can be writing here: no grace period is needed.
    let options = quiver_storage::GcOptions {
        dry_run,
        grace: std::time::Duration::ZERO,
    };
    let report = quiver_storage::gc(&location_of(&collection)?, &collection, options)?;
    if !dry_run {
        // The directories the removed files were in.
        collection.remove_incomplete(&lock)?;
    }
    Ok(report)
}

/// Checks a stored table's DDL as a restore of it would, without a database: what VERIFY
/// reports as a `Ddl` fault.
pub fn check_ddl(table: &quiver_catalog::TableSchema) -> Result<(), String> {
    match table.dialect {
        quiver_catalog::Dialect::Sqlite => quiver_sqlite::check_table_ddl(table),
        quiver_catalog::Dialect::Postgres => quiver_postgres::check_table(table),
    }
}
