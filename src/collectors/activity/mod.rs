//! Incremental, exactly-once reading of Entra's activity logs (sign-ins, directory audits,
//! provisioning, custom security attribute audits), shared by their collectors.
//!
//! A log is an append-only stream of events with a timestamp and an id, but Graph makes events
//! visible minutes after their timestamp (reference §8: "narrow windows", late arrival). Each
//! stream therefore keeps a **watermark** `W`: every event up to `W` that had arrived when it
//! was read has been counted. A poll reads `[W − overlap, now − safety_lag]` in windows of at
//! most `max_window`; events seen in the overlap before are recognised by id and skipped; a
//! window's counts are applied only once the whole window was read, so a failure part-way
//! counts nothing twice and skips nothing. Late events are caught as long as
//! `safety_lag + overlap` exceeds Graph's worst lateness.
//!
//! The watermark and the ids inside the overlap can be kept in a state directory, so a restart
//! continues where the last run stopped. Counters themselves restart at zero, which Prometheus
//! handles as a counter reset.

pub mod hll;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{parse_timestamp, CollectError};
use crate::config::ActivityOptions;
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient};

/// `entra_activity_log_watermark_timestamp_seconds`.
pub static WATERMARK: MetricSpec = MetricSpec {
    name: "entra_activity_log_watermark_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Every event of the log up to this Unix time has been counted; how far the activity-log counters lag behind real time.",
    labels: &["tenant", "log"],
    source: "/{v1.0|beta}/auditLogs/*",
    permission: "AuditLog.Read.All",
};

/// `entra_activity_log_start_timestamp_seconds`.
pub static START: MetricSpec = MetricSpec {
    name: "entra_activity_log_start_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Events of the log from this Unix time on are counted: start-up minus activity_logs.initial_lookback, or the first start recorded in the state directory.",
    labels: &["tenant", "log"],
    source: "/{v1.0|beta}/auditLogs/*",
    permission: "AuditLog.Read.All",
};

/// `entra_activity_log_events_total`.
pub static EVENTS: MetricSpec = MetricSpec {
    name: "entra_activity_log_events_total",
    kind: MetricKind::Counter,
    help: "Activity-log events counted, each exactly once.",
    labels: &["tenant", "log"],
    source: "/{v1.0|beta}/auditLogs/*",
    permission: "AuditLog.Read.All",
};

/// `entra_activity_log_duplicates_total`.
pub static DUPLICATES: MetricSpec = MetricSpec {
    name: "entra_activity_log_duplicates_total",
    kind: MetricKind::Counter,
    help: "Activity-log events read again in the overlap of two windows and not counted again.",
    labels: &["tenant", "log"],
    source: "/{v1.0|beta}/auditLogs/*",
    permission: "AuditLog.Read.All",
};

/// The families every activity-log collector emits per stream.
pub static STREAM_METRICS: &[&MetricSpec] = &[&WATERMARK, &START, &EVENTS, &DUPLICATES];

/// Largest page the audit logs serve (reference §8: default and maximum 1,000).
const PAGE_SIZE: u32 = 1000;

/// One stream of a log: where it is read and how its events are timed.
pub struct StreamSpec {
    /// The `log` label value, e.g. `sign_ins_interactive_user`.
    pub log: &'static str,
    /// The endpoint.
    pub endpoint: &'static Endpoint,
    /// The timestamp property used in `$filter`: `createdDateTime` or `activityDateTime`.
    pub time_property: &'static str,
    /// Extra filter clause joined with `and`, e.g. an event-type filter.
    pub filter: Option<&'static str>,
}

/// An event the engine can window and deduplicate.
pub trait Event: DeserializeOwned {
    /// The event id; events without one are skipped.
    fn id(&self) -> Option<&str>;
    /// The event's timestamp as Graph wrote it.
    fn time(&self) -> Option<&str>;
}

/// What the engine remembers of one stream.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StreamState {
    /// Unix seconds up to which every event has been counted.
    pub watermark: Option<i64>,
    /// Events before this are never counted: the start of counting.
    pub floor: Option<i64>,
    /// Ids counted in the overlap, with their timestamps, to skip them when read again.
    pub seen: HashMap<String, f64>,
    /// Events counted since start-up (not persisted meaningfully across restarts).
    #[serde(skip)]
    pub events: u64,
    /// Duplicates skipped since start-up.
    #[serde(skip)]
    pub duplicates: u64,
}

