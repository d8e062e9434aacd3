//! Retention: which backups a collection keeps, by restic's `forget` rules, closed over
//! chains so that no kept incremental ever loses a backup it builds on.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::BackupId;

/// A collection's retention rules: `KEEP_LAST`, `KEEP_HOURLY`, …, `KEEP_WITHIN`. Each count
/// keeps the newest backup of that many distinct hours (days, ISO weeks, months, years)
/// that have backups, newest first, and the oldest backup too while a count is left, as
/// restic's `forget` does. No rule at all keeps everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Keep the newest this many backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<u32>,
    /// Keep the newest backup of each of this many hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<u32>,
    /// Keep the newest backup of each of this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<u32>,
    /// Keep the newest backup of each of this many ISO weeks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<u32>,
    /// Keep the newest backup of each of this many months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly: Option<u32>,
    /// Keep the newest backup of each of this many years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yearly: Option<u32>,
    /// Keep every backup taken less than this many hours before the newest one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_hours: Option<u64>,
}

impl Retention {
    /// True when no rule is set: every backup is kept. A count of 0 (which only a hand-written
    /// definition can hold) is no rule either, never "keep none".
    pub fn is_empty(&self) -> bool {
        self.within_hours.unwrap_or(0) == 0
            && self.counted().iter().all(|(n, _)| n.unwrap_or(0) == 0)
    }

    /// True when no field is written (the definition's JSON then has no `retention`).
    pub fn is_unset(&self) -> bool {
        *self == Retention::default()
    }

    /// The counted rules, with the calendar bucket each counts in.
    fn counted(&self) -> [(Option<u32>, Bucket); 6] {
        [
            (self.last, Bucket::Last),
            (self.hourly, Bucket::Hour),
            (self.daily, Bucket::Day),
            (self.weekly, Bucket::Week),
            (self.monthly, Bucket::Month),
            (self.yearly, Bucket::Year),
        ]
    }
}

/// What a counted rule counts: backups, or distinct hours, days, weeks, months, years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Last,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl Bucket {
    /// The bucket of the backup at `position` (newest first) taken at `at`.
    fn of(self, at: OffsetDateTime, position: usize) -> i64 {
        let (year, month, day, hour) = (
            i64::from(at.year()),
            i64::from(u8::from(at.month())),
            i64::from(at.day()),
            i64::from(at.hour()),
        );
        match self {
            Bucket::Last => position as i64,
            Bucket::Hour => ((year * 100 + month) * 100 + day) * 100 + hour,
            Bucket::Day => (year * 100 + month) * 100 + day,
            Bucket::Week => {
                let (iso_year, week, _) = at.to_iso_week_date();
                i64::from(iso_year) * 100 + i64::from(week)
            }
            Bucket::Month => year * 100 + month,
            Bucket::Year => year,
        }
    }

    fn reason(self) -> KeepReason {
        match self {
            Bucket::Last => KeepReason::Last,
            Bucket::Hour => KeepReason::Hourly,
            Bucket::Day => KeepReason::Daily,
            Bucket::Week => KeepReason::Weekly,
            Bucket::Month => KeepReason::Monthly,
            Bucket::Year => KeepReason::Yearly,
        }
    }
}

/// Why a backup is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "of")]
pub enum KeepReason {
    /// The collection has no retention rule.
    NoRules,
    /// One of the `KEEP_LAST` newest.
    Last,
    /// The newest of its hour (`KEEP_HOURLY`).
    Hourly,
    /// The newest of its day (`KEEP_DAILY`).
    Daily,
    /// The newest of its ISO week (`KEEP_WEEKLY`).
    Weekly,
    /// The newest of its month (`KEEP_MONTHLY`).
    Monthly,
    /// The newest of its year (`KEEP_YEARLY`).
    Yearly,
    /// Taken within `KEEP_WITHIN` of the newest backup.
    Within,
    /// Pinned (`ALTER BACKUP COLLECTION … PIN`).
    Pinned,
    /// A later kept backup (this id) builds on it.
    ParentOf(String),
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeepReason::NoRules => f.write_str("no retention rule"),
            KeepReason::Last => f.write_str("KEEP_LAST"),
            KeepReason::Hourly => f.write_str("KEEP_HOURLY"),
            KeepReason::Daily => f.write_str("KEEP_DAILY"),
            KeepReason::Weekly => f.write_str("KEEP_WEEKLY"),
            KeepReason::Monthly => f.write_str("KEEP_MONTHLY"),
            KeepReason::Yearly => f.write_str("KEEP_YEARLY"),
            KeepReason::Within => f.write_str("KEEP_WITHIN"),
            KeepReason::Pinned => f.write_str("pinned"),
            KeepReason::ParentOf(id) => write!(f, "backup {id} builds on it"),
        }
    }
}

