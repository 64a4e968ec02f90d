//! `[retry]`: when a failed write to a link is tried again.

use crate::ctx::{number, shown, Ctx, Val};
use crate::RetryPolicy;
use toml::de::DeValue;

const RETRY_KEYS: [&str; 3] = ["delays", "reset_after", "jitter"];
const DURATION_HELP: &str = "a whole number and a unit s, m, h or d, such as \"90s\" or \"4h\"";

/// Parse `[retry]`; what is missing or wrong keeps its default.
pub fn parse(ctx: &mut Ctx<'_>, v: &Val<'_>) -> RetryPolicy {
    let mut retry = RetryPolicy::default();
    let Some(t) = ctx.table(v, "`retry`") else {
        return retry;
    };
    ctx.unknown_keys(t, &RETRY_KEYS, "[retry]");
    if let Some(d) = t.get("delays").and_then(|d| delays(ctx, d)) {
        retry.delays_secs = d;
    }
    if let Some(r) = t.get("reset_after") {
        match duration(ctx, "`retry.reset_after`", r) {
            Some(0) => ctx.error(r.span(), "`retry.reset_after` must be longer than 0s"),
            Some(secs) => retry.reset_after_secs = secs,
            None => {}
        }
    }
    if let Some(j) = t.get("jitter") {
        match number(j.get_ref()) {
            Some(x) if (0.0..1.0).contains(&x) => retry.jitter = x,
            _ => ctx.error(
                j.span(),
                format!(
                    "`retry.jitter` must be a number from 0 up to (not including) 1, such as 0.1; found {}",
                    shown(j.get_ref())
                ),
            ),
        }
    }
    retry
}

/// The delays in seconds, when every one is a duration and none is
/// shorter than the one before.
fn delays(ctx: &mut Ctx<'_>, v: &Val<'_>) -> Option<Vec<u64>> {
    let what = "`retry.delays`";
    let items: Vec<&Val<'_>> = match v.get_ref() {
        DeValue::Array(items) => items.iter().collect(),
        DeValue::String(_) => vec![v],
        other => {
            ctx.error(
                v.span(),
                format!(
                    "{what} must be a list of durations such as [\"1m\", \"1h\"], found {}",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    if items.is_empty() {
        ctx.error(
            v.span(),
            format!("{what} needs at least one delay, such as [\"1m\", \"1h\"]"),
        );
        return None;
    }
    let mut out: Vec<u64> = Vec::new();
    let mut fits = true;
    let mut before: Option<(u64, String)> = None;
    for item in items {
        let Some(secs) = duration(ctx, what, item) else {
            fits = false;
            continue;
        };
        let text = shown(item.get_ref());
        if let Some((_, prev)) = before.as_ref().filter(|(p, _)| secs < *p) {
            ctx.error(
                item.span(),
                format!("{what}: {text} is shorter than the delay before it, {prev}; delays must not decrease"),
            );
            fits = false;
            continue;
        }
        before = Some((secs, text));
        out.push(secs);
    }
    fits.then_some(out)
}

/// A duration such as `"90s"` in seconds, or reports why not.
fn duration(ctx: &mut Ctx<'_>, what: &str, v: &Val<'_>) -> Option<u64> {
    let secs = v.get_ref().as_str().and_then(parse_duration);
    if secs.is_none() {
        let tip = match v.get_ref() {
            DeValue::Integer(i) => format!(" — did you mean \"{}s\"?", i.as_str()),
            _ => String::new(),
        };
        ctx.error(
            v.span(),
            format!(
                "{what}: {} is not a duration: write {DURATION_HELP}{tip}",
                shown(v.get_ref())
            ),
        );
    }
    secs
}

/// `"90s"`, `"5m"`, `"1h"`, `"2d"` in seconds; None when malformed or too long.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let digits = &s[..s.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("5m"), Some(300));
        assert_eq!(parse_duration(" 1h "), Some(3600));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("0s"), Some(0));
        for bad in [
            "",
            "s",
            "5",
            "1.5h",
            "-1m",
            "5 m",
            "1w",
            "ä",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
