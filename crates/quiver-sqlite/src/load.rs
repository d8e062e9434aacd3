//! Loading Arrow rows back into SQLite with their original storage classes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use arrow::record_batch::RecordBatch;
use quiver_catalog::TableSchema;

use crate::describe::rowid_expression;
use crate::error::sqlite;
use crate::feed::{self, FeedBatch, FeedColumn, Slot};
use crate::{Error, Result, quote_ident};

/// Loads batches into the tables of one connection, through its feed tables (one per
/// column count, made when first needed: `temp."quiver_feed_<n>"`).
pub(crate) struct Loader {
    slot: Slot,
    /// Column counts whose feed table exists.
    feeds: Vec<usize>,
    /// The largest rowid loaded so far into each table with a stored rowid that has rows
    /// (see [`Rowids`]).
    largest_rowid: HashMap<String, i64>,
}

/// How the rows of a table with a stored rowid get it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rowids {
    /// Inserted with each row: SQLite checks each one and seeks its place from the b-tree's
    /// root.
    Explicit,
    /// Left to SQLite, which gives a new row the table's largest rowid plus one (1 in an
    /// empty table) and appends it without a seek: the same rowids, when the batch's are
    /// consecutive and follow the largest loaded so far (a table that had no deletes).
    Assigned,
}

impl Loader {
    /// Registers the feed module on `conn`, which this loader then inserts through.
    pub(crate) fn new(conn: &rusqlite::Connection) -> Result<Loader> {
        let slot: Slot = Arc::new(Mutex::new(None));
        feed::register(conn, Arc::clone(&slot))
            .map_err(sqlite(|| "registering the restore's feed table"))?;
        Ok(Loader {
            slot,
            feeds: Vec::new(),
            largest_rowid: HashMap::new(),
        })
    }

