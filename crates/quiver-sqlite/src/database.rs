//! A SQLite database file as a [`Database`]: plain SQL on a connection of its own, backups
//! and restores on connections they open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use quiver_catalog::{
    AdapterError, BackupSource, Database, Dialect, RestoreTarget, SqlOutcome, TableSchema,
};
use rusqlite::Connection;

use crate::error::{Error, Result, sqlite, sqlite_kind};
use crate::{SqliteSource, SqliteTarget, check_table_ddl, plain_sql};

/// A SQLite database file.
pub struct SqliteDatabase {
    path: PathBuf,
    conn: Connection,
}

impl SqliteDatabase {
    /// Opens (creating if needed) the database file at `path`. An in-memory database is
    /// refused: backups read the file through connections of their own.
    pub fn open(path: &Path) -> Result<SqliteDatabase> {
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Err(Error::NotAFile);
        }
        let conn =
            Connection::open(path).map_err(sqlite(|| format!("opening {}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(sqlite(|| "setting busy timeout"))?;
        Ok(SqliteDatabase {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database's own connection, which runs plain SQL.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl Database for SqliteDatabase {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn display_name(&self) -> String {
        self.path.display().to_string()
    }

    fn run_sql(&mut self, sql: &str) -> Result<SqlOutcome, AdapterError> {
        plain_sql::run(&self.conn, sql).map_err(statement_error)
    }

    fn in_transaction(&mut self) -> bool {
        !self.conn.is_autocommit()
    }

    fn table_name(&mut self, name: &str) -> Result<Option<String>, AdapterError> {
        // Described, not only looked up: a table quiver cannot back up is refused here.
        match SqliteSource::open(&self.path)?.describe(name) {
            Ok(schema) => Ok(Some(schema.name)),
            Err(Error::NoSuchTable(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn table_names(&mut self) -> Result<Vec<String>, AdapterError> {
        let names = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )?;
            stmt.query_map([], |r| r.get(0))?.collect()
        };
        Ok(names().map_err(sqlite(|| "listing tables"))?)
    }

    fn source(&self) -> Result<Box<dyn BackupSource>, AdapterError> {
        Ok(Box::new(SqliteSource::open(&self.path)?))
    }

    fn target(&self, database: Option<&str>) -> Result<Box<dyn RestoreTarget>, AdapterError> {
        if let Some(other) = database
            && names_a_server(other)
        {
            return Err(Error::OtherKind(format!(
                "DATABASE = '{other}' names a server's database, and this engine works on a SQLite file: restore into PostgreSQL with quiver --db postgresql://… --repo <this repository>, into another SQLite file with DATABASE = 'copy.db'"
            ))
            .into());
        }
        let path = database.map_or_else(|| self.path.clone(), PathBuf::from);
        Ok(Box::new(SqliteTarget::open(&path)?))
    }

    fn check_table(&self, table: &TableSchema) -> Result<(), AdapterError> {
        check_table_ddl(table).map_err(|message| Error::RefusedDdl(message).into())
    }

    /// In rollback-journal mode a backup's read transaction blocks every writer's commit
    /// until the backup ends (in WAL mode writers go on).
    fn backup_notes(&mut self) -> Vec<String> {
        let Ok(mode) = self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
        else {
            return Vec::new();
        };
        if mode.eq_ignore_ascii_case("wal") {
            return Vec::new();
        }
        vec![format!(
            "the database is in rollback-journal mode (journal_mode = {mode}): the backup's read lock makes writers wait until it ends; PRAGMA journal_mode = WAL lets them commit while backups read"
        )]
    }
}

/// A plain statement's error: SQLite's own message (its error code adds nothing), pointing
/// where SQLite says the statement is wrong.
fn statement_error(error: rusqlite::Error) -> AdapterError {
    let (message, offset) = match &error {
        rusqlite::Error::SqlInputError { msg, offset, .. } => {
            (msg.clone(), usize::try_from(*offset).ok())
        }
        rusqlite::Error::SqliteFailure(_, Some(msg)) => (msg.clone(), None),
        other => (other.to_string(), None),
    };
    let adapter = AdapterError::new(sqlite_kind(&error), Error::Statement(message));
    match offset {
        Some(offset) => adapter.at_position(offset),
        None => adapter,
    }
}

/// Whether a `DATABASE` value is a server's connection string (a URL, `postgres:…`, or
/// libpq's `key=value` form) rather than a file's path.
fn names_a_server(database: &str) -> bool {
    let lower = database.to_ascii_lowercase();
    lower.contains("://")
        || lower.starts_with("postgres")
        || lower.split_whitespace().any(|word| {
            [
                "host=",
                "hostaddr=",
                "dbname=",
                "user=",
                "password=",
                "port=",
            ]
            .iter()
            .any(|k| word.starts_with(k))
        })
}

/// Refuses the database `conn` has open at `path` unless it stores text in UTF-8 (as every
/// new database does): in a UTF-16 one, SQLite converts each text value between encodings,
/// and text not valid in both would come back changed.
pub(crate) fn check_utf8(conn: &Connection, path: &Path) -> Result<()> {
    let encoding: String = conn
        .query_row("PRAGMA encoding", [], |r| r.get(0))
        .map_err(sqlite(|| {
            format!("reading the text encoding of {}", path.display())
        }))?;
    if encoding.eq_ignore_ascii_case("UTF-8") {
        Ok(())
    } else {
        Err(Error::NotUtf8 {
            path: path.display().to_string(),
            encoding,
        })
    }
}
