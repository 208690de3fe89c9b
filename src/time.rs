//! Wall-clock time as Unix seconds, and its RFC 3339 form in JSON.

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
    rfc3339(secs)[..7].to_string()
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
}
