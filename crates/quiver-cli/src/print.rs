//! Running scripts and printing their outcomes.

use std::io::Write;

use arrow::util::pretty::pretty_format_batches;
use quiver::grammar::parse_script;
use quiver::{Engine, Outcome};

/// How a script that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    /// Everything done.
    Done,
    /// A backup is committed in the repository but its copy to external storage is pending.
    CopyPending,
}

/// Runs `script`, printing each outcome; with `echo`, each statement first.
/// Stops at the first error and returns it rendered.
pub(crate) fn run_script(
    engine: &mut Engine,
    script: &str,
    echo: bool,
) -> Result<Finished, String> {
    let mut finished = Finished::Done;
    let mut print = |outcome: &Outcome| {
        if outcome.copy_pending() {
            finished = Finished::CopyPending;
        }
        print_outcome(outcome);
    };
    if !echo {
        engine
            .execute_each(script, &mut |outcome| print(&outcome))
            .map_err(|e| e.render())?;
        return Ok(finished);
    }
    let statements = parse_script(script).map_err(|e| quiver::Error::from(e).render())?;
    for statement in statements {
        let text = &script[statement.span.start..statement.span.end];
        // Masked like every statement shown: a URL in it may carry a password.
        let shown = quiver::storage::mask_secrets(text);
        outln!("\nquiver> {};", shown.replace('\n', "\n   ...> "));
        // Run the statement at its place in a blanked copy of the script, so that errors
        // report the script's own line and column numbers.
        let blanked: String = script[..statement.span.start]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .chain(text.chars())
            .collect();
        let mut outcomes = Vec::new();
        engine
            .execute_each(&blanked, &mut |o| outcomes.push(o))
            .map_err(|e| e.render())?;
        outcomes.iter().for_each(&mut print);
    }
    Ok(finished)
}

/// Prints one outcome: a table for rows, a line for backup statements, nothing for plain
/// SQL that changed nothing visible.
pub(crate) fn print_outcome(outcome: &Outcome) {
    let mut out = std::io::stdout().lock();
    match outcome {
        Outcome::Rows(rows) => {
            match pretty_format_batches(&rows.batches) {
                Ok(table) => {
                    let _ = writeln!(out, "{table}");
                }
                Err(e) => {
                    let _ = writeln!(out, "(cannot display rows: {e})");
                }
            }
            let n = rows.row_count();
            let _ = writeln!(out, "({n} row{})", if n == 1 { "" } else { "s" });
            for warning in &rows.warnings {
                errprint!("warning: {warning}\n");
            }
        }
        Outcome::Changed { .. } => {}
        other => {
            let _ = writeln!(out, "{other}");
        }
    }
}
