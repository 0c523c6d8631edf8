//! Sign-in logs as counters: sign-ins per app, event type, result and error code; by
//! conditional access outcome, client app, country and OS; risky sign-ins; unique users over
//! one and seven days; the last sign-in per app.
//!
//! Reads `/v1.0/auditLogs/signIns` (interactive user sign-ins) and `/beta/auditLogs/signIns`
//! filtered by `signInEventTypes` for non-interactive user, service principal and managed
//! identity sign-ins (reference §8; `AuditLog.Read.All`, Entra ID P1/P2), each an incremental
//! stream (see [`super::activity`]) through the tenant's reports budget.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;

use super::activity::{self, hll::Hll, Admission, Counters, Event, StreamSpec, Streams};
use super::breakdown;
use super::{CollectError, Collector, CollectorInfo};
use crate::auth::BoxFuture;
use crate::config::{ActivityOptions, BreakdownLimits, Config};
use crate::exposition::{Family, MetricKind, MetricSpec};
use crate::graph::{Endpoint, GraphClient, Service};
use crate::runtime::unix_now;

/// Registration of this collector.
pub static INFO: CollectorInfo = CollectorInfo {
    name: "sign_ins",
    description: "Sign-in logs as counters: per app, event type, result and error code; conditional access, client app, country, OS, risk; unique users",
    default_enabled: true,
    default_interval: Duration::from_secs(60),
    metrics: METRICS,
    build: |config: &Config| Box::new(SignIns::new(config)),
};

const PERMISSION: &str = "AuditLog.Read.All";
const SOURCE: &str = "/v1.0/auditLogs/signIns, /beta/auditLogs/signIns";

static V1: Endpoint = Endpoint {
    path: "/v1.0/auditLogs/signIns",
    permission: PERMISSION,
    service: Service::Reports,
};

static BETA: Endpoint = Endpoint {
    path: "/beta/auditLogs/signIns",
    permission: PERMISSION,
    service: Service::Reports,
};

/// The four sign-in streams: `(event_type label, stream)`.
static STREAMS: [(&str, StreamSpec); 4] = [
    (
        "interactive_user",
        StreamSpec {
            log: "sign_ins_interactive_user",
            endpoint: &V1,
            time_property: "createdDateTime",
            filter: None,
        },
    ),
    (
        "non_interactive_user",
        StreamSpec {
            log: "sign_ins_non_interactive_user",
            endpoint: &BETA,
            time_property: "createdDateTime",
            filter: Some("signInEventTypes/any(t: t eq 'nonInteractiveUser')"),
        },
    ),
    (
        "service_principal",
        StreamSpec {
            log: "sign_ins_service_principal",
            endpoint: &BETA,
            time_property: "createdDateTime",
            filter: Some("signInEventTypes/any(t: t eq 'servicePrincipal')"),
        },
    ),
    (
        "managed_identity",
        StreamSpec {
            log: "sign_ins_managed_identity",
            endpoint: &BETA,
            time_property: "createdDateTime",
            filter: Some("signInEventTypes/any(t: t eq 'managedIdentity')"),
        },
    ),
];

macro_rules! counter {
    ($name:ident, $metric:literal, [$($label:literal),*], $help:literal) => {
        #[doc = concat!("`", $metric, "`.")]
        pub static $name: MetricSpec = MetricSpec {
            name: $metric,
            kind: MetricKind::Counter,
            help: concat!($help, " Counted once per event from the sign-in logs since start-up (Graph auditLogs/signIns)."),
            labels: &["tenant", $($label),*],
            source: SOURCE,
            permission: PERMISSION,
        };
    };
}

