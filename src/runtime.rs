//! Background polling: one task per (tenant, collector), each on its own interval, each
//! writing only its own slot.
//!
//! A poll builds a complete set of families and swaps it into the slot whole; a failed poll
//! records the error and leaves the last good families in place. `/metrics` only reads slots,
//! so scrapes never wait on Graph.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::collectors::Collector;
use crate::exposition::{self, Family};
use crate::graph::GraphClient;
use crate::telemetry;

/// What one (tenant, collector) pair last did.
#[derive(Clone)]
pub struct CollectorState {
    /// Tenant label.
    pub tenant: String,
    /// Collector name.
    pub collector: &'static str,
    /// Time between polls.
    pub interval: Duration,
    /// The last good snapshot; shared so a scrape can render it without holding the lock.
    pub families: Arc<Vec<Family>>,
    /// Outcome of the last poll; `None` before the first one finished.
    pub up: Option<bool>,
    /// Duration of the last poll in seconds.
    pub duration_seconds: f64,
    /// Unix time of the last successful poll.
    pub last_success: Option<f64>,
    /// Message of the last failure, cleared by a success.
    pub last_error: Option<String>,
}

/// Every collector's slot.
pub struct Snapshots {
    /// One slot per (tenant, collector); index fixed at start-up.
    slots: Vec<RwLock<CollectorState>>,
    /// Bumped after every slot update, so the `/metrics` renderer can tell that its cached
    /// body is out of date without comparing snapshots.
    generation: AtomicU64,
    /// Wakes the `/metrics` renderer after an update, so a swapped-in snapshot is rendered
    /// off the request path right away instead of at the next scrape.
    changed: Notify,
}

/// Unix time now, in seconds.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

