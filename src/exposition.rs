//! Metric families as collectors produce them, and the Prometheus text format `/metrics` serves.
//!
//! Collectors do not touch the `prometheus` crate's registry: they return plain [`Family`]
//! values that a snapshot holds until the next poll replaces it whole. Every family is
//! described by a static [`MetricSpec`], which is also what `docs/metrics.md` is checked
//! against, so a metric cannot be emitted without being documented.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Prometheus metric type of a family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    /// A value that can go up and down.
    Gauge,
    /// A monotonically increasing count; its name ends in `_total`.
    Counter,
}

impl MetricKind {
    /// The word used on the `# TYPE` line and in `docs/metrics.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
        }
    }
}

/// Static description of one metric family: the single source for HELP text and docs.
#[derive(Debug)]
pub struct MetricSpec {
    /// Full metric name, `entra_<subsystem>_<name>_<unit>`.
    pub name: &'static str,
    /// Gauge or counter.
    pub kind: MetricKind,
    /// HELP text; names the Graph report the value comes from.
    pub help: &'static str,
    /// Label names, in the order samples supply their values.
    pub labels: &'static [&'static str],
    /// Graph endpoint the value is read from, or `-` for the exporter's own metrics.
    pub source: &'static str,
    /// Least-privileged application permission the source needs, or `-`.
    pub permission: &'static str,
}

/// A sample's value, either fixed at poll time or derived from the clock at scrape time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// Rendered as is.
    Fixed(f64),
    /// A Unix timestamp rendered as the seconds from scrape time until it, so that a
    /// "time until expiry" series is never as stale as the last poll.
    SecondsUntil(f64),
}

impl Value {
    /// The value as served at `now` (Unix seconds).
    pub fn at(self, now: f64) -> f64 {
        match self {
            Value::Fixed(v) => v,
            Value::SecondsUntil(ts) => ts - now,
        }
    }
}

/// One metric family with its samples, as a snapshot stores it.
#[derive(Clone, Debug)]
pub struct Family {
    /// What this family is; also fixes the label names.
    pub spec: &'static MetricSpec,
    /// Label values (in `spec.labels` order) and value of each sample.
    pub samples: Vec<(Vec<String>, Value)>,
}

impl Family {
    /// An empty family for `spec`.
    pub fn new(spec: &'static MetricSpec) -> Self {
        Family {
            spec,
            samples: Vec::new(),
        }
    }

    /// Adds a sample whose label values are given in `spec.labels` order.
    pub fn push<S: Into<String>>(&mut self, labels: impl IntoIterator<Item = S>, value: Value) {
        let labels: Vec<String> = labels.into_iter().map(Into::into).collect();
        debug_assert_eq!(
            labels.len(),
            self.spec.labels.len(),
            "label values for {} do not match its spec",
            self.spec.name
        );
        self.samples.push((labels, value));
    }

    /// Adds a sample with a fixed value.
    pub fn gauge<S: Into<String>>(&mut self, labels: impl IntoIterator<Item = S>, value: f64) {
        self.push(labels, Value::Fixed(value));
    }
}

/// Renders families in the Prometheus text format (version 0.0.4).
///
/// Families with the same name (one per tenant, say) are merged under one HELP/TYPE
/// header, as the format requires; output is sorted by name so it is stable.
pub fn render<'a>(families: impl IntoIterator<Item = &'a Family>, now: f64, out: &mut String) {
    let mut by_name: BTreeMap<&'static str, Vec<&'a Family>> = BTreeMap::new();
    for family in families {
        by_name.entry(family.spec.name).or_default().push(family);
    }
    for (name, group) in by_name {
        let spec = group[0].spec;
        let _ = writeln!(out, "# HELP {name} {}", escape_help(spec.help));
        let _ = writeln!(out, "# TYPE {name} {}", spec.kind.as_str());
        for family in group {
            for (values, value) in &family.samples {
                out.push_str(name);
                if !values.is_empty() {
                    out.push('{');
                    for (i, (label, v)) in spec.labels.iter().zip(values).enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(label);
                        out.push_str("=\"");
                        escape_label_value_into(v, out);
                        out.push('"');
                    }
                    out.push('}');
                }
                out.push(' ');
                write_value(value.at(now), out);
                out.push('\n');
            }
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label_value_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_value(v: f64, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

/// A label value escaped for the text formats (backslash, double quote, newline).
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    escape_label_value_into(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static SPEC: MetricSpec = MetricSpec {
        name: "entra_test_value",
        kind: MetricKind::Gauge,
        help: "A test value.\nSecond line with a \\ backslash.",
        labels: &["tenant", "app_name"],
        source: "-",
        permission: "-",
    };

    #[test]
    fn merges_families_of_the_same_name_under_one_header() {
        let mut a = Family::new(&SPEC);
        a.gauge(["t1", "App \"One\"\nx\\y"], 1.5);
        let mut b = Family::new(&SPEC);
        b.push(["t2", "App"], Value::SecondsUntil(3.0));
        let mut out = String::new();
        render([&a, &b], 0.0, &mut out);
        assert_eq!(
            out,
            "# HELP entra_test_value A test value.\\nSecond line with a \\\\ backslash.\n\
             # TYPE entra_test_value gauge\n\
             entra_test_value{tenant=\"t1\",app_name=\"App \\\"One\\\"\\nx\\\\y\"} 1.5\n\
             entra_test_value{tenant=\"t2\",app_name=\"App\"} 3\n"
        );
    }

    #[test]
    fn special_floats_use_prometheus_spelling() {
        let mut out = String::new();
        for v in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.25,
            1748941272.5,
        ] {
            write_value(v, &mut out);
            out.push(' ');
        }
        assert_eq!(out, "NaN +Inf -Inf -0.25 1748941272.5 ");
    }
}
