//! When a schedule fires, in a time zone: the next run after an instant, and the default
//! full-backup schedule for a backup schedule.

use chrono::{Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _};
use chrono_tz::Tz;
use quiver_grammar::{Schedule, parse_schedule};
use time::OffsetDateTime;

/// The zone a `TIMEZONE` setting names (`None`: UTC).
pub(crate) fn zone(name: Option<&str>) -> Result<Tz, String> {
    let Some(name) = name else {
        return Ok(Tz::UTC);
    };
    name.parse::<Tz>()
        .or_else(|_| {
            // Zone names are matched ignoring case, as PostgreSQL does.
            chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| tz.name().eq_ignore_ascii_case(name))
                .copied()
                .ok_or(())
        })
        .map_err(|()| {
            format!(
                "unknown time zone `{name}`: TIMEZONE is a zone name of the IANA database, e.g. 'UTC', 'Europe/Berlin' or 'America/New_York'"
            )
        })
}

/// How far ahead a schedule is looked at: a cron that fires only on February 29th of years
/// that have one fires within 8 years; one that fires within none never fires.
const HORIZON_DAYS: i64 = 366 * 9;

/// The first time after `after` (strictly) that `schedule` fires in `zone`; `None` if it
/// never does (`'0 0 30 2 *'`). A local time a daylight-saving change skips fires as if the
/// clock had not moved (02:30 becomes 03:30); one it repeats fires once, the first time.
pub(crate) fn next_after(
    schedule: &Schedule,
    zone: Tz,
    after: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let after_utc = to_chrono(after)?;
    let start = after_utc.with_timezone(&zone).date_naive();
    let minutes = schedule.minutes_of_day();
    let mut day = start.pred_opt().unwrap_or(start);
    for _ in 0..HORIZON_DAYS {
        if schedule.matches_day(
            day.month() as u8,
            day.day() as u8,
            day.weekday().num_days_from_sunday() as u8,
        ) {
            let first = minutes
                .iter()
                .filter_map(|&m| instant(zone, day, m))
                .filter(|&t| t > after_utc)
                .min();
            if let Some(t) = first {
                return from_chrono(t);
            }
        }
        day = day.succ_opt()?;
    }
    None
}

/// The instant of minute `minute` of local day `day` in `zone`.
fn instant(zone: Tz, day: NaiveDate, minute: u32) -> Option<chrono::DateTime<chrono::Utc>> {
    let time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)?;
    let local = NaiveDateTime::new(day, time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.to_utc()),
        LocalResult::Ambiguous(first, _) => Some(first.to_utc()),
        LocalResult::None => {
            // Skipped by a change to daylight-saving time: read with the offset before it.
            let before = zone
                .from_local_datetime(&(local - chrono::Duration::hours(3)))
                .earliest()?;
            let offset = chrono::Offset::fix(before.offset());
            Some((local - offset).and_utc())
        }
    }
}

/// The full-backup schedule that goes with `backup` when none is given, as CockroachDB has
/// it: backups hourly or more often get a daily full, up to daily a weekly full; rarer
/// backups are all full (`None`).
pub(crate) fn default_full(backup: &Schedule) -> Option<Schedule> {
    let gap = shortest_gap(backup)?;
    if gap <= 3600 {
        Some(parse_schedule("@daily").expect("a valid schedule"))
    } else if gap <= 86_400 {
        Some(parse_schedule("@weekly").expect("a valid schedule"))
    } else {
        None
    }
}

/// The shortest time between two runs of `schedule`, in seconds, over a year of them (UTC).
fn shortest_gap(schedule: &Schedule) -> Option<i64> {
    let mut t = next_after(
        schedule,
        Tz::UTC,
        time::macros::datetime!(2026-01-01 00:00 UTC),
    )?;
    let end = t + time::Duration::days(366);
    let mut shortest = None::<i64>;
    while t < end {
        let next = next_after(schedule, Tz::UTC, t)?;
        let gap = (next - t).whole_seconds();
        shortest = Some(shortest.map_or(gap, |s| s.min(gap)));
        if gap <= 3600 {
            break;
        }
        t = next;
    }
    shortest
}

fn to_chrono(t: OffsetDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
}

fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(t.timestamp())
        .ok()?
        .replace_nanosecond(t.timestamp_subsec_nanos())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn next(schedule: &str, zone_name: &str, after: OffsetDateTime) -> Option<OffsetDateTime> {
        next_after(
            &parse_schedule(schedule).unwrap(),
            zone(Some(zone_name)).unwrap(),
            after,
        )
    }

    #[test]
    fn next_runs() {
        let t = datetime!(2026-03-07 10:15 UTC); // a Saturday
        assert_eq!(
            next("@hourly", "UTC", t),
            Some(datetime!(2026-03-07 11:00 UTC))
        );
        assert_eq!(
            next("every 15m", "UTC", t),
            Some(datetime!(2026-03-07 10:30 UTC))
        );
        assert_eq!(
            next("@daily", "UTC", t),
            Some(datetime!(2026-03-08 00:00 UTC))
        );
        assert_eq!(
            next("0 9 * * 1-5", "UTC", t),
            Some(datetime!(2026-03-09 09:00 UTC))
        );
        assert_eq!(
            next("@daily", "Europe/Berlin", t),
            Some(datetime!(2026-03-07 23:00 UTC))
        );
        // Exactly on a slot: the next one.
        assert_eq!(
            next("@hourly", "UTC", datetime!(2026-03-07 11:00 UTC)),
            Some(datetime!(2026-03-07 12:00 UTC))
        );
        assert_eq!(next("0 0 30 2 *", "UTC", t), None);
        assert_eq!(
            next("0 0 29 2 *", "UTC", t),
            Some(datetime!(2028-02-29 00:00 UTC))
        );
    }

    #[test]
    fn daylight_saving_changes() {
        // Berlin skips 02:00-03:00 on 2026-03-29 and repeats 02:00-03:00 on 2026-10-25.
        assert_eq!(
            next(
                "30 2 * * *",
                "Europe/Berlin",
                datetime!(2026-03-28 12:00 UTC)
            ),
            Some(datetime!(2026-03-29 01:30 UTC)) // 03:30 CEST
        );
        let first = next(
            "30 2 * * *",
            "Europe/Berlin",
            datetime!(2026-10-24 12:00 UTC),
        )
        .unwrap();
        assert_eq!(first, datetime!(2026-10-25 00:30 UTC)); // 02:30 CEST
        // Not again at 02:30 CET an hour later.
        assert_eq!(
            next("30 2 * * *", "Europe/Berlin", first),
            Some(datetime!(2026-10-26 01:30 UTC))
        );
    }

    #[test]
    fn default_full_schedules() {
        let full = |s: &str| default_full(&parse_schedule(s).unwrap()).map(|f| f.to_string());
        assert_eq!(full("every 15m").as_deref(), Some("0 0 * * *"));
        assert_eq!(full("@hourly").as_deref(), Some("0 0 * * *"));
        assert_eq!(full("0 */6 * * *").as_deref(), Some("0 0 * * 0"));
        assert_eq!(full("@daily").as_deref(), Some("0 0 * * 0"));
        assert_eq!(full("0 9 * * 1-5").as_deref(), Some("0 0 * * 0"));
        assert_eq!(full("@weekly"), None);
        assert!(zone(Some("europe/berlin")).is_ok());
        assert!(
            zone(Some("Mars/Olympus"))
                .unwrap_err()
                .contains("unknown time zone")
        );
    }
}
