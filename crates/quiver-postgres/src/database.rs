//! A PostgreSQL database as a [`Database`]: plain SQL on a session of its own, backups and
//! restores on sessions they open.

use postgres::Client;
use quiver_catalog::{
    AdapterError, BackupSource, Database, Dialect, RestoreTarget, SqlOutcome, TableSchema,
};

use crate::connect::ConnectionSpec;
use crate::describe::locate;
use crate::error::{Error, Result, server};
use crate::table::display_name;
use crate::{PostgresSource, PostgresTarget, plain_sql};

/// A PostgreSQL database.
pub struct PostgresDatabase {
    spec: ConnectionSpec,
    client: Client,
}

impl PostgresDatabase {
    /// Connects to the database `url` names (see [`ConnectionSpec::parse`]).
    pub fn connect(url: &str) -> Result<PostgresDatabase> {
        let spec = ConnectionSpec::parse(url)?;
        let client = spec.connect()?;
        Ok(PostgresDatabase { spec, client })
    }

    /// How the database is reached.
    pub fn spec(&self) -> &ConnectionSpec {
        &self.spec
    }

    /// The database's own session, which runs plain SQL.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl Database for PostgresDatabase {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn display_name(&self) -> String {
        self.spec.display().to_string()
    }

    fn run_sql(&mut self, sql: &str) -> Result<SqlOutcome, AdapterError> {
        Ok(plain_sql::run(&mut self.client, sql)?)
    }

    /// In a transaction block, a statement starts later than its transaction; a statement
    /// of its own starts its transaction at the same instant. An aborted block refuses the
    /// statement: that is a transaction too.
    fn in_transaction(&mut self) -> bool {
        // The simple protocol: one message, so one statement start (the extended protocol's
        // messages each restart the statement's clock).
        let Ok(messages) = self
            .client
            .simple_query("SELECT now() <> statement_timestamp()")
        else {
            return true;
        };
        messages.iter().any(|m| match m {
            postgres::SimpleQueryMessage::Row(row) => row.get(0) == Some("t"),
            _ => false,
        })
    }

    fn table_name(&mut self, name: &str) -> Result<Option<String>, AdapterError> {
        let schemas: Vec<String> = self
            .client
            .query_one("SELECT current_schemas(false)::text[]", &[])
            .map_err(server(|| "reading the search path"))?
            .get(0);
        Ok(locate(&mut self.client, name, &schemas)?.map(|at| display_name(&at.schema, &at.name)))
    }

    fn table_names(&mut self) -> Result<Vec<String>, AdapterError> {
        let rows = self
            .client
            .query(
                "SELECT schemaname::text, tablename::text FROM pg_catalog.pg_tables
                 WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
                &[],
            )
            .map_err(server(|| "listing tables"))?;
        Ok(rows
            .iter()
            .map(|r| display_name(r.get(0), r.get(1)))
            .collect())
    }

    fn source(&self) -> Result<Box<dyn BackupSource>, AdapterError> {
        Ok(Box::new(PostgresSource::new(self.spec.clone())))
    }

    fn target(&self, database: Option<&str>) -> Result<Box<dyn RestoreTarget>, AdapterError> {
        let spec = match database {
            None => self.spec.clone(),
            Some(url) => ConnectionSpec::parse(url).map_err(|_| {
                Error::BadUrl(
                    "DATABASE names another PostgreSQL database: DATABASE = 'postgresql://user@host:port/dbname'"
                        .into(),
                )
            })?,
        };
        Ok(Box::new(PostgresTarget::new(spec)))
    }

    fn prefixed(&self, table: &str, prefix: &str) -> String {
        let (schema, name) = crate::table::split_name(table);
        display_name(
            schema.as_deref().unwrap_or("public"),
            &format!("{prefix}{name}"),
        )
    }

    fn check_table(&self, table: &TableSchema) -> Result<(), AdapterError> {
        crate::ddl::stored(table)?;
        Ok(())
    }
}
