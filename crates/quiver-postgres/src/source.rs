//! Backups read through one exported snapshot: a coordinator transaction (REPEATABLE READ,
//! READ ONLY) exports it, readers import it, as `pg_dump -j` does, so every table of a
//! collection is read at one point in time while writers go on.

use std::io::BufReader;

use arrow::record_batch::RecordBatch;
use postgres::Client;
use quiver_catalog::{AdapterError, BackupSource, SourceSnapshot, TableSchema};

use crate::connect::ConnectionSpec;
use crate::describe::{describe, locate};
use crate::error::{Error, Result, server};
use crate::scan::{copy_out_sql, decode};

/// A PostgreSQL database that backups read.
pub struct PostgresSource {
    spec: ConnectionSpec,
}

impl PostgresSource {
    /// A source reading the database `spec` names (each snapshot on a session of its own).
    pub fn new(spec: ConnectionSpec) -> PostgresSource {
        PostgresSource { spec }
    }
}

/// One read-only transaction on the exported snapshot.
pub struct PgSnapshot {
    client: Client,
    /// The session's search path as it was, for finding tables by unqualified names.
    schemas: Vec<String>,
}

impl PgSnapshot {
    /// Starts the transaction; with `snapshot`, on that exported snapshot.
    fn begin(spec: &ConnectionSpec, snapshot: Option<&str>) -> Result<PgSnapshot> {
        let mut client = spec.connect()?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .map_err(server(|| "starting the backup's read transaction"))?;
        if let Some(id) = snapshot {
            client
                .batch_execute(&format!(
                    "SET TRANSACTION SNAPSHOT {}",
                    crate::table::quote_literal(id)
                ))
                .map_err(server(|| "joining the backup's snapshot"))?;
        }
        let schemas: Vec<String> = client
            .query_one("SELECT current_schemas(false)::text[]", &[])
            .map_err(server(|| "reading the search path"))?
            .get(0);
        // Every name the catalogs' functions write is then schema-qualified.
        client
            .batch_execute("SELECT pg_catalog.set_config('search_path', '', true)")
            .map_err(server(|| "clearing the search path"))?;
        Ok(PgSnapshot { client, schemas })
    }
}

impl BackupSource for PostgresSource {
    fn estimated_rows(&mut self, table: &str) -> Option<u64> {
        let mut snapshot = PgSnapshot::begin(&self.spec, None).ok()?;
        let at = locate(&mut snapshot.client, table, &snapshot.schemas).ok()??;
        let tuples: f32 = snapshot
            .client
            .query_one(
                "SELECT reltuples FROM pg_catalog.pg_class WHERE oid = $1::int8::oid",
                &[&at.oid],
            )
            .ok()?
            .get(0);
        // -1: never analyzed, so unknown.
        (tuples >= 0.0).then_some(tuples as u64)
    }

    fn snapshots(
        &mut self,
        count: usize,
    ) -> Result<Vec<Box<dyn SourceSnapshot + Send + '_>>, AdapterError> {
        let mut first = PgSnapshot::begin(&self.spec, None)?;
        let mut snapshots: Vec<Box<dyn SourceSnapshot + Send>> = Vec::with_capacity(count);
        if count > 1 {
            let id: String = first
                .client
                .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
                .map_err(server(|| "exporting the backup's snapshot"))?
                .get(0);
            for _ in 1..count {
                snapshots.push(Box::new(PgSnapshot::begin(&self.spec, Some(&id))?));
            }
        }
        snapshots.insert(0, Box::new(first));
        Ok(snapshots)
    }
}

impl SourceSnapshot for PgSnapshot {
    fn describe(&mut self, table: &str) -> Result<TableSchema, AdapterError> {
        let at = locate(&mut self.client, table, &self.schemas)?
            .ok_or_else(|| Error::NoSuchTable(table.to_string()))?;
        Ok(describe(&mut self.client, &at)?)
    }

    fn scan(
        &mut self,
        table: &TableSchema,
        batch_rows: usize,
        sink: &mut dyn FnMut(RecordBatch) -> Result<(), AdapterError>,
    ) -> Result<u64, AdapterError> {
        let pg = crate::ddl::stored(table)?;
        let sql = copy_out_sql(&pg, &table.primary_key);
        let reader = self
            .client
            .copy_out(sql.as_str())
            .map_err(server(|| format!("reading `{}`", table.name)))?;
        let rows = decode(
            BufReader::with_capacity(1 << 20, reader),
            &pg,
            table,
            batch_rows.max(1),
            sink,
        )?;
        Ok(rows)
    }
}
