//! quiver: backup collections for SQLite and PostgreSQL.
//!
//! A backup collection is a named set of tables that is backed up together, on its own
//! schedule, and restored on its own without touching any other collection. The statements
//! come from YDB; everything else in a script is run by SQLite as it is.
//!
//! ```
//! use quiver::{Engine, Outcome};
//!
//! let dir = tempfile::tempdir()?;
//! let mut engine = Engine::open(dir.path().join("app.db"))?;
//! engine.execute(
//!     "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL);
//!      INSERT INTO orders VALUES (1, 9.5), (2, 20.0);
//!      CREATE BACKUP COLLECTION order_backups ( TABLE orders )
//!          WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );
//!      BACKUP order_backups;
//!      UPDATE orders SET total = 10.5 WHERE id = 1;
//!      DELETE FROM orders WHERE id = 2;
//!      BACKUP order_backups INCREMENTAL;
//!      DROP TABLE orders;
//!      RESTORE order_backups;",
//! )?;
//! // The latest backup is the incremental: its chain is merged on restore.
//! let outcomes = engine.execute("SELECT id, total FROM orders")?;
//! let Outcome::Rows(rows) = &outcomes[0] else { unreachable!() };
//! assert_eq!(rows.row_count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The crates behind the facade can be used on their own: [`grammar`] parses the
//! statements, [`catalog`] manages the repository, [`snapshot`] writes and reads data files,
//! [`diff`] computes incremental backups and merges chains, [`sqlite`] and [`postgres`] are
//! the database adapters, [`backup`] and [`restore`] the backup and restore paths,
//! [`storage`] external storage (verify, export, import) and [`query`] SQL over backups
//! (DataFusion).

#![warn(missing_docs)]

pub mod allocator;
mod backup_statement;
mod collections;
pub mod compacting;
mod encryption;
mod engine;
mod error;
mod external;
pub mod operations;
mod outcome;
mod progress;
pub mod prune;
pub mod rekeying;
mod restoring;
pub mod schedule;
pub mod stored;

pub use engine::{Engine, EngineOptions};
pub use error::{Error, ExecError, Result};
pub use outcome::{Outcome, QueryResult, human_bytes};
pub use progress::Progress;

pub use quiver_backup as backup;
pub use quiver_catalog as catalog;
pub use quiver_diff as diff;
pub use quiver_grammar as grammar;
pub use quiver_postgres as postgres;
pub use quiver_query as query;
pub use quiver_restore as restore;
pub use quiver_snapshot as snapshot;
pub use quiver_sqlite as sqlite;
pub use quiver_storage as storage;

#[cfg(test)]
mod adapter_suite;
#[cfg(test)]
mod tests;
