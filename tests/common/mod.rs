//! Test harness: the Graph simulator and the exporter, both on `127.0.0.1:0`, plus helpers to
//! scrape, parse and compare with the simulator's ground truth.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod certs;
pub mod prometheus;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use entra_exporter::config::{Config, FileAuth, FileConfig, FileTenant, Overrides};
use graph_sim::{SimConfig, SimHandle, Simulator};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Starts a simulator on loopback.
pub async fn start_sim(config: SimConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Simulator::start(config, listener).await.unwrap()
}

/// The reports budget tests run under, in the simulator and the exporter alike: Graph's 5
/// requests per window, with a 1 s window instead of 10 s so tests run ten times faster.
pub const TEST_REPORTS_WINDOW: Duration = Duration::from_secs(1);

/// A small tenant for fast tests.
pub fn small_tenant() -> SimConfig {
    SimConfig {
        applications: 60,
        extra_service_principals: 20,
        ..fast_reports(SimConfig::demo())
    }
}

/// `config` with the reports budget on the test window.
pub fn fast_reports(config: SimConfig) -> SimConfig {
    SimConfig {
        reports_throttle: graph_sim::ReportsThrottleConfig::with_limit(5, TEST_REPORTS_WINDOW),
        ..config
    }
}

/// Runs only the named collectors.
pub fn only(mut config: Config, collectors: &[&str]) -> Config {
    config.update_collectors(|c| c.enabled = collectors.contains(&c.name));
    config
}

/// An exporter config pointing one tenant labelled `label` at `sim`, with fast retries.
pub fn config_for(sim: &SimHandle, label: &str, client_id: &str, secret: &str) -> Config {
    let tenant = FileTenant {
        auth: FileAuth {
            client_secret: Some(secret.to_string()),
            ..FileAuth::default()
        },
        ..tenant_at(sim, label, client_id)
    };
    config_with(vec![tenant])
}

/// A tenant entry pointing at `sim`, without a credential.
pub fn tenant_at(sim: &SimHandle, label: &str, client_id: &str) -> FileTenant {
    let url = url::Url::parse(sim.base_url()).unwrap();
    FileTenant {
        name: Some(label.to_string()),
        tenant_id: Some(sim.tenant().tenant_id.clone()),
        client_id: Some(client_id.to_string()),
        authority_host: Some(url.clone()),
        graph_base_url: Some(url),
        ..FileTenant::default()
    }
}

/// A config for `tenants` with the tests' fast retries and reports budget.
pub fn config_with(tenants: Vec<FileTenant>) -> Config {
    config_with_env(tenants, &|_| None)
}

/// [`config_with`], with `env` standing in for the process environment.
pub fn config_with_env(tenants: Vec<FileTenant>, env: &dyn Fn(&str) -> Option<String>) -> Config {
    let file = FileConfig {
        tenants,
        ..FileConfig::default()
    };
    let overrides = Overrides {
        listen_address: Some("127.0.0.1:0".parse().unwrap()),
        ..Overrides::default()
    };
    let mut config = Config::resolve(file, env, &overrides).unwrap();
    config.graph.initial_backoff = Duration::from_millis(20);
    config.graph.max_backoff = Duration::from_millis(200);
    config.graph.timeout = Duration::from_secs(5);
    config.graph.reports_budget = Some(entra_exporter::config::Budget {
        requests: 5,
        window: TEST_REPORTS_WINDOW,
    });
    config
}

/// Sets every collector's interval.
pub fn with_interval(mut config: Config, interval: Duration) -> Config {
    config.update_collectors(|c| c.interval = interval);
    config
}

/// A running exporter.
pub struct Exporter {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), entra_exporter::RunError>>,
}

impl Exporter {
    /// Starts the exporter with `config` on an ephemeral loopback port.
    pub async fn start(config: Config) -> Exporter {
        init_log_capture();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(entra_exporter::run(config, listener, async {
            let _ = stopped.await;
        }));
        Exporter {
            url: format!("http://{address}"),
            stop: Some(stop),
            task,
        }
    }

    /// GETs `/metrics` and parses it; panics unless it is a 200.
    pub async fn scrape(&self) -> Metrics {
        let response = reqwest::get(format!("{}/metrics", self.url)).await.unwrap();
        assert_eq!(response.status(), 200, "/metrics must never fail");
        Metrics::parse(&response.text().await.unwrap())
    }

    /// Waits until `check` holds on a scrape, or panics with the last scrape after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.scrape().await;
            if check(&m) {
                return m;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; last scrape:\n{}\nlogs:\n{}",
                    m.text,
                    logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the exporter gracefully and checks that it exited cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the exporter did not stop within 10 s of shutdown; logs:\n{}",
                    logs()
                )
            });
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the exporter stopped with an error: {e}; logs:\n{}", logs()),
            Err(e) => panic!("the exporter's task failed: {e}; logs:\n{}", logs()),
        }
    }
}

