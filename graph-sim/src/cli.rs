//! The `graph-sim` command line: flags, turning them into a [`SimConfig`], and running until
//! Ctrl-C. Kept in the library so `main.rs` stays a few lines and the parsing is testable.

use std::net::SocketAddr;

use clap::Parser;

use crate::config::{
    SimConfig, DEFAULT_ACTIVITY_RATE, DEFAULT_APPLICATIONS, DEFAULT_EXTRA_SERVICE_PRINCIPALS,
    DEFAULT_MAX_CREDENTIALS_PER_APP, DEFAULT_RELYING_PARTIES, DEFAULT_SEED, DEFAULT_USERS,
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
};
use crate::faults::FaultRule;
use crate::reports_throttle::ReportsThrottleConfig;
use crate::server::Simulator;
use crate::throttle::ThrottleConfig;

/// Default listen address: loopback, because the simulator hands out its demo secret freely.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Offline simulator of Microsoft Graph and the Entra ID token endpoint.
///
/// Meant for loopback: it accepts any address, but its demo credentials are public.
#[derive(Debug, Clone, Parser)]
#[command(name = "graph-sim", version, about, long_about = None)]
pub struct Args {
    /// Address to listen on (meant for loopback).
    #[arg(long, env = "GRAPH_SIM_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Seed of the generated tenant; the same seed gives the same tenant.
    #[arg(long, env = "GRAPH_SIM_SEED", default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Number of app registrations.
    #[arg(long, env = "GRAPH_SIM_APPLICATIONS", default_value_t = DEFAULT_APPLICATIONS)]
    pub applications: usize,
    /// Service principals beyond those of the tenant's own apps.
    #[arg(long, env = "GRAPH_SIM_EXTRA_SERVICE_PRINCIPALS", default_value_t = DEFAULT_EXTRA_SERVICE_PRINCIPALS)]
    pub extra_service_principals: usize,
    /// Credentials per object are drawn from 0..=this.
    #[arg(long, env = "GRAPH_SIM_MAX_CREDENTIALS_PER_APP", default_value_t = DEFAULT_MAX_CREDENTIALS_PER_APP)]
    pub max_credentials_per_app: usize,
    /// Tenant user count (picks the throttling tier: <50, 50–500, >500).
    #[arg(long, env = "GRAPH_SIM_USERS", default_value_t = DEFAULT_USERS)]
    pub users: u64,
    /// Access-token lifetime, e.g. 3599s, 1h, 2s.
    #[arg(long, env = "GRAPH_SIM_TOKEN_LIFETIME", default_value = "3599s")]
    pub token_lifetime: humantime::Duration,
    /// Fault rule, repeatable: ROUTE:FAULT[:skip=N][:times=N], e.g. applications:status=503:times=3,
    /// '*:throttle=2.5', token:latency=500ms, servicePrincipals:malformed,
    /// applications:truncated:skip=1, applications:drop, applications:slow=200ms,
    /// applications:html, applications:wrongshape, applications:huge=1GiB,
    /// applications:nextlink=self, applications:revoke:skip=1:times=1, token:skew=-10m.
    #[arg(long = "fault", value_name = "RULE")]
    pub faults: Vec<FaultRule>,
    /// Switch off resource-unit throttling.
    #[arg(long, env = "GRAPH_SIM_NO_THROTTLE")]
    pub no_throttle: bool,
    /// Simulate a tenant without Entra ID P1/P2: the licensed sign-in activity reports
    /// answer 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant.
    #[arg(long, env = "GRAPH_SIM_NO_PREMIUM_LICENCE")]
    pub no_premium_licence: bool,
    /// Number of AD FS relying parties in getRelyingPartyDetailedSummary.
    #[arg(long, env = "GRAPH_SIM_RELYING_PARTIES", default_value_t = DEFAULT_RELYING_PARTIES)]
    pub relying_parties: usize,
    /// Switch off the identity and access reports budget (5 requests per 10 s per app).
    #[arg(long, env = "GRAPH_SIM_NO_REPORTS_THROTTLE")]
    pub no_reports_throttle: bool,
    /// Multiplier of every activity stream (sign-ins, audits, provisioning); the application
    /// sign-in summaries follow it.
    #[arg(long, env = "GRAPH_SIM_ACTIVITY_RATE", default_value_t = DEFAULT_ACTIVITY_RATE)]
    pub activity_rate: f64,
    /// Simulate a tenant without Entra ID P2: sign-in risk fields read `hidden`.
    #[arg(long, env = "GRAPH_SIM_NO_P2_LICENCE")]
    pub no_p2_licence: bool,
}

