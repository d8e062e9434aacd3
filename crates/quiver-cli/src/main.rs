//! `quiver`: run backup-collection SQL against a SQLite database.

/// `println!` that never panics: when standard output is a closed pipe (`quiver ... | head`)
/// the output is lost, not the work (an import or a backup still completes).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprint!` that never panics on a closed standard error.
macro_rules! errprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

mod demo;
mod key_commands;
mod print;
mod progress;
mod repo_commands;
mod schedule_commands;
mod shell;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use quiver::{Engine, EngineOptions};

/// Backup collections for SQLite: named sets of tables, backed up together and restored on
/// their own.
///
/// Statements (YDB syntax; everything else is run by SQLite as it is):
///
///   CREATE BACKUP COLLECTION name ( TABLE t [, TABLE t ...] )
///       WITH ( STORAGE = 'cluster', INCREMENTAL_BACKUP_ENABLED = 'true' );
///   BACKUP name;                       full backup: one consistent snapshot of all its tables
///   BACKUP name INCREMENTAL;           only the rows inserted, updated, deleted since its latest backup
///   RESTORE name [AT 'backup-id'];     recreate its tables as of the latest (or that) backup,
///                                      full or incremental (its chain is merged)
///   ALTER BACKUP COLLECTION name ADD TABLE t | DROP TABLE t | SET (k = 'v') | RESET (k);
///   DROP BACKUP COLLECTION name;       removes the collection and all its backups
///   SHOW BACKUP COLLECTIONS;           every collection: tables, storage, backups, size
///   SHOW BACKUPS IN name;              its backups: id, kind, parent, time, tables, rows, size, status
///   PRUNE name [DRY RUN];              remove the backups its KEEP_... rules no longer keep
///   COMPACT name [AT 'backup-id'];     merge an incremental's chain into a full backup
///   SHOW SCHEDULES;                    each BACKUP_SCHEDULE's next and last run (quiver schedule)
///   SHOW OPERATIONS [IN name];         every BACKUP, RESTORE, PRUNE and COMPACT (quiver log)
///   VERIFY name [AT 'backup-id'];      read every file back: size, crc32, manifests, chain links
///   QUERY [AT 'backup-id'] SELECT ...  query backups without restoring them: FROM collection.table,
///                                      backup_at('c', 't', 'id'), changes('c', 't' [, 'since' [, 'until']])
///
/// Subcommands (ls, show, query, verify, prune, compact, log, gc, export, import) work on the
/// repository, or on external storage (file:///dir, s3://bucket/prefix), without a database;
/// schedule runs each collection's BACKUP_SCHEDULE; see quiver help <command>.
///
/// Backups go to a repository beside the database (<db>.quiver/) unless --repo says otherwise.
/// With neither SQL nor --file, quiver reads a script from standard input, or opens an
/// interactive shell when standard input is a terminal.
///
/// Exit status: 0 when everything ran; 1 on an error (the failing statement changed
/// nothing; the statements before it ran); 3 when a BACKUP was committed in the repository
/// but could not be copied to its collection's external storage (the next BACKUP, or
/// quiver export, copies it).
#[derive(Debug, Parser)]
#[command(
    name = "quiver",
    version,
    verbatim_doc_comment,
    subcommand_negates_reqs = true
)]
struct Cli {
    /// The database: a SQLite file (created if missing), or a PostgreSQL URL,
    /// postgresql://user@host:port/dbname (the rest from PGHOST, PGPORT, PGUSER, PGPASSWORD,
    /// PGDATABASE; give the password there, or it shows in the process list).
    #[arg(long, value_name = "PATH|URL", global = true)]
    db: Option<String>,

    /// The backup repository directory [default for a SQLite file: <db>.quiver; required for
    /// PostgreSQL]
    #[arg(long, value_name = "DIR", global = true, env = "QUIVER_REPO")]
    repo: Option<PathBuf>,

    /// Run the statements in this file.
    #[arg(short, long, value_name = "FILE", conflicts_with = "sql")]
    file: Option<PathBuf>,

    /// Print each statement before its result.
    #[arg(long)]
    echo: bool,

