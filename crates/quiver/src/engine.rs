//! The engine: runs scripts, sending backup statements to quiver and the rest to the database.

use std::path::{Path, PathBuf};

use quiver_catalog::{Database, OperationKind, Repository, SqlOutcome};
use quiver_grammar::{Statement, parse_script};
use quiver_sqlite::SqliteDatabase;

use crate::error::ExecError;
use crate::operations::Logged;
use crate::{
    Error, Outcome, Progress, QueryResult, Result, backup_statement, collections, restoring, stored,
};
use quiver_catalog::crypto::KeyEnvironment;

/// How an [`Engine`] is set up.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// The backup repository. A SQLite database's default is `<database file>.quiver/` beside
    /// it; a server's database has no file to sit beside, so it must be given.
    pub repository: Option<PathBuf>,
    /// Rows per batch when reading tables; default 8192.
    pub batch_rows: Option<usize>,
    /// The clock backups are dated by; the system's by default (tests set a fake one).
    pub clock: Option<quiver_catalog::Clock>,
    /// The keys of encrypted collections (`QUIVER_ENCRYPTION_KEY`, `QUIVER_PASSPHRASE`);
    /// this process's environment by default (tests give their own).
    pub keys: Option<quiver_catalog::crypto::KeyEnvironment>,
}

/// Receives progress of long-running statements.
type ProgressCallback = Box<dyn FnMut(&Progress)>;

/// A database with its backup repository.
pub struct Engine {
    pub(crate) db: Box<dyn Database>,
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

    /// Opens the SQLite database file at `db` with `options`.
    pub fn open_with(db: impl AsRef<Path>, options: EngineOptions) -> Result<Engine> {
        let db_path = db.as_ref();
        let database =
            SqliteDatabase::open(db_path).map_err(|e| Error::Open(ExecError::Adapter(e.into())))?;
        let repository = options
            .repository
            .clone()
            .unwrap_or_else(|| default_repository(db_path));
        Engine::new(
            Box::new(database),
            EngineOptions {
                repository: Some(repository),
                ..options
            },
        )
    }

    /// Opens the database `db` names: a `postgresql://` (or `postgres://`) URL, else a
    /// SQLite file. A PostgreSQL database needs `options.repository`.
    pub fn connect(db: &str, options: EngineOptions) -> Result<Engine> {
        if quiver_postgres::is_postgres_url(db) {
            let database = quiver_postgres::PostgresDatabase::connect(db)
                .map_err(|e| Error::Open(ExecError::Adapter(e.into())))?;
            return Engine::new(Box::new(database), options);
        }
        Engine::open_with(db, options)
    }

    /// An engine for `database` (any adapter's), with `options`, which must name the
    /// repository.
    pub fn new(database: Box<dyn Database>, options: EngineOptions) -> Result<Engine> {
        let Some(repository) = options.repository else {
            return Err(Error::Open(ExecError::refused(
                format!(
                    "no backup repository given for {} database {}",
                    database.dialect(),
                    database.display_name()
                ),
                Some("a server's database has no file to keep backups beside: give the repository's directory (quiver --repo DIR, or QUIVER_REPO=DIR)".to_string()),
            )));
        };
        let repo = Repository::open(repository)
            .map_err(|e| Error::Open(e.into()))?
            .with_clock(options.clock.unwrap_or_default())
            .with_keys(options.keys.unwrap_or_else(KeyEnvironment::from_process));
        Ok(Engine {
            db: database,
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

    /// The database; [`Database::as_any`] gives the adapter's own type.
    pub fn database(&self) -> &dyn Database {
        self.db.as_ref()
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
            Statement::Sql(sql) => plain_sql(self.db.as_mut(), sql),
            Statement::CreateBackupCollection(create) => collections::create(self, create),
            Statement::DropBackupCollection { name } => collections::drop(self, name),
            Statement::AlterBackupCollection { name, action } => {
                collections::alter(self, name, action)
            }
            Statement::Backup { name, incremental } => {
                self.logged(OperationKind::Backup, name, &Logged::default(), |engine| {
                    let request = backup_statement::BackupRequest {
                        incremental: *incremental,
                        unattended: false,
                    };
                    backup_statement::run(engine, name, request)
                })
                .0
            }
            Statement::Restore { name, at, options } => {
                self.logged(OperationKind::Restore, name, &Logged::default(), |engine| {
                    restoring::restore(engine, name, at.as_deref(), options)
                })
                .0
            }
            Statement::Compact { name, at } => {
                self.logged(OperationKind::Compact, name, &Logged::default(), |engine| {
                    crate::compacting::compact(&engine.repo, name, at.as_deref(), engine.batch_rows)
                        .map(|report| Outcome::Compacted {
                            collection: name.clone(),
                            report,
                        })
                })
                .0
            }
            Statement::ShowSchedules => {
                let now = self.repo.clock().now();
                Ok(Outcome::Rows(crate::schedule::schedules_rows(
                    &crate::schedule::schedules(&self.repo, now)?,
                )))
            }
            Statement::ShowOperations { name } => {
                let (entries, warnings) =
                    crate::operations::operations(&self.repo, name.as_deref())?;
                Ok(Outcome::Rows(crate::operations::operations_rows(
                    &entries, warnings,
                )))
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
            Statement::Prune {
                name,
                dry_run: true,
            } => crate::prune::prune(&self.repo, name, self.repo.clock().now(), true)
                .map(Outcome::Pruned),
            Statement::Prune {
                name,
                dry_run: false,
            } => {
                self.logged(OperationKind::Prune, name, &Logged::default(), |engine| {
                    crate::prune::prune(&engine.repo, name, engine.repo.clock().now(), false)
                        .map(Outcome::Pruned)
                })
                .0
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
    pub(crate) fn outside_transaction(&mut self, statement: &str) -> Result<(), ExecError> {
        if !self.db.in_transaction() {
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

/// A SQLite database's repository when none is given: `<database file>.quiver/` beside it.
pub(crate) fn default_repository(db_path: &Path) -> PathBuf {
    let mut name = db_path.file_name().unwrap_or_default().to_os_string();
    name.push(".quiver");
    db_path.with_file_name(name)
}

/// Runs a plain SQL statement on the database.
fn plain_sql(database: &mut dyn Database, sql: &str) -> Result<Outcome, ExecError> {
    match database.run_sql(sql).map_err(ExecError::Sql)? {
        SqlOutcome::Rows { schema, batches } => Ok(Outcome::Rows(QueryResult {
            schema,
            batches,
            warnings: Vec::new(),
        })),
        SqlOutcome::Changed { rows } => Ok(Outcome::Changed { rows }),
    }
}