/// A backup as retention sees it: its id (which says when it was taken) and its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetainedBackup {
    /// The backup's id.
    pub id: BackupId,
    /// The backup it builds on; `None` for a full backup.
    pub parent: Option<BackupId>,
}

/// The verdict on one backup: kept, with every reason, or removed (no reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The backup.
    pub id: BackupId,
    /// Why it is kept; empty when it goes.
    pub reasons: Vec<KeepReason>,
}

impl Verdict {
    /// True when the backup is kept.
    pub fn kept(&self) -> bool {
        !self.reasons.is_empty()
    }
}

/// Applies `rules` and `pinned` to `backups`, newest first in the result. `now` bounds the
/// newest backup `KEEP_WITHIN` counts from: one dated in the future (a wrong clock, a forged
/// id) does not make every other backup look old.
///
/// A backup kept by any rule is kept with every backup of its chain before it, so that
/// what remains always restores; removing one never breaks a chain, since everything
/// that builds on a removed backup is removed too.
pub fn apply_retention(
    backups: &[RetainedBackup],
    rules: &Retention,
    pinned: &[BackupId],
    now: OffsetDateTime,
) -> Vec<Verdict> {
    let mut newest_first: Vec<&RetainedBackup> = backups.iter().collect();
    newest_first.sort_by_key(|b| std::cmp::Reverse(b.id));
    let mut verdicts: Vec<Verdict> = newest_first
        .iter()
        .map(|b| Verdict {
            id: b.id,
            reasons: Vec::new(),
        })
        .collect();
    if rules.is_empty() {
        for verdict in &mut verdicts {
            verdict.reasons.push(KeepReason::NoRules);
        }
        return verdicts;
    }
    let newest = newest_first
        .iter()
        .map(|b| b.id.taken_at)
        .filter(|&at| at <= now)
        .max();
    // `Some(None)`: the duration reaches past the calendar, so every backup is within.
    let within_from = rules.within_hours.filter(|&h| h > 0).map(|hours| {
        let hours = i64::try_from(hours.min(MAX_WITHIN_HOURS)).unwrap_or(i64::MAX);
        newest.and_then(|newest| newest.checked_sub(Duration::hours(hours)))
    });
    let mut counters: Vec<(u32, Bucket, Option<i64>)> = rules
        .counted()
        .into_iter()
        .filter_map(|(count, bucket)| count.filter(|&n| n > 0).map(|n| (n, bucket, None)))
        .collect();
    let oldest = verdicts.len().saturating_sub(1);
    for (position, backup) in newest_first.iter().enumerate() {
        let reasons = &mut verdicts[position].reasons;
        if pinned.contains(&backup.id) {
            reasons.push(KeepReason::Pinned);
        }
        if within_from.is_some_and(|from| from.is_none_or(|from| backup.id.taken_at > from)) {
            reasons.push(KeepReason::Within);
        }
        for (left, bucket, last) in &mut counters {
            if *left == 0 {
                continue;
            }
            let value = bucket.of(backup.id.taken_at, position);
            // The oldest backup is kept while a count is left: the history is longest.
            if Some(value) != *last || position == oldest {
                *last = Some(value);
                *left -= 1;
                reasons.push(bucket.reason());
            }
        }
    }
    keep_ancestors(&newest_first, &mut verdicts);
    verdicts
}

