//! The frame every page shares — head, navigation, language switch,
//! sign-out — and the small pieces pages are made of: times, statuses,
//! values, counters, the next-page link. [`maud`] escapes every value
//! written into a page; nothing here writes raw HTML.

use super::i18n::Lang;
use super::page::{encode, Page};
use chrono::{DateTime, Utc};
use maud::{html, Markup, DOCTYPE};
use serde_json::Value;

/// The navigation: path, English, German.
const NAV: [(&str, &str, &str); 7] = [
    ("/", "Overview", "Übersicht"),
    ("/runs", "Runs", "Läufe"),
    ("/records", "Records", "Datensätze"),
    ("/changes", "Recent changes", "Letzte Änderungen"),
    ("/conflicts", "Conflicts", "Konflikte"),
    ("/reviews", "Review queue", "Prüfliste"),
    ("/attention", "Needs attention", "Braucht Aufmerksamkeit"),
];

fn head(title: &str, csrf: Option<&str>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            @if let Some(c) = csrf { meta name="csrf-token" content=(c); }
            title { (title) " · einklang" }
            link rel="stylesheet" href="/assets/app.css";
            script src="/assets/app.js" defer {}
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title, None))
            body {
                main id="main" class="narrow" { (body) }
            }
        }
    }
}

/// A signed-in page: navigation with `p`'s path marked, then `body`.
pub fn layout(p: &Page, title: &str, body: Markup) -> Markup {
    let lang = p.lang;
    let here = p.path.split('?').next().unwrap_or("/");
    let current =
        |path: &str| path == here || (path != "/" && here.starts_with(&format!("{path}/")));
    let other = match lang {
        Lang::En => ("de", "Deutsch"),
        Lang::De => ("en", "English"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(title, p.csrf.as_deref()))
            body {
                a class="skip" href="#main" { (lang.t("Skip to content", "Zum Inhalt springen")) }
                header {
                    nav aria-label=(lang.t("Main", "Hauptnavigation")) {
                        a class="brand" href="/" { "einklang" }
                        ul {
                            @for (path, en, de) in NAV {
                                li {
                                    @if current(path) {
                                        a href=(path) aria-current="page" { (lang.t(en, de)) }
                                    } @else {
                                        a href=(path) { (lang.t(en, de)) }
                                    }
                                }
                            }
                        }
                    }
                    div class="who" {
                        span { (p.caller.0.name) " · " (p.caller.0.role.as_str()) }
                        a href={ "/lang/" (other.0) "?back=" (encode(&p.path)) } lang=(other.0) { (other.1) }
                        @if let Some(csrf) = &p.csrf {
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" class="link" { (lang.t("Sign out", "Abmelden")) }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    p id="notice" role="status" aria-live="polite" {}
                    (body)
                }
            }
        }
    }
}

/// A time as `2026-12-07 05:57 UTC`, machine-readable too.
pub fn time(t: &DateTime<Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M UTC")) } }
}

/// An optional time, or a dash.
pub fn maybe_time(t: Option<&DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => time(t),
        None => html! { "–" },
    }
}

/// A status as a badge (`succeeded`, `failed`, …): its class colours it,
/// its text says it.
pub fn badge(status: &str) -> Markup {
    html! { span class={ "badge s-" (status) } { (status) } }
}

/// A field's value: text as it is, anything else as JSON, none as a dash.
pub fn value(v: &Value) -> Markup {
    match v {
        Value::Null => html! { span class="none" { "–" } },
        Value::String(s) => html! { (s) },
        other => html! { code { (other.to_string()) } },
    }
}

/// Counters as `read 3 · created 1`, zeros left out.
pub fn counters(c: &einklang_store::Counters) -> Markup {
    let shown: Vec<String> = c
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    html! {
        @if shown.is_empty() { span class="none" { "–" } } @else { (shown.join(" · ")) }
    }
}

/// The link to the next page of a list, when there is one.
pub fn next_link(lang: Lang, href: Option<String>) -> Markup {
    html! {
        @if let Some(h) = href {
            p class="pager" { a href=(h) rel="next" { (lang.t("Next page", "Nächste Seite")) " →" } }
        }
    }
}

/// `base` with `extra` query pairs, values encoded.
pub fn url(base: &str, pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    match q.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", q.join("&")),
    }
}

/// The entity a page asked for when the config has it, else the first.
pub fn chosen_entity(config: &einklang_config::Config, asked: Option<&str>) -> String {
    asked
        .filter(|e| config.entities.contains_key(*e))
        .or_else(|| config.entities.keys().next().map(String::as_str))
        .unwrap_or_default()
        .to_string()
}

/// The entity and field pickers of a filter form: the field list offers
/// `none` (every field) first.
pub fn entity_field_pickers(
    lang: Lang,
    config: &einklang_config::Config,
    (entity, field): (&str, &str),
    none: &str,
) -> Markup {
    html! {
        label { (lang.t("Entity", "Entität")) " "
            select name="entity" { @for e in config.entities.keys() { option value=(e) selected[e == entity] { (e) } } }
        }
        label { (lang.t("Field", "Feld")) " "
            select name="field" {
                option value="" { (none) }
                @if let Some(sc) = config.entities.get(entity) {
                    @for fs in &sc.fields { option value=(fs.name) selected[fs.name == field] { (fs.name) } }
                }
            }
        }
    }
}

/// `s` cut to `max` characters, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    let cut = crate::clip(s, max);
    match cut.len() < s.len() {
        true => cut + "…",
        false => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a record holds, a page shows it as text: no tag,
        /// no attribute, no entity of its own survives.
        #[test]
        fn any_value_renders_as_text(text in ".{0,60}", n in any::<i64>()) {
            for v in [Value::String(text.clone()), serde_json::json!([text.clone(), n]), serde_json::json!({"k": text.clone()})] {
                let html = value(&v).into_string();
                let inner = html.trim_start_matches("<code>").trim_end_matches("</code>");
                prop_assert!(!inner.contains('<') && !inner.contains('>'), "{}", html);
                prop_assert!(!inner.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").replace("&quot;", "").contains('&'), "{}", html);
            }
        }

        #[test]
        fn urls_encode_every_value(v in ".{0,40}") {
            let u = url("/records", &[("q", &v)]);
            let query = u.strip_prefix("/records?q=").unwrap_or("");
            prop_assert_eq!(query.is_empty(), v.is_empty());
            prop_assert!(!query.contains(['&', '#', ' ', '"', '<', '?', '=']), "{}", u);
        }
    }

    #[test]
    fn clip_and_counters() {
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
        let c: einklang_store::Counters =
            [("read".to_string(), 3), ("created".to_string(), 0)].into();
        assert_eq!(counters(&c).into_string(), "read 3");
    }
}