counter!(
    SIGN_INS,
    "entra_sign_ins_total",
    ["app_id", "app", "event_type", "result", "error_code"],
    "Sign-ins by application, event type (interactive_user, non_interactive_user, service_principal, managed_identity), result and error code (0 = success); apps and error codes capped first-come by breakdowns.applications and breakdowns.error_codes."
);
counter!(
    BY_CONDITIONAL_ACCESS,
    "entra_sign_ins_by_conditional_access_total",
    ["event_type", "status"],
    "Sign-ins by conditional access status (success, failure, notApplied)."
);
counter!(
    BY_CLIENT_APP,
    "entra_sign_ins_by_client_app_total",
    ["client_app"],
    "User sign-ins by client app (clientAppUsed)."
);
counter!(
    BY_COUNTRY,
    "entra_sign_ins_by_country_total",
    ["country"],
    "User sign-ins by country (location.countryOrRegion), capped by breakdowns.countries."
);
counter!(
    BY_OS,
    "entra_sign_ins_by_os_total",
    ["os"],
    "User sign-ins by operating system (deviceDetail.operatingSystem), capped by breakdowns.operating_systems."
);
counter!(
    RISKY,
    "entra_risky_sign_ins_total",
    ["risk_level"],
    "User sign-ins with a risk level during sign-in of low, medium, high or hidden (hidden without Entra ID P2)."
);

/// `entra_sign_in_unique_users`.
pub static UNIQUE_USERS: MetricSpec = MetricSpec {
    name: "entra_sign_in_unique_users",
    kind: MetricKind::Gauge,
    help: "Distinct users with an interactive or non-interactive sign-in in the last 1d or 7d (window), counted since start-up; a HyperLogLog estimate with about 1.6% standard error (Graph auditLogs/signIns).",
    labels: &["tenant", "window"],
    source: SOURCE,
    permission: PERMISSION,
};

/// `entra_application_last_sign_in_timestamp_seconds`.
pub static LAST_SIGN_IN: MetricSpec = MetricSpec {
    name: "entra_application_last_sign_in_timestamp_seconds",
    kind: MetricKind::Gauge,
    help: "Newest sign-in of any kind to the application seen in the sign-in logs since start-up (Graph auditLogs/signIns); apps capped like entra_sign_ins_total.",
    labels: &["tenant", "app_id", "app"],
    source: SOURCE,
    permission: PERMISSION,
};

/// Every family this collector emits (plus the shared stream families).
pub static METRICS: &[&MetricSpec] = &[
    &SIGN_INS,
    &BY_CONDITIONAL_ACCESS,
    &BY_CLIENT_APP,
    &BY_COUNTRY,
    &BY_OS,
    &RISKY,
    &UNIQUE_USERS,
    &LAST_SIGN_IN,
];

/// Distinct client apps kept as labels (Graph's list is short; the cap guards against drift).
const MAX_CLIENT_APPS: usize = 20;

/// Risk levels that make a sign-in risky.
const RISKY_LEVELS: [&str; 4] = ["low", "medium", "high", "hidden"];

/// `signIn` (§8); only the fields counted.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SignIn {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created_date_time: Option<String>,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    app_display_name: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    conditional_access_status: Option<String>,
    #[serde(default)]
    client_app_used: Option<String>,
    #[serde(default)]
    device_detail: Option<DeviceDetail>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    risk_level_during_sign_in: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    #[serde(default)]
    error_code: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeviceDetail {
    #[serde(default)]
    operating_system: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(default)]
    country_or_region: Option<String>,
}

impl Event for SignIn {
    fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }
    fn time(&self) -> Option<&str> {
        self.created_date_time.as_deref()
    }
}

/// Raw label values of one window's events, before admission caps.
#[derive(Default)]
struct Delta {
    /// (app_id, app, error_code, result) → count.
    sign_ins: HashMap<(String, String, String), (String, f64)>,
    conditional_access: HashMap<String, f64>,
    client_apps: HashMap<String, f64>,
    countries: HashMap<String, f64>,
    os: HashMap<String, f64>,
    risky: HashMap<String, f64>,
    /// (hour, user id) of user sign-ins.
    users: Vec<(i64, String)>,
    /// app_id → (name, newest sign-in).
    last: HashMap<String, (String, f64)>,
}

/// Cumulative state for one tenant.
struct State {
    /// Watermarks and overlap ids.
    streams: Streams,
    /// Everything counted.
    tallies: Tallies,
}

