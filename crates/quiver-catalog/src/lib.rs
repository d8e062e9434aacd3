//! The backup repository: collections, backup manifests and chains.
//!
//! A repository is a directory tree laid out like YDB's cluster storage:
//!
//! ```text
//! <repo>/collections/<collection>/collection.json          the collection's definition
//! <repo>/collections/<collection>/.lock                     advisory lock file
//! <repo>/collections/<collection>/<UTC timestamp>_full/     one backup
//!     data/<table>.parquet                                  data files, written first
//!     manifest.json                                         written last, atomically
//! ```
//!
//! A backup directory without `manifest.json` is incomplete: every reader ignores it and
//! the next writer holding the collection's lock removes it.
//!
//! ```
//! use quiver_catalog::{CollectionDef, Repository, StorageKind};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let repo = Repository::open(dir.path()).unwrap();
//! repo.create_collection(&CollectionDef::new(
//!     "orders",
//!     vec!["orders".into(), "payments".into()],
//!     StorageKind::Cluster,
//!     true,
//! ))
//! .unwrap();
//! let collection = repo.collection("orders").unwrap();
//! assert_eq!(collection.def().tables.len(), 2);
//! assert!(collection.backups().unwrap().is_empty());
//! ```

#![warn(missing_docs)]

mod adapter;
mod atomic;
mod backup_id;
mod chain;
mod clock;
mod collection;
pub mod crypto;
mod error;
mod lifecycle;
mod lock;
mod manifest;
mod naming;
mod operations;
mod raw;
mod repository;
mod retention;
mod schema;
mod sealed;

pub use adapter::{
    AdapterError, BackupSource, Database, Dialect, ErrorKind, RenamedTable, RestoreTarget,
    SourceSnapshot, SqlOutcome, TargetTransaction, message_with_causes,
};
pub use atomic::{create_dir_durably, fsync_dir, write_atomic, write_new};
pub use backup_id::BackupId;
pub use chain::Chain;
pub use clock::{Clock, FakeClock};
pub use collection::{
    BackupList, Collection, CollectionDef, DATA_DIR, DEFINITION_FILE, DefinitionError, LOCK_FILE,
    MANIFEST_FILE, MAX_MANIFEST_BYTES, PendingBackup, StorageKind, UnreadableBackup,
    new_collection_id,
};
pub use error::{Error, KeyProblem, Result};
pub use lifecycle::{ScheduleSettings, SchemaChangePolicy};
pub use lock::CollectionLock;
pub use manifest::{
    BackupKind, BackupManifest, ChangeCounts, DataFile, FileKey, MANIFEST_FORMAT_VERSION,
    SEALED_MANIFEST_FORMAT_VERSION, SealedFile, SealedManifest, TableBackup,
};
pub use naming::{MAX_SEGMENT_BYTES, encode_path_segment};
pub use operations::{
    OPERATIONS_FILE, Operation, OperationKind, OperationLog, OperationResult, Trigger,
};
pub use raw::{SqlValue, decode_raw, encode_raw};
pub use repository::{CollectionEntry, Repository};
pub use retention::{KeepReason, RetainedBackup, Retention, Verdict, apply_retention};
pub use schema::{
    ColumnSchema, ColumnType, DELETED_COLUMN, HASH_COLUMN, KeyColumn, RESERVED_PREFIX,
    ROWID_COLUMN, TableSchema, UTC, raw_column_name,
};
