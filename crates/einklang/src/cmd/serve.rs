//! `einklang serve`: the always-on service (`einklang-serve`), and
//! `einklang token create|list|revoke`, the API tokens it checks.

use crate::table::Table;
use einklang_store::Role;
use std::path::Path;
use std::process::ExitCode;

/// `einklang serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Listen here instead of `[serve] listen` (`host:port`).
    #[arg(long)]
    listen: Option<String>,
}

/// Run the service until SIGTERM or Ctrl-C.
pub fn run(path: &Path, args: &Args) -> anyhow::Result<ExitCode> {
    // every tenant of the config, or the one `--tenant` names
    let config = match std::env::var_os("EINKLANG_TENANT") {
        Some(_) => super::load_config(path)?,
        None => super::load_all_tenants(path)?,
    };
    einklang_serve::service::serve(config, args.listen.clone())?;
    Ok(ExitCode::SUCCESS)
}

/// `einklang token …`.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Make a token; it is printed once and kept only as a hash.
    Create {
        /// Its name (what runs it triggers are recorded as: `token:NAME`).
        name: String,
        /// viewer (read), operator (also run, resolve, review) or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
    /// The tenant's tokens, live and revoked.
    List,
    /// Revoke a token for good.
    Revoke {
        /// Its name.
        name: String,
    },
}

/// Run a token action.
pub fn token(path: &Path, action: &Action) -> anyhow::Result<ExitCode> {
    let config = super::load_hub_config(path)?;
    let mut store = super::open_store(&config)?;
    // scoped to the tenant chosen with --tenant (else the config's)
    let tenant = config.tenant.clone();
    match action {
        Action::Create { name, role } => {
            let role = Role::parse(role).ok_or_else(|| {
                crate::exit::Usage(format!("unknown role `{role}`: viewer, operator or admin"))
            })?;
            let token = einklang_serve::auth::new_token();
            let hash = einklang_serve::auth::hash(&token);
            if !store.add_token(&tenant, name, role, &hash)? {
                return Err(crate::exit::Usage(format!(
                    "tenant `{tenant}` has a token named `{name}` already: revoke it first or pick another name"
                ))
                .into());
            }
            eprintln!(
                "token `{name}` ({}, tenant `{tenant}`): shown once, keep it safe",
                role.as_str()
            );
            println!("{token}");
        }
        Action::List => {
            let mut table = Table::new(&["name", "role", "created", "last used", "revoked"]);
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
            };
            for t in store.tokens(&tenant)? {
                table.row(vec![
                    t.name.clone(),
                    t.role.as_str().to_string(),
                    when(Some(t.created_at)),
                    when(t.last_used_at),
                    when(t.revoked_at),
                ]);
            }
            print!("{table}");
        }
        Action::Revoke { name } => {
            if !store.revoke_token(&tenant, name)? {
                return Err(crate::exit::Usage(format!(
                    "tenant `{tenant}` has no live token named `{name}`"
                ))
                .into());
            }
            eprintln!("token `{name}` revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
