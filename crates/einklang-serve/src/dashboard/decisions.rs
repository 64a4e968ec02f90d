//! What a person decides. `/conflicts`: each open conflict with the last
//! agreed (base), the hub's and the system's value side by side, resolved
//! by taking one or typing a value. `/reviews`: the open review pairs;
//! `/reviews/{id}`: one pair side by side with each field's agreement and
//! weight and the score, **accept** / **reject** / **skip** — with the
//! keys `a`, `r`, `s` — moving on to the next pair, for fast triage.

use super::html::{badge, layout, next_link, time, value};
use super::page::{OrPage, Page, PageResult};
use crate::decisions::Listing;
use crate::Shared;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Json;
use einklang_store::{ConflictRow, Role};
use maud::{html, Markup};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(serde::Deserialize)]
pub(crate) struct Keyset {
    before: Option<i64>,
    after: Option<i64>,
}

/// `/conflicts?before=`.
pub(crate) async fn conflicts(
    State(s): State<Arc<Shared>>,
    p: Page,
    Query(from): Query<Keyset>,
) -> PageResult {
    let lang = p.lang;
    let q = Listing {
        limit: Some(50),
        before: from.before,
        ..Default::default()
    };
    let Json(open) = crate::decisions::conflicts(State(s.clone()), p.caller.clone(), Query(q))
        .await
        .or_page(lang)?;
    // the base: what the system and the hub last agreed on, from the link
    let mut bases: BTreeMap<i64, serde_json::Value> = BTreeMap::new();
    let records: Vec<(String, i64)> = open
        .conflicts
        .iter()
        .map(|c| (c.entity.clone(), c.record_id))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for (entity, id) in records {
        if let Ok(Json(shown)) =
            crate::records::record(State(s.clone()), p.caller.clone(), Path((entity, id))).await
        {
            for l in shown.links {
                bases.insert(
                    l.id,
                    serde_json::Value::Object(l.base.into_iter().collect()),
                );
            }
        }
    }
    let body = html! {
        @if open.conflicts.is_empty() { p { (lang.t("No open conflicts.", "Keine offenen Konflikte.")) } }
        @for c in &open.conflicts { (conflict(&p, c, bases.get(&c.link_id))) }
        (next_link(lang, open.next.map(|n| format!("/conflicts?before={n}"))))
    };
    Ok(Html(
        layout(&p, lang.t("Conflicts", "Konflikte"), body).into_string(),
    ))
}

fn conflict(p: &Page, c: &ConflictRow, base: Option<&serde_json::Value>) -> Markup {
    let lang = p.lang;
    let base = base
        .and_then(|b| b.get(&c.field))
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    let typed = match &c.hub_value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    html! {
        article class="card conflict" aria-labelledby={ "c-" (c.id) } {
            h2 id={ "c-" (c.id) } {
                a href={ "/records/" (c.entity) "/" (c.record_id) } { (c.entity) " #" (c.record_id) } " · " code { (c.field) }
            }
            p class="muted" { (time(&c.created_at)) " · " (lang.t("policy", "Regel")) " " (c.policy) }
            table class="sides" {
                thead { tr {
                    th scope="col" { (lang.t("Last agreed", "Zuletzt abgeglichen")) }
                    th scope="col" { (lang.t("Hub", "Hub")) }
                    th scope="col" { (c.connector) }
                } }
                tbody { tr {
                    td { (value(&base)) }
                    td { (value(&c.hub_value)) }
                    td { (value(&c.remote_value)) }
                } }
            }
            @if p.may(Role::Operator) {
                form data-api={ "/api/conflicts/" (c.id) "/resolve" } data-then="reload" class="resolve" {
                    button type="submit" name="take" value="hub" { (lang.t("Keep the hub's", "Hub-Wert behalten")) }
                    button type="submit" name="take" value=(c.connector) { (lang.t("Take", "Übernehmen:")) " " (c.connector) }
                }
                form data-api={ "/api/conflicts/" (c.id) "/resolve" } data-then="reload" class="resolve" {
                    label for={ "v-" (c.id) } { (lang.t("Or type the value", "Oder Wert eingeben")) }
                    input id={ "v-" (c.id) } name="value" value=(typed);
                    button type="submit" { (lang.t("Set", "Setzen")) }
                }
            }
        }
    }
}

