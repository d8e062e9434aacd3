//! From manifest bytes to a checked restore plan: every DDL string of an arbitrary manifest
//! is checked as a restore would check it (SQLite's rules, a scratch database), and renamed
//! as a selective restore would rename it, the copy checked again. Errors, never panics; and
//! whatever the plan accepts is DDL of the table it names.

#![no_main]

use libfuzzer_sys::fuzz_target;
use quiver_catalog::{BackupManifest, RestoreTarget};
use quiver_restore::Selection;
use quiver_sqlite::SqliteTarget;

thread_local! {
    // Never begun: a plan only asks the target to check and rename DDL.
    static TARGET: (tempfile::TempDir, SqliteTarget) = {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let target = SqliteTarget::open(&dir.path().join("plan.db")).expect("a scratch database");
        (dir, target)
    };
}

fuzz_target!(|data: &[u8]| {
    // Parsed without the checksum check, which random bytes would almost never pass.
    let Ok(manifest) = serde_json::from_slice::<BackupManifest>(data) else {
        return;
    };
    TARGET.with(|(_, target)| {
        let prefixed = |name: &str| Some(format!("p_{name}"));
        for rename in [None, Some(&prefixed as quiver_restore::Rename<'_>)] {
            let selection = Selection {
                rename,
                ..Selection::default()
            };
            if let Ok(plan) = quiver_restore::plan(&manifest, &selection, target as &dyn RestoreTarget) {
                for schema in &plan.targets {
                    assert!(target.check_table(schema).is_ok(), "the plan holds checked DDL only");
                }
            }
        }
    });
});
