//! Restores into PostgreSQL: one transaction (PostgreSQL's DDL is transactional), so all
//! tables or none. Types the tables use and serial sequences are created first, then each
//! table (its checks vetted before any row), its rows by COPY FROM (binary where every
//! column has a binary form here, see [`CopyFormat`]), then indexes, sequence
//! positions and triggers; foreign keys last, once every table is loaded.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use postgres::Client;
use quiver_catalog::{
    AdapterError, ErrorKind, RenamedTable, RestoreTarget, TableSchema, TargetTransaction,
};

use crate::connect::ConnectionSpec;
use crate::copy_in::CopyFormat;
use crate::ddl::{self, stored};
use crate::error::{Error, Result, server};
use crate::table::{Form, PgTable, qualified, quote_ident, quote_literal};

/// A PostgreSQL database that restores write into.
pub struct PostgresTarget {
    spec: ConnectionSpec,
}

impl PostgresTarget {
    /// A target writing into the database `spec` names, on a session of its own.
    pub fn new(spec: ConnectionSpec) -> PostgresTarget {
        PostgresTarget { spec }
    }
}

/// The restore's transaction; rolled back unless committed.
struct PgLoad {
    session: Session,
    open: bool,
    /// Each table's checked description, read from its schema once (inserts come batch
    /// by batch).
    described: HashMap<String, Arc<PgTable>>,
    /// Rows encoded for the next COPY, which goes to the server once it holds
    /// [`COPY_BYTES`] or the table is finished.
    pending: Option<PendingCopy>,
}

/// Sends `pending` by one COPY FROM on `client`.
fn send_copy(client: &mut Client, pending: &PendingCopy) -> Result<()> {
    let context = || format!("loading `{}`", pending.table);
    let mut writer = client
        .copy_in(pending.sql.as_str())
        .map_err(server(context))?;
    writer.write_all(&pending.data).map_err(|e| Error::Server {
        context: context(),
        message: e.to_string(),
        kind: ErrorKind::Connection,
        position: None,
    })?;
    writer.finish().map_err(server(context))?;
    Ok(())
}

/// Bytes of rows one COPY FROM carries: batches are small (a restore reads them a few at a
/// time), and each COPY costs a round trip and the server's setup.
const COPY_BYTES: usize = 8 << 20;

/// One table's rows waiting for their COPY.
struct PendingCopy {
    table: String,
    sql: String,
    format: CopyFormat,
    forms: Vec<Form>,
    data: Vec<u8>,
}

impl PendingCopy {
    fn new(table: &TableSchema, pg: &PgTable) -> PendingCopy {
        let columns: Vec<String> = pg.stored_columns().map(|c| quote_ident(&c.name)).collect();
        let forms: Vec<Form> = pg.stored_columns().map(|c| c.form).collect();
        let format = CopyFormat::for_forms(&forms);
        let mut data = Vec::with_capacity(COPY_BYTES + (1 << 20));
        format.start(&mut data);
        PendingCopy {
            table: table.name.clone(),
            sql: format!(
                "COPY {} ({}) FROM STDIN{}",
                pg.qualified(),
                columns.join(", "),
                format.option()
            ),
            format,
            forms,
            data,
        }
    }
}

/// The restore's session: idle, or lent to the thread sending a COPY, so that the next
/// rows are encoded while the server loads these.
enum Session {
    Idle(Box<Client>),
    Copying(std::thread::JoinHandle<(Box<Client>, Result<()>)>),
    /// The thread sending a COPY panicked, with the session.
    Lost,
}

impl Drop for PgLoad {
    fn drop(&mut self) {
        if self.open {
            // Waits for a COPY in flight; its error, if any, is the one already reported.
            let _ = self.client();
            if let Session::Idle(client) = &mut self.session {
                let _ = client.batch_execute("ROLLBACK");
            }
        }
    }
}

impl RestoreTarget for PostgresTarget {
    fn check_table(&self, table: &TableSchema) -> Result<(), AdapterError> {
        stored(table)?;
        Ok(())
    }

