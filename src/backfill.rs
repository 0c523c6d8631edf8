//! `entra-exporter backfill`: the history Graph keeps, written as OpenMetrics with timestamps
//! for `promtool tsdb create-blocks-from openmetrics`, so a new Prometheus starts with the
//! 30 days and 12 months the admin center shows on day one.
//!
//! It writes, per tenant:
//! * the External ID user insights of every complete day and month Graph returns, under the
//!   same names and labels the live `user_insights` collector serves, timestamped at midnight
//!   UTC of the day or month they describe;
//! * daily successful and failed sign-ins per application over the last 30 days, from
//!   `applicationSignInDetailedSummary` (reference §2.2). Graph documents that report as
//!   delegated-only; when it refuses the exporter's application token (403), that part is
//!   skipped with a warning and the rest is still written.
//!
//! The file is written beside its destination and renamed into place only when complete, so a
//! failure part-way leaves no half-written file.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::collectors::breakdown::{top_n, OTHER};
use crate::collectors::user_insights::UserInsights;
use crate::collectors::{parse_timestamp, CollectError};
use crate::config::Config;
use crate::exposition::{escape_label_value, Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient, GraphError, Service};
use crate::runtime::unix_now;
use crate::telemetry::Telemetry;

const DETAILED_SOURCE: &str = "/beta/reports/applicationSignInDetailedSummary";

static DETAILED_SUMMARY: Endpoint = Endpoint {
    path: DETAILED_SOURCE,
    permission: "Reports.Read.All (delegated only)",
    service: Service::Reports,
};

/// `entra_application_daily_successful_sign_ins` (backfill only).
pub static DAILY_SUCCESSFUL: MetricSpec = MetricSpec {
    name: "entra_application_daily_successful_sign_ins",
    kind: MetricKind::Gauge,
    help: "Successful sign-ins to the application on one UTC day, timestamped at its midnight; written by `backfill` only, capped by breakdowns.applications (Graph beta applicationSignInDetailedSummary).",
    labels: &["tenant", "app_id", "app"],
    source: DETAILED_SOURCE,
    permission: "Reports.Read.All (delegated only)",
};

/// `entra_application_daily_failed_sign_ins` (backfill only).
pub static DAILY_FAILED: MetricSpec = MetricSpec {
    name: "entra_application_daily_failed_sign_ins",
    kind: MetricKind::Gauge,
    help: "Failed sign-ins to the application on one UTC day, timestamped at its midnight; written by `backfill` only (Graph beta applicationSignInDetailedSummary).",
    labels: &["tenant", "app_id", "app"],
    source: DETAILED_SOURCE,
    permission: "Reports.Read.All (delegated only)",
};

/// Families only `backfill` writes (it also writes the `user_insights` families).
pub static METRICS: &[&MetricSpec] = &[&DAILY_SUCCESSFUL, &DAILY_FAILED];

/// What to write and how to report progress.
#[derive(Debug, Clone)]
pub struct Options {
    /// Destination file.
    pub out: PathBuf,
    /// Labels added to every sample (`job`, `instance`), so the history joins the series
    /// Prometheus scrapes later.
    pub extra_labels: Vec<(String, String)>,
    /// Show a progress bar (on a terminal) instead of log lines.
    pub progress_bar: bool,
}

/// Why a backfill failed; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// The exporter could not be set up (HTTP client, token URL).
    #[error(transparent)]
    Setup(#[from] crate::RunError),
    /// Reading a report failed.
    #[error("tenant {tenant}: reading {step} failed: {source}")]
    Collect {
        /// Tenant label.
        tenant: String,
        /// Which history.
        step: &'static str,
        /// Why (boxed: it is large, and errors travel by value).
        source: Box<CollectError>,
    },
    /// An `--label` is not `name=value` with a valid Prometheus label name.
    #[error("--label {0:?}: write it as name=value, name matching [a-zA-Z_][a-zA-Z0-9_]* and not `tenant`")]
    Label(String),
    /// The output could not be written; the destination is untouched.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// What a backfill wrote.
#[derive(Debug, Default)]
pub struct Summary {
    /// Samples written.
    pub samples: usize,
    /// Distinct series written.
    pub series: usize,
    /// Parts skipped, with the reason.
    pub skipped: Vec<String>,
}

/// Parses `name=value`.
pub fn parse_label(text: &str) -> Result<(String, String), BackfillError> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| BackfillError::Label(text.into()))?;
    let valid = !name.is_empty()
        && name != "tenant"
        && !name.starts_with("__")
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if !valid {
        return Err(BackfillError::Label(text.into()));
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// One series' samples: label pairs → (timestamp → value).
type Series = BTreeMap<Vec<(String, String)>, BTreeMap<i64, f64>>;

/// Samples of every family, keyed by family name.
#[derive(Default)]
struct Store {
    families: BTreeMap<&'static str, (&'static MetricSpec, Series)>,
}

