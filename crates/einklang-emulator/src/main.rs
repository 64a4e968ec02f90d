//! `einklang-emulator`: the Kommo-style REST (and GraphQL) emulator as a
//! server of its own, for benchmarks and trying examples by hand.
//!
//! ```sh
//! einklang-emulator --port 8099 --api-key demo-key
//! einklang-emulator --contacts 100000          # a free port; its URL on stdout
//! ```
//!
//! The first line on stdout is the base URL (`http://127.0.0.1:PORT`), once
//! the port is bound and seeded contacts are in place. Control routes:
//! `GET /_emulator/stats`, `POST /_emulator/reset-stats`,
//! `POST /_emulator/seed?count=N`, `POST /_emulator/touch?count=N`.

use einklang_emulator::{Emulator, Options};
use std::io::Write;

const USAGE: &str = "\
usage: einklang-emulator [--host H] [--port P] [--contacts N] [--age-s S]
                         [--api-key KEY] [--oauth CLIENT_ID:SECRET] [--token-ttl-s S]
                         [--rps N]

  --host         address to listen on (default 127.0.0.1)
  --port         port (default 0: a free one; the URL is printed on stdout)
  --contacts     seed N deterministic contacts (name, first_name, last_name,
                 email, phone, city), written --age-s seconds ago (default 3600)
  --api-key      require this key in X-Api-Key (default: no auth)
  --oauth        require OAuth2 client credentials at /oauth2/token instead
  --token-ttl-s  lifetime of OAuth2 tokens (default 3600)
  --rps          answer 429 with Retry-After past N requests a second";

fn main() {
    if let Err(message) = run() {
        eprintln!("einklang-emulator: {message}\n\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut host = "127.0.0.1".to_string();
    let mut port: u16 = 0;
    let mut contacts: u64 = 0;
    let mut age_s: i64 = 3600;
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            return Ok(());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{flag} must be a number, not {v:?}"))
        }
        match flag.as_str() {
            "--host" => host = value()?,
            "--port" => port = num(&flag, value()?)?,
            "--contacts" => contacts = num(&flag, value()?)?,
            "--age-s" => age_s = num(&flag, value()?)?,
            "--api-key" => options.api_key = Some(value()?),
            "--oauth" => {
                let v = value()?;
                let (id, secret) = v
                    .split_once(':')
                    .ok_or("--oauth must be CLIENT_ID:SECRET")?;
                options.oauth = Some((id.to_string(), secret.to_string()));
            }
            "--token-ttl-s" => options.token_ttl_s = num(&flag, value()?)?,
            "--rps" => options.rps = Some(num(&flag, value()?)?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let emulator = Emulator::start_on(&format!("{host}:{port}"), options)
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    if contacts > 0 {
        emulator.state.lock().unwrap().seed(contacts, age_s);
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", emulator.url);
    let _ = out.flush();
    eprintln!(
        "einklang-emulator: {} contacts, serving {}/api/v4/contacts (stats: {}/_emulator/stats)",
        contacts, emulator.url, emulator.url
    );
    loop {
        std::thread::park();
    }
}