/// Keeps every backup a kept backup builds on, directly or not.
fn keep_ancestors(newest_first: &[&RetainedBackup], verdicts: &mut [Verdict]) {
    let position: HashMap<BackupId, usize> = newest_first
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id, i))
        .collect();
    // Newest first, so a parent is reached after every backup that builds on it.
    let mut needed_by: Vec<BTreeSet<BackupId>> = vec![BTreeSet::new(); newest_first.len()];
    for (i, backup) in newest_first.iter().enumerate() {
        if !verdicts[i].kept() && needed_by[i].is_empty() {
            continue;
        }
        if let Some(parent) = backup.parent.and_then(|p| position.get(&p).copied()) {
            // A forged parent that is not older would loop; chains only point back in time.
            if parent > i {
                needed_by[parent].insert(backup.id);
            }
        }
    }
    for (verdict, children) in verdicts.iter_mut().zip(needed_by) {
        for child in children {
            let reason = KeepReason::ParentOf(child.to_string());
            if !verdict.reasons.contains(&reason) {
                verdict.reasons.push(reason);
            }
        }
    }
}

/// The longest `KEEP_WITHIN` applied, whatever a definition says: a thousand years.
const MAX_WITHIN_HOURS: u64 = 1000 * 366 * 24;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BackupKind;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn at(hours: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::hours(hours)
    }

    /// A history of backups taken at these hours, a full one at each `true`.
    fn history(steps: &[(i64, bool)]) -> Vec<RetainedBackup> {
        let mut backups: Vec<RetainedBackup> = Vec::new();
        let mut hour = 0;
        for &(gap, full) in steps {
            hour += gap.max(1);
            let kind = if full || backups.is_empty() {
                BackupKind::Full
            } else {
                BackupKind::Incremental
            };
            let parent = (kind == BackupKind::Incremental).then(|| backups.last().unwrap().id);
            backups.push(RetainedBackup {
                id: BackupId {
                    taken_at: at(hour),
                    kind,
                },
                parent,
            });
        }
        backups
    }

    /// restic's rules written the other way round: per rule, the buckets newest first, the
    /// newest backup of each of the first n, and the oldest backup if fewer than n buckets.
    fn model(
        backups: &[RetainedBackup],
        rules: &Retention,
        pinned: &[BackupId],
        now: OffsetDateTime,
    ) -> HashSet<BackupId> {
        let mut sorted: Vec<&RetainedBackup> = backups.iter().collect();
        sorted.sort_by_key(|b| std::cmp::Reverse(b.id));
        if rules.is_empty() {
            return sorted.iter().map(|b| b.id).collect();
        }
        let mut kept: HashSet<BackupId> = pinned
            .iter()
            .filter(|p| backups.iter().any(|b| b.id == **p))
            .copied()
            .collect();
        for (count, bucket) in rules.counted() {
            let Some(n) = count.filter(|&n| n > 0) else {
                continue;
            };
            let mut buckets: Vec<i64> = Vec::new();
            for (i, b) in sorted.iter().enumerate() {
                let value = bucket.of(b.id.taken_at, i);
                if !buckets.contains(&value) {
                    buckets.push(value);
                    if buckets.len() <= n as usize {
                        kept.insert(b.id);
                    }
                }
            }
            if let Some(oldest) = sorted.last().filter(|_| buckets.len() < n as usize) {
                kept.insert(oldest.id);
            }
        }
        if let Some(hours) = rules.within_hours.filter(|&h| h > 0) {
            let newest = sorted.iter().map(|b| b.id.taken_at).find(|&t| t <= now);
            for b in &sorted {
                if newest.is_none_or(|n| b.id.taken_at > n - Duration::hours(hours as i64)) {
                    kept.insert(b.id);
                }
            }
        }
        // Ancestors, to a fixed point.
        loop {
            let parents: Vec<BackupId> = backups
                .iter()
                .filter(|b| kept.contains(&b.id))
                .filter_map(|b| b.parent)
                .filter(|p| !kept.contains(p) && backups.iter().any(|b| b.id == *p))
                .collect();
            if parents.is_empty() {
                return kept;
            }
            kept.extend(parents);
        }
    }

    fn rules() -> impl Strategy<Value = Retention> {
        let count = || prop::option::of(0u32..6);
        (
            (count(), count(), count()),
            (count(), count(), count()),
            prop::option::of(0u64..400),
        )
            .prop_map(
                |((last, hourly, daily), (weekly, monthly, yearly), within_hours)| Retention {
                    last,
                    hourly,
                    daily,
                    weekly,
                    monthly,
                    yearly,
                    within_hours,
                },
            )
    }

    proptest! {
        #[test]
        fn the_kept_set_is_the_rules_and_every_kept_chain_is_whole(
            steps in prop::collection::vec((prop_oneof![1i64..3, 20i64..30, 150i64..200, 700i64..800], prop::bool::weighted(0.2)), 0..60),
            rules in rules(),
            pins in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            now_offset in -100i64..100,
        ) {
            let backups = history(&steps);
            let pinned: Vec<BackupId> = if backups.is_empty() {
                Vec::new()
            } else {
                pins.iter().map(|i| backups[i.index(backups.len())].id).collect()
            };
            let newest = backups.last().map_or(at(0), |b| b.id.taken_at);
            let now = newest + Duration::hours(now_offset);
            let verdicts = apply_retention(&backups, &rules, &pinned, now);
            prop_assert_eq!(verdicts.len(), backups.len());
            let kept: HashSet<BackupId> =
                verdicts.iter().filter(|v| v.kept()).map(|v| v.id).collect();
            prop_assert_eq!(&kept, &model(&backups, &rules, &pinned, now));
            // No kept backup lost its parent; the newest stays for the next incremental.
            for b in &backups {
                if let Some(parent) = b.parent.filter(|_| kept.contains(&b.id)) {
                    prop_assert!(kept.contains(&parent), "{} lost {}", b.id, parent);
                }
            }
            if let Some(newest) = backups.last() {
                prop_assert!(kept.contains(&newest.id));
            }
            for p in &pinned {
                prop_assert!(kept.contains(p));
            }
        }
    }

    #[test]
    fn reasons_say_which_rule_and_which_child_keeps_a_backup() {
        // Day 1: a full and two incrementals; day 2: a full and one incremental.
        let backups = history(&[(1, true), (1, false), (1, false), (24, true), (1, false)]);
        let rules = Retention {
            daily: Some(1),
            ..Retention::default()
        };
        let now = backups[4].id.taken_at;
        let verdicts = apply_retention(&backups, &rules, &[], now);
        let reasons: Vec<Vec<String>> = verdicts
            .iter()
            .map(|v| v.reasons.iter().map(ToString::to_string).collect())
            .collect();
        assert_eq!(reasons[0], ["KEEP_DAILY"]);
        assert_eq!(
            reasons[1],
            [format!("backup {} builds on it", backups[4].id)]
        );
        assert!(reasons[2..].iter().all(Vec::is_empty), "{reasons:?}");
        // Pinning an incremental of day 1 keeps it with its parents.
        let verdicts = apply_retention(&backups, &rules, &[backups[1].id], now);
        let kept: Vec<bool> = verdicts.iter().map(Verdict::kept).collect();
        assert_eq!(kept, [true, true, false, true, true]);
        // No rule keeps all.
        let verdicts = apply_retention(&backups, &Retention::default(), &[], now);
        assert!(verdicts.iter().all(|v| v.reasons == [KeepReason::NoRules]));
    }

    #[test]
    fn a_backup_dated_in_the_future_does_not_age_the_others() {
        let mut backups = history(&[(1, true), (1, false), (1, false)]);
        let now = backups[2].id.taken_at;
        backups.push(RetainedBackup {
            id: BackupId {
                taken_at: now + Duration::days(3650),
                kind: BackupKind::Full,
            },
            parent: None,
        });
        let rules = Retention {
            within_hours: Some(24),
            ..Retention::default()
        };
        let verdicts = apply_retention(&backups, &rules, &[], now);
        assert!(verdicts.iter().all(Verdict::kept), "{verdicts:?}");
    }
}
