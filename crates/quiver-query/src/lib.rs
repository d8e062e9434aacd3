//! SQL over backups, without restoring them (DataFusion).
//!
//! Each table of a backup is a DataFusion [`TableProvider`](datafusion::datasource::TableProvider):
//! [`BackupTable`]. A scan reads one Parquet scan per backup of the chain, reading only the
//! columns the query needs, with its filters used to skip row groups (statistics), pages
//! (page index) and rows; then merges them by key, the latest backup winning and tombstones
//! deleting, on a thread beside the query, a few batches at a time. Filters on other columns
//! than the key can only prune a lone full backup: in a chain, an older version of a row
//! must not be filtered out while a newer one hides it, so they are applied after the merge.
//!
//! [`QuerySession`] registers every collection of a repository as a schema.
//!
//! ```no_run
//! use quiver_catalog::Repository;
//! use quiver_query::QuerySession;
//!
//! let repo = Repository::open("app.db.quiver").unwrap();
//! let session = QuerySession::open(&repo, None, 8192).unwrap();
//! let out = session
//!     .sql("SELECT count(*) FROM order_service_backups.orders WHERE id < 100")
//!     .unwrap();
//! println!("{:?}", out.batches);
//! ```

#![warn(missing_docs)]

mod error;
mod layout;
mod predicate;
mod provider;
mod scan;
mod session;

pub use error::{Error, Result};
pub use layout::CHANGE_COLUMN;
pub use predicate::RowPredicate;
pub use provider::BackupTable;
pub use session::{QueryOutput, QuerySession};
