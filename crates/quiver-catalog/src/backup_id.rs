//! Backup ids: `<UTC timestamp>_full` / `<UTC timestamp>_incremental`, as in YDB, with
//! milliseconds so that ids sort in creation order even for backups taken in one second.

use std::fmt;
use std::str::FromStr;

use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::BackupKind;

/// A backup's id, which is also the name of its directory: e.g. `20261125T151429.123Z_full`.
///
/// Ids of one collection are strictly increasing in creation order, so name order is time
/// order, which is what chains rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackupId {
    /// When the backup was taken, in UTC, millisecond precision.
    pub taken_at: OffsetDateTime,
    /// Full or incremental.
    pub kind: BackupKind,
}

const TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:3]Z");

impl BackupId {
    /// The id for a backup taken at `now`: that time, or 1 ms after `after` if the clock
    /// has not moved past it (keeps ids unique and ordered). Fails when no later id can be
    /// written (`after` is the last millisecond of year 9999: a forged or broken id).
    pub fn next(
        kind: BackupKind,
        after: Option<&BackupId>,
        now: OffsetDateTime,
    ) -> Result<BackupId, String> {
        let now = now
            .replace_nanosecond(now.millisecond() as u32 * 1_000_000)
            .unwrap_or(now);
        let taken_at = match after {
            Some(prev) if prev.taken_at >= now => prev
                .taken_at
                .checked_add(Duration::milliseconds(1))
                .filter(|t| t.year() <= 9999)
                .ok_or_else(|| {
                    format!("backup `{prev}` is dated so far ahead that no later backup id exists")
                })?,
            _ => now,
        };
        Ok(BackupId { taken_at, kind })
    }
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stamp = self.taken_at.format(TIMESTAMP).map_err(|_| fmt::Error)?;
        write!(f, "{stamp}_{}", self.kind.suffix())
    }
}

impl FromStr for BackupId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (stamp, suffix) = s.rsplit_once('_').ok_or_else(|| {
            format!("`{s}` is not a backup id (expected e.g. 20261125T151429.123Z_full)")
        })?;
        let kind = BackupKind::from_suffix(suffix).ok_or_else(|| {
            format!("`{s}` is not a backup id: it must end in _full or _incremental")
        })?;
        let taken_at = PrimitiveDateTime::parse(stamp, TIMESTAMP)
            .map_err(|e| format!("`{s}` is not a backup id: {e}"))?
            .assume_utc();
        let id = BackupId { taken_at, kind };
        // One spelling per id (the parser also takes `+2026…`): ids name directories, and
        // two directories of one id would let a removal take the one that is kept.
        if id.to_string() != s {
            return Err(format!("`{s}` is not a backup id: it is written `{id}`"));
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_increase() {
        let a = BackupId::next(BackupKind::Full, None, OffsetDateTime::now_utc()).unwrap();
        let b =
            BackupId::next(BackupKind::Incremental, Some(&a), OffsetDateTime::now_utc()).unwrap();
        let c = BackupId::next(BackupKind::Full, Some(&b), OffsetDateTime::now_utc()).unwrap();
        assert!(a < b && b < c, "{a} {b} {c}");
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        for id in [a, b, c] {
            assert_eq!(id.to_string().parse::<BackupId>().unwrap(), id);
        }
        assert!(a.to_string().ends_with("Z_full"), "{a}");
    }

    #[test]
    fn the_last_possible_id_has_no_successor_and_no_panic() {
        let last: BackupId = "99991231T235959.999Z_full".parse().unwrap();
        let err =
            BackupId::next(BackupKind::Full, Some(&last), OffsetDateTime::now_utc()).unwrap_err();
        assert!(err.contains("no later backup id"), "{err}");
    }

    #[test]
    fn rejects_other_names() {
        for bad in [
            "",
            "data",
            "20261125T151429.123Z",
            "20261125T151429.123Z_partial",
            "x_full",
            "+20261125T151429.123Z_full",
        ] {
            assert!(bad.parse::<BackupId>().is_err(), "{bad}");
        }
    }
}