/// Every stream of one collector for one tenant, and where they are saved.
#[derive(Default)]
pub struct Streams {
    /// By `log` label.
    pub states: BTreeMap<String, StreamState>,
    /// The state file, once the tenant is known.
    path: Option<PathBuf>,
    /// Whether the state file was read.
    loaded: bool,
}

/// The state file of `collector` for `tenant` in `dir`.
fn state_path(dir: &std::path::Path, tenant: &str, collector: &str) -> PathBuf {
    let safe: String = tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.{collector}.json"))
}

impl Streams {
    /// Reads the saved state once, if a state directory is configured. A missing file is a
    /// first start; an unreadable one is an error that says which file and what to do.
    pub fn load(
        &mut self,
        options: &ActivityOptions,
        tenant: &str,
        collector: &'static str,
    ) -> Result<(), CollectError> {
        if self.loaded {
            return Ok(());
        }
        self.loaded = true;
        let Some(dir) = &options.state_directory else {
            return Ok(());
        };
        let path = state_path(dir, tenant, collector);
        self.path = Some(path.clone());
        match std::fs::read(&path) {
            Ok(bytes) => {
                self.states = serde_json::from_slice(&bytes).map_err(|e| CollectError::State {
                    path: path.clone(),
                    reason: format!("not a state file ({e}); move it away to start afresh"),
                })?;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CollectError::State {
                path,
                reason: format!("cannot read it ({e})"),
            }),
        }
    }

    /// Saves every stream's state, if a state directory is configured.
    fn save(&self) -> Result<(), CollectError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CollectError::State {
                path: path.clone(),
                reason: format!("cannot create its directory ({e})"),
            })?;
        }
        let text = serde_json::to_vec(&self.states).map_err(|e| CollectError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        crate::files::write_atomically(path, &text).map_err(|e| CollectError::State {
            path: path.clone(),
            reason: format!("cannot write it ({e}); check the state directory's permissions"),
        })
    }

    /// The watermark, events and duplicates families of every stream.
    pub fn families(&self, tenant: &str) -> Vec<Family> {
        let mut watermark = Family::new(&WATERMARK);
        let mut start = Family::new(&START);
        let mut events = Family::new(&EVENTS);
        let mut duplicates = Family::new(&DUPLICATES);
        for (log, s) in &self.states {
            if let Some(w) = s.watermark {
                watermark.gauge([tenant, log], w as f64);
            }
            if let Some(f) = s.floor {
                start.gauge([tenant, log], f as f64);
            }
            events.gauge([tenant, log], s.events as f64);
            duplicates.gauge([tenant, log], s.duplicates as f64);
        }
        vec![watermark, start, events, duplicates]
    }
}

/// Whether `event` is counted: it has an id and a readable time inside `window` (Unix
/// seconds, both ends included) and was not seen before, in an earlier window's overlap
/// (`seen`) or this window (`fresh`, where it is then added). Returns its time if so.
#[doc(hidden)]
pub fn admit<E: Event>(
    event: &E,
    window: (f64, f64),
    seen: &HashMap<String, f64>,
    fresh: &mut HashMap<String, f64>,
    duplicates: &mut u64,
) -> Option<f64> {
    let (Some(id), Some(t)) = (event.id(), event.time().and_then(parse_timestamp)) else {
        return None;
    };
    if t < window.0 || t > window.1 {
        return None;
    }
    if seen.contains_key(id) || fresh.contains_key(id) {
        *duplicates += 1;
        return None;
    }
    fresh.insert(id.to_owned(), t);
    Some(t)
}