/// Cumulative counts since start-up, with their admission caps.
struct Tallies {
    apps: Admission,
    /// First name seen per admitted app, so a rename does not split its series.
    app_names: HashMap<String, String>,
    error_codes: Admission,
    countries: Admission,
    os: Admission,
    client_apps: Admission,
    sign_ins: Counters,
    conditional_access: Counters,
    client_app_counts: Counters,
    country_counts: Counters,
    os_counts: Counters,
    risky: Counters,
    /// One sketch per hour of event time.
    users_by_hour: BTreeMap<i64, Hll>,
    /// app_id label → newest sign-in.
    last: BTreeMap<String, f64>,
}

/// The sign-in log collector.
pub struct SignIns {
    options: ActivityOptions,
    state: Mutex<State>,
}

impl SignIns {
    fn new(config: &Config) -> Self {
        let limits: BreakdownLimits = config.breakdowns;
        SignIns {
            options: config.activity.clone(),
            state: Mutex::new(State {
                streams: Streams::default(),
                tallies: Tallies {
                    apps: Admission::new(limits.applications),
                    app_names: HashMap::new(),
                    error_codes: Admission::new(limits.error_codes),
                    countries: Admission::new(limits.countries),
                    os: Admission::new(limits.operating_systems),
                    client_apps: Admission::new(MAX_CLIENT_APPS),
                    sign_ins: Counters::new(&SIGN_INS),
                    conditional_access: Counters::new(&BY_CONDITIONAL_ACCESS),
                    client_app_counts: Counters::new(&BY_CLIENT_APP),
                    country_counts: Counters::new(&BY_COUNTRY),
                    os_counts: Counters::new(&BY_OS),
                    risky: Counters::new(&RISKY),
                    users_by_hour: BTreeMap::new(),
                    last: BTreeMap::new(),
                },
            }),
        }
    }
}

/// Folds one page of interactive user sign-ins as a poll does once the body is in: the
/// stream's duplicate check, then the window's counts. Returns the events counted. Only for
/// `benches/parsing.rs`, which compares it with plain deserialisation.
#[doc(hidden)]
pub fn fold_page(body: &[u8], window: (f64, f64)) -> Result<usize, serde_json::Error> {
    let seen = HashMap::new();
    let mut fresh = HashMap::new();
    let mut duplicates = 0;
    let mut delta = Delta::default();
    crate::graph::parse_page::<crate::graph::Owned<SignIn>>(body, &mut |e: SignIn| {
        if let Some(t) = super::activity::admit(&e, window, &seen, &mut fresh, &mut duplicates) {
            add(&mut delta, "interactiveUser", true, e, t);
        }
    })?;
    Ok(fresh.len())
}

fn add(delta: &mut Delta, event_type: &str, user: bool, e: SignIn, t: f64) {
    let app_id = breakdown::label(e.app_id.as_deref());
    let app = breakdown::label(e.app_display_name.as_deref());
    let code = e.status.and_then(|s| s.error_code).unwrap_or(0);
    let entry = delta
        .sign_ins
        .entry((app_id.to_owned(), code.to_string(), event_type.to_owned()))
        .or_insert_with(|| (app.to_owned(), 0.0));
    entry.1 += 1.0;
    match delta.last.get_mut(app_id) {
        Some(last) => last.1 = last.1.max(t),
        None => {
            delta.last.insert(app_id.to_owned(), (app.to_owned(), t));
        }
    }
    bump(
        &mut delta.conditional_access,
        breakdown::label(e.conditional_access_status.as_deref()),
    );
    if !user {
        return;
    }
    bump(
        &mut delta.client_apps,
        breakdown::label(e.client_app_used.as_deref()),
    );
    let country = e.location.and_then(|l| l.country_or_region);
    bump(&mut delta.countries, breakdown::label(country.as_deref()));
    let os = e.device_detail.and_then(|d| d.operating_system);
    bump(&mut delta.os, breakdown::label(os.as_deref()));
    if let Some(level) = e
        .risk_level_during_sign_in
        .as_deref()
        .filter(|l| RISKY_LEVELS.contains(l))
    {
        bump(&mut delta.risky, level);
    }
    if let Some(user_id) = e.user_id.filter(|u| !u.is_empty()) {
        delta.users.push(((t / 3600.0).floor() as i64, user_id));
    }
}