    fn renamed(
        &self,
        table: &TableSchema,
        new_name: &dyn Fn(&str) -> Option<String>,
    ) -> Result<RenamedTable, AdapterError> {
        Ok(crate::rename::renamed(table, new_name)?)
    }

    fn begin(&mut self) -> Result<Box<dyn TargetTransaction + '_>, AdapterError> {
        let mut client = self.spec.connect()?;
        client
            .batch_execute("BEGIN; SELECT pg_catalog.set_config('search_path', '', true)")
            .map_err(server(|| "starting the restore's transaction"))?;
        Ok(Box::new(PgLoad {
            session: Session::Idle(Box::new(client)),
            open: true,
            described: HashMap::new(),
            pending: None,
        }))
    }
}

/// `(schema, table)` of a name as collections show it (no schema: `public`).
pub(crate) fn split_name(name: &str) -> (String, String) {
    let (schema, table) = crate::table::split_name(name);
    (schema.unwrap_or_else(|| "public".into()), table)
}

impl PgLoad {
    /// The session, once the COPY in flight (if any) has finished; its error, if it failed.
    fn client(&mut self) -> Result<&mut Client> {
        if matches!(self.session, Session::Copying(_)) {
            let Session::Copying(copying) = std::mem::replace(&mut self.session, Session::Lost)
            else {
                unreachable!("matched above")
            };
            let (client, sent) = copying.join().map_err(|_| Error::Server {
                context: "loading rows".into(),
                message: "the thread sending them stopped".into(),
                kind: ErrorKind::Other,
                position: None,
            })?;
            self.session = Session::Idle(client);
            sent?;
        }
        match &mut self.session {
            Session::Idle(client) => Ok(client),
            _ => Err(Error::Server {
                context: "loading rows".into(),
                message: "the session was lost".into(),
                kind: ErrorKind::Connection,
                position: None,
            }),
        }
    }

    /// Sends the pending rows, if any, by one COPY FROM on a thread of its own (after the
    /// one before has gone in); [`PgLoad::client`] waits for it.
    fn flush(&mut self) -> Result<()> {
        let Some(mut pending) = self.pending.take() else {
            return Ok(());
        };
        pending.format.end(&mut pending.data);
        self.client()?;
        let Session::Idle(mut client) = std::mem::replace(&mut self.session, Session::Lost) else {
            unreachable!("client() leaves the session idle")
        };
        self.session = Session::Copying(std::thread::spawn(move || {
            let sent = send_copy(&mut client, &pending);
            (client, sent)
        }));
        Ok(())
    }

    /// `table`'s description, checked ([`stored`]) the first time it is asked for.
    fn described(&mut self, table: &TableSchema) -> Result<Arc<PgTable>> {
        if let Some(pg) = self.described.get(&table.name) {
            return Ok(pg.clone());
        }
        let pg = Arc::new(stored(table)?);
        self.described.insert(table.name.clone(), pg.clone());
        Ok(pg)
    }

    /// Whether relation `qualified` (`"schema"."name"`) exists in the target.
    fn exists(&mut self, qualified: &str) -> Result<bool> {
        Ok(self
            .client()?
            .query_one(
                "SELECT pg_catalog.to_regclass($1) IS NOT NULL",
                &[&qualified],
            )
            .map_err(server(|| format!("looking up table {qualified}")))?
            .get(0))
    }

    /// The oid of `table`, once created.
    fn oid_of(&mut self, table: &PgTable) -> Result<i64> {
        Ok(self
            .client()?
            .query_one(
                "SELECT pg_catalog.to_regclass($1)::oid::int8",
                &[&table.qualified()],
            )
            .map_err(server(|| {
                format!("looking up table `{}`", table.display_name())
            }))?
            .get(0))
    }

    fn run(&mut self, sql: &str, what: impl FnOnce() -> String) -> Result<()> {
        // The extended protocol: one statement, whatever the text holds.
        self.client()?.execute(sql, &[]).map_err(server(what))?;
        Ok(())
    }

