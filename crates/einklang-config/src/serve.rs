//! `[serve]`: how `einklang serve` runs — the address it listens on, how
//! many runs it works on at once, how often the scheduler looks at the
//! clock, how long a shutdown waits for runs in flight and how webhook
//! calls are coalesced.

use crate::ctx::{Ctx, Val};

const KEYS: [&str; 9] = [
    "notify",
    "sweep_minutes",
    "recheck_hours",
    "cors_origins",
    "listen",
    "workers",
    "poll_seconds",
    "shutdown_seconds",
    "webhook_window_ms",
];

/// The service's settings (every key optional).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// `host:port` of the HTTP API (default `127.0.0.1:8484`: only this
    /// machine; put a reverse proxy with TLS in front for others).
    pub listen: String,
    /// Runs worked on at once by this process (default 2).
    pub workers: usize,
    /// Seconds between two looks of the scheduler and of idle workers at
    /// the queue (default 1).
    pub poll_seconds: u64,
    /// Seconds a SIGTERM waits for runs in flight before it abandons them
    /// (default 30).
    pub shutdown_seconds: u64,
    /// Webhook calls for a job within this many milliseconds of the run
    /// one started make one more run, not one each (default 2000).
    pub webhook_window_ms: u64,
    /// Every this many minutes, an ordinary run of each job that reads a
    /// connector taking webhooks, so a lost webhook only delays a change
    /// (default 15; 0: no sweep).
    pub sweep_minutes: u64,
    /// The first sweep after this many hours since the last thorough one
    /// compares every record (the engine's `full`): a record whose change
    /// no webhook and no source fingerprint reported is checked at least
    /// this often (default 24; 0: never).
    pub recheck_hours: u64,
    /// Browser origins allowed to call the API from their pages
    /// (`https://crm.example.com`, or `*` for any); none by default.
    pub cors_origins: Vec<String>,
    /// Where to tell of runs that failed or need review and of new
    /// conflicts and review pairs (`[[serve.notify]]`).
    pub notify: Vec<Notify>,
}

/// One notification target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// The URL posted to (a Slack incoming webhook, or any endpoint
    /// taking JSON); may hold a `${SECRET}`, never printed.
    pub url: String,
    /// `json` (einklang's event) or `slack` (`{"text": …}`).
    pub format: NotifyFormat,
    /// The events: `failed`, `needs_review`, `conflicts`, `reviews`.
    pub on: Vec<String>,
}

/// How a notification is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyFormat {
    /// einklang's own JSON event.
    Json,
    /// A Slack-compatible `{"text": …}`.
    Slack,
}

/// The events a notification target can take.
pub const NOTIFY_EVENTS: [&str; 4] = ["failed", "needs_review", "conflicts", "reviews"];

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: "127.0.0.1:8484".into(),
            workers: 2,
            poll_seconds: 1,
            shutdown_seconds: 30,
            webhook_window_ms: 2000,
            sweep_minutes: 15,
            recheck_hours: 24,
            cors_origins: Vec::new(),
            notify: Vec::new(),
        }
    }
}

