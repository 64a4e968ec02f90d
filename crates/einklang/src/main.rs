//! The `einklang` binary: one module per subcommand under [`cmd`]; errors
//! become `anyhow` here at the edge.

mod cmd;
mod exit;
mod progress;
mod table;

/// mimalloc: a pull allocates many small maps on worker threads and frees
/// them on the applier's; glibc's allocator spends much of a run on that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// einklang — a self-hosted sync hub for a small business's records.
#[derive(Parser, Debug)]
#[command(name = "einklang", version, about)]
struct Cli {
    /// The config file.
    #[arg(
        short,
        long,
        global = true,
        env = "EINKLANG_CONFIG",
        default_value = "einklang.toml"
    )]
    config: PathBuf,
    /// The tenant to work as, when the config serves several
    /// (`[tenants]`); default: the config's `tenant`.
    #[arg(long, global = true, env = "EINKLANG_TENANT")]
    tenant: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate the config file: every problem, with file:line:col
    /// (`--connect`: also reach every connector with its credentials).
    Check(cmd::check::Args),
    /// Run a job once.
    Sync(cmd::sync::Args),
    /// Show what a sync of the job would change, without writing anything.
    Plan(cmd::plan::Args),
    /// List the latest runs.
    Runs(cmd::runs::Args),
    /// Show one hub record with its links and history.
    Show(cmd::show::Args),
    /// List rejected records.
    Quarantine(cmd::quarantine::Args),
    /// List conflicts held for review.
    Conflicts(cmd::conflicts::Args),
    /// Decide a conflict: keep the hub's value, take a connector's, or set one.
    Resolve(cmd::resolve::Args),
    /// Find duplicates of an entity in the hub and merge them, queueing
    /// the uncertain pairs for review (`--dry-run`: only show them).
    Dedupe(cmd::dedupe::Args),
    /// The snapshots refresh runs staged: list, show, drop.
    Staging(cmd::staging::Args),
    /// What changed between the last two applied snapshots of an entity.
    Changes(cmd::changes::Args),
    /// Apply a held refresh (needs_review: its snapshot dropped more than max_drop).
    Approve(cmd::staging::ApproveArgs),
    /// Explain, field by field, how two hub records score as a match.
    Explain(cmd::dedupe::ExplainArgs),
    /// List the pairs waiting for review, or `accept`/`reject` one.
    Review(cmd::review::Args),
    /// Undo the merge that merged RECORD into another record.
    Unmerge(cmd::review::UnmergeArgs),
    /// List merges (of one record with `--record`).
    Merges(cmd::review::MergesArgs),
    /// Check every invariant of the hub store and the links it keeps
    /// (`--repair`: fix what is safe to fix, as a run of its own).
    Doctor(cmd::doctor::Args),
    /// Run as a service: HTTP API, run queue and workers, schedules
    /// (`[serve]` in the config; stops on SIGTERM or Ctrl-C).
    Serve(cmd::serve::Args),
    /// Make, list and revoke the API tokens of `serve`.
    Token {
        #[command(subcommand)]
        action: cmd::serve::Action,
    },
    /// List the connector kinds and what they can do.
    Connectors,
    /// Set up a configured connector on its remote (`install NAME`).
    Connector {
        #[command(subcommand)]
        action: cmd::connector::Action,
    },
}

fn main() -> ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    init_logging();
    if let Some(t) = &cli.tenant {
        // read by every command's config loading (`cmd::tenant_of`)
        std::env::set_var("EINKLANG_TENANT", t);
    }
    let result = match &cli.command {
        Command::Check(args) => cmd::check::run(&cli.config, args),
        Command::Sync(args) => cmd::sync::run(&cli.config, args),
        Command::Plan(args) => cmd::plan::run(&cli.config, args),
        Command::Runs(args) => cmd::runs::run(&cli.config, args),
        Command::Show(args) => cmd::show::run(&cli.config, args),
        Command::Quarantine(args) => cmd::quarantine::run(&cli.config, args),
        Command::Conflicts(args) => cmd::conflicts::run(&cli.config, args),
        Command::Resolve(args) => cmd::resolve::run(&cli.config, args),
        Command::Dedupe(args) => cmd::dedupe::run(&cli.config, args),
        Command::Staging(args) => cmd::staging::run(&cli.config, args),
        Command::Changes(args) => cmd::changes::run(&cli.config, args),
        Command::Approve(args) => cmd::staging::approve(&cli.config, args),
        Command::Explain(args) => cmd::dedupe::explain(&cli.config, args),
        Command::Review(args) => cmd::review::run(&cli.config, args),
        Command::Unmerge(args) => cmd::review::unmerge(&cli.config, args),
        Command::Merges(args) => cmd::review::merges(&cli.config, args),
        Command::Doctor(args) => cmd::doctor::run(&cli.config, args),
        Command::Serve(args) => cmd::serve::run(&cli.config, args),
        Command::Token { action } => cmd::serve::token(&cli.config, action),
        Command::Connectors => cmd::connectors::run(),
        Command::Connector { action } => cmd::connector::run(&cli.config, action),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit::of_error(&e)
        }
    }
}

/// `einklang runs | head` closes stdout early; `print!` then panics with
/// "Broken pipe". Exit quietly instead, like other command-line tools
/// (resetting SIGPIPE would need `unsafe`, which the workspace forbids).
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Structured logs on stderr; level from `EINKLANG_LOG` (default `warn`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EINKLANG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // colours only for a person at a terminal, never in files and pipes
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}