/// Formats Unix seconds as an OData `DateTimeOffset` literal.
fn literal(unix: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Reads every event of `spec` that is new since the stream's watermark, up to
/// `now − safety_lag`, window by window. Each event goes to `add` into a per-window delta;
/// `commit` receives the delta once the window was read completely, and only then does the
/// watermark move.
#[allow(clippy::too_many_arguments)]
pub async fn read_new<E: Event, D: Default>(
    graph: &GraphClient,
    spec: &StreamSpec,
    streams: &mut Streams,
    options: &ActivityOptions,
    now: f64,
    mut add: impl FnMut(&mut D, E, f64),
    mut commit: impl FnMut(D),
) -> Result<(), CollectError> {
    let overlap = options.overlap.as_secs() as i64;
    let max_window = options.max_window.as_secs().max(1) as i64;
    let end = (now - options.safety_lag.as_secs_f64()).floor() as i64;
    let state = streams.states.entry(spec.log.to_owned()).or_default();
    if state.watermark.is_none() {
        // First start: count from start-up (or the configured lookback), never before. At
        // least the last second is read, so a first poll always asks Graph and a missing
        // permission or licence shows at once.
        let start = end - (options.initial_lookback.as_secs() as i64).max(1);
        state.watermark = Some(start);
        state.floor = Some(start);
        streams.save()?;
    }
    loop {
        let state = streams.states.entry(spec.log.to_owned()).or_default();
        let watermark = state.watermark.unwrap_or(end);
        let floor = state.floor.unwrap_or(i64::MIN);
        if watermark >= end {
            return Ok(());
        }
        let from = (watermark - overlap).max(floor);
        let to = (watermark + max_window).min(end);
        let mut filter = format!(
            "{p} ge {} and {p} le {}",
            literal(from),
            literal(to),
            p = spec.time_property
        );
        if let Some(extra) = spec.filter {
            filter = format!("{extra} and {filter}");
        }
        let query = format!("$filter={filter}&$top={PAGE_SIZE}");

        let seen = &state.seen;
        let mut fresh: HashMap<String, f64> = HashMap::new();
        let mut duplicates = 0u64;
        let mut delta = D::default();
        graph
            .for_each_page(spec.endpoint, &query, |page: Vec<E>| {
                for event in page {
                    let window = (from as f64, to as f64);
                    if let Some(t) = admit(&event, window, seen, &mut fresh, &mut duplicates) {
                        add(&mut delta, event, t);
                    }
                }
            })
            .await?;

        // The window was read completely: count it, move the watermark, forget ids that
        // the next window's overlap no longer reaches.
        commit(delta);
        let state = streams.states.entry(spec.log.to_owned()).or_default();
        state.events += fresh.len() as u64;
        state.duplicates += duplicates;
        state.seen.extend(fresh);
        state.watermark = Some(to);
        let keep_from = (to - overlap) as f64;
        state.seen.retain(|_, t| *t >= keep_from);
        streams.save()?;
    }
}

/// Counters of one family, keyed by label values (tenant excluded).
pub struct Counters {
    /// The family.
    spec: &'static MetricSpec,
    /// Cumulative values since start-up.
    values: BTreeMap<Vec<String>, f64>,
}

impl Counters {
    /// Empty counters for `spec`.
    pub fn new(spec: &'static MetricSpec) -> Self {
        Counters {
            spec,
            values: BTreeMap::new(),
        }
    }

    /// Adds `n` to the series with these label values.
    pub fn add(&mut self, labels: Vec<String>, n: f64) {
        *self.values.entry(labels).or_default() += n;
    }

    /// Adds every series of `other`.
    pub fn merge(&mut self, other: Counters) {
        for (labels, n) in other.values {
            self.add(labels, n);
        }
    }

    /// The family, with `tenant` first.
    pub fn family(&self, tenant: &str) -> Family {
        let mut f = Family::new(self.spec);
        for (labels, n) in &self.values {
            let all = std::iter::once(tenant).chain(labels.iter().map(String::as_str));
            f.gauge(all, *n);
        }
        f
    }
}

/// First-come label admission: the first `limit` distinct values keep their own label, later
/// ones are counted as `other` for the life of the process. Unlike top-N folding this keeps
/// every counter monotonic, because a value never moves from its own series to `other`.
pub struct Admission {
    /// Most values admitted.
    limit: usize,
    /// Admitted values.
    admitted: HashSet<String>,
}

impl Admission {
    /// Admits at most `limit` values.
    pub fn new(limit: usize) -> Self {
        Admission {
            limit,
            admitted: HashSet::new(),
        }
    }

    /// The label value for `value`: itself if admitted (or room is left), else `other`.
    pub fn label(&mut self, value: &str) -> String {
        if self.admitted.contains(value) {
            return value.to_owned();
        }
        if self.admitted.len() < self.limit && value != super::breakdown::OTHER {
            self.admitted.insert(value.to_owned());
            return value.to_owned();
        }
        super::breakdown::OTHER.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_is_first_come_and_stable() {
        let mut a = Admission::new(2);
        assert_eq!(a.label("x"), "x");
        assert_eq!(a.label("y"), "y");
        assert_eq!(a.label("z"), "other");
        assert_eq!(a.label("x"), "x");
        assert_eq!(a.label("other"), "other");
    }

    #[test]
    fn literals_are_whole_second_utc() {
        assert_eq!(literal(1_748_822_400), "2025-06-02T00:00:00Z");
    }

    #[test]
    fn state_files_are_named_safely() {
        let p = state_path(std::path::Path::new("/s"), "a/b c", "sign_ins");
        assert_eq!(p, PathBuf::from("/s/a_b_c.sign_ins.json"));
    }
}
