//! SQLite as a restore target.

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use quiver_catalog::{AdapterError, RenamedTable, RestoreTarget, TableSchema, TargetTransaction};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::ddl::{check_table_ddl, run_one};
use crate::error::sqlite;
use crate::load::Loader;
use crate::tokens::same_name;
use crate::{Error, Result};

/// A SQLite database file that backups are restored into, through a connection of its own.
pub struct SqliteTarget {
    path: PathBuf,
    /// Opened when the restore begins: a restore refused while planning leaves no file.
    conn: Option<Connection>,
    /// Inserts through `conn`; made with it.
    loader: Option<Loader>,
}

impl SqliteTarget {
    /// A target writing the database at `path`, opened (created if needed) when the
    /// restore's transaction begins, once its plan has been checked.
    ///
    /// The connection is the restore's own and loads with foreign keys off (a pragma that
    /// only takes effect outside a transaction): tables come back in any order, self- and
    /// cyclic references included, and [`TargetTransaction::check_references`] checks every
    /// reference before the commit instead.
    pub fn open(path: &Path) -> Result<SqliteTarget> {
        Ok(SqliteTarget {
            path: path.to_path_buf(),
            conn: None,
            loader: None,
        })
    }

    fn connect(path: &Path) -> Result<Connection> {
        let conn =
            Connection::open(path).map_err(sqlite(|| format!("opening {}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(sqlite(|| "setting busy timeout"))?;
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(sqlite(
                || "turning foreign key enforcement off for the load",
            ))?;
        Ok(conn)
    }
}

/// One `BEGIN IMMEDIATE` transaction: the restore is all or nothing.
struct SqliteLoad<'a> {
    tx: Transaction<'a>,
    loader: &'a mut Loader,
}

impl RestoreTarget for SqliteTarget {
    fn check_table(&self, table: &TableSchema) -> Result<(), AdapterError> {
        check_table_ddl(table).map_err(|message| Error::RefusedDdl(message).into())
    }

    fn renamed(
        &self,
        table: &TableSchema,
        new_name: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RenamedTable, AdapterError> {
        crate::renamed(table, new_name).map_err(|message| Error::RefusedDdl(message).into())
    }

    fn begin(&mut self) -> Result<Box<dyn TargetTransaction + '_>, AdapterError> {
        let (conn, loader) = match (&mut self.conn, &mut self.loader) {
            (Some(conn), Some(loader)) => (conn, loader),
            (conn, loader) => {
                let connected = SqliteTarget::connect(&self.path)?;
                let made = Loader::new(&connected)?;
                (conn.insert(connected), loader.insert(made))
            }
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(|| "starting the restore transaction"))?;
        // Under the write lock: no other connection can give the file another encoding
        // between this check and the restore's first write.
        crate::database::check_utf8(&tx, &self.path)?;
        Ok(Box::new(SqliteLoad { tx, loader }))
    }
}

impl TargetTransaction for SqliteLoad<'_> {
    fn existing_tables(&mut self, names: &[String]) -> Result<Vec<String>, AdapterError> {
        let mut stmt = self
            .tx
            .prepare("SELECT name FROM main.sqlite_master WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE")
            .map_err(sqlite(|| "checking for existing tables"))?;
        let mut existing = Vec::new();
        for name in names {
            let found: Option<String> = stmt
                .query_row([name], |r| r.get(0))
                .optional()
                .map_err(sqlite(|| "checking for existing tables"))?;
            existing.extend(found);
        }
        Ok(existing)
    }

    fn create_table(&mut self, table: &TableSchema) -> Result<(), AdapterError> {
        run_one(&self.tx, &table.create_sql)
            .map_err(sqlite(|| format!("recreating table `{}`", table.name)))?;
        Ok(())
    }

    fn insert(&mut self, table: &TableSchema, batch: &RecordBatch) -> Result<(), AdapterError> {
        self.loader.insert(&self.tx, table, batch)?;
        Ok(())
    }

    fn finish_table(&mut self, table: &TableSchema) -> Result<(), AdapterError> {
        // Indexes after the data (one sort instead of per-row maintenance); triggers last so
        // that restoring rows does not fire them.
        for sql in table.index_sql.iter().chain(&table.trigger_sql) {
            run_one(&self.tx, sql).map_err(sqlite(|| format!("recreating `{sql}`")))?;
        }
        if let Some(seq) = table.autoincrement_seq {
            self.tx
                .execute(
                    "DELETE FROM main.sqlite_sequence WHERE name = ?1",
                    [&table.name],
                )
                .and_then(|_| {
                    self.tx.execute(
                        "INSERT INTO main.sqlite_sequence (name, seq) VALUES (?1, ?2)",
                        rusqlite::params![table.name, seq],
                    )
                })
                .map_err(sqlite(|| {
                    format!("restoring the AUTOINCREMENT counter of `{}`", table.name)
                }))?;
        }
        Ok(())
    }

    fn check_references(&mut self, tables: &[TableSchema]) -> Result<Vec<String>, AdapterError> {
        let restored = |name: &str| tables.iter().any(|t| same_name(&t.name, name));
        let mut dangling: Vec<(String, String, u64)> = Vec::new();
        let mut warnings = Vec::new();
        for table in tables {
            let violations = || -> rusqlite::Result<Vec<(Option<i64>, String)>> {
                let mut stmt = self
                    .tx
                    .prepare("SELECT rowid, parent FROM pragma_foreign_key_check(?1, 'main')")?;
                let rows = stmt.query_map([&table.name], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect()
            };
            let violations = match violations() {
                Ok(violations) => violations,
                // A key that refers to columns without a unique index: SQLite takes such a
                // schema, and enforces nothing of it unless asked. The schema is restored as
                // it was; its references cannot be checked.
                Err(e) if e.to_string().contains("foreign key mismatch") => {
                    warnings.push(format!(
                        "the foreign keys of `{}` cannot be checked ({e}): the table is restored as it was backed up",
                        table.name
                    ));
                    continue;
                }
                Err(e) => {
                    return Err(sqlite(|| {
                        format!("checking the foreign keys of `{}`", table.name)
                    })(e)
                    .into());
                }
            };
            for (rowid, parent) in violations {
                if restored(&parent) {
                    return Err(Error::ForeignKeyViolation {
                        table: table.name.clone(),
                        row: rowid.map_or_else(
                            || "a row (of a WITHOUT ROWID table)".to_string(),
                            |r| format!("the row with rowid {r}"),
                        ),
                        parent,
                    }
                    .into());
                }
                match dangling
                    .iter_mut()
                    .find(|(t, p, _)| *t == table.name && same_name(p, &parent))
                {
                    Some((_, _, count)) => *count += 1,
                    None => dangling.push((table.name.clone(), parent, 1)),
                }
            }
        }
        Ok(warnings
            .into_iter()
            .chain(dangling.into_iter().map(|(table, parent, rows)| {
                format!(
                    "{rows} row(s) of `{table}` refer to rows of `{parent}` that the database does not have: `{parent}` is not restored with it"
                )
            }))
            .collect())
    }

    fn commit(self: Box<Self>) -> Result<(), AdapterError> {
        self.tx
            .commit()
            .map_err(sqlite(|| "committing the restore"))?;
        Ok(())
    }
}