impl Store {
    fn add(&mut self, at: f64, families: Vec<Family>, extra: &[(String, String)]) {
        for family in families {
            let (_, series) = self
                .families
                .entry(family.spec.name)
                .or_insert_with(|| (family.spec, Series::new()));
            for (values, value) in family.samples {
                let mut labels: Vec<(String, String)> = family
                    .spec
                    .labels
                    .iter()
                    .map(|l| (*l).to_owned())
                    .zip(values.iter().map(str::to_owned))
                    .collect();
                labels.extend(extra.iter().cloned());
                labels.sort();
                series
                    .entry(labels)
                    .or_default()
                    .insert(at as i64, value.at(at));
            }
        }
    }

    /// The OpenMetrics text: families contiguous, each series' samples in time order, `# EOF`.
    fn render(&self) -> (String, Summary) {
        let mut out = String::new();
        let mut summary = Summary::default();
        for (name, (spec, series)) in &self.families {
            let _ = writeln!(out, "# HELP {name} {}", spec.help.replace('\n', " "));
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (labels, points) in series {
                summary.series += 1;
                let rendered: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
                    .collect();
                for (ts, value) in points {
                    summary.samples += 1;
                    let _ = writeln!(out, "{name}{{{}}} {value} {ts}", rendered.join(","));
                }
            }
        }
        out.push_str("# EOF\n");
        (out, summary)
    }
}

/// `applicationSignInDetailedSummary` (§2.2); only the fields used.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetailedSummary {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    app_display_name: Option<String>,
    #[serde(default)]
    aggregated_event_date_time: Option<String>,
    #[serde(default)]
    sign_in_count: Option<f64>,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    error_code: Option<i64>,
}

/// Per-app daily counts: (name, day → (ok, failed)).
type AppDays = (String, BTreeMap<i64, (f64, f64)>);

