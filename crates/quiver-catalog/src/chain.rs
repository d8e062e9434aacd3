//! A backup with the backups it builds on: what a restore loads, what the next incremental
//! diffs against, and what VERIFY and export walk.

use crate::{BackupManifest, Collection, DataFile, Result, TableBackup, TableSchema};

/// A backup and the backups it builds on: its full backup first, then every incremental up
/// to it, each link checked ([`Collection::chain`]). Never empty.
#[derive(Debug, Clone)]
pub struct Chain {
    backups: Vec<BackupManifest>,
}

impl Chain {
    /// The chain of `tip`, one of `collection`'s backups already read.
    pub fn ending_at(collection: &Collection, tip: BackupManifest) -> Result<Chain> {
        Ok(Chain {
            backups: collection.chain(tip)?,
        })
    }

    /// The backup the chain ends at: the one whose state it gives.
    pub fn tip(&self) -> &BackupManifest {
        self.backups.last().expect("a chain is never empty")
    }

    /// The chain's backups, full backup first.
    pub fn backups(&self) -> &[BackupManifest] {
        &self.backups
    }

    /// Every data file of the chain with its backup and table.
    pub fn files(&self) -> impl Iterator<Item = (&BackupManifest, &TableBackup, &DataFile)> {
        self.backups.iter().flat_map(|b| {
            b.tables
                .iter()
                .flat_map(move |t| t.files.iter().map(move |f| (b, t, f)))
        })
    }

    /// The newest schema of `table` in the chain, if any backup of it has the table.
    pub fn latest_schema(&self, table: &str) -> Option<&TableSchema> {
        self.backups
            .iter()
            .rev()
            .find_map(|b| b.table(table).map(|t| &t.schema))
    }
}
