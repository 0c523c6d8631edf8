//! Command line: flags, logging set-up, and the modes (serve, `--config.check`, `--demo`, and
//! the `backfill` subcommand).

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::RunError;

/// Prometheus exporter for Microsoft Entra ID reports, read from Microsoft Graph.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// YAML config file (see docs/configuration.md). Without one, a single tenant is read
    /// from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.
    #[arg(
        long = "config.file",
        env = "ENTRA_EXPORTER_CONFIG_FILE",
        global = true
    )]
    pub config_file: Option<PathBuf>,

    /// Validate the configuration and exit: 0 when valid, 1 with the reason when not.
    #[arg(long = "config.check")]
    pub config_check: bool,

    /// Address to serve /metrics on; overrides web.listen_address
    /// (default 0.0.0.0:9725, or 127.0.0.1:9725 with --demo).
    #[arg(long = "web.listen-address", env = "ENTRA_EXPORTER_LISTEN_ADDRESS")]
    pub listen_address: Option<SocketAddr>,

    /// TLS, basic auth and response headers for the HTTP server, in the Prometheus
    /// exporter-toolkit web configuration format.
    #[arg(long = "web.config.file", env = "ENTRA_EXPORTER_WEB_CONFIG_FILE")]
    pub web_config_file: Option<PathBuf>,

    /// This replica's index when tenants are split across replicas (a StatefulSet's pod
    /// ordinal). Each replica watches the tenants whose id hashes to its index.
    #[arg(
        long = "shard.index",
        env = "ENTRA_EXPORTER_SHARD_INDEX",
        requires = "shard_count"
    )]
    pub shard_index: Option<u32>,

    /// How many replicas share the tenants; 1 (or unset) watches them all.
    #[arg(
        long = "shard.count",
        env = "ENTRA_EXPORTER_SHARD_COUNT",
        requires = "shard_index"
    )]
    pub shard_count: Option<u32>,

    /// Log filter, e.g. `info` or `entra_exporter=debug`.
    #[arg(
        long = "log.level",
        env = "ENTRA_EXPORTER_LOG_LEVEL",
        default_value = "info",
        global = true
    )]
    pub log_level: String,

    /// Log format.
    #[arg(long = "log.format", env = "ENTRA_EXPORTER_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    pub log_format: String,

    /// Start the Graph simulator in-process with a synthetic tenant and export it.
    #[arg(long, global = true)]
    pub demo: bool,

    /// Number of app registrations in the demo tenant.
    #[arg(long = "demo.applications", default_value_t = 300, global = true)]
    pub demo_applications: usize,

    /// A subcommand; without one the exporter serves /metrics.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the history Graph keeps (30 days, 12 months) as OpenMetrics with timestamps, for
    /// `promtool tsdb create-blocks-from openmetrics FILE DIR`.
    Backfill {
        /// Output file; written beside itself and renamed into place when complete.
        #[arg(long)]
        out: PathBuf,
        /// A label added to every sample, as name=value; repeat it. Use the `job` and
        /// `instance` your Prometheus gives the exporter, so the history joins the live series.
        #[arg(long = "label", value_name = "NAME=VALUE")]
        labels: Vec<String>,
    },
}

/// Parses the command line and runs; the process exit code says how it went.
pub fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args.log_level, &args.log_format);
    if args.config_check {
        return match load_config(&args) {
            Ok(c) => {
                println!("configuration is valid: {} tenant(s)", c.tenants.len());
                for t in &c.tenants {
                    let enabled: Vec<&str> = t
                        .collectors
                        .iter()
                        .filter(|c| c.enabled)
                        .map(|c| c.name)
                        .collect();
                    println!(
                        "  {}: credential {} ({}); collectors: {}",
                        t.label,
                        t.credential.mode(),
                        t.credential_reason,
                        enabled.join(", ")
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("configuration is invalid: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Command::Backfill { out, labels }) = &args.command {
        return runtime.block_on(backfill(&args, out, labels));
    }
    let result = runtime.block_on(async {
        if args.demo {
            return run_demo(&args).await;
        }
        let config = load_config(&args)?;
        let listener = crate::bind(config.listen_address).await?;
        tracing::info!(address = %config.listen_address, tenants = config.tenants.len(), "serving /metrics");
        crate::run(config, listener, crate::shutdown_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "exiting");
            ExitCode::FAILURE
        }
    }
}

/// `backfill`: against the configured tenants, or with `--demo` against an in-process simulator.
async fn backfill(args: &Args, out: &std::path::Path, labels: &[String]) -> ExitCode {
    let extra_labels = match labels
        .iter()
        .map(|l| crate::backfill::parse_label(l))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let options = crate::backfill::Options {
        out: out.to_owned(),
        extra_labels,
        progress_bar: std::io::stderr().is_terminal(),
    };
    let result = if args.demo {
        demo_backfill(args, &options).await
    } else {
        match load_config(args) {
            Ok(config) => crate::backfill::run(&config, &options)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(format!("configuration is invalid: {e}")),
        }
    };
    match result {
        Ok(summary) => {
            tracing::info!(
                file = %out.display(),
                series = summary.series,
                samples = summary.samples,
                skipped = summary.skipped.len(),
                "backfill written; next: promtool tsdb create-blocks-from openmetrics {} <prometheus data dir>",
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "backfill failed; nothing was written");
            ExitCode::FAILURE
        }
    }
}

#[cfg(feature = "demo")]
async fn demo_backfill(
    args: &Args,
    options: &crate::backfill::Options,
) -> Result<crate::backfill::Summary, String> {
    crate::demo::backfill(args.demo_applications, options)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "demo"))]
async fn demo_backfill(
    _: &Args,
    _: &crate::backfill::Options,
) -> Result<crate::backfill::Summary, String> {
    Err("this build has no simulator; rebuild with the `demo` feature".into())
}

#[cfg(feature = "demo")]
async fn run_demo(args: &Args) -> Result<(), RunError> {
    crate::demo::run(args.listen_address, args.demo_applications).await
}

#[cfg(not(feature = "demo"))]
async fn run_demo(_: &Args) -> Result<(), RunError> {
    Err(RunError::Config(crate::config::ConfigError::Invalid {
        key: "--demo".into(),
        reason: "this build has no simulator; rebuild with the `demo` feature".into(),
    }))
}

fn load_config(args: &Args) -> Result<Config, crate::config::ConfigError> {
    let overrides = Overrides {
        listen_address: args.listen_address,
        shard: match (args.shard_index, args.shard_count) {
            (Some(index), Some(count)) => Some(crate::config::Shard { index, count }),
            _ => None,
        },
        web_config_file: args.web_config_file.clone(),
    };
    crate::config::load(
        args.config_file.as_deref(),
        &|name| std::env::var(name).ok(),
        &overrides,
    )
}

fn init_logging(level: &str, format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
