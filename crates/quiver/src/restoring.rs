//! RESTORE: the whole collection, or a selection (tables, new names, a row filter, another
//! database file).

use std::cell::RefCell;
use std::collections::HashMap;

use arrow::array::BooleanArray;
use arrow::record_batch::RecordBatch;
use quiver_catalog::TableSchema;
use quiver_grammar::RestoreOptions;
use quiver_query::RowPredicate;
use quiver_restore::Selection;

use crate::error::ExecError;
use crate::{Engine, Outcome, Progress, external};

/// Restores collection `name` as of backup `at` (default: the latest), as `options` select.
pub(crate) fn restore(
    engine: &mut Engine,
    name: &str,
    at: Option<&str>,
    options: &RestoreOptions,
) -> Result<Outcome, ExecError> {
    let collection = engine.repo.collection(name)?;
    // The restore writes through a connection of its own, which would wait for this
    // one's transaction, which waits for the restore.
    engine.outside_transaction("RESTORE")?;
    let lock = collection.lock()?;
    let mut warnings = Vec::new();
    if let Some(location) = external::location(&collection)? {
        match external::fetch(&collection, &lock, &location, at, &mut |p| {
            engine.report(Progress::copy(name, p))
        }) {
            Ok(_) => {}
            // The repository's own copies serve when the storage cannot be reached; RESTORE
            // AT a backup only the storage holds still fails, below, naming it.
            Err(e) if external::unreachable(&e) => warnings.push(format!(
                "could not reach {} ({e}); restored from the repository's copies, which may lack newer backups taken elsewhere",
                location.url()
            )),
            Err(e) => return Err(e),
        }
    }
    check_renames(options)?;
    let database = engine.db.as_ref();
    let rename = |table: &str| target_name(database, options, table);
    // One compiled predicate per table, made when its first batch comes.
    let predicates: RefCell<HashMap<String, RowPredicate>> = RefCell::default();
    let filter = |table: &TableSchema, batch: &RecordBatch| -> Result<BooleanArray, String> {
        let condition = options.filter.as_deref().unwrap_or("true");
        let mut predicates = predicates.borrow_mut();
        if !predicates.contains_key(&table.name) {
            let compiled = RowPredicate::compile(table, condition).map_err(|e| e.to_string())?;
            predicates.insert(table.name.clone(), compiled);
        }
        predicates[&table.name]
            .evaluate(batch)
            .map_err(|e| e.to_string())
    };
    let selection = Selection {
        tables: options.tables.clone(),
        rename: (options.target_prefix.is_some() || !options.rename.is_empty())
            .then_some(&rename as quiver_restore::Rename<'_>),
        filter: options
            .filter
            .is_some()
            .then_some(&filter as quiver_restore::RowFilter<'_>),
    };
    let mut target = engine.db.target(options.database.as_deref())?;
    // The progress callback, apart from the database the renames read.
    let mut progress = engine.progress.take();
    let restored = quiver_restore::restore_selected(
        &collection,
        at,
        &selection,
        target.as_mut(),
        &mut |step| {
            if let Some(report) = &mut progress {
                report(&Progress::Restore {
                    collection: name.to_string(),
                    step,
                });
            }
        },
    );
    drop(selection);
    engine.progress = progress;
    let mut report = restored?;
    report.warnings.splice(0..0, warnings);
    Ok(Outcome::Restored {
        collection: name.to_string(),
        report,
    })
}

/// The name `table` is restored under, if not its own: its RENAME, else the prefix.
fn target_name(
    database: &dyn quiver_catalog::Database,
    options: &RestoreOptions,
    table: &str,
) -> Option<String> {
    options
        .rename
        .iter()
        .find(|(from, _)| from.eq_ignore_ascii_case(table))
        .map(|(_, to)| to.clone())
        .or_else(|| {
            options
                .target_prefix
                .as_ref()
                .map(|prefix| database.prefixed(table, prefix))
        })
}

/// RENAME may only name tables that are restored.
fn check_renames(options: &RestoreOptions) -> Result<(), ExecError> {
    let Some(tables) = &options.tables else {
        return Ok(());
    };
    for (from, _) in &options.rename {
        if !tables.iter().any(|t| t.eq_ignore_ascii_case(from)) {
            return Err(ExecError::refused(
                format!("RENAME names table `{from}`, which TABLES does not restore"),
                Some(format!(
                    "add it to TABLES, or drop it from RENAME: TABLES = '{}'",
                    tables.join(", ")
                )),
            ));
        }
    }
    Ok(())
}
