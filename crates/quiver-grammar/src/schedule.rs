//! Schedule values (`BACKUP_SCHEDULE`, `FULL_BACKUP_SCHEDULE`): `'@hourly'`, `'every 15m'` or
//! a five-field cron expression, parsed into the minutes they fire at. Working out when a
//! schedule next fires needs a time zone, so it lives with the scheduler, not here.

use std::fmt::{self, Display, Formatter};

/// When a schedule fires, in the collection's `TIMEZONE` (UTC unless set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// `'every 15m'`, `'every 2h'`: every so many minutes from midnight; the interval divides
    /// a day, so that every day has the same slots.
    Every {
        /// Minutes between runs: a divisor of 1440.
        minutes: u32,
    },
    /// A five-field cron expression; `'@hourly'`, `'@daily'`, … are spellings of one.
    Cron(CronFields),
}

/// The fields of a cron expression, as sets of the values they match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CronFields {
    /// Minutes 0-59, bit n for minute n.
    pub minutes: u64,
    /// Hours 0-23.
    pub hours: u32,
    /// Days of the month 1-31, bit n for day n.
    pub days: u32,
    /// Months 1-12, bit n for month n.
    pub months: u16,
    /// Days of the week 0-6, Sunday = 0.
    pub weekdays: u8,
    /// The day-of-month field starts with `*`: as in cron, a day then matches when the
    /// weekday matches (and both must match when either starts with `*`; either one
    /// suffices when neither does).
    pub days_star: bool,
    /// The day-of-week field starts with `*`.
    pub weekdays_star: bool,
}

impl CronFields {
    /// True when the schedule fires on this day (month 1-12, day 1-31, weekday 0-6 from Sunday).
    #[must_use]
    pub fn matches_day(&self, month: u8, day: u8, weekday: u8) -> bool {
        if self.months & (1 << month) == 0 {
            return false;
        }
        let by_day = self.days & (1 << day) != 0;
        let by_weekday = self.weekdays & (1 << weekday) != 0;
        if self.days_star || self.weekdays_star {
            by_day && by_weekday
        } else {
            by_day || by_weekday
        }
    }

    /// The minutes of a day it fires at (when it fires that day), in order.
    #[must_use]
    pub fn minutes_of_day(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for hour in 0..24 {
            if self.hours & (1 << hour) == 0 {
                continue;
            }
            for minute in 0..60 {
                if self.minutes & (1 << minute) != 0 {
                    out.push(hour * 60 + minute);
                }
            }
        }
        out
    }
}

impl Schedule {
    /// The minutes of a day it fires at on a day it fires, in order.
    #[must_use]
    pub fn minutes_of_day(&self) -> Vec<u32> {
        match self {
            Schedule::Every { minutes } => (0..1440).step_by(*minutes as usize).collect(),
            Schedule::Cron(fields) => fields.minutes_of_day(),
        }
    }

    /// True when it fires on this day (month 1-12, day 1-31, weekday 0-6 from Sunday).
    #[must_use]
    pub fn matches_day(&self, month: u8, day: u8, weekday: u8) -> bool {
        match self {
            Schedule::Every { .. } => true,
            Schedule::Cron(fields) => fields.matches_day(month, day, weekday),
        }
    }
}

const HINT: &str = "a schedule is '@hourly', '@daily', '@weekly', '@monthly', '@yearly', \
                    'every 15m' / 'every 2h' (dividing a day evenly), or five cron fields \
                    'minute hour day-of-month month day-of-week', e.g. '30 2 * * 1-5'";

