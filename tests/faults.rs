//! The fault table (issue 9, "Faults survived"): every fault the simulator injects, against a
//! running exporter, each case with its own simulator and exporter, all cases at once.
//!
//! Under each fault: `/metrics` keeps answering 200 with the last good snapshot (the same
//! series and values as before the fault, equal to the simulator's ground truth, through
//! several failed polls); the collector says it is down (`entra_collector_up` 0, its last
//! success no longer advancing) or, for a fault that retries absorb, keeps succeeding; once
//! the fault is cleared it recovers on its own to the ground truth; the exporter stops cleanly.
//! Over the whole table nothing panics (a counting panic hook sees every thread, the
//! exporter's background tasks included) and the process's peak memory stays bounded.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use entra_exporter::config::{Config, FileAuth, FileTenant};
use graph_sim::{FaultKind, FaultRule, RequestRecord, SimConfig, SimHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The credentials collector's families: everything it serves except the remaining-time
/// gauge, which is computed at scrape time.
const FAMILIES: &[&str] = &[
    "entra_app_credential_expiry_timestamp_seconds",
    "entra_app_credential_earliest_expiry_timestamp_seconds",
    "entra_app_credentials",
    "entra_app_credentials_without_expiry",
    "entra_applications",
    "entra_service_principals",
];

const COLLECTOR: &str = "credentials";
const LAST_SUCCESS: &str = "entra_collector_last_success_timestamp_seconds";

/// Generous: dozens of simulators and exporters share two cores in a debug build.
const WAIT: Duration = Duration::from_secs(60);
/// Poll interval of every exporter: short, so failures and recoveries come quickly.
const INTERVAL: Duration = Duration::from_millis(400);
/// Requests to `/v1.0/applications` in one poll of the paged tenant: its two pages. Rules
/// of the paging cases skip the first poll's and the second poll's first page.
const FIRST_POLL_AND_PAGE_ONE: u32 = 3;
/// `graph.max_retries`: three attempts per request, so a persistent fault fails a poll fast.
const MAX_RETRIES: u32 = 2;
/// `graph.max_retry_after`: the cap on an honoured `Retry-After`.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(1);
/// `graph.timeout` for the slow-connection cases.
const SHORT_TIMEOUT: Duration = Duration::from_secs(2);
/// `graph.max_body_bytes` for the huge-body case.
const BODY_LIMIT: u64 = 1 << 20;
/// Size of the huge body the simulator offers: a 1 GiB stream.
const HUGE: u64 = 1 << 30;
/// Applications in the tenant of the paging cases: two pages at the collector's `$top=999`.
const PAGED_APPLICATIONS: usize = 1_100;
/// Allowed growth of the process's peak RSS over the whole table. Every simulator, exporter and
/// their buffers fit well within it; buffering the 1 GiB body would not (see the huge-body
/// case for the exact byte count).
const MEMORY_BOUND: u64 = 512 << 20;

/// What the collector does while the fault lasts.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Goes down and keeps serving its last good values; its poll-failed log line contains
    /// this text (which says what failed and what to do).
    Down(&'static str),
    /// Retries within the poll absorb the fault: every poll succeeds.
    Survives,
}

/// The tenant a case runs against.
#[derive(Clone, Copy, Debug)]
enum Tenant {
    /// 60 applications, one page per collection.
    Small,
    /// [`PAGED_APPLICATIONS`] applications: `/v1.0/applications` takes two pages. The fault
    /// is in place before the exporter starts, its `skip` counting the first (good) poll's
    /// pages, so it hits page two of the second poll whatever the timing.
    Paged,
}

/// What else a case checks, beyond the common down/survive/recover checks.
#[derive(Clone, Copy, Debug)]
enum Check {
    None,
    /// After a 429, the retry of `applications` waited at least this long: `Retry-After`
    /// honoured, capped at `graph.max_retry_after` (never the hour it asked for).
    RetryWaitedAtLeast(Duration),
    /// The page after the first failed: the first page of the poll was a 200.
    FailedOnSecondPage,
    /// The huge body was refused at the limit: the simulator handed over a few MiB per
    /// request, not the 1 GiB it offered.
    HugeBodyRefused,
    /// The 401 on page two cost one token refresh, and paging went on from page two.
    RefreshedMidPaging,
    /// Tokens from a clock ten minutes off were used as they came: Graph accepted them and
    /// there was no refresh loop.
    NoTokenLoop,
    /// The other host never saw a request, with or without a bearer token.
    OtherHostUntouched,
}

/// One row of the table.
struct Case {
    /// Also the `tenant` label, so log lines and series of concurrent cases stay apart.
    name: &'static str,
    tenant: Tenant,
    /// Simulator token lifetime, when the case needs tokens to be refreshed under the fault.
    token_lifetime: Option<Duration>,
    /// Exporter settings beyond the table's defaults.
    tune: fn(&mut Config),
    /// The fault, injected once the first poll succeeded (for [`Tenant::Paged`], before the
    /// exporter starts).
    rules: fn(&Env) -> Vec<FaultRule>,
    expect: Expect,
    check: Check,
}

/// What the cases share.
struct Env {
    /// A listener standing for a host other than Graph.
    other_host: OtherHost,
}

fn rule(route: &str, kind: FaultKind) -> FaultRule {
    FaultRule::new(route, kind)
}

fn throttle(value: Option<&str>) -> FaultKind {
    FaultKind::Throttle {
        retry_after: value.map(str::to_owned),
    }
}

fn keep(_: &mut Config) {}

fn short_timeout(c: &mut Config) {
    c.graph.timeout = SHORT_TIMEOUT;
}

fn small_body_limit(c: &mut Config) {
    c.graph.max_body_bytes = BODY_LIMIT;
}

/// The table.
fn cases() -> Vec<Case> {
    let case = |name, rules: fn(&Env) -> Vec<FaultRule>, expect, check| Case {
        name,
        tenant: Tenant::Small,
        token_lifetime: None,
        tune: keep,
        rules,
        expect,
        check,
    };
    vec![
        // Throttling (reference §10.2).
        case(
            "throttle-storm",
            |_| vec![rule("applications", throttle(None))],
            Expect::Down("failed after 3 attempts: last answer HTTP 429"),
            Check::None,
        ),
        case(
            "throttle-retry-after",
            |_| vec![rule("applications", throttle(Some("1")))],
            Expect::Down("failed after 3 attempts: last answer HTTP 429"),
            Check::RetryWaitedAtLeast(Duration::from_secs(1)),
        ),
        case(
            "throttle-fractional",
            |_| vec![rule("applications", throttle(Some("0.5")))],
            Expect::Down("failed after 3 attempts: last answer HTTP 429"),
            Check::RetryWaitedAtLeast(Duration::from_millis(500)),
        ),
        case(
            "throttle-huge",
            |_| vec![rule("applications", throttle(Some("3600")))],
            Expect::Down("failed after 3 attempts: last answer HTTP 429"),
            Check::RetryWaitedAtLeast(MAX_RETRY_AFTER),
        ),
        case(
            "throttle-negative",
            |_| vec![rule("applications", throttle(Some("-5")))],
            Expect::Down("failed after 3 attempts: last answer HTTP 429"),
            Check::None,
        ),
        case(
            "throttle-garbage",
            |_| vec![rule("applications", throttle(Some("soon")))],
            Expect::Down("failed after 3 attempts: last answer HTTP 429"),
            Check::None,
        ),
        case(
            "throttle-burst",
            |_| vec![rule("applications", throttle(Some("0.5"))).times(2)],
            Expect::Survives,
            Check::RetryWaitedAtLeast(Duration::from_millis(500)),
        ),
        // Server errors (§10.1): 500 and 502 fail the poll at once, 503 and 504 are retried.
        case(
            "status-500",
            |_| vec![rule("applications", FaultKind::Status(500))],
            Expect::Down("failed: HTTP 500 UnknownError"),
            Check::None,
        ),
        case(
            "status-502",
            |_| vec![rule("servicePrincipals", FaultKind::Status(502))],
            Expect::Down("GET /v1.0/servicePrincipals failed: HTTP 502"),
            Check::None,
        ),
        case(
            "status-503",
            |_| vec![rule("applications", FaultKind::Status(503))],
            Expect::Down("failed after 3 attempts: last answer HTTP 503"),
            Check::None,
        ),
        case(
            "status-504",
            |_| vec![rule("servicePrincipals", FaultKind::Status(504))],
            Expect::Down("failed after 3 attempts: last answer HTTP 504"),
            Check::None,
        ),
        case(
            "status-503-burst",
            |_| vec![rule("applications", FaultKind::Status(503)).times(2)],
            Expect::Survives,
            Check::None,
        ),
        case(
            "status-504-burst",
            |_| vec![rule("servicePrincipals", FaultKind::Status(504)).times(2)],
            Expect::Survives,
            Check::None,
        ),
        Case {
            tenant: Tenant::Paged,
            ..case(
                "status-503-mid-paging",
                |_| vec![rule("applications", FaultKind::Status(503)).skip(FIRST_POLL_AND_PAGE_ONE)],
                Expect::Down("failed after 3 attempts: last answer HTTP 503"),
                Check::FailedOnSecondPage,
            )
        },
        // Slow and broken connections.
        Case {
            tune: short_timeout,
            ..case(
                "slow-loris",
                |_| {
                    vec![rule(
                        "applications",
                        FaultKind::SlowBody(Duration::from_millis(100)),
                    )]
                },
                Expect::Down("within graph.timeout (2s)"),
                Check::None,
            )
        },
        Case {
            tune: short_timeout,
            ..case(
                "timeout",
                |_| {
                    vec![rule(
                        "applications",
                        FaultKind::Latency(Duration::from_secs(5)),
                    )]
                },
                Expect::Down("within graph.timeout (2s)"),
                Check::None,
            )
        },
        case(
            "reset-mid-body",
            |_| vec![rule("applications", FaultKind::DropMidBody)],
            Expect::Down("broke off mid-response"),
            Check::None,
        ),
        case(
            "reset-once",
            |_| vec![rule("applications", FaultKind::DropMidBody).times(1)],
            Expect::Survives,
            Check::None,
        ),
        // Broken bodies.
        case(
            "truncated-json",
            |_| vec![rule("applications", FaultKind::TruncatedJson)],
            Expect::Down("the body was cut short"),
            Check::None,
        ),
        case(
            "wrong-shape",
            |_| vec![rule("servicePrincipals", FaultKind::WrongShape)],
            Expect::Down("valid JSON but not the documented shape"),
            Check::None,
        ),
        case(
            "html-200",
            |_| vec![rule("applications", FaultKind::HtmlOk)],
            Expect::Down("not JSON"),
            Check::None,
        ),
        case(
            "html-labelled-json",
            |_| vec![rule("applications", FaultKind::MalformedJson)],
            Expect::Down("something other than Graph answered"),
            Check::None,
        ),
        Case {
            tune: small_body_limit,
            ..case(
                "huge-body",
                |_| vec![rule("applications", FaultKind::HugeBody(HUGE))],
                Expect::Down("returned more than 1048576 bytes; refused"),
                Check::HugeBodyRefused,
            )
        },
        // Token problems (§11).
        Case {
            // Short-lived tokens, so the outage is felt once the cached one expires.
            token_lifetime: Some(Duration::from_secs(2)),
            ..case(
                "token-endpoint-down",
                |_| vec![rule("token", FaultKind::Status(503))],
                Expect::Down("rejected (HTTP 503, temporarily_unavailable)"),
                Check::None,
            )
        },
        Case {
            token_lifetime: Some(Duration::from_secs(2)),
            ..case(
                "token-endpoint-reset",
                |_| vec![rule("token", FaultKind::DropMidBody)],
                Expect::Down("unreachable"),
                Check::None,
            )
        },
        Case {
            // A proxy answering the token request with an endless body: refused at 256 KiB.
            token_lifetime: Some(Duration::from_secs(2)),
            ..case(
                "token-endpoint-huge",
                |_| vec![rule("token", FaultKind::HugeBody(HUGE))],
                Expect::Down("the body is over 256 KiB"),
                Check::None,
            )
        },
        Case {
            tenant: Tenant::Paged,
            ..case(
                "token-expires-mid-paging",
                |_| {
                    vec![rule("applications", FaultKind::RevokeTokens)
                        .skip(FIRST_POLL_AND_PAGE_ONE)
                        .times(1)]
                },
                Expect::Survives,
                Check::RefreshedMidPaging,
            )
        },
        Case {
            token_lifetime: Some(Duration::from_secs(3)),
            ..case(
                "clock-ahead",
                |_| vec![rule("token", FaultKind::ClockSkew(600)).times(2)],
                Expect::Survives,
                Check::NoTokenLoop,
            )
        },
        Case {
            token_lifetime: Some(Duration::from_secs(3)),
            ..case(
                "clock-behind",
                |_| vec![rule("token", FaultKind::ClockSkew(-600)).times(2)],
                Expect::Survives,
                Check::NoTokenLoop,
            )
        },
        // Paging loops.
        case(
            "nextlink-loop",
            |_| vec![rule("applications", FaultKind::NextLinkLoop)],
            Expect::Down("@odata.nextLink loops back to a page already read after 1 pages"),
            Check::None,
        ),
        case(
            "nextlink-other-host",
            |env| {
                vec![rule(
                    "applications",
                    FaultKind::NextLinkTo(format!(
                        "{}/v1.0/applications?$skiptoken=stolen",
                        env.other_host.url
                    )),
                )]
            },
            Expect::Down("not followed, so the token is not sent there"),
            Check::OtherHostUntouched,
        ),
    ]
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts every panic in the process, on any thread, then reports it as usual.
fn count_panics() {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            report(info);
        }));
    });
}

