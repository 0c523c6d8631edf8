//! When to retry a Graph request, and how long to wait (reference §10.2).

use std::time::Duration;

use crate::config::GraphOptions;

/// Parses `Retry-After` as seconds, fractional allowed (the docs show `2.128`), capped at
/// `max`. Negative, non-numeric or HTTP-date values yield `None`, which means "use backoff".
pub fn parse_retry_after(value: &str, max: Duration) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    // `Duration::from_secs_f64` panics on values like 1e300, and capping the float first is
    // not enough: a cap near `Duration::MAX` (`graph.max_retry_after` takes any duration)
    // rounds up past it as f64. A value too large for a `Duration` is above any cap.
    Some(Duration::try_from_secs_f64(seconds).map_or(max, |d| d.min(max)))
}

/// Exponential backoff with full jitter: a random delay in `[base/2, base]`, where base
/// doubles per attempt up to `max_backoff`. `random` is a value in `[0, 1)`.
pub fn backoff(attempt: u32, options: &GraphOptions, random: f64) -> Duration {
    let base = options
        .initial_backoff
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(options.max_backoff);
    base.mul_f64(0.5 + random.clamp(0.0, 1.0) * 0.5)
}

/// A value in `[0, 1)` from the system's random source (via a fresh v4 UUID), used for jitter.
pub fn jitter() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values() {
        let max = Duration::from_secs(300);
        assert_eq!(parse_retry_after("10", max), Some(Duration::from_secs(10)));
        assert_eq!(
            parse_retry_after("2.128", max),
            Some(Duration::from_millis(2128))
        );
        assert_eq!(parse_retry_after("3600", max), Some(max));
        assert_eq!(parse_retry_after("-1", max), None);
        assert_eq!(parse_retry_after("soon", max), None);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", max),
            None
        );
        assert_eq!(parse_retry_after("NaN", max), None);
        assert_eq!(parse_retry_after("1e300", max), Some(max));
        assert_eq!(parse_retry_after("inf", max), None);
    }

    #[test]
    fn a_cap_near_the_largest_duration_does_not_panic() {
        // Found by fuzzing (fuzz/, retry_after): a cap of 2^64 - 256 s rounded up past
        // `Duration::MAX` as f64, and converting the capped value panicked.
        let max = Duration::from_secs(u64::from_le_bytes(*b"\x00\xff\xff\xff\xff\xff\xff\xff"));
        let value = b"44444444444444444444444444444444444\x0c\x0b\n\x0b";
        let value = std::str::from_utf8(value).unwrap();
        assert_eq!(parse_retry_after(value, max), Some(max));
        assert_eq!(
            parse_retry_after("2.5", max),
            Some(Duration::from_millis(2500))
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let o = GraphOptions::default();
        assert_eq!(
            backoff(0, &o, 0.999_999),
            o.initial_backoff.mul_f64(0.999_999_5)
        );
        assert!(backoff(3, &o, 0.0) >= o.initial_backoff * 4);
        assert!(backoff(40, &o, 0.999) <= o.max_backoff);
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
