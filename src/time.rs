//! Wall-clock time as Unix seconds, its RFC 3339 form in JSON, and the calendar: the one
//! place that knows months, month lengths and leap years (data files and usage reports
//! use it). Formatting and parsing of instants is humantime's; nothing here is a second
//! calendar.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-06-23T12:37:16Z`.
pub fn rfc3339(secs: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// RFC 3339 (with `Z` or an offset) to Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(s.trim())
        .ok()
        .or_else(|| parse_with_offset(s.trim()))?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs() as i64)
}

/// humantime only knows `Z`; accept `+02:00`-style offsets as RFC 3339 allows.
fn parse_with_offset(s: &str) -> Option<SystemTime> {
    if s.len() < 25 {
        return None;
    }
    let (local, offset) = s.split_at(s.len() - 6);
    let sign = match offset.as_bytes()[0] {
        b'+' => 1i64,
        b'-' => -1,
        _ => return None,
    };
    let hours: i64 = offset.get(1..3)?.parse().ok()?;
    let minutes: i64 = offset.get(4..6)?.parse().ok()?;
    let base = humantime::parse_rfc3339_weak(local).ok()?;
    let shift = Duration::from_secs(((hours * 60 + minutes) * 60) as u64);
    Some(if sign > 0 { base - shift } else { base + shift })
}

/// `YYYY-MM` of a time.
pub fn month_of(secs: i64) -> String {
    Month::of(secs).to_string()
}

/// A calendar month (proleptic Gregorian, UTC); shown as `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Exactly `YYYY-MM`: four digits, a dash, two digits, the month 01 to 12.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month a time falls in (times before 1970 count as 1970-01, as `rfc3339` shows them).
    pub fn of(secs: i64) -> Month {
        let text = rfc3339(secs);
        Month::parse(&text[..7]).unwrap_or(Month { year: 1970, month: 1 })
    }

    pub fn next(self) -> Month {
        match self.month {
            12 => Month {
                year: self.year + 1,
                month: 1,
            },
            m => Month { month: m + 1, ..self },
        }
    }

    pub fn previous(self) -> Month {
        match self.month {
            1 => Month {
                year: self.year - 1,
                month: 12,
            },
            m => Month { month: m - 1, ..self },
        }
    }

    /// How many days it has: February has 29 in leap years (every fourth, but not
    /// centuries unless divisible by 400).
    pub fn days(self) -> u32 {
        let leap = self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0);
        match self.month {
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => 31,
        }
    }

    /// Unix seconds of its first second; None when that is not a time `rfc3339` shows
    /// (before 1970, after 9999).
    pub fn start(self) -> Option<i64> {
        parse_rfc3339(&format!("{self}-01T00:00:00Z"))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The month and day of a `YYYY-MM-DD` date, which may be followed by a time; None unless
/// the day exists in that month.
pub fn parse_date(s: &str) -> Option<(Month, u32)> {
    let (month, day) = (s.get(..7)?, s.get(7..10)?);
    let day = day.strip_prefix('-')?;
    let month = Month::parse(month)?;
    let day: u32 = day.bytes().all(|c| c.is_ascii_digit()).then(|| day.parse().ok())??;
    (1..=month.days()).contains(&day).then_some((month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("2026-06-23T12:37:16Z"), Some(1782218236));
        assert_eq!(rfc3339(1782218236), "2026-06-23T12:37:16Z");
        assert_eq!(parse_rfc3339("2026-06-23T14:37:16+02:00"), Some(1782218236));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(month_of(1782218236), "2026-06");
    }

    fn month(year: i32, month: u32) -> Month {
        Month { year, month }
    }

    #[test]
    fn months() {
        assert_eq!(Month::parse("2026-10"), Some(month(2026, 10)));
        assert_eq!(Month::parse("0000-01"), Some(month(0, 1)));
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "../etc",
            "2026-1a",
            "+026-01",
            "2026-10-01",
        ] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
        assert_eq!(month(2026, 9).to_string(), "2026-09");
        assert_eq!(month(2026, 12).next(), month(2027, 1));
        assert_eq!(month(2026, 10).next(), month(2026, 11));
        assert_eq!(month(2027, 1).previous(), month(2026, 12));
        assert_eq!(month(2026, 11).previous(), month(2026, 10));
        assert_eq!(
            Month::of(parse_rfc3339("2026-11-30T23:59:59Z").unwrap()),
            month(2026, 11)
        );
        assert_eq!(
            Month::of(parse_rfc3339("2026-12-01T00:00:00Z").unwrap()),
            month(2026, 12)
        );
        assert_eq!(Month::of(-5), month(1970, 1));
        assert_eq!(month(2026, 11).start(), parse_rfc3339("2026-11-01T00:00:00Z"));
        assert_eq!(month(2026, 11).start(), Some(1793491200));
        assert_eq!(month(1970, 1).start(), Some(0));
        assert_eq!(month(1969, 12).start(), None);
        assert_eq!(month(9999, 12).next().start(), None);
    }

    #[test]
    fn month_lengths_and_leap_years() {
        let days: Vec<u32> = (1..=12).map(|m| month(2026, m).days()).collect();
        assert_eq!(days, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
        for (year, february) in [(2024, 29), (2026, 28), (2000, 29), (1900, 28), (2100, 28), (0, 29)] {
            assert_eq!(month(year, 2).days(), february, "{year}");
        }
        // Each month's length is the distance to the next month's start.
        let mut m = month(1970, 1);
        while m.year < 2101 {
            let length = m.next().start().unwrap() - m.start().unwrap();
            assert_eq!(length, i64::from(m.days()) * 86400, "{m}");
            m = m.next();
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2024-02-29"), Some((month(2024, 2), 29)));
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2026-09-01T00:00:00Z"), Some((month(2026, 9), 1)));
        assert_eq!(parse_date("2026-09-30"), Some((month(2026, 9), 30)));
        for bad in [
            "2026-9-1",
            "2026-13-01",
            "2026-09-31",
            "2026-09-00",
            "2026-09-1x",
            "2026-09",
            "2026/09/01",
            "2026-09-+1",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