/// A `/proc/self/status` field in bytes (`VmRSS`, `VmHWM`); Linux only.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_is_survived_and_recovered_from() {
    count_panics();
    init_log_capture();
    let rss_before = proc_status_bytes("VmRSS:");
    let env = Arc::new(Env {
        other_host: OtherHost::start().await,
    });

    let mut running = tokio::task::JoinSet::new();
    let mut names = std::collections::HashMap::new();
    // `FAULT_CASES=clock,token` runs only the cases whose names contain one of the words.
    let only_cases = std::env::var("FAULT_CASES").unwrap_or_default();
    let wanted = |name: &str| {
        only_cases.is_empty() || only_cases.split(',').any(|w| name.contains(w.trim()))
    };
    for case in cases().into_iter().filter(|c| wanted(c.name)) {
        let env = env.clone();
        let name = case.name;
        let handle = running.spawn(async move { run_case(case, &env).await });
        names.insert(handle.id(), name);
    }
    let mut failed = Vec::new();
    while let Some(joined) = running.join_next_with_id().await {
        if let Err(e) = joined {
            failed.push(names[&e.id()]);
        }
    }
    // Peak, not current, RSS: a body buffered and freed again still shows.
    let growth = match (rss_before, proc_status_bytes("VmHWM:")) {
        (Some(before), Some(peak)) => {
            eprintln!(
                "memory: RSS {} MiB before the table, peak {} MiB",
                before >> 20,
                peak >> 20
            );
            Some(peak.saturating_sub(before))
        }
        _ => None,
    };
    assert!(
        failed.is_empty(),
        "fault cases failed (their panics are printed above): {failed:?}"
    );
    assert_eq!(
        PANICS.load(Ordering::SeqCst),
        0,
        "something panicked while the faults ran (see above)"
    );
    env.other_host.assert_untouched("the whole table");
    if let Some(growth) = growth {
        assert!(
            growth < MEMORY_BOUND,
            "peak RSS grew by {} MiB over the fault table (bound {} MiB)",
            growth >> 20,
            MEMORY_BOUND >> 20
        );
    }
}