/// `/reviews?after=`.
pub(crate) async fn queue(
    State(s): State<Arc<Shared>>,
    p: Page,
    Query(from): Query<Keyset>,
) -> PageResult {
    let lang = p.lang;
    let q = Listing {
        limit: Some(100),
        after: from.after,
        ..Default::default()
    };
    let Json(open) = crate::decisions::reviews(State(s.clone()), p.caller.clone(), Query(q))
        .await
        .or_page(lang)?;
    let body = html! {
        @if open.reviews.is_empty() { p { (lang.t("No pairs wait for review.", "Keine Paare warten auf Prüfung.")) } } @else {
            p { a class="button" href={ "/reviews/" (open.reviews[0].id) } { (lang.t("Start with the first pair", "Mit dem ersten Paar beginnen")) } " "
                span class="hint" { (lang.t("Keys on a pair: a accept, r reject, s skip.", "Tasten bei einem Paar: a annehmen, r ablehnen, s überspringen.")) } }
            div class="scroll" { table {
                thead { tr {
                    th scope="col" { (lang.t("Pair", "Paar")) }
                    th scope="col" { (lang.t("Entity", "Entität")) }
                    th scope="col" { (lang.t("Records", "Datensätze")) }
                    th scope="col" { (lang.t("Score", "Wert")) }
                    th scope="col" { (lang.t("Queued", "Eingereiht")) }
                } }
                tbody { @for r in &open.reviews { tr {
                    td { a href={ "/reviews/" (r.id) } { "#" (r.id) } }
                    td { (r.entity) }
                    td { "#" (r.a) " · #" (r.b) }
                    td { (format!("{:.3}", r.probability)) }
                    td { (time(&r.created_at)) }
                } } }
            } }
        }
        (next_link(lang, open.next.map(|n| format!("/reviews?after={n}"))))
    };
    Ok(Html(
        layout(&p, lang.t("Review queue", "Prüfliste"), body).into_string(),
    ))
}

/// `/reviews/{id}`.
pub(crate) async fn pair(State(s): State<Arc<Shared>>, p: Page, Path(id): Path<i64>) -> PageResult {
    let lang = p.lang;
    let Json(pair) = crate::decisions::review(State(s.clone()), p.caller.clone(), Path(id))
        .await
        .or_page(lang)?;
    // the next open pair in queue order, else the first (a skipped one)
    let mut next = None;
    for after in [id, 0] {
        let q = Listing {
            limit: Some(2),
            after: Some(after),
            ..Default::default()
        };
        let Json(open) = crate::decisions::reviews(State(s.clone()), p.caller.clone(), Query(q))
            .await
            .or_page(lang)?;
        next = open.reviews.iter().map(|r| r.id).find(|&r| r != id);
        if next.is_some() {
            break;
        }
    }
    let next_href = next.map_or("/reviews".to_string(), |n| format!("/reviews/{n}"));
    let r = &pair.review;
    let compared: std::collections::BTreeSet<&str> =
        pair.fields.iter().map(|f| f.field.as_str()).collect();
    let body = html! {
        p {
            (lang.t("Score of the pass", "Wert des Durchlaufs")) ": " strong { (format!("{:.3}", r.probability)) }
            " · " (lang.t("now, by the configured weights", "jetzt, nach den eingestellten Gewichten")) ": " (format!("{:.3}", pair.configured_probability))
            " · " (lang.t("merge from", "Zusammenführen ab")) " " (pair.auto_merge) ", " (lang.t("review from", "Prüfen ab")) " " (pair.review_threshold)
            " · " (badge(r.status.as_str()))
        }
        div class="scroll" { table class="pair" {
            thead { tr {
                th scope="col" { (lang.t("Field", "Feld")) }
                th scope="col" { a href={ "/records/" (r.entity) "/" (r.a) } { "#" (r.a) } }
                th scope="col" { a href={ "/records/" (r.entity) "/" (r.b) } { "#" (r.b) } }
                th scope="col" { (lang.t("Agreement", "Übereinstimmung")) }
                th scope="col" { (lang.t("Weight", "Gewicht")) }
            } }
            tbody {
                @for f in &pair.fields {
                    tr class=[(!f.counted).then_some("muted")] {
                        th scope="row" { (f.field) }
                        td { (value(&f.a)) }
                        td { (value(&f.b)) }
                        td { (format!("{:?}", f.level).to_lowercase()) }
                        td { (format!("{:+.2}", f.weight)) @if !f.counted { " (" (lang.t("not counted", "nicht gezählt")) ")" } }
                    }
                }
                @for (k, v) in pair.a.values.iter().filter(|(k, _)| !compared.contains(k.as_str())) {
                    tr class="muted" {
                        th scope="row" { (k) }
                        td { (value(v)) }
                        td { (value(pair.b.values.get(k).unwrap_or(&serde_json::Value::Null))) }
                        td colspan="2" { (lang.t("not compared", "nicht verglichen")) }
                    }
                }
            }
        } }
        div class="decide" {
            @if p.may(Role::Operator) && r.status == einklang_store::ReviewStatus::Open {
                form data-api={ "/api/reviews/" (id) "/accept" } data-then="go" data-next=(next_href) class="inline" {
                    button type="submit" data-key="a" aria-keyshortcuts="a" { (lang.t("Accept: same", "Annehmen: gleich")) " (a)" }
                }
                form data-api={ "/api/reviews/" (id) "/reject" } data-then="go" data-next=(next_href) class="inline" {
                    button type="submit" data-key="r" aria-keyshortcuts="r" { (lang.t("Reject: different", "Ablehnen: verschieden")) " (r)" }
                }
            }
            a href=(next_href) data-key="s" aria-keyshortcuts="s" class="button secondary" { (lang.t("Skip", "Überspringen")) " (s)" }
        }
    };
    let title = format!("{} #{id}", lang.t("Review pair", "Prüfpaar"));
    Ok(Html(layout(&p, &title, body).into_string()))
}