    fn ensure_enums(&mut self, table: &PgTable) -> Result<()> {
        for e in &table.enums {
            let found = self
                .client()?
                .query(
                    "SELECT array(SELECT l.enumlabel::text FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid ORDER BY l.enumsortorder)
                     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = $1 AND t.typname = $2",
                    &[&e.schema, &e.name],
                )
                .map_err(server(|| format!("looking up type {}", qualified(&e.schema, &e.name))))?;
            match found.first() {
                Some(row) if row.get::<_, Vec<String>>(0) == e.labels => {}
                Some(_) => {
                    return Err(Error::Server {
                        context: format!("restoring `{}`", table.display_name()),
                        message: format!(
                            "type {} exists in the target with other labels than the backup's ({})",
                            qualified(&e.schema, &e.name),
                            e.labels.join(", ")
                        ),
                        kind: ErrorKind::Unsupported,
                        position: None,
                    });
                }
                None => {
                    let labels: Vec<String> = e.labels.iter().map(|l| quote_literal(l)).collect();
                    let sql = format!(
                        "CREATE TYPE {} AS ENUM ({})",
                        qualified(&e.schema, &e.name),
                        labels.join(", ")
                    );
                    self.run(&sql, || {
                        format!("creating type {}", qualified(&e.schema, &e.name))
                    })?;
                }
            }
        }
        Ok(())
    }

    fn check_target(&mut self, table: &PgTable) -> Result<()> {
        let missing = |what: String, hint: &str| Error::Server {
            context: format!("restoring `{}`", table.display_name()),
            message: format!("{what} does not exist in the target database; {hint}"),
            kind: ErrorKind::NotFound,
            position: None,
        };
        let schema = self
            .client()?
            .query(
                "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
                &[&table.schema],
            )
            .map_err(server(|| "looking up the schema"))?;
        if schema.is_empty() {
            return Err(missing(
                format!("schema {}", quote_ident(&table.schema)),
                &format!(
                    "create it first: CREATE SCHEMA {}",
                    quote_ident(&table.schema)
                ),
            ));
        }
        for column in &table.columns {
            // Resolving the name runs nothing: it only parses it and looks it up.
            let known: bool = self
                .client()?
                .query_one(
                    "SELECT pg_catalog.to_regtype($1) IS NOT NULL",
                    &[&column.type_name],
                )
                .map_err(server(|| format!("looking up type `{}`", column.type_name)))?
                .get(0);
            if !known {
                return Err(missing(
                    format!("type `{}` of column `{}`", column.type_name, column.name),
                    "create it first (CREATE TYPE, CREATE DOMAIN or CREATE EXTENSION), as in the database it was backed up from",
                ));
            }
        }
        Ok(())
    }
}

impl PgLoad {
    /// Checks the table just created (still empty) against its description, and what its
    /// stored expressions call, before any row goes in: a forged fragment stops here and
    /// the transaction rolls back.
    fn check_created(&mut self, table: &PgTable, oid: i64) -> Result<()> {
        self.check_shape(table, oid, false)?;
        self.check_calls(table, oid)
    }

    /// Refuses `table` unless the server describes it as [`ddl::expected_shape`] says.
    fn check_shape(&mut self, table: &PgTable, oid: i64, loaded: bool) -> Result<()> {
        let name = table.display_name();
        let row = self
            .client()?
            .query_one(ddl::CREATED_SHAPE_SQL, &[&oid])
            .map_err(server(|| format!("checking the created table `{name}`")))?;
        let found: (Vec<String>, Vec<String>) = (row.get(0), row.get(1));
        if found != ddl::expected_shape(table, loaded) {
            return Err(Error::RefusedDdl(format!(
                "table `{name}`: created from its description it has columns ({}) and constraints ({}), not the ones described; nothing was restored",
                found.0.join(", "),
                found.1.join(", ")
            )));
        }
        Ok(())
    }

