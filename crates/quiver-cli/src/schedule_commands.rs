//! `quiver schedule run | show` and `quiver log`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quiver::catalog::Repository;
use quiver::operations::LoggedOperation;
use quiver::schedule::{ScheduleConfig, Scheduler};
use quiver::{EngineOptions, schedule};

use crate::ScheduleAction;
use crate::repo_commands::{print_json, print_rows, render};

/// `quiver schedule run [--once] | show`
pub(crate) fn run(
    action: &ScheduleAction,
    db: Option<String>,
    repo: Option<PathBuf>,
) -> Result<(), String> {
    let Some(database) = db else {
        return Err("error: quiver schedule needs --db <PATH|URL>: the database whose collections it backs up\n  = hint: quiver --db app.db schedule run\n".into());
    };
    let repository = crate::repo_commands::repository(Some(database.clone()), repo)?;
    let scheduler = Scheduler::new(ScheduleConfig {
        database,
        engine: EngineOptions {
            repository: Some(repository.root().to_path_buf()),
            ..EngineOptions::default()
        },
    })
    .map_err(|e| e.render())?;
    match action {
        ScheduleAction::Show { json } => show(scheduler.repository(), *json),
        ScheduleAction::Run { once, json } => {
            let json = *json;
            let on_entry: schedule::OnEntry = Arc::new(move |entry: &LoggedOperation| {
                if json {
                    outln!("{}", quiver::operations::json_line(entry));
                } else {
                    outln!("{entry}");
                }
            });
            if *once {
                let report = scheduler.run_once(on_entry).map_err(|e| render(&e))?;
                for warning in &report.warnings {
                    errprint!("warning: {warning}\n");
                }
                if !json && report.started == 0 {
                    errprint!("quiver schedule: nothing is due\n");
                }
                if !report.failed.is_empty() {
                    return Err(format!(
                        "error: {} scheduled run(s) failed: {}\n  = hint: each line above says why; quiver log <collection> lists them\n",
                        report.failed.len(),
                        report.failed.join(", ")
                    ));
                }
                return Ok(());
            }
            let statuses =
                schedule::schedules(scheduler.repository(), time::OffsetDateTime::now_utc())
                    .map_err(|e| render(&e))?;
            errprint!(
                "quiver schedule: {} scheduled collection(s) in {}; SIGTERM or Ctrl-C stops\n",
                statuses.len(),
                scheduler.repository().root().display()
            );
            stop_on_signals();
            let warn = |text: &str| errprint!("warning: {text}\n");
            scheduler.run(&STOP, on_entry, &mut |fault| warn(fault), &mut |w| warn(w));
            errprint!("quiver schedule: stopped\n");
            Ok(())
        }
    }
}

/// `quiver schedule show`
fn show(repo: &Repository, json: bool) -> Result<(), String> {
    let statuses =
        schedule::schedules(repo, time::OffsetDateTime::now_utc()).map_err(|e| render(&e))?;
    if json {
        print_json(&statuses);
    } else {
        print_rows(&schedule::schedules_rows(&statuses));
    }
    Ok(())
}

/// `quiver log [collection]`
pub(crate) fn log(repo: &Repository, collection: Option<&str>, json: bool) -> Result<(), String> {
    let (entries, warnings) =
        quiver::operations::operations(repo, collection).map_err(|e| render(&e))?;
    for entry in &entries {
        if json {
            outln!("{}", quiver::operations::json_line(entry));
        } else {
            outln!("{entry}");
        }
    }
    for warning in warnings {
        errprint!("warning: {warning}\n");
    }
    Ok(())
}

/// Set by SIGTERM or SIGINT: start nothing new, let running backups finish.
static STOP: AtomicBool = AtomicBool::new(false);

/// The first SIGTERM or SIGINT sets [`STOP`]; a second one exits at once (a backup cut off
/// has no manifest: it is never visible, and the next backup removes it).
fn stop_on_signals() {
    extern "C" fn on_signal(signal: libc::c_int) {
        if STOP.swap(true, Ordering::SeqCst) {
            // Only async-signal-safe calls here.
            unsafe { libc::_exit(128 + signal) };
        }
    }
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only touches an atomic and calls _exit, both async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
}