impl Args {
    /// The simulator configuration these flags describe (demo defaults for the rest).
    pub fn to_config(&self) -> SimConfig {
        SimConfig {
            seed: self.seed,
            applications: self.applications,
            extra_service_principals: self.extra_service_principals,
            max_credentials_per_app: self.max_credentials_per_app,
            users: self.users,
            token_lifetime: self.token_lifetime.into(),
            faults: self.faults.clone(),
            throttle: if self.no_throttle {
                ThrottleConfig::disabled()
            } else {
                ThrottleConfig::default()
            },
            premium_licence: !self.no_premium_licence,
            activity_rate: self.activity_rate,
            p2_licence: !self.no_p2_licence,
            relying_parties: self.relying_parties,
            reports_throttle: if self.no_reports_throttle {
                ReportsThrottleConfig::disabled()
            } else {
                ReportsThrottleConfig::default()
            },
            ..SimConfig::demo()
        }
    }
}

/// Why the CLI stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The listen address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another graph-sim running? pick another --listen)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The simulator failed to start.
    #[error("cannot start the simulator: {0}")]
    Start(std::io::Error),
    /// Waiting for Ctrl-C failed.
    #[error("cannot wait for Ctrl-C: {0}")]
    Signal(std::io::Error),
}

/// Starts the simulator for `args` and serves until Ctrl-C.
pub async fn run(args: Args) -> Result<(), CliError> {
    let config = args.to_config();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| CliError::Bind {
            addr: args.listen,
            source,
        })?;
    let tenant_id = config.tenant_id.clone();
    let handle = Simulator::start(config, listener)
        .await
        .map_err(CliError::Start)?;
    let tenant = handle.tenant();
    tracing::info!(
        base_url = handle.base_url(),
        graph_root = %format!("{}/v1.0", handle.base_url()),
        token_url = %handle.token_url(),
        tenant_id = %tenant_id,
        applications = tenant.applications.len(),
        service_principals = tenant.service_principals.len(),
        "graph-sim serving"
    );
    // The demo credentials are fake and only open this simulator, so logging them is fine.
    tracing::info!(
        client_id = DEMO_CLIENT_ID,
        client_secret = DEMO_CLIENT_SECRET,
        "demo client credentials"
    );
    for rule in &handle.config().faults {
        tracing::info!(fault = %rule, "fault active");
    }
    let signal = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    signal.map_err(CliError::Signal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultKind;
    use std::time::Duration;

    #[test]
    fn flags_become_config() {
        let args = Args::try_parse_from([
            "graph-sim",
            "--seed",
            "7",
            "--applications",
            "12",
            "--token-lifetime",
            "2s",
            "--fault",
            "applications:status=503:times=3",
            "--fault",
            "*:throttle=2.5",
            "--no-throttle",
            "--relying-parties",
            "3",
            "--no-reports-throttle",
            "--activity-rate",
            "2.5",
            "--no-p2-licence",
        ])
        .expect("parse");
        let c = args.to_config();
        assert_eq!(c.seed, 7);
        assert_eq!(c.applications, 12);
        assert_eq!(c.token_lifetime, Duration::from_secs(2));
        assert_eq!(c.faults.len(), 2);
        assert_eq!(c.faults[0].kind, FaultKind::Status(503));
        assert!(!c.throttle.enabled);
        assert!(!c.reports_throttle.enabled);
        assert_eq!(c.relying_parties, 3);
        assert_eq!(c.activity_rate, 2.5);
        assert!(!c.p2_licence);
        assert!(c.premium_licence);
        assert_eq!(args.listen.to_string(), DEFAULT_LISTEN);
        let c = Args::try_parse_from(["graph-sim", "--no-premium-licence"])
            .expect("parse")
            .to_config();
        assert!(!c.premium_licence);
    }

    #[test]
    fn bad_fault_flags_are_rejected_with_the_reason() {
        let err = Args::try_parse_from(["graph-sim", "--fault", "apps:drop"]).expect_err("bad");
        assert!(err.to_string().contains("unknown route 'apps'"), "{err}");
    }
}