/// A DNS failure for the Graph host: the name cannot resolve (`.invalid` never does, RFC
/// 6761). The collector is down with an error naming the host, the cause and what to check,
/// `/metrics` still answers, and the token never leaves for anywhere but the token endpoint.
/// Recovery is not tested here: the exporter resolves through the system resolver, which a
/// test cannot repair at run time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_host_that_does_not_resolve_is_reported_and_survived() {
    count_panics();
    init_log_capture();
    // The token scope follows graph_base_url, so the simulator issues tokens for that host.
    let sim = start_sim(SimConfig {
        graph_audience: "https://graph.invalid".into(),
        ..small_tenant()
    })
    .await;
    let tenant = FileTenant {
        auth: FileAuth {
            client_secret: Some(graph_sim::DEMO_CLIENT_SECRET.to_string()),
            ..FileAuth::default()
        },
        graph_base_url: Some(url::Url::parse("https://graph.invalid/").unwrap()),
        ..tenant_at(&sim, "dns-failure", graph_sim::DEMO_CLIENT_ID)
    };
    let mut config = with_interval(only(config_with(vec![tenant]), &[COLLECTOR]), INTERVAL);
    config.graph.max_retries = MAX_RETRIES;
    let exporter = Exporter::start(config).await;
    let m = exporter
        .wait_for("the collector down", WAIT, |m| {
            m.up("dns-failure", COLLECTOR) == Some(0.0)
        })
        .await;
    assert!(
        m.named(FAMILIES[0]).is_empty(),
        "no snapshot yet, none made up"
    );
    let line = wait_for_failed_poll_saying("dns-failure", "dns error").await;
    for needle in [
        "on graph.invalid failed after 3 attempts",
        "dns error",
        "graph_base_url",
    ] {
        assert!(line.contains(needle), "{needle:?} missing from: {line}");
    }
    // The token came from the simulator; nothing else reached it.
    let routes: Vec<String> = sim.requests().into_iter().map(|r| r.route).collect();
    assert!(routes.iter().all(|r| r == "token"), "{routes:?}");
    assert!(!routes.is_empty());
    exporter.stop().await;
    sim.shutdown().await;
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "something panicked");
}

