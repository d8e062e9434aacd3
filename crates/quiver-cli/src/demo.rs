//! `quiver demo`: the seed scenario end to end on a fresh database.

use std::path::PathBuf;

/// The demo script, also readable as examples/demo.sql.
const DEMO_SQL: &str = include_str!("../../../examples/demo.sql");

/// Runs the demo in `db` (which must not exist yet), or in a new temporary directory.
pub(crate) fn run(db: Option<PathBuf>, repo: Option<PathBuf>, quiet: bool) -> Result<(), String> {
    let db = match db {
        Some(db) if db.exists() => {
            return Err(format!(
                "error: {} already exists; the demo needs a fresh database\n  = hint: omit --db to use a temporary directory\n",
                db.display()
            ));
        }
        Some(db) => db,
        None => {
            let dir = std::env::temp_dir().join(format!("quiver-demo-{}", std::process::id()));
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("error: cannot create {}: {e}\n", dir.display()))?;
            dir.join("demo.db")
        }
    };
    let mut engine = crate::open(db.clone(), repo, quiet)?;
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
