//! `quiver demo`: the seed scenario end to end on a fresh database.

use std::path::PathBuf;

/// The demo script, also readable as examples/demo.sql.
const DEMO_SQL: &str = include_str!("../../../examples/demo.sql");
/// The same demo in PostgreSQL's dialect, examples/demo_postgres.sql.
const DEMO_POSTGRES_SQL: &str = include_str!("../../../examples/demo_postgres.sql");

/// Runs the demo in `db` (which must not exist yet), or in a new temporary directory; with
/// a PostgreSQL URL, in that database (which should be empty), with the repository in a
/// new temporary directory unless `repo` says otherwise.
pub(crate) fn run(db: Option<String>, repo: Option<PathBuf>, quiet: bool) -> Result<(), String> {
    if let Some(url) = db
        .as_deref()
        .filter(|db| quiver::postgres::is_postgres_url(db))
    {
        let repo = match repo {
            Some(repo) => repo,
            None => temporary_dir()?.join("repository"),
        };
        let mut engine = crate::open(url, Some(repo), quiet)?;
        outln!("quiver demo: database {}", engine.database().display_name());
        outln!(
            "             backups  {}",
            engine.repository().root().display()
        );
        crate::print::run_script(&mut engine, DEMO_POSTGRES_SQL, true)?;
        outln!(
            "\nDone. Explore it with `quiver --db {} --repo {}`.",
            engine.database().display_name(),
            engine.repository().root().display()
        );
        return Ok(());
    }
    let db = match db.map(PathBuf::from) {
        Some(db) if db.exists() => {
            return Err(format!(
                "error: {} already exists; the demo needs a fresh database\n  = hint: omit --db to use a temporary directory\n",
                db.display()
            ));
        }
        Some(db) => db,
        None => temporary_dir()?.join("demo.db"),
    };
    let mut engine = crate::open(&db.to_string_lossy(), repo, quiet)?;
    outln!("quiver demo: database {}", db.display());
    outln!(
        "             backups  {}",
        engine.repository().root().display()
    );
    crate::print::run_script(&mut engine, DEMO_SQL, true)?;
    outln!(
        "\nDone. Explore it with `quiver --db {0}` (or `cargo run -p quiver-cli -- --db {0}`):\n\
         add a statement to run it, or none for a shell.",
        db.display()
    );
    Ok(())
}

/// A new directory for the demo's files.
fn temporary_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("quiver-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("error: cannot create {}: {e}\n", dir.display()))?;
    Ok(dir)
}