/// Reads a schedule: `'@hourly'`, `'@daily'`, `'@weekly'`, `'@monthly'`, `'@yearly'`,
/// `'every 15m'` / `'every 2h'`, or a five-field cron expression.
///
/// ```
/// use quiver_grammar::{Schedule, parse_schedule};
///
/// assert_eq!(parse_schedule("every 15m"), Ok(Schedule::Every { minutes: 15 }));
/// assert_eq!(parse_schedule("@daily")?, parse_schedule("0 0 * * *")?);
/// assert_eq!(parse_schedule("*/30 9-17 * * mon-fri")?.to_string(), "*/30 9-17 * * 1-5");
/// assert!(parse_schedule("61 * * * *").is_err());
/// # Ok::<(), String>(())
/// ```
pub fn parse_schedule(text: &str) -> Result<Schedule, String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let cron = match lower.as_str() {
        "@hourly" => "0 * * * *",
        "@daily" | "@midnight" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        other if other.starts_with('@') => {
            return Err(format!("unknown schedule `{text}`; {HINT}"));
        }
        other if other.starts_with("every") => return parse_every(&other[5..], text),
        other => other,
    };
    let fields: Vec<&str> = cron.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "`{text}` has {} field(s), a cron expression has 5; {HINT}",
            fields.len()
        ));
    }
    let minutes = field(fields[0], "minute", 0, 59, &[])?;
    let hours = field(fields[1], "hour", 0, 23, &[])?;
    let days = field(fields[2], "day of the month", 1, 31, &[])?;
    let months = field(fields[3], "month", 1, 12, &MONTHS)?;
    // 7 is Sunday too.
    let weekdays = field(fields[4], "day of the week", 0, 7, &WEEKDAYS)?;
    let weekdays = (weekdays | (weekdays >> 7)) & 0x7f;
    Ok(Schedule::Cron(CronFields {
        minutes,
        hours: hours as u32,
        days: days as u32,
        months: months as u16,
        weekdays: weekdays as u8,
        days_star: fields[2].starts_with('*'),
        weekdays_star: fields[4].starts_with('*'),
    }))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// `every N<unit>`, after the word `every`.
fn parse_every(rest: &str, text: &str) -> Result<Schedule, String> {
    let rest = rest.trim();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let unit = rest[digits.len()..].trim();
    let per = match unit {
        "m" | "min" | "mins" | "minute" | "minutes" => 1,
        "h" | "hour" | "hours" => 60,
        "d" | "day" | "days" => 1440,
        _ => return Err(format!("`{text}` is not a schedule; {HINT}")),
    };
    let minutes = digits
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(per))
        .filter(|&m| m > 0 && m <= 1440 && 1440 % m == 0)
        .ok_or_else(|| {
            format!(
                "`{text}`: an interval must divide a day evenly (e.g. 5m, 15m, 2h, 6h, 1d); for other times use a cron expression; {HINT}"
            )
        })?;
    Ok(Schedule::Every { minutes })
}

/// One cron field as a bit set over `min..=max`.
fn field(text: &str, what: &str, min: u32, max: u32, names: &[&str]) -> Result<u64, String> {
    let bad = |why: String| format!("cron {what} field `{text}`: {why}; {HINT}");
    let value = |v: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| *n == v) {
            return Ok(i as u32 + if min == 1 { 1 } else { 0 });
        }
        let n: u32 = v
            .parse()
            .map_err(|_| bad(format!("`{v}` is not a number")))?;
        if n < min || n > max {
            return Err(bad(format!("{n} is outside {min}-{max}")));
        }
        Ok(n)
    };
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|&s| s > 0 && s <= max)
                    .ok_or_else(|| bad(format!("step `{step}` is not a number from 1 to {max}")))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (low, high) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(bad(format!("range {a}-{b} runs backwards")));
            }
            (a, b)
        } else if part.contains('/') {
            // `a/s`: from a to the end, every s.
            (value(range)?, max)
        } else {
            let v = value(range)?;
            (v, v)
        };
        let mut v = low;
        while v <= high {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

impl Display for Schedule {
    /// The canonical spelling, which [`parse_schedule`] reads back as the same schedule.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Every { minutes } if minutes % 60 == 0 => {
                write!(f, "every {}h", minutes / 60)
            }
            Schedule::Every { minutes } => write!(f, "every {minutes}m"),
            Schedule::Cron(c) => write!(
                f,
                "{} {} {} {} {}",
                print_field(c.minutes, 0, 59, None),
                print_field(u64::from(c.hours), 0, 23, None),
                print_field(u64::from(c.days), 1, 31, Some(c.days_star)),
                print_field(u64::from(c.months), 1, 12, None),
                print_field(u64::from(c.weekdays), 0, 6, Some(c.weekdays_star)),
            ),
        }
    }
}

