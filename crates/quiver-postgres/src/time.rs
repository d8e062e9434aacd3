//! PostgreSQL's dates and times against Arrow's: PostgreSQL counts from 2000-01-01, Arrow
//! from 1970-01-01, and PostgreSQL's `infinity` and `-infinity` travel as the extreme
//! values of the type, which no finite value reaches.

/// Days from 1970-01-01 to 2000-01-01.
const DAYS_BEFORE_PG_EPOCH: i32 = 10_957;
/// Microseconds from 1970-01-01 00:00 to 2000-01-01 00:00.
const MICROS_BEFORE_PG_EPOCH: i64 = 946_684_800_000_000;
/// Microseconds in a day: Arrow's times are below it, PostgreSQL's reach it (`24:00:00`).
pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A date of the server (days since 2000) as Arrow's (days since 1970).
pub(crate) fn date_from_pg(days: i32) -> Result<i32, String> {
    shift(days, DAYS_BEFORE_PG_EPOCH, i32::checked_add)
        .ok_or_else(|| format!("a date {days} days after 2000-01-01 that Arrow cannot hold"))
}

/// Arrow's date as the server's.
pub(crate) fn date_to_pg(days: i32) -> Result<i32, String> {
    shift(days, DAYS_BEFORE_PG_EPOCH, i32::checked_sub)
        .ok_or_else(|| format!("a date {days} days after 1970-01-01 that PostgreSQL cannot hold"))
}

/// A timestamp of the server (microseconds since 2000) as Arrow's (since 1970).
pub(crate) fn timestamp_from_pg(micros: i64) -> Result<i64, String> {
    shift(micros, MICROS_BEFORE_PG_EPOCH, i64::checked_add).ok_or_else(|| {
        // Only the last 29 years PostgreSQL has (up to 294276 AD) do not fit.
        format!("a timestamp after the year 294246, which Arrow cannot hold ({micros} µs after 2000-01-01)")
    })
}

/// Arrow's timestamp as the server's.
pub(crate) fn timestamp_to_pg(micros: i64) -> Result<i64, String> {
    shift(micros, MICROS_BEFORE_PG_EPOCH, i64::checked_sub).ok_or_else(|| {
        format!("a timestamp {micros} µs after 1970-01-01 that PostgreSQL cannot hold")
    })
}

/// `value` moved by `by`; the extremes (±infinity) stay, and no finite value may land on
/// them.
fn shift<T: Copy + PartialEq + Bounded>(
    value: T,
    by: T,
    op: impl Fn(T, T) -> Option<T>,
) -> Option<T> {
    if value == T::MAX || value == T::MIN {
        return Some(value);
    }
    op(value, by).filter(|v| *v != T::MAX && *v != T::MIN)
}

/// The extremes of an integer type.
trait Bounded {
    const MAX: Self;
    const MIN: Self;
}

impl Bounded for i32 {
    const MAX: i32 = i32::MAX;
    const MIN: i32 = i32::MIN;
}

impl Bounded for i64 {
    const MAX: i64 = i64::MAX;
    const MIN: i64 = i64::MIN;
}

/// Arrow's date (days since 1970) as PostgreSQL's text: `2026-12-01`, `0044-03-15 BC`,
/// `infinity`.
pub(crate) fn date_text(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        days => {
            let (year, month, day) = civil_from_days(i64::from(days));
            with_era(year, &format!("-{month:02}-{day:02}"), "")
        }
    }
}

/// Arrow's timestamp (microseconds since 1970) as PostgreSQL's text, with `zone` (`+00`
/// or empty) after the time: `2026-12-01 12:30:00.000001+00`.
pub(crate) fn timestamp_text(micros: i64, zone: &str) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        micros => day_and_time_text(
            micros.div_euclid(MICROS_PER_DAY),
            micros.rem_euclid(MICROS_PER_DAY),
            zone,
        ),
    }
}

/// The server's timestamp (microseconds since 2000, finite) as its text, as
/// [`timestamp_text`] writes Arrow's: for the timestamps Arrow cannot hold.
pub(crate) fn pg_timestamp_text(micros: i64, zone: &str) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY) + i64::from(DAYS_BEFORE_PG_EPOCH);
    day_and_time_text(days, micros.rem_euclid(MICROS_PER_DAY), zone)
}

fn day_and_time_text(days: i64, micros_of_day: i64, zone: &str) -> String {
    let (year, month, day) = civil_from_days(days);
    let time = time_text(micros_of_day);
    with_era(year, &format!("-{month:02}-{day:02} {time}"), zone)
}

/// Microseconds since midnight as `HH:MM:SS.ffffff` (up to `24:00:00.000000`).
pub(crate) fn time_text(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        micros % 1_000_000
    )
}

/// `year` then `rest`, then `zone`, then ` BC` for years before 1 (year 0 is 1 BC).
fn with_era(year: i64, rest: &str, zone: &str) -> String {
    if year > 0 {
        format!("{year:04}{rest}{zone}")
    } else {
        format!("{:04}{rest}{zone} BC", 1 - year)
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`), as PostgreSQL counts dates.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_read_as_postgresql_writes_them() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(20_423), "2025-12-01");
        assert_eq!(date_text(-719_528), "0001-01-01 BC");
        assert_eq!(date_text(-719_162), "0001-01-01");
        assert_eq!(date_text(i32::MAX), "infinity");
        assert_eq!(timestamp_text(-1, "+00"), "1969-12-31 23:59:59.999999+00");
        assert_eq!(timestamp_text(i64::MIN, ""), "-infinity");
        assert_eq!(time_text(MICROS_PER_DAY), "24:00:00.000000");
        assert_eq!(date_from_pg(0), Ok(DAYS_BEFORE_PG_EPOCH));
        assert_eq!(date_to_pg(i32::MIN), Ok(i32::MIN));
        assert!(timestamp_from_pg(i64::MAX - 1).is_err());
        // PostgreSQL's last timestamp, which only the raw side column holds.
        assert_eq!(
            pg_timestamp_text(9_223_371_331_199_999_999, ""),
            "294276-12-31 23:59:59.999999"
        );
        assert_eq!(timestamp_to_pg(MICROS_BEFORE_PG_EPOCH), Ok(0));
    }
}
