//! `/changes` (seed 004's "Recent changes"): field-level changes of an
//! entity — between its last two snapshots, or everything since a time —
//! with counts per field, filtered by field, and the same as CSV
//! (`GET /api/changes/{entity}/csv`).

use super::html::{chosen_entity, entity_field_pickers, layout, url, value};
use super::page::{OrPage, Page, PageResult};
use crate::snapshots::ChangesQuery;
use crate::Shared;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Json;
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub(crate) struct Filter {
    entity: Option<String>,
    field: Option<String>,
    since: Option<String>,
    after: Option<i64>,
}

/// A `datetime-local` value (`2026-12-01T08:00`) or RFC 3339 as RFC 3339
/// (UTC).
fn rfc3339(since: &str) -> String {
    match since.len() {
        16 => format!("{since}:00Z"),
        19 => format!("{since}Z"),
        _ => since.to_string(),
    }
}

/// `/changes`.
pub(crate) async fn page(
    State(s): State<Arc<Shared>>,
    p: Page,
    Query(f): Query<Filter>,
) -> PageResult {
    let lang = p.lang;
    let config = s.config_of(p.caller.tenant()).or_page(lang)?;
    let entity = chosen_entity(&config, f.entity.as_deref());
    let field = f.field.clone().unwrap_or_default();
    let since = f.since.clone().unwrap_or_default();
    let q = ChangesQuery {
        since: (!since.is_empty()).then(|| rfc3339(&since)),
        after: f.after,
        field: (!field.is_empty()).then(|| field.clone()),
        limit: Some(200),
    };
    let answer = match entity.is_empty() {
        true => None,
        false => {
            let Json(a) = crate::snapshots::changes(
                State(s.clone()),
                p.caller.clone(),
                Path(entity.clone()),
                Query(q),
            )
            .await
            .or_page(lang)?;
            Some(a)
        }
    };
    let csv = url(
        &format!("/api/changes/{}/csv", super::page::encode(&entity)),
        &[
            ("field", &field),
            (
                "since",
                &(if since.is_empty() {
                    String::new()
                } else {
                    rfc3339(&since)
                }),
            ),
        ],
    );
    let body = html! {
        form method="get" action="/changes" class="filters" {
            (entity_field_pickers(lang, &config, (&entity, &field), lang.t("all fields", "alle Felder")))
            label { (lang.t("Since (UTC)", "Seit (UTC)")) " " input type="datetime-local" name="since" value=(since.get(..16).unwrap_or(&since)); }
            button type="submit" { (lang.t("Show", "Anzeigen")) }
        }
        p class="hint" { (lang.t(
            "Without a time: the changes between the last two snapshots of a refresh. With one: every change the history holds since then, from any system.",
            "Ohne Zeit: die Änderungen zwischen den letzten beiden Ständen einer Aktualisierung. Mit Zeit: jede Änderung seitdem aus dem Verlauf, aus jedem System."
        )) }
        @if let Some(a) = &answer {
            p { strong { (a.total) } " " (lang.t("changes", "Änderungen")) " · " a href=(csv) download { (lang.t("Download as CSV", "Als CSV herunterladen")) } }
            @if let (Some(to), Some(next)) = (&a.counted_to, a.next) {
                p class="hint" {
                    (lang.t("A long span: counted up to", "Ein langer Zeitraum: gezählt bis")) " " (to) ". "
                    a href=(url("/changes", &[("entity", &entity), ("field", &field), ("since", &since), ("after", &next.to_string())])) { (lang.t("Count on from there", "Von dort weiterzählen")) }
                }
            }
            @if !a.counts.is_empty() {
                h2 { (lang.t("Per field", "Je Feld")) }
                ul class="counts" { @for (k, n) in &a.counts {
                    li { a href=(url("/changes", &[("entity", &entity), ("field", k.split_once(' ').map_or("", |(_, f)| f)), ("since", &since)])) { code { (k) } } " " (n) }
                } }
            }
            @if !a.changes.is_empty() {
                h2 { (lang.t("Changes", "Änderungen")) }
                div class="scroll" { table {
                    thead { tr {
                        th scope="col" { (lang.t("Record", "Datensatz")) }
                        th scope="col" { (lang.t("Change", "Änderung")) }
                        th scope="col" { (lang.t("Field", "Feld")) }
                        th scope="col" { (lang.t("Before", "Vorher")) }
                        th scope="col" { (lang.t("After", "Nachher")) }
                        th scope="col" { (lang.t("By", "Durch")) }
                        th scope="col" { (lang.t("When", "Wann")) }
                    } }
                    tbody { @for c in &a.changes { tr {
                        td { @if let Some(r) = c.record { a href={ "/records/" (entity) "/" (r) } { "#" (r) } } @else if let Some(x) = &c.external_id { code { (x) } } }
                        td { (c.change) }
                        td { code { (c.field) } }
                        td { @if let Some(v) = &c.old { (value(v)) } }
                        td { @if let Some(v) = &c.new { (value(v)) } }
                        td { @if let Some(o) = &c.origin { (o) } }
                        td { @if let Some(t) = &c.at { (t) } }
                    } } }
                } }
            }
        }
    };
    Ok(Html(
        layout(&p, lang.t("Recent changes", "Letzte Änderungen"), body).into_string(),
    ))
}