/// One row: first good poll, fault, down (or survived), cleared, recovered, stopped.
async fn run_case(case: Case, env: &Env) {
    let name = case.name;
    let sim = start_sim(sim_config(&case)).await;
    let mut injected = SystemTime::now();
    let early = matches!(case.tenant, Tenant::Paged);
    if early {
        for rule in (case.rules)(env) {
            sim.faults().inject(rule);
        }
    }
    let mut config = with_interval(
        only(
            config_for(
                &sim,
                name,
                graph_sim::DEMO_CLIENT_ID,
                graph_sim::DEMO_CLIENT_SECRET,
            ),
            &[COLLECTOR],
        ),
        INTERVAL,
    );
    config.graph.max_retries = MAX_RETRIES;
    config.graph.max_retry_after = MAX_RETRY_AFTER;
    (case.tune)(&mut config);
    let exporter = Exporter::start(config).await;

    // The first poll's snapshot (the collector may already be down again when a fault was
    // in place from the start; its values are still these).
    let before = exporter
        .wait_for(&format!("{name}: first good poll"), WAIT, |m| {
            m.value(LAST_SUCCESS, &[("tenant", name)]).is_some()
        })
        .await;
    if !early {
        injected = SystemTime::now();
        for rule in (case.rules)(env) {
            sim.faults().inject(rule);
        }
    }
    assert_matches_truth(&before, &sim.ground_truth(name, unix_now()), FAMILIES, 1e-3);

    match case.expect {
        Expect::Down(needle) => {
            let failures = failed_polls(name);
            let down = exporter
                .wait_for(&format!("{name}: collector down"), WAIT, |m| {
                    m.up(name, COLLECTOR) == Some(0.0)
                })
                .await;
            assert_same_values(name, &before, &down);
            // Another failed poll later: still down, still the same values, and the last
            // success does not move: the series are visibly stale.
            wait_until(&format!("{name}: a later failed poll"), || {
                failed_polls(name) >= failures + 2
            })
            .await;
            let later = exporter.scrape().await;
            assert_eq!(later.up(name, COLLECTOR), Some(0.0), "{name}");
            assert_eq!(
                later.value(LAST_SUCCESS, &[("tenant", name)]),
                down.value(LAST_SUCCESS, &[("tenant", name)]),
                "{name}: last success moved while down"
            );
            assert_same_values(name, &before, &later);
            assert_matches_truth(&later, &sim.ground_truth(name, unix_now()), FAMILIES, 1e-3);
            // The failure is reported: what failed, where, and what to do.
            wait_for_failed_poll_saying(name, needle).await;
        }
        Expect::Survives => {
            wait_until(&format!("{name}: the fault used up"), || {
                sim.faults().active().is_empty()
            })
            .await;
            let used_up = unix_now();
            let m = exporter
                .wait_for(&format!("{name}: a poll after the fault"), WAIT, |m| {
                    m.value(LAST_SUCCESS, &[("tenant", name)])
                        .is_some_and(|t| t > used_up)
                })
                .await;
            assert_eq!(m.up(name, COLLECTOR), Some(1.0), "{name}");
            assert_eq!(failed_polls(name), 0, "{name}: a poll failed:\n{}", logs());
            assert_same_values(name, &before, &m);
        }
    }

    check(&case, &sim, injected, env);

    // The fault ends; the collector recovers on its own.
    sim.faults().clear();
    let cleared = unix_now();
    let after = exporter
        .wait_for(&format!("{name}: recovery"), WAIT, |m| {
            m.up(name, COLLECTOR) == Some(1.0)
                && m.value(LAST_SUCCESS, &[("tenant", name)])
                    .is_some_and(|t| t > cleared)
        })
        .await;
    assert_matches_truth(&after, &sim.ground_truth(name, unix_now()), FAMILIES, 1e-3);
    exporter.stop().await;
    sim.shutdown().await;
}

