//! The (key, hash) state of a table: the columns an incremental backup reads of earlier files.

use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};
use quiver_catalog::{BackupKind, KeyColumn, TableSchema};

/// Which columns of a table's data files make its (key, hash) state, and where the key is
/// among them. Reading only these (a Parquet projection) is what keeps an incremental
/// backup from decoding the previous backups' whole rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateColumns {
    /// Positions to read from a full backup's files: key columns, their raw side columns, the hash.
    pub full: Vec<usize>,
    /// Positions to read from an incremental backup's files: the same and the deleted column.
    pub incremental: Vec<usize>,
    /// The key's positions within the state's batches.
    pub key: Vec<KeyColumn>,
    /// The state's schema: [`StateColumns::full`]'s columns, the hash last.
    pub schema: SchemaRef,
}

impl StateColumns {
    /// The state columns of `table`.
    pub fn of(table: &TableSchema) -> StateColumns {
        let file = table.file_schema(BackupKind::Incremental);
        let hash = table.value_column_count();
        let (full, state_key) = table.projection_with_key([hash]);
        let mut incremental = full.clone();
        incremental.push(hash + 1);
        let schema = Arc::new(Schema::new(
            full.iter()
                .map(|&p| file.field(p).clone())
                .collect::<Vec<_>>(),
        ));
        StateColumns {
            full,
            incremental,
            key: state_key,
            schema,
        }
    }
}