    /// Refuses what [`ddl::FORBIDDEN_CALLS_SQL`] finds.
    fn check_calls(&mut self, table: &PgTable, oid: i64) -> Result<()> {
        let name = table.display_name();
        let forbidden: Vec<String> = self
            .client()?
            .query(ddl::FORBIDDEN_CALLS_SQL, &[&oid])
            .map_err(server(|| format!("checking what `{name}` calls")))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if forbidden.is_empty() {
            return Ok(());
        }
        Err(Error::RefusedDdl(format!(
            "table `{name}`: {} (a volatile function it may not call); nothing was restored",
            forbidden.join("; ")
        )))
    }
}

impl TargetTransaction for PgLoad {
    fn existing_tables(&mut self, names: &[String]) -> Result<Vec<String>, AdapterError> {
        let mut existing = Vec::new();
        for name in names {
            let (schema, table) = split_name(name);
            if self.exists(&qualified(&schema, &table))? {
                existing.push(name.clone());
            }
        }
        Ok(existing)
    }

    fn create_table(&mut self, table: &TableSchema) -> Result<(), AdapterError> {
        let pg = self.described(table)?;
        let name = table.name.clone();
        self.ensure_enums(&pg)?;
        self.check_target(&pg)?;
        for sequence in &pg.sequences {
            self.run(
                &ddl::create_sequence(&pg, &sequence.name, &sequence.options),
                || format!("creating sequence `{}` of `{name}`", sequence.name),
            )?;
        }
        self.run(&ddl::create_table(&pg), || {
            format!("creating table `{name}`")
        })?;
        let oid = self.oid_of(&pg)?;
        self.check_created(&pg, oid)?;
        Ok(())
    }
    fn insert(&mut self, table: &TableSchema, batch: &RecordBatch) -> Result<(), AdapterError> {
        let pg = self.described(table)?;
        if self.pending.as_ref().is_some_and(|p| p.table != table.name) {
            self.flush()?;
        }
        let pending = match &mut self.pending {
            Some(pending) => pending,
            None => self.pending.insert(PendingCopy::new(table, &pg)),
        };
        pending
            .format
            .encode(batch, &pending.forms, &mut pending.data)
            .map_err(|message| Error::BatchMismatch {
                table: table.name.clone(),
                message,
            })?;
        if pending.data.len() >= COPY_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn finish_table(&mut self, table: &TableSchema) -> Result<(), AdapterError> {
        self.flush()?;
        let pg = self.described(table)?;
        for statement in ddl::finish_table(&pg) {
            self.run(&statement, || {
                format!(
                    "finishing `{}`: {}",
                    table.name,
                    crate::tokens::shorten(&statement)
                )
            })?;
        }
        // Its keys and triggers now exist: its whole shape and what trigger conditions call
        // are checked too.
        let oid = self.oid_of(&pg)?;
        self.check_shape(&pg, oid, true)?;
        Ok(self.check_calls(&pg, oid)?)
    }

    fn check_references(&mut self, tables: &[TableSchema]) -> Result<Vec<String>, AdapterError> {
        self.flush()?;
        let mut warnings = Vec::new();
        for table in tables {
            let pg = self.described(table)?;
            warnings.extend(ddl::access_warnings(&pg, &table.name));
            for fk in &pg.foreign_keys {
                let parent = qualified(&fk.parent_schema, &fk.parent);
                if !self.exists(&parent)? {
                    warnings.push(format!(
                        "foreign key {} of `{}` was not restored: it refers to table {parent}, which the target database does not have",
                        quote_ident(&fk.name),
                        table.name
                    ));
                    continue;
                }
                self.run(&ddl::add_foreign_key(&pg, fk), || {
                    format!(
                        "adding foreign key {} of `{}`",
                        quote_ident(&fk.name),
                        table.name
                    )
                })?;
            }
        }
        Ok(warnings)
    }

    fn commit(mut self: Box<Self>) -> Result<(), AdapterError> {
        self.flush()?;
        self.client()?
            .batch_execute("COMMIT")
            .map_err(server(|| "committing the restore"))?;
        self.open = false;
        Ok(())
    }
}
