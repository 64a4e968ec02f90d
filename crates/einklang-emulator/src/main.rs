//! `einklang-emulator`: the emulated SaaS APIs as a server of their own,
//! for benchmarks and trying examples by hand.
//!
//! ```sh
//! einklang-emulator --port 8099 --api-key demo-key
//! einklang-emulator --contacts 100000          # a free port; its URL on stdout
//! ```
//!
//! The first line on stdout is the base URL (`http://127.0.0.1:PORT`), once
//! the port is bound and seeded contacts are in place. Every system answers
//! under its prefix (see the library's docs): Kommo at `/api/v4/…`,
//! Microsoft Graph at `/graph/v1.0/…` (tokens at `/login/{tenant}/…`),
//! monday.com at `/monday/v2`, EspoCRM at `/espo/api/v1/…`, Advoware at
//! `/advoware/api/v1/…`. The flags set Kommo's auth and rate limit; the
//! other systems take their modules' default credentials (Graph tenant
//! `einklang-tenant`, client `einklang-graph-app` / `graph-s3cret`; monday
//! token `monday-token`; Espo key `espo-api-key`; Advoware app
//! `einklang-app`, user `einklang` / `advo-pass`, Kanzlei `KANZLEI`,
//! database `ADVOWARE`, key base64 of `advoware-test-key`).
//!
//! Control routes: `GET /_emulator/stats`, `POST /_emulator/reset-stats`,
//! `POST /_emulator/seed?count=N`, `POST /_emulator/touch?count=N` (Kommo
//! contacts); per system `POST /_emulator/{system}/seed` (a JSON list of
//! records and/or `count=N` made-up ones), `GET /_emulator/{system}/list`,
//! `GET /_emulator/{system}/count` with `{system}` one of `leads`, `graph`
//! (`?mailbox=`), `monday` (`?board=`; boards from `POST
//! /_emulator/monday/board`), `espo` (`?entity=`; `POST
//! /_emulator/espo/deliver` sends queued webhooks), `advoware`; `POST
//! /_emulator/drop-answers?count=N` (Kommo) and `POST
//! /_emulator/{graph,monday,espo,advoware}/drop-answers?count=N`: the next N
//! successful writes are applied and their connections closed without an
//! answer.

use clap::Parser;
use einklang_emulator::{Emulator, Options};
use std::io::Write;

/// Serve the emulated APIs (Kommo, Relay-style GraphQL, Microsoft Graph,
/// monday.com, EspoCRM, Advoware).
#[derive(Parser, Debug)]
#[command(name = "einklang-emulator")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port (0: a free one; the URL is printed on stdout).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed this many deterministic contacts (name, first_name, last_name,
    /// email, phone, city).
    #[arg(long, default_value_t = 0)]
    contacts: u64,
    /// How long ago the seeded contacts were written, in seconds.
    #[arg(long, default_value_t = 3600)]
    age_s: i64,
    /// Require this key in `X-Api-Key` (default: no auth).
    #[arg(long)]
    api_key: Option<String>,
    /// Require OAuth2 client credentials at /oauth2/token instead
    /// (CLIENT_ID:SECRET).
    #[arg(long, value_parser = client_pair)]
    oauth: Option<(String, String)>,
    /// Lifetime of OAuth2 tokens in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl_s: u64,
    /// Answer 429 with Retry-After past this many requests a second.
    #[arg(long)]
    rps: Option<u32>,
}

fn client_pair(v: &str) -> Result<(String, String), String> {
    let (id, secret) = v
        .split_once(':')
        .ok_or("--oauth must be CLIENT_ID:SECRET")?;
    Ok((id.to_string(), secret.to_string()))
}

fn main() {
    let args = Args::parse();
    let options = Options {
        rps: args.rps,
        oauth: args.oauth,
        token_ttl_s: args.token_ttl_s,
        api_key: args.api_key,
        ..Options::default()
    };
    let addr = format!("{}:{}", args.host, args.port);
    let emulator = match Emulator::start_on(&addr, options) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("einklang-emulator: cannot listen on {addr}: {e}");
            std::process::exit(2);
        }
    };
    if args.contacts > 0 {
        emulator
            .state
            .lock()
            .unwrap()
            .seed(args.contacts, args.age_s);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", emulator.url);
    let _ = out.flush();
    let u = &emulator.url;
    eprintln!(
        "einklang-emulator: {} contacts, serving {u}/api/v4/contacts and /leads, {u}/graph/v1.0, {u}/monday/v2, {u}/espo/api/v1, {u}/advoware/api/v1 (stats: {u}/_emulator/stats)",
        args.contacts
    );
    loop {
        std::thread::park();
    }
}