impl Snapshots {
    /// Slots for the given initial states.
    pub fn new(states: Vec<CollectorState>) -> Self {
        Snapshots {
            slots: states.into_iter().map(RwLock::new).collect(),
            generation: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    /// Counts slot updates; a render that read generation `g` is current while this is `g`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Completes after the next slot update (or at once if one happened since the last wait).
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// A copy of every slot's state (families are shared, not copied).
    pub fn states(&self) -> Vec<CollectorState> {
        self.slots
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }

    /// The families slot `slot` serves now (shared, not copied).
    pub fn families(&self, slot: usize) -> Option<Arc<Vec<Family>>> {
        let lock = self.slots.get(slot)?;
        Some(
            lock.read()
                .unwrap_or_else(|e| e.into_inner())
                .families
                .clone(),
        )
    }

    /// True once every collector finished its first poll, successful or not.
    pub fn all_polled(&self) -> bool {
        self.states().iter().all(|s| s.up.is_some())
    }

    /// Renders every snapshot plus per-collector health in the text format.
    pub fn render(&self, now: f64, out: &mut String) {
        let (snapshots, health) = self.parts();
        let collected = snapshots.iter().flat_map(|s| s.iter());
        exposition::render(collected.chain(health.iter()), now, out);
    }

    /// What `/metrics` renders: every slot's last good families (shared, not copied) and the
    /// per-collector health families built from the slots' states, read together so the
    /// health always describes the families beside it.
    pub fn parts(&self) -> (Vec<Arc<Vec<Family>>>, Vec<Family>) {
        let states = self.states();
        let mut up = Family::new(&telemetry::COLLECTOR_UP);
        let mut duration = Family::new(&telemetry::COLLECTOR_DURATION);
        let mut last_success = Family::new(&telemetry::COLLECTOR_LAST_SUCCESS);
        let mut interval = Family::new(&telemetry::COLLECTOR_INTERVAL);
        for s in &states {
            let labels = [s.tenant.as_str(), s.collector];
            interval.gauge(labels, s.interval.as_secs_f64());
            if let Some(ok) = s.up {
                up.gauge(labels, if ok { 1.0 } else { 0.0 });
                duration.gauge(labels, s.duration_seconds);
            }
            if let Some(t) = s.last_success {
                last_success.gauge(labels, t);
            }
        }
        let snapshots = states.into_iter().map(|s| s.families).collect();
        (snapshots, vec![up, duration, last_success, interval])
    }

    /// Changes one slot, then tells the renderer. Public so tests can swap a snapshot in
    /// without a Graph poll.
    pub fn update(&self, slot: usize, f: impl FnOnce(&mut CollectorState)) {
        if let Some(lock) = self.slots.get(slot) {
            f(&mut lock.write().unwrap_or_else(|e| e.into_inner()));
            // Bumped after the write lock is released: a renderer that sees the new
            // generation also sees the new state.
            self.generation.fetch_add(1, Ordering::AcqRel);
            // `notify_one` keeps a permit when the renderer is busy, so no update is missed.
            self.changed.notify_one();
        }
    }
}

/// A collector bound to its tenant and slot, ready to be scheduled.
pub struct Job {
    /// Index into [`Snapshots`].
    pub slot: usize,
    /// The collector.
    pub collector: Box<dyn Collector>,
    /// Its tenant's Graph client.
    pub graph: Arc<GraphClient>,
    /// Time between polls.
    pub interval: Duration,
    /// Collector name, for logs.
    pub name: &'static str,
}

/// Starts every job; each stops when `shutdown` turns true.
pub fn spawn(
    jobs: Vec<Job>,
    snapshots: Arc<Snapshots>,
    shutdown: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    jobs.into_iter()
        .map(|job| tokio::spawn(run_job(job, snapshots.clone(), shutdown.clone())))
        .collect()
}

async fn run_job(job: Job, snapshots: Arc<Snapshots>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = poll(&job, &snapshots) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(job.interval) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}

async fn poll(job: &Job, snapshots: &Snapshots) {
    let tenant = job.graph.tenant();
    let started = Instant::now();
    let result = job.collector.collect(&job.graph).await;
    let elapsed = started.elapsed().as_secs_f64();
    match result {
        Ok(families) => {
            let series: usize = families.iter().map(|f| f.samples.len()).sum();
            // Compared outside the slot's lock; only this job writes its slot's families.
            let last = snapshots.families(job.slot);
            let families = keep_if_unchanged(last.clone(), families);
            let changed = !last.is_some_and(|last| Arc::ptr_eq(&last, &families));
            tracing::info!(
                tenant,
                collector = job.name,
                series,
                changed,
                seconds = elapsed,
                "poll succeeded"
            );
            snapshots.update(job.slot, |s| {
                s.families = families;
                s.up = Some(true);
                s.duration_seconds = elapsed;
                s.last_success = Some(unix_now());
                s.last_error = None;
            });
        }
        Err(e) => {
            tracing::error!(tenant, collector = job.name, error = %e, "poll failed; serving the last good values");
            snapshots.update(job.slot, |s| {
                s.up = Some(false);
                s.duration_seconds = elapsed;
                s.last_error = Some(e.to_string());
            });
        }
    }
}

/// The snapshot to swap in after a poll that read `families`: the `last` one itself when the
/// poll read the same values, so the renderer reuses that collector's text and gzip stream
/// instead of rendering them again. Scrapes during a refresh then cost what they cost between
/// refreshes (docs/benchmarks.md, "Serving /metrics"); a poll that changed anything renders
/// once.
fn keep_if_unchanged(last: Option<Arc<Vec<Family>>>, families: Vec<Family>) -> Arc<Vec<Family>> {
    match last {
        Some(last) if *last == families => last,
        _ => Arc::new(families),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{MetricKind, MetricSpec};

    static SPEC: MetricSpec = MetricSpec {
        name: "entra_test_things",
        kind: MetricKind::Gauge,
        help: "Things.",
        labels: &["tenant", "app"],
        source: "-",
        permission: "-",
    };

    fn families(rows: &[(&str, f64)]) -> Vec<Family> {
        let mut family = Family::new(&SPEC);
        for (app, value) in rows {
            family.gauge(["t", app], *value);
        }
        vec![family]
    }

    #[test]
    fn an_unchanged_poll_keeps_the_last_snapshot_and_a_changed_one_replaces_it() {
        let last = Arc::new(families(&[("a", 1.0), ("b", 2.0)]));
        let same = keep_if_unchanged(Some(last.clone()), families(&[("a", 1.0), ("b", 2.0)]));
        assert!(Arc::ptr_eq(&same, &last));
        for changed in [
            families(&[("a", 1.0), ("b", 3.0)]),
            families(&[("a", 1.0), ("c", 2.0)]),
            families(&[("b", 2.0), ("a", 1.0)]),
            families(&[("a", 1.0)]),
            Vec::new(),
        ] {
            let next = keep_if_unchanged(Some(last.clone()), changed.clone());
            assert!(!Arc::ptr_eq(&next, &last));
            assert!(*next == changed);
        }
        let first = keep_if_unchanged(None, families(&[("a", 1.0)]));
        assert!(*first == families(&[("a", 1.0)]));
    }
}
