//! `einklang-faultproxy`: the fault proxy as a process, for chaos runs
//! driven from a shell. It prints `listening on ADDR` and `control on
//! ADDR` and runs until killed; rules come from `--rule` and, while it
//! runs, from its control port:
//!
//! ```sh
//! einklang-faultproxy --mode http --upstream 127.0.0.1:5232 --control 127.0.0.1:7001 &
//! curl -s -d 'inject status=429 retry-after=2 times=1' http://127.0.0.1:7001/rules
//! curl -s http://127.0.0.1:7001/counters
//! curl -s -X DELETE http://127.0.0.1:7001/rules
//! ```

use clap::Parser;
use einklang_testkit::proxy::{FaultProxy, Mode, Rule};
use std::io::Write;

/// A TCP proxy that fails chosen HTTP requests or PostgreSQL statements.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where clients connect (port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// The real server, `HOST:PORT` (or a URL).
    #[arg(long)]
    upstream: String,
    /// `http` or `pg`.
    #[arg(long, default_value = "http")]
    mode: Mode,
    /// The control port (port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    control: String,
    /// A rule to start with (repeatable), e.g. `drop-answer method=POST times=1`.
    #[arg(long)]
    rule: Vec<Rule>,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let proxy = FaultProxy::start_on(&args.listen, args.mode, &args.upstream)?;
    for rule in args.rule {
        proxy.add(rule);
    }
    let control = proxy.serve_control(&args.control)?;
    let mut out = std::io::stdout();
    writeln!(out, "listening on {}", proxy.addr())?;
    writeln!(out, "control on {control}")?;
    out.flush()?;
    loop {
        std::thread::park();
    }
}
