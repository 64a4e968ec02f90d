//! `/records`: find records of an entity by a value in one field or in
//! any — an e-mail or phone number through the match keys at once, any
//! other value window by window (`GET /api/records/{entity}`); `/records/{entity}/{id}`: one record — its values, its links per
//! system, its history as a timeline (which system or person changed
//! what, when), its merges with **Unmerge**, **Sync now**;
//! `/records/{entity}/{id}/compare`: the hub's values beside each linked
//! system's, read live.

use super::html::{
    badge, chosen_entity, entity_field_pickers, layout, next_link, time, url, value,
};
use super::page::{OrPage, Page, PageResult};
use crate::records::{MergeQuery, SearchQuery};
use crate::Shared;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Json;
use einklang_store::{HistoryEntry, HubRecord, Role};
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

const PAGE: usize = 50;

#[derive(Deserialize)]
pub(crate) struct Find {
    entity: Option<String>,
    field: Option<String>,
    q: Option<String>,
    after: Option<i64>,
}

/// `/records`.
pub(crate) async fn search(
    State(s): State<Arc<Shared>>,
    p: Page,
    Query(f): Query<Find>,
) -> PageResult {
    let lang = p.lang;
    let config = s.config_of(p.caller.tenant()).or_page(lang)?;
    let entity = chosen_entity(&config, f.entity.as_deref());
    let field = f.field.clone().unwrap_or_default();
    let q = f.q.clone().unwrap_or_default().trim().to_string();
    let schema = config.entities.get(&entity);
    let found = match q.is_empty() || schema.is_none() {
        true => None,
        false => {
            let query = SearchQuery {
                field: Some(field.clone()),
                value: q.clone(),
                after: f.after,
                limit: Some(PAGE),
            };
            let Json(r) = crate::records::search(
                State(s.clone()),
                p.caller.clone(),
                Path(entity.clone()),
                Query(query),
            )
            .await
            .or_page(lang)?;
            Some(r)
        }
    };
    let shown: Vec<&str> = schema
        .map(|sc| sc.fields.iter().take(4).map(|f| f.name.as_str()).collect())
        .unwrap_or_default();
    let body = html! {
        form method="get" action="/records" class="filters" role="search" {
            (entity_field_pickers(lang, &config, (&entity, &field), lang.t("any field", "beliebiges Feld")))
            label { (lang.t("Value", "Wert")) " " input type="search" name="q" value=(q) required; }
            button type="submit" { (lang.t("Search", "Suchen")) }
        }
        @if let Ok(id) = q.parse::<i64>() {
            p { a href={ "/records/" (entity) "/" (id) } { (lang.t("Record", "Datensatz")) " #" (id) } }
        }
        @if let Some(found) = &found {
            @if found.records.is_empty() { p { (lang.t("Nothing found here.", "Hier nichts gefunden.")) } } @else {
                div class="scroll" { table {
                    thead { tr {
                        th scope="col" { "#" }
                        @for f in &shown { th scope="col" { (f) } }
                        th scope="col" { (lang.t("Updated", "Geändert")) }
                    } }
                    tbody { @for r in &found.records { tr {
                        td { a href={ "/records/" (entity) "/" (r.id) } { (r.id) } }
                        @for f in &shown { td { (value(r.values.get(*f).unwrap_or(&serde_json::Value::Null))) } }
                        td { (time(&r.updated_at)) }
                    } } }
                } }
            }
            @if found.next.is_some() && found.scanned_to > 0 {
                p class="hint" { (lang.t("Searched records up to", "Durchsucht bis Datensatz")) " #" (found.scanned_to) " " (lang.t("of", "von")) " #" (found.last_id) "." }
            }
            @if found.next == Some(0) && found.scanned_to == 0 {
                p class="pager" { a href=(url("/records", &[("entity", &entity), ("field", &field), ("q", &q), ("after", "0")])) { (lang.t("Found by e-mail or phone; search every field as well", "Über E-Mail oder Telefon gefunden; auch alle Felder durchsuchen")) " →" } }
            } @else {
                (next_link(lang, found.next.map(|n| url("/records", &[("entity", &entity), ("field", &field), ("q", &q), ("after", &n.to_string())]))))
            }
        }
    };
    Ok(Html(
        layout(&p, lang.t("Records", "Datensätze"), body).into_string(),
    ))
}

