//! Bounded breakdown labels.
//!
//! Reports break their counts down by application, operating system, country or method. Those
//! value sets are open (any app, any country), so each breakdown keeps only its `limit`
//! largest values as labels and sums the rest into one `other` series. Totals therefore stay
//! exact, and the series count is at most `limit + 1` per breakdown whatever the tenant does.
//! The limits are configured under `breakdowns:` (see `docs/configuration.md`).

use std::collections::HashMap;

/// Label value of the series that sums every value beyond the limit.
pub const OTHER: &str = "other";

/// Label value for a null or empty dimension in Graph's data.
pub const UNKNOWN: &str = "unknown";

/// A dimension value as a label value: null and empty become [`UNKNOWN`].
pub fn label(value: Option<&str>) -> &str {
    match value {
        Some(v) if !v.trim().is_empty() => v,
        _ => UNKNOWN,
    }
}

/// Keeps the `limit` entries with the largest `rank` (ties broken by key, so the choice is
/// stable from poll to poll) and merges the rest into one entry keyed [`OTHER`]. Returns
/// entries sorted by key.
pub fn top_n<V>(
    mut entries: HashMap<String, V>,
    limit: usize,
    rank: impl Fn(&V) -> f64,
    merge: impl Fn(&mut V, V),
) -> Vec<(String, V)> {
    // A value Graph itself calls `other` joins the folded ones instead of taking a slot.
    let mut folded: Option<V> = entries.remove(OTHER);
    let mut all: Vec<(String, V)> = entries.into_iter().collect();
    if all.len() > limit {
        all.sort_by(|a, b| rank(&b.1).total_cmp(&rank(&a.1)).then(a.0.cmp(&b.0)));
        for (_, v) in all.split_off(limit) {
            match folded.as_mut() {
                Some(acc) => merge(acc, v),
                None => folded = Some(v),
            }
        }
    }
    if let Some(v) = folded {
        all.push((OTHER.to_owned(), v));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// [`top_n`] for plain counts.
pub fn top_n_counts(entries: HashMap<String, f64>, limit: usize) -> Vec<(String, f64)> {
    top_n(entries, limit, |v| *v, |a, b| *a += b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn under_the_limit_nothing_is_folded() {
        let out = top_n_counts(counts(&[("b", 1.0), ("a", 2.0)]), 2);
        assert_eq!(out, vec![("a".into(), 2.0), ("b".into(), 1.0)]);
    }

    #[test]
    fn the_smallest_are_summed_into_other_and_the_total_is_kept() {
        let input = counts(&[
            ("DE", 50.0),
            ("US", 90.0),
            ("FR", 5.0),
            ("IL", 7.0),
            ("JP", 7.0),
        ]);
        let total: f64 = input.values().sum();
        let out = top_n_counts(input, 3);
        // JP and IL tie on 7; IL wins by name, so JP and FR fold. Sorted by key, and ASCII
        // puts upper case first.
        let expected: Vec<(String, f64)> = vec![
            ("DE".into(), 50.0),
            ("IL".into(), 7.0),
            ("US".into(), 90.0),
            ("other".into(), 12.0),
        ];
        assert_eq!(out, expected);
        assert_eq!(out.iter().map(|(_, v)| v).sum::<f64>(), total);
    }

    #[test]
    fn a_real_other_value_is_merged_with_the_folded_ones() {
        let out = top_n_counts(counts(&[("other", 1.0), ("a", 10.0), ("b", 2.0)]), 1);
        assert_eq!(out, vec![("a".into(), 10.0), ("other".into(), 3.0)]);
    }

    #[test]
    fn null_and_empty_dimensions_are_unknown() {
        assert_eq!(label(None), "unknown");
        assert_eq!(label(Some(" ")), "unknown");
        assert_eq!(label(Some("iOS")), "iOS");
    }
}