/// A field's set as `*`, `*/s`, `a-b/s` or a list of values and ranges. `star` is `None`
/// for fields where a leading `*` changes nothing, else whether the field had one (which
/// changes how days match), and the printed field keeps it.
fn print_field(bits: u64, min: u32, max: u32, star: Option<bool>) -> String {
    let values: Vec<u32> = (min..=max).filter(|v| bits & (1 << v) != 0).collect();
    let full = values.len() as u32 == max - min + 1;
    if full && star != Some(false) {
        return "*".to_string();
    }
    // Weekdays are parsed over 0-7 (7 is Sunday too) and folded onto 0-6.
    let weekdays = max == 6;
    let every = |s: u32| {
        let parse_max = if weekdays { 7 } else { max };
        let mut b = 0u64;
        for v in (min..=parse_max).step_by(s as usize) {
            b |= 1 << if weekdays && v == 7 { 0 } else { v };
        }
        b
    };
    if let Some(s) = (2..=max.max(7))
        .find(|&s| every(s) == bits)
        .filter(|_| match star {
            Some(true) => true,
            None => values.len() > 1,
            Some(false) => values.len() > 2,
        })
    {
        return if star == Some(false) {
            format!("{min}-{max}/{s}")
        } else {
            format!("*/{s}")
        };
    }
    // A starred field is all its values or every s-th: handled above.
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let start = values[i];
        let mut end = start;
        while i + 1 < values.len() && values[i + 1] == end + 1 {
            i += 1;
            end = values[i];
        }
        parts.push(if end > start + 1 {
            format!("{start}-{end}")
        } else if end == start + 1 {
            format!("{start},{end}")
        } else {
            start.to_string()
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(parse_schedule("@hourly").unwrap().to_string(), "0 * * * *");
        assert_eq!(parse_schedule("@weekly").unwrap().to_string(), "0 0 * * 0");
        assert_eq!(parse_schedule("every 2h").unwrap().to_string(), "every 2h");
        assert_eq!(
            parse_schedule("EVERY 90 minutes").unwrap().to_string(),
            "every 90m"
        );
        assert_eq!(parse_schedule("0 0 * * 7"), parse_schedule("0 0 * * sun"));
        assert_eq!(
            parse_schedule("0 12 1-31 * 1").unwrap().to_string(),
            "0 12 1-31 * 1"
        );
        assert_eq!(
            parse_schedule("5/20 * * * *").unwrap().to_string(),
            "5,25,45 * * * *"
        );
        assert_eq!(
            parse_schedule("0 0 1-31/2 * 1").unwrap().to_string(),
            "0 0 1-31/2 * 1"
        );
        for bad in [
            "",
            "@often",
            "every 7m",
            "every 0m",
            "every 25h",
            "every m",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 8",
            "5-1 * * * *",
            "*/0 * * * *",
            "* * * *",
            "* * * * * *",
            "a * * * *",
        ] {
            assert!(parse_schedule(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn day_matching_follows_cron() {
        // Both restricted: either matches (the 1st, or any Monday).
        let Schedule::Cron(c) = parse_schedule("0 0 1 * 1").unwrap() else {
            unreachable!()
        };
        assert!(c.matches_day(3, 1, 4) && c.matches_day(3, 9, 1) && !c.matches_day(3, 9, 2));
        // One starred: both must.
        let Schedule::Cron(c) = parse_schedule("0 0 */2 * 1").unwrap() else {
            unreachable!()
        };
        assert!(c.matches_day(3, 3, 1) && !c.matches_day(3, 2, 1) && !c.matches_day(3, 3, 2));
    }
}