/// Counts one under `key`, allocating only for a key not seen before: most rows repeat a
/// handful of values, so most rows allocate nothing here.
fn bump(map: &mut HashMap<String, f64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1.0,
        None => {
            map.insert(key.to_owned(), 1.0);
        }
    }
}

impl Tallies {
    /// Applies one window's counts through the admission caps.
    fn commit(&mut self, event_type: &str, delta: Delta) {
        let mut ca = Counters::new(&BY_CONDITIONAL_ACCESS);
        for ((app_id, code, _), (app, n)) in delta.sign_ins {
            let app_label = self.apps.label(&app_id);
            let name = if app_label == breakdown::OTHER {
                breakdown::OTHER.to_owned()
            } else {
                self.app_names
                    .entry(app_label.clone())
                    .or_insert(app)
                    .clone()
            };
            let result = if code == "0" { "success" } else { "failure" };
            let code = self.error_codes.label(&code);
            self.sign_ins.add(
                vec![
                    app_label,
                    name,
                    event_type.to_owned(),
                    result.to_owned(),
                    code,
                ],
                n,
            );
        }
        for (status, n) in delta.conditional_access {
            ca.add(vec![event_type.to_owned(), status], n);
        }
        self.conditional_access.merge(ca);
        for (v, n) in delta.client_apps {
            let l = self.client_apps.label(&v);
            self.client_app_counts.add(vec![l], n);
        }
        for (v, n) in delta.countries {
            let l = self.countries.label(&v);
            self.country_counts.add(vec![l], n);
        }
        for (v, n) in delta.os {
            let l = self.os.label(&v);
            self.os_counts.add(vec![l], n);
        }
        for (v, n) in delta.risky {
            self.risky.add(vec![v], n);
        }
        for (hour, user) in delta.users {
            self.users_by_hour.entry(hour).or_default().insert(&user);
        }
        for (app_id, (_, t)) in delta.last {
            let label = self.apps.label(&app_id);
            let newest = self.last.entry(label).or_insert(t);
            *newest = newest.max(t);
        }
    }

    fn families(&mut self, tenant: &str, now: f64, streams: &Streams) -> Vec<Family> {
        // Sketches older than the longest window are no longer needed.
        let now_hour = (now / 3600.0).floor() as i64;
        self.users_by_hour.retain(|h, _| *h > now_hour - 7 * 24);
        let mut unique = Family::new(&UNIQUE_USERS);
        for (window, hours) in [("1d", 24), ("7d", 7 * 24)] {
            let mut merged = Hll::default();
            for (_, h) in self.users_by_hour.range(now_hour - hours + 1..) {
                merged.merge(h);
            }
            unique.gauge([tenant, window], merged.estimate().round());
        }
        let mut last = Family::new(&LAST_SIGN_IN);
        for (app_id, t) in &self.last {
            let name = self
                .app_names
                .get(app_id)
                .map_or(breakdown::OTHER, String::as_str);
            last.gauge([tenant, app_id.as_str(), name], *t);
        }
        let mut out = vec![
            self.sign_ins.family(tenant),
            self.conditional_access.family(tenant),
            self.client_app_counts.family(tenant),
            self.country_counts.family(tenant),
            self.os_counts.family(tenant),
            self.risky.family(tenant),
            unique,
            last,
        ];
        out.extend(streams.families(tenant));
        out
    }
}

impl Collector for SignIns {
    fn collect<'a>(
        &'a self,
        graph: &'a GraphClient,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut guard = self.state.lock().await;
            let State { streams, tallies } = &mut *guard;
            streams.load(&self.options, graph.tenant(), INFO.name)?;
            let now = unix_now();
            for (event_type, spec) in &STREAMS {
                let user = matches!(*event_type, "interactive_user" | "non_interactive_user");
                activity::read_new(
                    graph,
                    spec,
                    streams,
                    &self.options,
                    now,
                    |d: &mut Delta, e: SignIn, t| add(d, event_type, user, e, t),
                    // Applied window by window, once each window was read whole.
                    |d| tallies.commit(event_type, d),
                )
                .await?;
            }
            Ok(tallies.families(graph.tenant(), now, streams))
        })
    }
}