    /// Inserts every row of `batch` into `table` (created empty by this restore) with one
    /// `INSERT … SELECT` from the feed.
    pub(crate) fn insert(
        &mut self,
        conn: &rusqlite::Connection,
        table: &TableSchema,
        batch: &RecordBatch,
    ) -> Result<()> {
        let columns = columns(table, batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let feed_table = self.feed_table(conn, columns.len())?;
        let rowids = self.rowids(table, batch);
        let sql = insert_sql(table, &feed_table, rowids)?;
        let mut insert = conn.prepare_cached(&sql).map_err(sqlite(|| {
            format!("preparing the insert into `{}`", table.name)
        }))?;
        self.put(Some(Arc::new(FeedBatch {
            columns,
            rows: batch.num_rows(),
        })));
        let inserted = insert.raw_execute();
        self.put(None);
        inserted.map_err(sqlite(|| format!("restoring rows of `{}`", table.name)))?;
        Ok(())
    }

    /// How `batch`'s rows get their rowids back, noting its largest; [`Rowids::Explicit`]
    /// for a table whose rowid is not stored (it is then a column, or not kept).
    fn rowids(&mut self, table: &TableSchema, batch: &RecordBatch) -> Rowids {
        if !table.stores_rowid {
            return Rowids::Explicit;
        }
        // The schema check has made column 0 the rowids: Int64, never NULL.
        let rowids = batch.column(0).as_primitive::<Int64Type>().values();
        let largest = self.largest_rowid.get(&table.name).copied();
        // What SQLite would give the batch's first row: no rowid comes out of range (every
        // row's is one more than the one before), so none is chosen at random.
        let next = match largest {
            None => Some(1),
            Some(largest) => largest.checked_add(1),
        };
        let follows = rowids.first().copied() == next
            && rowids.windows(2).all(|w| w[0].checked_add(1) == Some(w[1]));
        if let Some(batch_largest) = rowids.iter().copied().max() {
            let largest = largest.map_or(batch_largest, |l| l.max(batch_largest));
            self.largest_rowid.insert(table.name.clone(), largest);
        }
        if follows {
            Rowids::Assigned
        } else {
            Rowids::Explicit
        }
    }

    fn put(&self, feed: Option<Arc<FeedBatch>>) {
        // The slot holds no invariant a panic elsewhere could break: take it regardless.
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = feed;
    }

    /// The feed table of `columns` columns, made if this connection has none yet.
    fn feed_table(&mut self, conn: &rusqlite::Connection, columns: usize) -> Result<String> {
        let name = format!("temp.\"{}_{columns}\"", feed::MODULE);
        if !self.feeds.contains(&columns) {
            conn.execute_batch(&format!(
                "CREATE VIRTUAL TABLE {name} USING {}({columns})",
                feed::MODULE
            ))
            .map_err(sqlite(|| "creating the restore's feed table"))?;
            self.feeds.push(columns);
        }
        Ok(name)
    }
}

/// `INSERT INTO main.t (…) SELECT c0, … FROM <feed_table>`: `table`'s stored columns (and
/// its rowid, when that is stored and [`Rowids::Explicit`]) from the feed's [`columns`].
fn insert_sql(table: &TableSchema, feed_table: &str, rowids: Rowids) -> Result<String> {
    let mut names = Vec::with_capacity(table.columns.len() + 1);
    let mut feed_columns = Vec::with_capacity(table.columns.len() + 1);
    let offset = usize::from(table.stores_rowid);
    if table.stores_rowid && rowids == Rowids::Explicit {
        names.push(rowid_expression(table)?.to_string());
        feed_columns.push("c0".to_string());
    }
    names.extend(table.columns.iter().map(|c| quote_ident(&c.name)));
    feed_columns.extend((0..table.columns.len()).map(|i| format!("c{}", offset + i)));
    Ok(format!(
        "INSERT INTO main.{} ({}) SELECT {} FROM {feed_table}",
        quote_ident(&table.name),
        names.join(", "),
        feed_columns.join(", ")
    ))
}

/// The feed columns of `batch`, one per inserted column, once its schema is checked to be
/// `table`'s and every raw value in it decodes (so that the feed cannot fail mid-statement).
fn columns(table: &TableSchema, batch: &RecordBatch) -> Result<Vec<FeedColumn>> {
    let expected = table.arrow_schema();
    if batch.schema().fields() != expected.fields() {
        return Err(Error::BatchMismatch {
            table: table.name.clone(),
            message: format!(
                "expected columns {:?}",
                expected
                    .fields()
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>()
            ),
        });
    }
    let mismatch = |message: String| Error::BatchMismatch {
        table: table.name.clone(),
        message,
    };
    let unsupported = |name: &str| {
        mismatch(format!(
            "column `{name}` is not of one of SQLite's storage types"
        ))
    };
    let offset = usize::from(table.stores_rowid);
    let mut columns = Vec::with_capacity(table.columns.len() + offset);
    if table.stores_rowid {
        columns.push(
            FeedColumn::new(batch.column(0).as_ref(), None).ok_or_else(|| unsupported("rowid"))?,
        );
    }
    let mut next_raw = offset + table.columns.len();
    for (i, column) in table.columns.iter().enumerate() {
        let raw = column.has_raw.then(|| {
            next_raw += 1;
            next_raw - 1
        });
        if let Some(raw) = raw {
            let values = batch.column(raw).as_binary::<i32>();
            // Most raw columns are all NULL: nothing to decode.
            let undecodable = values.null_count() < values.len()
                && (0..values.len()).any(|row| {
                    values.is_valid(row) && quiver_catalog::decode_raw(values.value(row)).is_none()
                });
            if undecodable {
                return Err(mismatch(format!(
                    "undecodable raw value in column `{}`",
                    column.name
                )));
            }
        }
        let raw = raw.map(|at| batch.column(at).as_ref());
        columns.push(
            FeedColumn::new(batch.column(offset + i).as_ref(), raw)
                .ok_or_else(|| unsupported(&column.name))?,
        );
    }
    Ok(columns)
}