/// Daily sign-ins per app over the complete days before `now`; `Ok(None)` when Graph refuses
/// application tokens for the report.
async fn application_history(
    graph: &GraphClient,
    max_apps: usize,
    now: f64,
) -> Result<Option<Vec<(f64, Vec<Family>)>>, GraphError> {
    // Today is still growing; like the user insights, only complete days are history.
    let today = (now / 86_400.0).floor() as i64 * 86_400;
    let mut apps: HashMap<String, AppDays> = HashMap::new();
    let read = graph
        .for_each_page(&DETAILED_SUMMARY, "", |page: Vec<DetailedSummary>| {
            for row in page {
                let (Some(app_id), Some(day)) = (
                    row.app_id.filter(|a| !a.is_empty()),
                    row.aggregated_event_date_time
                        .as_deref()
                        .and_then(parse_timestamp),
                ) else {
                    continue;
                };
                let day = (day / 86_400.0).floor() as i64 * 86_400;
                if day >= today {
                    continue;
                }
                let entry = apps.entry(app_id).or_default();
                if let Some(name) = row.app_display_name {
                    entry.0 = name;
                }
                let counts = entry.1.entry(day).or_default();
                let n = row.sign_in_count.unwrap_or(0.0);
                match row.status.and_then(|s| s.error_code) {
                    Some(0) | None => counts.0 += n,
                    Some(_) => counts.1 += n,
                }
            }
        })
        .await;
    match read {
        Ok(_) => {}
        Err(GraphError::Api { status: 403, .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    // Cap over the whole history, so an app keeps one label on every day.
    let total = |a: &AppDays| a.1.values().map(|(ok, failed)| ok + failed).sum::<f64>();
    let merge = |a: &mut AppDays, b: AppDays| {
        for (day, (ok, failed)) in b.1 {
            let c = a.1.entry(day).or_default();
            c.0 += ok;
            c.1 += failed;
        }
    };
    // The report has rows only for days with sign-ins; within the window it covers, a missing
    // day is a day without any, so it is written as 0.
    let first_day = apps
        .values()
        .filter_map(|a| a.1.keys().next().copied())
        .min();
    let mut by_day: BTreeMap<i64, (Family, Family)> = BTreeMap::new();
    for (app_id, (name, mut days)) in top_n(apps, max_apps, total, merge) {
        if let Some(first) = first_day {
            for day in (first..today).step_by(86_400) {
                days.entry(day).or_default();
            }
        }
        let name = if app_id == OTHER {
            OTHER
        } else {
            name.as_str()
        };
        for (day, (ok, failed)) in days {
            let (ok_family, failed_family) = by_day
                .entry(day)
                .or_insert_with(|| (Family::new(&DAILY_SUCCESSFUL), Family::new(&DAILY_FAILED)));
            let labels = [graph.tenant(), app_id.as_str(), name];
            ok_family.gauge(labels, ok);
            failed_family.gauge(labels, failed);
        }
    }
    Ok(Some(
        by_day
            .into_iter()
            .map(|(day, (a, b))| (day as f64, vec![a, b]))
            .collect(),
    ))
}

/// Progress as a bar on a terminal, or as log lines.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(steps: u64, bar: bool) -> Self {
        let bar = bar.then(|| {
            let b = indicatif::ProgressBar::new(steps);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            ) {
                b.set_style(style);
            }
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress { bar }
    }

    fn start(&self, tenant: &str, step: &str) {
        match &self.bar {
            Some(b) => b.set_message(format!("{tenant}: {step}")),
            None => tracing::info!(tenant, step, "backfill: reading"),
        }
    }

    fn done(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Reads every tenant's history and writes it to `options.out` atomically.
pub async fn run(config: &Config, options: &Options) -> Result<Summary, BackfillError> {
    let telemetry = Telemetry::new();
    let http = crate::http_client(config)?;
    let now = unix_now();
    let progress = Progress::new(config.tenants.len() as u64 * 2, options.progress_bar);
    let mut store = Store::default();
    let mut skipped = Vec::new();
    for tenant in &config.tenants {
        let graph: Arc<GraphClient> = crate::graph_client(&http, config, tenant, &telemetry)?;
        let failed = |step: &'static str| {
            let tenant = tenant.label.clone();
            move |source: CollectError| BackfillError::Collect {
                tenant,
                step,
                source: Box::new(source),
            }
        };

        progress.start(&tenant.label, "user insights");
        let insights = UserInsights::new(config.breakdowns)
            .history(&graph, now)
            .await
            .map_err(failed("user insights (userInsights/daily and monthly)"))?;
        for (at, families) in insights {
            store.add(at, families, &options.extra_labels);
        }
        progress.done();

        progress.start(&tenant.label, "application sign-ins");
        match application_history(&graph, config.breakdowns.applications, now)
            .await
            .map_err(|e| {
                failed("application sign-ins (applicationSignInDetailedSummary)")(e.into())
            })? {
            Some(days) => {
                for (at, families) in days {
                    store.add(at, families, &options.extra_labels);
                }
            }
            None => {
                let why = format!(
                    "tenant {}: application sign-in history skipped: Graph refused {DETAILED_SOURCE} (403); it accepts delegated tokens only (reference §2.2)",
                    tenant.label
                );
                tracing::warn!("{why}");
                skipped.push(why);
            }
        }
        progress.done();
    }
    progress.finish();
    let (text, mut summary) = store.render();
    crate::files::write_atomically(&options.out, text.as_bytes()).map_err(|source| {
        BackfillError::Write {
            path: options.out.clone(),
            source,
        }
    })?;
    summary.skipped = skipped;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_must_be_prometheus_names() {
        assert_eq!(
            parse_label("job=entra").unwrap(),
            ("job".into(), "entra".into())
        );
        assert!(parse_label("instance=host:9725").is_ok());
        for bad in ["job", "=x", "1job=x", "tenant=x", "__name__=x", "a-b=x"] {
            assert!(parse_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn openmetrics_groups_families_and_orders_samples() {
        static SPEC: MetricSpec = MetricSpec {
            name: "entra_test_users",
            kind: MetricKind::Gauge,
            help: "Test.",
            labels: &["tenant"],
            source: "-",
            permission: "-",
        };
        let mut store = Store::default();
        let extra = vec![("job".to_owned(), "entra".to_owned())];
        for (at, v) in [(172_800.0, 2.0), (86_400.0, 1.0)] {
            let mut f = Family::new(&SPEC);
            f.gauge(["t\"1"], v);
            store.add(at, vec![f], &extra);
        }
        let (text, summary) = store.render();
        assert_eq!(
            text,
            "# HELP entra_test_users Test.\n# TYPE entra_test_users gauge\n\
             entra_test_users{job=\"entra\",tenant=\"t\\\"1\"} 1 86400\n\
             entra_test_users{job=\"entra\",tenant=\"t\\\"1\"} 2 172800\n# EOF\n"
        );
        assert_eq!((summary.series, summary.samples), (1, 2));
    }
}