    /// No progress display on standard error.
    #[arg(short, long, global = true)]
    quiet: bool,

    /// Statements to run, separated by `;`.
    #[arg(value_name = "SQL")]
    sql: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the demo: three services' tables and collections in a fresh database; back them
    /// up, lose one service's tables, restore them, and show that they match.
    Demo,
    /// List the repository's backup collections (SHOW BACKUP COLLECTIONS).
    Ls {
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// List a collection's backups, with each one's status (SHOW BACKUPS IN).
    Show {
        /// The collection.
        collection: String,
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Check a collection, in the repository or exported: every data file's size and crc32,
    /// every manifest, every chain link, schemas along chains, and files that belong to no
    /// backup. Exits with status 1, naming each fault, if anything is wrong.
    #[command(verbatim_doc_comment)]
    Verify {
        /// A collection of the repository, or the URL it was exported to.
        #[arg(value_name = "COLLECTION|URL")]
        target: String,
        /// Check only the chain of this backup.
        #[arg(long, value_name = "BACKUP_ID")]
        at: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Remove files that belong to no backup: what interrupted backups or exports left.
    Gc {
        /// A collection of the repository, or the URL it was exported to.
        #[arg(value_name = "COLLECTION|URL")]
        target: String,
        /// Only list what would be removed.
        #[arg(long)]
        dry_run: bool,
        /// For a URL: keep leftovers written more recently than this (an export or BACKUP
        /// copying there may be in flight): e.g. 30m, 2h, 1d, 0 [default: 1h]. A repository
        /// collection needs none: its lock keeps writers out while gc runs.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        grace: Option<std::time::Duration>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Remove the backups a collection's retention rules no longer keep.
    ///
    /// The rules are the collection's KEEP_LAST, KEEP_HOURLY, KEEP_DAILY, KEEP_WEEKLY,
    /// KEEP_MONTHLY, KEEP_YEARLY (counts, as restic's forget: the newest backup of each of
    /// the last n hours, days, ... that have one) and KEEP_WITHIN (e.g. '30d': every backup
    /// less than that older than the newest), set by CREATE or ALTER BACKUP COLLECTION ...
    /// SET; pinned backups (ALTER BACKUP COLLECTION c PIN 'id') always stay. A backup kept
    /// for any reason keeps every backup it builds on, so no chain is ever broken. Without
    /// any rule every backup is kept. Manifests go first, then files, newest first: a crash
    /// at any point leaves every visible backup restorable.
    ///
    ///   quiver --db app.db "ALTER BACKUP COLLECTION orders SET (KEEP_DAILY = '7', KEEP_WEEKLY = '4')"
    ///   quiver --db app.db prune orders --dry-run
    ///
    /// In scripts and the shell: PRUNE name [DRY RUN]
    #[command(verbatim_doc_comment)]
    Prune {
        /// The collection.
        collection: String,
        /// Only list what would be removed, and why the rest stays.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Merge an incremental backup's chain into one full backup of the same time and contents.
    ///
    /// Restores of a long chain read every file of it; after compaction the backup is one
    /// full backup, written from the backup files alone (the database is not read), and
    /// the backups that built on the incremental build on it instead. The older backups of
    /// the chain stay until PRUNE removes them. Every file is checked first; a kill at any
    /// point leaves every visible backup restorable.
    ///
    ///   quiver --db app.db compact orders                    the latest backup's chain
    ///   quiver --db app.db compact orders --at 20261203T100000.000Z_incremental
    ///
    /// In scripts and the shell: COMPACT name [AT 'backup-id']; with COMPACT_AFTER = 'n' the
    /// schedule compacts a chain on its own when it grows past n incrementals.
    #[command(verbatim_doc_comment)]
    Compact {
        /// The collection.
        collection: String,
        /// The incremental backup whose chain is merged [default: the latest backup].
        #[arg(long, value_name = "BACKUP_ID")]
        at: Option<String>,
        /// Print the result as JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Take each collection's backups on its own schedule (BACKUP_SCHEDULE), or list them.
    ///
    /// A collection is scheduled by its settings:
    ///
    ///   ALTER BACKUP COLLECTION orders SET (BACKUP_SCHEDULE = '@hourly',
    ///       FULL_BACKUP_SCHEDULE = '0 3 * * *', TIMEZONE = 'Europe/Berlin',
    ///       KEEP_DAILY = '7', KEEP_WEEKLY = '4');
    ///
    /// Schedules are '@hourly', '@daily', '@weekly', '@monthly', '@yearly', 'every 15m' /
    /// 'every 2h', or five cron fields; without FULL_BACKUP_SCHEDULE, backups hourly or more
    /// often get a daily full, up to daily a weekly full, rarer ones are all full. After each
    /// scheduled backup the collection's retention rules are applied (as PRUNE).
    ///
    ///   quiver --db app.db schedule run          run in the foreground (systemd, a container)
    ///   quiver --db app.db schedule run --once   do what is due now, then exit (cron)
    ///   quiver --db app.db schedule show         each schedule's next and last run (SHOW SCHEDULES)
    ///
    /// Each collection runs on its own: a failing, slow or locked one never delays another; a
    /// run that would overlap the collection's previous one is skipped and logged; after
    /// downtime a missed run happens once. Every run is one line (JSON with --json) and an
    /// entry of the operations log (quiver log). SIGTERM or Ctrl-C lets running backups
    /// finish, then exits; a second one exits at once (an unfinished backup is never visible,
    /// and the next backup clears it away).
    #[command(verbatim_doc_comment)]
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Make a master key for encrypted collections (ENCRYPTION_KEY_FILE).
    ///
    ///   quiver key generate > orders.key            32 random bytes; the file is made mode 0600
    ///   quiver key generate --base64                 as text, e.g. for QUIVER_ENCRYPTION_KEY
    ///
    /// Keep the key apart from the backups: whoever has both reads them, whoever loses the
    /// key loses them.
    #[command(verbatim_doc_comment)]
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// Change an encrypted collection's master key: every backup's data key is wrapped by
    /// the new key, in the repository and at its external location; no data file is
    /// rewritten. The old key no longer opens the collection.
    ///
    ///   quiver key generate > new.key
    ///   quiver --db app.db rekey orders --new-key-file new.key
    ///
    /// The collection's ENCRYPTION_KEY_FILE becomes the new file. A crash half-way leaves
    /// every backup open to the key the collection's definition names; run rekey again.
    #[command(verbatim_doc_comment)]
    Rekey {
        /// The collection.
        collection: String,
        /// The file that holds the new key (32 bytes, raw or base64; mode 0600).
        #[arg(long, value_name = "FILE")]
        new_key_file: String,
    },
    /// List the operations log: every BACKUP, RESTORE and prune, with when, how long, rows,
    /// size and result (SHOW OPERATIONS [IN c]).
    Log {
        /// Only this collection's.
        collection: Option<String>,
        /// Print JSON lines, for scripts (exact bytes and milliseconds).
        #[arg(long)]
        json: bool,
    },
    /// Query backups without restoring them (DataFusion SQL).
    ///
    /// Every table of every collection is <collection>.<table>, as of the collection's latest
    /// backup (with --at, the collection holding that backup is seen as of it). Also:
    ///   backup_at('collection', 'table', 'backup-id')      a table as of any backup
    ///   changes('collection', 'table' [, 'since-id' [, 'until-id']])
    ///       what the incremental backups after `since` (default: the chain's full backup)
    ///       up to `until` (default: the latest) changed: _change ('upsert' | 'delete')
    ///       and the row (deletes: the key alone)
    ///
    ///   quiver --db app.db query "SELECT count(*) FROM orders_svc.orders WHERE id < 100"
    ///
    /// In scripts and the shell: QUERY [AT 'backup-id'] SELECT ...
    #[command(verbatim_doc_comment)]
    Query {
        /// The query.
        sql: String,
        /// See the collection holding this backup as of it.
        #[arg(long, value_name = "BACKUP_ID")]
        at: Option<String>,
    },
    /// Copy a collection's backups to external storage, verified.
    ///
    /// Every committed backup goes (or, with --backup, the chain ending at that backup): data
    /// files first, each read back and checked against its crc32, then the manifests, oldest
    /// first, each with a put-if-absent. Re-running copies only what is missing. One location
    /// holds one collection:
    ///
    ///   quiver --db app.db export orders --to s3://backups/app/orders
    ///   quiver --db app.db export orders --to file:///mnt/offsite/orders
    ///
    /// S3 settings come from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY (and the other AWS_* variables), or -o key=value.
    #[command(verbatim_doc_comment)]
    Export {
        /// The collection.
        collection: String,
        /// Where to: file:///abs/dir, a directory path, or s3://bucket/prefix.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Export only the chain ending at this backup.
        #[arg(long, value_name = "BACKUP_ID")]
        backup: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Bring an exported collection into the repository, verified; then RESTORE works on it.
    ///
    /// Every backup there is imported (or, with --backup, the chain ending at it). Chains are
    /// checked first (a missing parent or a gap is refused), then each file's size and crc32
    /// as it is copied; manifests are committed last. On any fault nothing is imported.
    ///
    ///   quiver --db app.db import --from s3://backups/app/orders --as orders
    ///   quiver --db app.db "RESTORE orders"
    #[command(verbatim_doc_comment)]
    Import {
        /// Where the collection was exported to.
        #[arg(long, value_name = "URL")]
        from: String,
        /// The collection's name in this repository (created if needed).
        #[arg(long = "as", value_name = "COLLECTION")]
        name: String,
        /// Import only the chain ending at this backup.
        #[arg(long, value_name = "BACKUP_ID")]
        backup: Option<String>,
        #[command(flatten)]
        remote: RemoteArgs,
    },
}

#[derive(Debug, Subcommand)]
enum ScheduleAction {
    /// Take backups as they come due, until SIGTERM or Ctrl-C (or, with --once, what is due
    /// now).
    Run {
        /// Do what is due now, wait for it, and exit (for cron).
        #[arg(long)]
        once: bool,
        /// Print each run as a line of JSON.
        #[arg(long)]
        json: bool,
    },
    /// List each scheduled collection: schedule, next run, last run and its result.
    Show {
        /// Print JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
}

/// What `quiver key` does.
#[derive(Debug, Subcommand)]
enum KeyAction {
    /// Write a new random 256-bit key to standard output (never to a terminal).
    Generate {
        /// Base64 text instead of 32 raw bytes.
        #[arg(long)]
        base64: bool,
    },
}

/// Options of the subcommands that reach external storage.
#[derive(Debug, clap::Args)]
struct RemoteArgs {
    /// An S3 option for a URL, overriding the AWS_* environment: endpoint, region,
    /// access_key_id, secret_access_key, allow_http, … (repeatable), e.g.
    /// -o endpoint=http://127.0.0.1:9000
    #[arg(short = 'o', long = "storage-option", value_name = "KEY=VALUE")]
    options: Vec<String>,
    /// Print the report as JSON, for scripts.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    quiver::allocator::keep_freed_buffers();
    let cli = Cli::parse();
    match run(cli) {
        Ok(print::Finished::Done) => ExitCode::SUCCESS,
        // Documented in --help: the backup is committed, its copy elsewhere is not.
        Ok(print::Finished::CopyPending) => ExitCode::from(3),
        Err(message) => {
            errprint!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// A duration as `--grace` takes it: a number and a unit (s, m, h, d), or 0.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: e.g. 30m, 2h, 1d or 0"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("`{text}` has no unit: use s, m, h or d (e.g. 30m)")),
    };
    Ok(std::time::Duration::from_secs(
        number.saturating_mul(seconds),
    ))
}

/// Runs the command; the error is the text to print, already rendered.
fn run(cli: Cli) -> Result<print::Finished, String> {
    use print::Finished;
    let repository = || repo_commands::repository(cli.db.clone(), cli.repo.clone());
    match &cli.command {
        Some(Command::Demo) => {
            return demo::run(cli.db, cli.repo, cli.quiet).map(|()| Finished::Done);
        }
        Some(Command::Ls { json }) => {
            return repo_commands::ls(&repository()?, *json).map(|()| Finished::Done);
        }
        Some(Command::Prune {
            collection,
            dry_run,
            json,
        }) => {
            return repo_commands::prune(&repository()?, collection, *dry_run, *json)
                .map(|()| Finished::Done);
        }
        Some(Command::Compact {
            collection,
            at,
            json,
        }) => {
            return repo_commands::compact(&repository()?, collection, at.as_deref(), *json)
                .map(|()| Finished::Done);
        }
        Some(Command::Key {
            action: KeyAction::Generate { base64 },
        }) => {
            return key_commands::generate(*base64).map(|()| Finished::Done);
        }
        Some(Command::Rekey {
            collection,
            new_key_file,
        }) => {
            return key_commands::rekey(&repository()?, collection, new_key_file)
                .map(|()| Finished::Done);
        }
        Some(Command::Schedule { action }) => {
            return schedule_commands::run(action, cli.db.clone(), cli.repo.clone())
                .map(|()| Finished::Done);
        }
        Some(Command::Log { collection, json }) => {
            return schedule_commands::log(&repository()?, collection.as_deref(), *json)
                .map(|()| Finished::Done);
        }
        Some(Command::Query { sql, at }) => {
            return repo_commands::query(&repository()?, sql, at.as_deref())
                .map(|()| Finished::Done);
        }
        Some(Command::Show { collection, json }) => {
            return repo_commands::show(&repository()?, collection, *json).map(|()| Finished::Done);
        }
        Some(Command::Verify { target, at, remote }) => {
            return repo_commands::verify(
                repository,
                target,
                at.as_deref(),
                &remote.options,
                remote.json,
                cli.quiet,
            )
            .map(|()| Finished::Done);
        }
        Some(Command::Gc {
            target,
            dry_run,
            grace,
            remote,
        }) => {
            let options = quiver::storage::GcOptions {
                dry_run: *dry_run,
                grace: grace.unwrap_or(quiver::storage::DEFAULT_GRACE),
            };
            return repo_commands::gc(repository, target, &remote.options, options, remote.json)
                .map(|()| Finished::Done);
        }
        Some(Command::Export {
            collection,
            to,
            backup,
            remote,
        }) => {
            return repo_commands::export(
                &repository()?,
                collection,
                to,
                backup.as_deref(),
                &remote.options,
                remote.json,
                cli.quiet,
            )
            .map(|()| Finished::Done);
        }
        Some(Command::Import {
            from,
            name,
            backup,
            remote,
        }) => {
            return repo_commands::import(
                &repository()?,
                from,
                name,
                backup.as_deref(),
                &remote.options,
                remote.json,
                cli.quiet,
            )
            .map(|()| Finished::Done);
        }
        None => {}
    }
    let Some(db) = cli.db else {
        return Err("error: --db <PATH|URL> is required: the database to work on\n  = hint: quiver --db app.db \"BACKUP my_collection\", or quiver --db postgresql://app@db:5432/shop --repo /backups/shop \"BACKUP my_collection\"; see quiver --help\n".into());
    };
    let mut engine = open(&db, cli.repo, cli.quiet)?;
    let script = match (cli.sql, cli.file) {
        (Some(sql), _) => sql,
        (None, Some(file)) => std::fs::read_to_string(&file)
            .map_err(|e| format!("error: cannot read {}: {e}\n", file.display()))?,
        (None, None) if std::io::stdin().is_terminal() => {
            return shell::run(&mut engine).map(|()| Finished::Done);
        }
        (None, None) => {
            let mut script = String::new();
            std::io::stdin()
                .read_to_string(&mut script)
                .map_err(|e| format!("error: cannot read standard input: {e}\n"))?;
            script
        }
    };
    print::run_script(&mut engine, &script, cli.echo)
}

/// Opens the engine, with a progress display unless `quiet`.
pub(crate) fn open(db: &str, repo: Option<PathBuf>, quiet: bool) -> Result<Engine, String> {
    let options = EngineOptions {
        repository: repo,
        ..EngineOptions::default()
    };
    let mut engine = Engine::connect(db, options).map_err(|e| e.render())?;
    if !quiet && std::io::stderr().is_terminal() {
        engine.on_progress(progress::Display::default().into_callback());
    }
    Ok(engine)
}