/// One parsed sample.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
pub struct Metrics {
    pub text: String,
    pub series: Vec<Series>,
}

impl Metrics {
    /// Parses the text format strictly (escapes included), independent of the exporter's
    /// renderer; panics on any line it cannot read. (The `prometheus-parse` crate splits label
    /// values at `=`, which breaks on certificate names like `CN=app`.)
    pub fn parse(text: &str) -> Metrics {
        let series = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| parse_sample(l).unwrap_or_else(|e| panic!("bad exposition line {l:?}: {e}")))
            .collect();
        Metrics {
            text: text.to_string(),
            series,
        }
    }

    /// Every sample of `name`.
    pub fn named(&self, name: &str) -> Vec<&Series> {
        self.series.iter().filter(|s| s.name == name).collect()
    }

    /// The value of the one sample of `name` whose labels include `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<&Series> = self
            .named(name)
            .into_iter()
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        match matching.as_slice() {
            [one] => Some(one.value),
            [] => None,
            many => panic!("{} samples of {name} match {labels:?}", many.len()),
        }
    }

    /// Sum of `name` over samples whose labels include `labels` (0 when none).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.named(name)
            .into_iter()
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// `entra_collector_up` for (tenant, collector), if reported yet.
    pub fn up(&self, tenant: &str, collector: &str) -> Option<f64> {
        self.value(
            "entra_collector_up",
            &[("tenant", tenant), ("collector", collector)],
        )
    }
}

fn parse_sample(line: &str) -> Result<Series, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        loop {
            // label name
            let start = chars.peek().map(|(i, _)| *i).ok_or("unterminated labels")?;
            if body[start..].starts_with('}') {
                rest = &body[start + 1..];
                break;
            }
            let eq = body[start..].find("=\"").ok_or("label without =\"")? + start;
            let label = body[start..eq].to_string();
            while chars.peek().is_some_and(|(i, _)| *i <= eq + 1) {
                chars.next();
            }
            let mut value = String::new();
            loop {
                match chars.next().ok_or("unterminated label value")? {
                    (_, '\\') => match chars.next().ok_or("dangling escape")?.1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        c => return Err(format!("bad escape \\{c}")),
                    },
                    (_, '"') => break,
                    (_, c) => value.push(c),
                }
            }
            if labels.insert(label.clone(), value).is_some() {
                return Err(format!("duplicate label {label}"));
            }
            match chars.next().ok_or("unterminated labels")? {
                (_, ',') => {}
                (i, '}') => {
                    rest = &body[i + 1..];
                    break;
                }
                (_, c) => return Err(format!("unexpected {c:?} after a label value")),
            }
        }
    }
    let value_text = rest.trim();
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|_| format!("bad value {v:?}"))?,
    };
    Ok(Series {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Compares every ground-truth sample of `families` with the scrape: same series set, values
/// equal within `tolerance`.
pub fn assert_matches_truth(
    metrics: &Metrics,
    truth: &graph_sim::GroundTruth,
    families: &[&str],
    tolerance: f64,
) {
    for family in families {
        let expected: BTreeMap<&BTreeMap<String, String>, f64> = truth
            .by_name(family)
            .into_iter()
            .map(|s| (&s.labels, s.value))
            .collect();
        let actual: BTreeMap<&BTreeMap<String, String>, f64> = metrics
            .named(family)
            .into_iter()
            .map(|s| (&s.labels, s.value))
            .collect();
        assert!(!expected.is_empty(), "ground truth has no {family} samples");
        let missing: Vec<_> = expected
            .keys()
            .filter(|k| !actual.contains_key(*k))
            .take(3)
            .collect();
        let extra: Vec<_> = actual
            .keys()
            .filter(|k| !expected.contains_key(*k))
            .take(3)
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{family}: {} expected, {} served; missing e.g. {missing:?}; unexpected e.g. {extra:?}",
            expected.len(),
            actual.len()
        );
        for (labels, want) in &expected {
            let got = actual[labels];
            assert!(
                (got - want).abs() <= tolerance,
                "{family}{labels:?}: served {got}, ground truth {want}"
            );
        }
    }
}

/// Unix time now.
pub fn unix_now() -> f64 {
    entra_exporter::runtime::unix_now()
}

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a global subscriber that keeps every log line, once per test process.
pub fn init_log_capture() {
    init_log_capture_with("info");
}

/// [`init_log_capture`] with a filter; the first call in a process wins.
pub fn init_log_capture_with(filter: &str) {
    let buffer = LOGS
        .get_or_init(|| Arc::new(Mutex::new(Vec::new())))
        .clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(move || Capture(buffer.clone()))
        .try_init();
}

/// Everything logged so far in this process.
pub fn logs() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap()).into_owned())
        .unwrap_or_default()
}

/// Waits until the captured logs contain `needle`.
pub async fn wait_for_log(needle: &str, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let l = logs();
        if l.contains(needle) {
            return l;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for a log line containing {needle:?}; logs:\n{l}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
