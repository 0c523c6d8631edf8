//! UTC instants with the precision and the string forms Graph and Entra use.
//!
//! Graph serialises `Edm.DateTimeOffset` as ISO-8601 UTC with up to 7 fractional digits
//! (reference, "Common conventions"), error bodies carry a date without the `Z` (§10.1), and
//! Entra's token errors use `"YYYY-MM-DD HH:MM:SSZ"` (§11.4). No date crate is needed for that.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 100-nanosecond ticks in one second: .NET's resolution, hence Graph's 7 fractional digits.
pub const TICKS_PER_SECOND: u32 = 10_000_000;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// A UTC instant with 100 ns resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime {
    /// Whole seconds since the Unix epoch.
    secs: i64,
    /// 100 ns ticks within the second, `0..TICKS_PER_SECOND`; 0 prints as whole seconds.
    ticks: u32,
}

impl UtcTime {
    /// The instant `secs` seconds plus `ticks` 100 ns ticks after the epoch (excess ticks carry).
    pub fn from_unix(secs: i64, ticks: u32) -> Self {
        Self {
            secs: secs.saturating_add(i64::from(ticks / TICKS_PER_SECOND)),
            ticks: ticks % TICKS_PER_SECOND,
        }
    }

    /// The instant of a [`SystemTime`], truncated to 100 ns.
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => Self::from_unix(d.as_secs() as i64, d.subsec_nanos() / 100),
            Err(e) => {
                let d = e.duration();
                let back = Self::from_unix(-(d.as_secs() as i64), 0);
                let ticks = d.subsec_nanos() / 100;
                if ticks == 0 {
                    back
                } else {
                    Self::from_unix(back.secs - 1, TICKS_PER_SECOND - ticks)
                }
            }
        }
    }

    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    /// This instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let sub = Duration::from_nanos(u64::from(self.ticks) * 100);
        if self.secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(self.secs as u64) + sub
        } else {
            UNIX_EPOCH - Duration::from_secs(self.secs.unsigned_abs()) + sub
        }
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn unix_seconds(self) -> i64 {
        self.secs
    }

    /// The sub-second part in 100 ns ticks.
    pub fn ticks(self) -> u32 {
        self.ticks
    }

    /// Seconds since the epoch as a float, keeping the fractional part.
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.ticks) / f64::from(TICKS_PER_SECOND)
    }

    /// The same instant truncated to whole seconds.
    pub fn whole_seconds(self) -> Self {
        Self::from_unix(self.secs, 0)
    }

    /// This instant moved by `secs` seconds (negative: earlier).
    pub fn plus_secs(self, secs: i64) -> Self {
        Self::from_unix(self.secs.saturating_add(secs), self.ticks)
    }

    /// The calendar fields `(year, month, day, hour, minute, second)`.
    fn fields(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(DAY);
        let rem = self.secs.rem_euclid(DAY) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
    }

    /// Graph's `Edm.DateTimeOffset` form: `2025-06-03T07:41:12Z`, or with exactly 7 fractional
    /// digits (`2025-06-03T07:41:12.6195833Z`) when the instant has a sub-second part.
    pub fn to_graph_string(self) -> String {
        let (y, mo, d, h, mi, s) = self.fields();
        if self.ticks == 0 {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        } else {
            format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:07}Z",
                self.ticks
            )
        }
    }

    /// The form Entra's AADSTS700024 description uses (§11.2): always 7 fractional digits,
    /// `2024-10-02T22:05:03.6755165Z`, even for whole seconds.
    pub fn to_fixed7_string(self) -> String {
        let (y, mo, d, h, mi, s) = self.fields();
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:07}Z",
            self.ticks
        )
    }

    /// The `innerError.date` form of §10.1: whole seconds, no `Z` or offset.
    pub fn to_inner_error_date(self) -> String {
        let (y, mo, d, h, mi, s) = self.fields();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }

    /// The token-error `timestamp` form of §11.4: `2025-06-03 07:41:12Z`.
    pub fn to_aadsts_timestamp(self) -> String {
        let (y, mo, d, h, mi, s) = self.fields();
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
    }

    /// The calendar date `(year, month, day)`.
    pub fn date(self) -> (i64, u32, u32) {
        let (y, m, d, ..) = self.fields();
        (y, m, d)
    }
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`, valid for every `i64` day count used here).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_and_fractional_seconds() {
        // 2025-06-03T07:41:12Z
        let t = UtcTime::from_unix(1_748_936_472, 0);
        assert_eq!(t.to_graph_string(), "2025-06-03T07:41:12Z");
        assert_eq!(t.to_inner_error_date(), "2025-06-03T07:41:12");
        assert_eq!(t.to_aadsts_timestamp(), "2025-06-03 07:41:12Z");
        assert_eq!(t.to_fixed7_string(), "2025-06-03T07:41:12.0000000Z");
        let f = UtcTime::from_unix(1_748_936_472, 6_195_833);
        assert_eq!(f.to_graph_string(), "2025-06-03T07:41:12.6195833Z");
        assert!((f.as_f64() - 1_748_936_472.619_583_3).abs() < 1e-6);
        let small = UtcTime::from_unix(0, 5);
        assert_eq!(small.to_graph_string(), "1970-01-01T00:00:00.0000005Z");
    }

    #[test]
    fn handles_leap_years_and_far_dates() {
        assert_eq!(
            UtcTime::from_unix(951_782_400, 0).to_graph_string(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            UtcTime::from_unix(10_413_792_000, 0).to_graph_string(),
            "2300-01-01T00:00:00Z"
        );
        assert_eq!(
            UtcTime::from_unix(-1, 0).to_graph_string(),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn system_time_round_trips() {
        let t = UNIX_EPOCH + Duration::new(1_748_936_472, 619_583_300);
        let u = UtcTime::from_system_time(t);
        assert_eq!(u.ticks(), 6_195_833);
        assert_eq!(u.to_system_time(), t);
        let before = UNIX_EPOCH - Duration::new(1, 500_000_000);
        let b = UtcTime::from_system_time(before);
        assert_eq!((b.unix_seconds(), b.ticks()), (-2, 5_000_000));
        assert_eq!(b.to_system_time(), before);
    }
}