fn sim_config(case: &Case) -> SimConfig {
    let base = small_tenant();
    let base = match case.tenant {
        Tenant::Small => base,
        Tenant::Paged => SimConfig {
            applications: PAGED_APPLICATIONS,
            ..base
        },
    };
    SimConfig {
        token_lifetime: case.token_lifetime.unwrap_or(base.token_lifetime),
        ..base
    }
}

/// The case's own checks, on the simulator's request log since the fault was injected.
fn check(case: &Case, sim: &SimHandle, injected: SystemTime, env: &Env) {
    let name = case.name;
    let since: Vec<RequestRecord> = sim
        .requests()
        .into_iter()
        .filter(|r| r.at >= injected)
        .collect();
    let on = |route: &str| -> Vec<&RequestRecord> {
        since.iter().filter(|r| r.route == route).collect()
    };
    match case.check {
        Check::None => {}
        Check::RetryWaitedAtLeast(at_least) => {
            let apps = on("applications");
            let first = apps
                .iter()
                .position(|r| r.status == 429)
                .unwrap_or_else(|| panic!("{name}: no 429 served"));
            let retry = apps
                .get(first + 1)
                .unwrap_or_else(|| panic!("{name}: the 429 was never retried"));
            let waited = retry.at.duration_since(apps[first].at).unwrap();
            assert!(
                waited >= at_least,
                "{name}: retried after {waited:?}, expected at least {at_least:?}"
            );
        }
        Check::FailedOnSecondPage => {
            let pages: Vec<(u16, bool)> = on("applications")
                .iter()
                .map(|r| (r.status, r.path_and_query.contains("skiptoken")))
                .collect();
            let failed = pages.iter().position(|p| p.0 == 503);
            assert!(
                failed.is_some_and(|i| i > 0 && pages[i].1 && pages[i - 1] == (200, false)),
                "{name}: expected page one 200, then page two 503; got (status, page two?) {pages:?}"
            );
        }
        Check::HugeBodyRefused => {
            let huge_requests = on("applications")
                .iter()
                .filter(|r| r.status == 200)
                .count() as u64;
            let streamed = sim.faults().streamed_bytes();
            assert!(huge_requests > 0, "{name}: the huge body was never served");
            assert!(
                streamed >= BODY_LIMIT,
                "{name}: only {streamed} bytes streamed; the limit was never reached"
            );
            // The limit plus what socket buffers and the HTTP stack hold in flight; reading
            // the body to its end would make this the full 1 GiB.
            assert!(
                streamed / huge_requests < 32 << 20,
                "{name}: {streamed} bytes streamed over {huge_requests} requests"
            );
        }
        Check::RefreshedMidPaging => {
            let rejected = since
                .iter()
                .position(|r| r.route == "applications" && r.status == 401)
                .unwrap_or_else(|| panic!("{name}: no 401 served: {since:?}"));
            let page = &since[rejected].path_and_query;
            assert!(
                page.contains("skiptoken"),
                "{name}: the 401 was not on page two"
            );
            let rest = &since[rejected + 1..];
            let retry = rest
                .iter()
                .position(|r| r.route == "applications")
                .unwrap_or_else(|| panic!("{name}: page two was never retried"));
            assert_eq!(
                &rest[retry].path_and_query, page,
                "{name}: paging restarted"
            );
            assert_eq!(rest[retry].status, 200, "{name}");
            let refreshes = rest[..retry].iter().filter(|r| r.route == "token").count();
            assert_eq!(
                refreshes, 1,
                "{name}: one token refresh between 401 and retry"
            );
        }
        Check::NoTokenLoop => {
            let lifetime = case.token_lifetime.expect("a short token lifetime");
            // Graph accepted the skewed tokens. A 401 can only come at the very end of a
            // token's short life, from a request that was slow to arrive.
            let mut issued = None;
            for r in &sim.requests() {
                if r.route == "token" {
                    issued = Some(r.at);
                } else if r.status == 401 && r.at >= injected {
                    let age = issued.map(|t| r.at.duration_since(t).unwrap_or_default());
                    assert!(
                        age.is_some_and(|age| age >= lifetime * 4 / 5),
                        "{name}: a 401 for a token {age:?} old: {r:?}"
                    );
                }
            }
            let tokens: Vec<usize> = since
                .iter()
                .enumerate()
                .filter(|(_, r)| r.route == "token")
                .map(|(i, _)| i)
                .collect();
            assert!(
                tokens.len() >= 2,
                "{name}: the skewed tokens were never fetched"
            );
            for pair in tokens.windows(2) {
                let (a, b) = (&since[pair[0]], &since[pair[1]]);
                // Each token was used for Graph requests until its refresh was due (90 % of
                // its lifetime): a loop would fetch again at once, or never use it. Load can
                // only lengthen these gaps.
                let kept = b.at.duration_since(a.at).unwrap();
                assert!(
                    kept >= lifetime / 2,
                    "{name}: a new token after {kept:?}, lifetime {lifetime:?}: a refresh loop"
                );
                assert!(
                    since[pair[0]..pair[1]].iter().any(|r| r.had_bearer),
                    "{name}: a token was fetched and never used"
                );
            }
        }
        Check::OtherHostUntouched => env.other_host.assert_untouched(name),
    }
}