/// `/records/{entity}/{id}`.
pub(crate) async fn one(
    State(s): State<Arc<Shared>>,
    p: Page,
    Path((entity, id)): Path<(String, i64)>,
) -> PageResult {
    let lang = p.lang;
    let Json(shown) = crate::records::record(
        State(s.clone()),
        p.caller.clone(),
        Path((entity.clone(), id)),
    )
    .await
    .or_page(lang)?;
    let mq = MergeQuery {
        record: Some(id),
        limit: Some(100),
    };
    let Json(merges) = crate::records::merges(State(s.clone()), p.caller.clone(), Query(mq))
        .await
        .or_page(lang)?;
    let r = &shown.record;
    let operator = p.may(Role::Operator);
    let body = html! {
        (state_line(&p, r))
        p class="actions" {
            a href={ "/records/" (entity) "/" (id) "/compare" } { (lang.t("Compare with the systems", "Mit den Systemen vergleichen")) }
            @if operator && r.merged_into.is_none() {
                " "
                form data-api={ "/api/records/" (entity) "/sync" } data-body={ "{\"ids\":[" (id) "]}" } data-then="reload" class="inline" {
                    button type="submit" { (lang.t("Sync this record now", "Diesen Datensatz jetzt synchronisieren")) }
                }
            }
        }
        h2 { (lang.t("Values", "Werte")) }
        (values_table(lang, r))
        h2 { (lang.t("Links", "Verknüpfungen")) }
        @if shown.links.is_empty() { p { (lang.t("Not linked to any system yet.", "Noch mit keinem System verknüpft.")) } } @else {
            div class="scroll" { table {
                thead { tr {
                    th scope="col" { (lang.t("System", "System")) }
                    th scope="col" { (lang.t("Its id", "Dortige ID")) }
                    th scope="col" { (lang.t("Status", "Status")) }
                    th scope="col" { (lang.t("Last error", "Letzter Fehler")) }
                    th scope="col" { (lang.t("Updated", "Geändert")) }
                } }
                tbody { @for l in &shown.links { tr {
                    th scope="row" { (l.connector) }
                    td { code { (l.external_id) } }
                    td { (badge(l.status.as_str())) @if l.attempts > 0 { " (" (l.attempts) ")" } }
                    td { @if let Some(e) = &l.last_error { (e) } @else { "–" } }
                    td { (time(&l.updated_at)) }
                } } }
            } }
        }
        h2 { (lang.t("Merges", "Zusammenführungen")) }
        @if merges.merges.is_empty() { p { (lang.t("None.", "Keine.")) } } @else {
            ul class="merges" { @for m in &merges.merges {
                li {
                    (time(&m.created_at)) " · "
                    a href={ "/records/" (m.entity) "/" (m.merged) } { "#" (m.merged) } " → "
                    a href={ "/records/" (m.entity) "/" (m.survivor) } { "#" (m.survivor) }
                    " (" (format!("{:.3}", m.probability)) ", " (m.reason) ") " (badge(&m.status))
                    @if operator && m.undone_run.is_none() {
                        " "
                        form data-api={ "/api/records/" (m.entity) "/" (m.merged) "/unmerge" } data-then="reload" class="inline" {
                            button type="submit" { (lang.t("Unmerge", "Trennen")) " #" (m.merged) }
                        }
                    }
                }
            } }
        }
        h2 { (lang.t("History", "Verlauf")) }
        (timeline(lang, &shown.history))
    };
    let title = format!("{entity} #{id}");
    Ok(Html(layout(&p, &title, body).into_string()))
}

fn state_line(p: &Page, r: &HubRecord) -> Markup {
    let lang = p.lang;
    html! {
        p class="facts" {
            (lang.t("Created", "Angelegt")) " " (time(&r.created_at)) " · "
            (lang.t("updated", "geändert")) " " (time(&r.updated_at))
            @if let Some(s) = r.merged_into {
                " · " strong { (lang.t("merged into", "zusammengeführt in")) " " a href={ "/records/" (r.entity) "/" (s) } { "#" (s) } }
            }
            @if let Some(d) = &r.deleted_at { " · " strong { (lang.t("deleted", "gelöscht")) " " (time(d)) } }
        }
    }
}

fn values_table(lang: super::i18n::Lang, r: &HubRecord) -> Markup {
    html! {
        @if r.values.is_empty() { p { (lang.t("No values.", "Keine Werte.")) } } @else {
            table class="kv" { tbody { @for (k, v) in r.values.iter() { tr { th scope="row" { (k) } td { (value(v)) } } } } }
        }
    }
}

fn timeline(lang: super::i18n::Lang, history: &[HistoryEntry]) -> Markup {
    html! {
        @if history.is_empty() { p { (lang.t("No changes recorded.", "Keine Änderungen verzeichnet.")) } } @else {
            ol class="timeline" reversed {
                @for h in history.iter().rev() {
                    li {
                        p { (time(&h.at)) " · " strong { (h.origin) } " · " a href={ "/runs/" (h.run_id) } { (lang.t("run", "Lauf")) " #" (h.run_id) } }
                        ul { @for (field, c) in &h.changes {
                            li { code { (field) } ": " del { (value(&c.old)) } " → " ins { (value(&c.new)) } }
                        } }
                    }
                }
            }
        }
    }
}

/// `/records/{entity}/{id}/compare`.
pub(crate) async fn compare(
    State(s): State<Arc<Shared>>,
    p: Page,
    Path((entity, id)): Path<(String, i64)>,
) -> PageResult {
    let lang = p.lang;
    let Json(cmp) = crate::records::compare(
        State(s.clone()),
        p.caller.clone(),
        Path((entity.clone(), id)),
    )
    .await
    .or_page(lang)?;
    let body = html! {
        p { a href={ "/records/" (entity) "/" (id) } { "← " (entity) " #" (id) } }
        @if cmp.sides.is_empty() { p { (lang.t("Not linked to any system.", "Mit keinem System verknüpft.")) } }
        @for side in &cmp.sides {
            section {
                h2 { (side.connector) " " code { (side.external_id) } " " (badge(side.state)) }
                @if let Some(e) = &side.error { p class="error" { (e) } }
                div class="scroll" { table {
                    thead { tr {
                        th scope="col" { (lang.t("Field", "Feld")) }
                        th scope="col" { (lang.t("Hub", "Hub")) }
                        th scope="col" { (side.connector) }
                        th scope="col" { (lang.t("Last agreed", "Zuletzt abgeglichen")) }
                    } }
                    tbody { @for f in &side.fields {
                        tr class=[(!f.same).then_some("differs")] {
                            th scope="row" { (f.field) @if !f.same { " ≠" } }
                            td { (value(&f.hub)) }
                            td { (value(&f.remote)) }
                            td { (value(&f.base)) }
                        }
                    } }
                } }
            }
        }
    };
    let title = format!("{entity} #{id} · {}", lang.t("compare", "Vergleich"));
    Ok(Html(layout(&p, &title, body).into_string()))
}
