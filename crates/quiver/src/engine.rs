//! The engine: runs scripts, sending backup statements to quiver and the rest to SQLite.

use std::path::{Path, PathBuf};

use quiver_catalog::Repository;
use quiver_grammar::{Statement, parse_script};
use rusqlite::Connection;

use crate::error::ExecError;
use crate::{Error, Outcome, Progress, Result, backup, collections, plain_sql, restoring, stored};

/// How an [`Engine`] is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// The backup repository; default `<database file>.quiver/` beside the database.
    pub repository: Option<PathBuf>,
    /// Rows per batch when reading tables; default 8192.
    pub batch_rows: Option<usize>,
}

/// Receives progress of long-running statements.
type ProgressCallback = Box<dyn FnMut(&Progress)>;

/// A SQLite database with its backup repository.
pub struct Engine {
    pub(crate) db_path: PathBuf,
    pub(crate) conn: Connection,
    pub(crate) repo: Repository,
    pub(crate) batch_rows: usize,
    pub(crate) progress: Option<ProgressCallback>,
}

impl Engine {
    /// Opens (creating if needed) the SQLite database file at `db`, with its repository at
    /// the default place.
    pub fn open(db: impl AsRef<Path>) -> Result<Engine> {
        Engine::open_with(db, EngineOptions::default())
    }

    /// Opens the database file at `db` with `options`.
    pub fn open_with(db: impl AsRef<Path>, options: EngineOptions) -> Result<Engine> {
        let db_path = db.as_ref().to_path_buf();
        if db_path.as_os_str().is_empty() || db_path.as_os_str() == ":memory:" {
            return Err(Error::Open(ExecError::refused(
                "quiver needs a database file: backups read it through connections of their own",
                None,
            )));
        }
        let conn = Connection::open(&db_path).map_err(|e| Error::Open(e.into()))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| Error::Open(e.into()))?;
        let repo_path = options.repository.unwrap_or_else(|| {
            let mut name = db_path.file_name().unwrap_or_default().to_os_string();
            name.push(".quiver");
            db_path.with_file_name(name)
        });
        let repo = Repository::open(repo_path).map_err(|e| Error::Open(e.into()))?;
        Ok(Engine {
            db_path,
            conn,
            repo,
            batch_rows: options.batch_rows.unwrap_or(8192).max(1),
            progress: None,
        })
    }

    /// Calls `report` with progress of long-running statements (BACKUP, RESTORE).
    pub fn on_progress(&mut self, report: impl FnMut(&Progress) + 'static) {
        self.progress = Some(Box::new(report));
    }

    /// The backup repository.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The database file.
    pub fn database_path(&self) -> &Path {
        &self.db_path
    }

    /// The engine's own connection, which runs plain SQL.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs a script and returns each statement's outcome. The whole script is parsed
    /// first, so a syntax error anywhere runs nothing; otherwise statements run in order
    /// until one fails.
    pub fn execute(&mut self, script: &str) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::new();
        self.execute_each(script, &mut |outcome| outcomes.push(outcome))?;
        Ok(outcomes)
    }

    /// Like [`Engine::execute`], handing each outcome to `on_outcome` as soon as its
    /// statement has run (so that a shell can print results before a later statement fails).
    pub fn execute_each(
        &mut self,
        script: &str,
        on_outcome: &mut dyn FnMut(Outcome),
    ) -> Result<()> {
        let statements = parse_script(script)?;
        for statement in statements {
            let outcome = self
                .run(&statement.node)
                .map_err(|e| Error::at_statement(script, statement.span, e))?;
            on_outcome(outcome);
        }
        Ok(())
    }

    fn run(&mut self, statement: &Statement) -> Result<Outcome, ExecError> {
        match statement {
            Statement::Sql(sql) => plain_sql::run(&self.conn, sql),
            Statement::CreateBackupCollection(create) => collections::create(self, create),
            Statement::DropBackupCollection { name } => collections::drop(self, name),
            Statement::AlterBackupCollection { name, action } => {
                collections::alter(self, name, action)
            }
            Statement::Backup { name, incremental } => backup::run(self, name, *incremental),
            Statement::Restore { name, at, options } => {
                restoring::restore(self, name, at.as_deref(), options)
            }
            Statement::ShowBackupCollections => Ok(Outcome::Rows(stored::collections_rows(
                &stored::collections(&self.repo)?,
            ))),
            Statement::ShowBackups { name } => Ok(Outcome::Rows(stored::backups_rows(
                &stored::backups(&self.repo, name)?,
            ))),
            Statement::Query { at, sql } => {
                stored::query(&self.repo, at.as_deref(), sql, self.batch_rows).map(Outcome::Rows)
            }
            Statement::Verify { name, at } => {
                let report = stored::verify(&self.repo, name, at.as_deref(), &mut |_| {})?;
                if report.is_ok() {
                    Ok(Outcome::Verified(report))
                } else {
                    Err(quiver_storage::Error::Faults {
                        what: format!("VERIFY {name}: the collection is damaged"),
                        faults: report.faults,
                    }
                    .into())
                }
            }
        }
    }

    /// Refuses `statement` while the engine's connection has a transaction open: quiver reads
    /// and writes the database through connections of its own, which see only committed
    /// tables and would wait for this one's locks.
    pub(crate) fn outside_transaction(&self, statement: &str) -> Result<(), ExecError> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        Err(ExecError::refused(
            format!("{statement} cannot run inside an open transaction"),
            Some(
                "COMMIT or ROLLBACK first: quiver works through connections of its own, which see only committed tables"
                    .to_string(),
            ),
        ))
    }

    pub(crate) fn report(&mut self, progress: Progress) {
        if let Some(report) = &mut self.progress {
            report(&progress);
        }
    }
}
