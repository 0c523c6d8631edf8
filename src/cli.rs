//! Command line: flags, logging set-up, and the three modes (serve, `--config.check`, `--demo`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::config::{Config, FileConfig, Overrides};
use crate::RunError;

/// Prometheus exporter for Microsoft Entra ID reports, read from Microsoft Graph.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// YAML config file (see docs/configuration.md). Without one, a single tenant is read
    /// from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.
    #[arg(long = "config.file", env = "ENTRA_EXPORTER_CONFIG_FILE")]
    pub config_file: Option<PathBuf>,

    /// Validate the configuration and exit: 0 when valid, 1 with the reason when not.
    #[arg(long = "config.check")]
    pub config_check: bool,

    /// Address to serve /metrics on; overrides web.listen_address
    /// (default 0.0.0.0:9725, or 127.0.0.1:9725 with --demo).
    #[arg(long = "web.listen-address", env = "ENTRA_EXPORTER_LISTEN_ADDRESS")]
    pub listen_address: Option<SocketAddr>,

    /// Log filter, e.g. `info` or `entra_exporter=debug`.
    #[arg(
        long = "log.level",
        env = "ENTRA_EXPORTER_LOG_LEVEL",
        default_value = "info"
    )]
    pub log_level: String,

    /// Log format.
    #[arg(long = "log.format", env = "ENTRA_EXPORTER_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// Start the Graph simulator in-process with a synthetic tenant and export it.
    #[arg(long)]
    pub demo: bool,

    /// Number of app registrations in the demo tenant.
    #[arg(long = "demo.applications", default_value_t = 300)]
    pub demo_applications: usize,
}

/// Parses the command line and runs; the process exit code says how it went.
pub fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args.log_level, &args.log_format);
    if args.config_check {
        return match load_config(&args) {
            Ok(c) => {
                println!(
                    "configuration is valid: {} tenant(s), collectors enabled: {}",
                    c.tenants.len(),
                    c.collectors
                        .iter()
                        .filter(|c| c.enabled)
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
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
    let file = match &args.config_file {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let overrides = Overrides {
        listen_address: args.listen_address,
    };
    Config::resolve(file, &|name| std::env::var(name).ok(), &overrides)
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
