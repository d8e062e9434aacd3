//! The interactive shell: multi-line statements, history, dot-commands.

use quiver::Engine;
use quiver::grammar::is_complete;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

const HELP: &str = "\
Statements end with `;` and may span lines. Backup statements:
  CREATE BACKUP COLLECTION name ( TABLE t, ... ) [WITH ( key = 'value', ... )];
      settings: STORAGE = 'cluster' | 'file://...' | 's3://...', INCREMENTAL_BACKUP_ENABLED = 'true',
      KEEP_LAST, KEEP_HOURLY, KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY, KEEP_YEARLY = 'n', KEEP_WITHIN = '30d',
      BACKUP_SCHEDULE, FULL_BACKUP_SCHEDULE = '@hourly' | 'every 15m' | '0 3 * * *', TIMEZONE = 'Europe/Berlin',
      ON_SCHEMA_CHANGE = 'full' | 'refuse', COMPACT_AFTER = 'n'
  ALTER BACKUP COLLECTION name ADD TABLE t | DROP TABLE t | SET (k = 'v', ...) | RESET (k, ...)
      | PIN 'backup-id' | UNPIN 'backup-id';
  DROP BACKUP COLLECTION name;
  BACKUP name [INCREMENTAL];
  RESTORE name [AT 'backup-id'] [WITH ( TABLES = 'a, b', TARGET_PREFIX = 'p_', RENAME = 'a = x',
      FILTER = 'predicate', DATABASE = '...' )];
  PRUNE name [DRY RUN];   COMPACT name [AT 'backup-id'];   VERIFY name [AT 'backup-id'];
  SHOW BACKUP COLLECTIONS;   SHOW BACKUPS IN name;   SHOW SCHEDULES;   SHOW OPERATIONS [IN name];
  QUERY [AT 'backup-id'] SELECT ... FROM collection.table ...;
Anything else is run by the database (SQLite or PostgreSQL).
Shell commands: .help  .quit   (Ctrl-C clears the current statement, Ctrl-D quits)";

/// Runs the shell until `.quit` or end of input.
pub(crate) fn run(engine: &mut Engine) -> Result<(), String> {
    let mut editor =
        DefaultEditor::new().map_err(|e| format!("error: cannot start the shell: {e}\n"))?;
    let history =
        std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".quiver_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    outln!(
        "quiver {} on {}. Type .help for help.",
        env!("CARGO_PKG_VERSION"),
        engine.database().display_name()
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "quiver> "
        } else {
            "   ...> "
        };
        match editor.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() {
                    match line.trim() {
                        ".quit" | ".exit" => break,
                        ".help" => {
                            outln!("{HELP}");
                            continue;
                        }
                        command if command.starts_with('.') => {
                            outln!("unknown command {command}; try .help");
                            continue;
                        }
                        _ => {}
                    }
                }
                buffer.push_str(&line);
                buffer.push('\n');
                if !is_complete(&buffer) {
                    continue;
                }
                let script = std::mem::take(&mut buffer);
                if script.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(script.trim_end());
                if let Err(message) = crate::print::run_script(engine, &script, false) {
                    errprint!("{message}");
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(format!("error: reading input: {e}\n")),
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}