/// `[[serve.notify]]`: a list of targets.
fn notify(ctx: &mut Ctx<'_>, v: &Val<'_>) -> Vec<Notify> {
    let Some(list) = v.get_ref().as_array() else {
        ctx.error(
            v.span(),
            "`serve.notify` must be a list of tables ([[serve.notify]])",
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in list.iter() {
        let Some(t) = ctx.table(item, "a `[[serve.notify]]` entry") else {
            continue;
        };
        ctx.unknown_keys(t, &["url", "format", "on"], "`[[serve.notify]]`");
        let Some(url_v) = t.get("url") else {
            ctx.error(item.span(), "a `[[serve.notify]]` entry needs a `url`");
            continue;
        };
        let Some((url, _)) = ctx.text_secret(url_v, "`serve.notify.url`") else {
            continue;
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            ctx.error(
                url_v.span(),
                "`serve.notify.url` must start with http:// or https://",
            );
        }
        let format = match t.get("format") {
            None => NotifyFormat::Json,
            Some(f) => match ctx.text(f, "`serve.notify.format`").as_deref() {
                Some("json") => NotifyFormat::Json,
                Some("slack") => NotifyFormat::Slack,
                other => {
                    ctx.error(
                        f.span(),
                        format!(
                            "`serve.notify.format` is `json` or `slack`, found {:?}",
                            other.unwrap_or("")
                        ),
                    );
                    NotifyFormat::Json
                }
            },
        };
        let on = match t.get("on") {
            None => NOTIFY_EVENTS.iter().map(|e| e.to_string()).collect(),
            Some(o) => {
                let list = ctx.texts(o, "`serve.notify.on`").unwrap_or_default();
                for (e, span) in &list {
                    if !NOTIFY_EVENTS.contains(&e.as_str()) {
                        ctx.error(span.clone(), format!("`serve.notify.on`: unknown event `{e}` (failed, needs_review, conflicts, reviews)"));
                    }
                }
                list.into_iter().map(|(e, _)| e).collect()
            }
        };
        out.push(Notify { url, format, on });
    }
    out
}

/// Parse `[serve]`.
pub fn parse(ctx: &mut Ctx<'_>, v: &Val<'_>) -> ServeConfig {
    let mut out = ServeConfig::default();
    let Some(t) = ctx.table(v, "`serve`") else {
        return out;
    };
    ctx.unknown_keys(t, &KEYS, "`serve`");
    if let Some(v) = t.get("listen") {
        if let Some(text) = ctx.text(v, "`serve.listen`") {
            match text.parse::<std::net::SocketAddr>() {
                Ok(_) => out.listen = text,
                Err(_) => ctx.error(
                    v.span(),
                    format!("`serve.listen` must be an address and port such as \"127.0.0.1:8484\", found \"{text}\""),
                ),
            }
        }
    }
    let mut positive = |key: &str, max: u64| -> Option<u64> {
        let v = t.get(key)?;
        let n = v
            .get_ref()
            .as_integer()
            .and_then(|i| i.as_str().replace('_', "").parse::<u64>().ok());
        match n {
            Some(n) if (1..=max).contains(&n) => Some(n),
            _ => {
                ctx.error(
                    v.span(),
                    format!("`serve.{key}` must be a whole number from 1 to {max}"),
                );
                None
            }
        }
    };
    if let Some(n) = positive("workers", 64) {
        out.workers = n as usize;
    }
    if let Some(n) = positive("poll_seconds", 3600) {
        out.poll_seconds = n;
    }
    if let Some(n) = positive("shutdown_seconds", 3600) {
        out.shutdown_seconds = n;
    }
    if let Some(n) = positive("webhook_window_ms", 3_600_000) {
        out.webhook_window_ms = n;
    }
    if let Some(v) = t.get("notify") {
        out.notify = notify(ctx, v);
    }
    if let Some(n) = whole(
        ctx,
        t.get("sweep_minutes"),
        "sweep_minutes",
        "no sweep",
        1440,
    ) {
        out.sweep_minutes = n;
    }
    if let Some(n) = whole(ctx, t.get("recheck_hours"), "recheck_hours", "never", 8760) {
        out.recheck_hours = n;
    }
    if let Some(v) = t.get("cors_origins") {
        out.cors_origins = cors_origins(ctx, v);
    }
    out
}

/// A whole number from 0 (meaning `zero`) to `max`.
fn whole(ctx: &mut Ctx<'_>, v: Option<&Val<'_>>, key: &str, zero: &str, max: u64) -> Option<u64> {
    let v = v?;
    let n = v
        .get_ref()
        .as_integer()
        .and_then(|i| i.as_str().replace('_', "").parse::<u64>().ok());
    match n {
        Some(n) if n <= max => Some(n),
        _ => {
            ctx.error(
                v.span(),
                format!("`serve.{key}` must be a whole number from 0 ({zero}) to {max}"),
            );
            None
        }
    }
}

/// `cors_origins`: `scheme://host[:port]` each, or `*`.
fn cors_origins(ctx: &mut Ctx<'_>, v: &Val<'_>) -> Vec<String> {
    let list = ctx.texts(v, "`serve.cors_origins`").unwrap_or_default();
    let mut out = Vec::new();
    for (origin, span) in list {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        let fine = origin == "*"
            || rest.is_some_and(|r| !r.is_empty() && !r.contains('/') && !r.contains('*'));
        if fine {
            out.push(origin);
        } else {
            ctx.error(
                span,
                format!("`serve.cors_origins`: an origin is `https://host[:port]` (no path) or `*`, found \"{origin}\""),
            );
        }
    }
    out
}