/// The collector's families are served with exactly the series and values of `before`.
fn assert_same_values(name: &str, before: &Metrics, now: &Metrics) {
    for family in FAMILIES {
        let values = |m: &Metrics| -> BTreeMap<String, u64> {
            m.named(family)
                .into_iter()
                .filter(|s| s.labels.get("tenant").map(String::as_str) == Some(name))
                .map(|s| (format!("{:?}", s.labels), s.value.to_bits()))
                .collect()
        };
        let (was, is) = (values(before), values(now));
        assert!(!was.is_empty(), "{name}: no {family} before the fault");
        assert!(
            was == is,
            "{name}: {family} changed: {} series before, {} now",
            was.len(),
            is.len()
        );
    }
}

/// Whether a log line belongs to `tenant`: fields are written `tenant="x"` or `tenant=x`.
fn is_for(line: &str, tenant: &str) -> bool {
    line.contains(&format!("tenant=\"{tenant}\"")) || line.contains(&format!("tenant={tenant} "))
}

/// Failed polls of `tenant` logged so far.
fn failed_polls(tenant: &str) -> usize {
    logs()
        .lines()
        .filter(|l| l.contains("poll failed") && is_for(l, tenant))
        .count()
}

/// The first poll-failed line of `tenant` containing `needle`, waiting for it; on timeout,
/// panics with the tenant's failure lines.
async fn wait_for_failed_poll_saying(tenant: &str, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let all = logs();
        let mut failures = all
            .lines()
            .filter(|l| l.contains("poll failed") && is_for(l, tenant));
        if let Some(line) = failures.clone().find(|l| l.contains(needle)) {
            return line.to_owned();
        }
        if Instant::now() > deadline {
            panic!(
                "{tenant}: no failed poll says {needle:?}; its failures:\n{}",
                failures.by_ref().collect::<Vec<_>>().join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `condition` until it holds, or panics after [`WAIT`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A listener standing for a host other than Graph: it counts requests, and those with an
/// `Authorization` header, and answers each with an empty page, so a client that followed a
/// link there would carry on.
struct OtherHost {
    url: String,
    requests: Arc<AtomicUsize>,
    authorized: Arc<AtomicUsize>,
}

impl OtherHost {
    async fn start() -> OtherHost {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let authorized = Arc::new(AtomicUsize::new(0));
        let (counter, with_token) = (requests.clone(), authorized.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (counter, with_token) = (counter.clone(), with_token.clone());
                tokio::spawn(async move {
                    let mut head = vec![0u8; 16 * 1024];
                    let n = socket.read(&mut head).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let text = String::from_utf8_lossy(&head[..n]).to_ascii_lowercase();
                    if text.contains("\r\nauthorization:") {
                        with_token.fetch_add(1, Ordering::SeqCst);
                    }
                    let body = r#"{"value":[]}"#;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        OtherHost {
            url,
            requests,
            authorized,
        }
    }

    /// Panics if any request, or any bearer token, reached this host.
    fn assert_untouched(&self, context: &str) {
        let (requests, authorized) = (
            self.requests.load(Ordering::SeqCst),
            self.authorized.load(Ordering::SeqCst),
        );
        assert_eq!(
            authorized, 0,
            "{context}: the other host received {authorized} Authorization headers"
        );
        assert_eq!(
            requests, 0,
            "{context}: the other host received {requests} requests"
        );
    }
}
