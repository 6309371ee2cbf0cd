//! The `docket` binary: parse the command line, load configuration, and hand over to the
//! library. Everything the server does lives in `docket-http`; this file stays thin.

mod admin;
mod config;
mod transfer;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{Common, Config, Overrides};
use tokio::net::TcpListener;

/// mimalloc rather than the system allocator: a request allocates many small short-lived
/// buffers on two threads (the HTTP worker and the SQLite writer), where glibc's malloc
/// spent about a tenth of the server's time in the status-change benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "docket", version, about = "Docket: a self-hosted request desk")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates SQLite on start; PostgreSQL only with `--migrate`).
    Serve(Overrides),
    /// Operator commands that work without the API.
    #[command(subcommand)]
    Admin(admin::Admin),
    /// Apply database migrations and exit.
    Migrate,
    /// Print the effective configuration as a commented TOML file (`--config` reads it).
    Config(Overrides),
    /// Write a workspace (or every workspace) as portable JSON lines.
    Export {
        /// The workspace's slug; every workspace when omitted.
        #[arg(long)]
        workspace: Option<String>,
        /// The file to write; stdout when omitted.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// Load a file written by `docket export` into this database (before the first serve).
    Import {
        /// The file `docket export` wrote.
        file: std::path::PathBuf,
    },
}

/// Runs the command; a failure is printed as one readable line (with its causes), never
/// as a debug dump or a backtrace, and exits with status 1.
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::Serve(o) | Command::Config(o) => o.clone(),
        _ => Overrides::default(),
    };
    let config = Config::load(&cli.common, &overrides)?;
    init_tracing(config.log_json);
    match cli.command {
        Command::Serve(_) => serve(config).await,
        Command::Admin(cmd) => admin::run(open_store(&config).await?.as_ref(), cmd).await,
        Command::Migrate => {
            docket_store::migrate(&config.store()).await?;
            println!("database is at the current schema");
            Ok(())
        }
        Command::Export { workspace, output } => {
            let store = open_store(&config).await?;
            transfer::export(store.as_ref(), workspace.as_deref(), output.as_deref()).await
        }
        Command::Import { file } => {
            let store = open_store(&config).await?;
            transfer::import(store.as_ref(), &file).await
        }
        Command::Config(_) => {
            print!("{}", config.render()?);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    let admin_token = std::env::var("DOCKET_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    if let Some(made) = docket_http::bootstrap::ensure_first_workspace(
        store.as_ref(),
        admin_token.as_deref(),
        &config.owner_email,
    )
    .await?
    {
        // Printed to stdout, not logged: logs are kept, this must be seen once.
        println!(
            "Created workspace '{}' with owner {}.",
            made.workspace.slug, made.owner_email
        );
        if admin_token.is_some() {
            println!("The owner token is the value of DOCKET_ADMIN_TOKEN.");
        } else {
            println!(
                "Owner token (shown once, keep it safe): {}",
                made.secret.expose()
            );
        }
    } else if admin_token.is_some() {
        tracing::warn!(
            "DOCKET_ADMIN_TOKEN is ignored: the database already has a workspace (it is read \
             only on the first start; issue tokens with `docket admin issue-token`)"
        );
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    docket_http::launch(config.settings(), store, listener, shutdown_signal()).await
}

/// Opens the configured database, naming it (password redacted) and the data directory
/// when that fails.
async fn open_store(config: &Config) -> anyhow::Result<std::sync::Arc<dyn docket_store::Store>> {
    let store = config.store();
    let url = store.database_url.clone().map_or_else(
        || format!("sqlite in {}", store.data_dir.display()),
        |u| docket_store::redact(&u),
    );
    docket_store::open(&store)
        .await
        .with_context(|| format!("opening the database ({url})"))
}

/// Resolves on SIGINT or SIGTERM; the server then drains in-flight requests.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
