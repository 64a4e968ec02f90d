//! `/attention`: links that failed to reach their system — failed (will
//! retry) and permanently failed (gave up) — with the error and **Retry
//! now** (`POST /api/links/{id}/retry`: due at once, the record synced
//! now).
//! Paged by link id; filtered by connector.

use super::html::{badge, layout, maybe_time, next_link, time, url};
use super::page::{OrPage, Page, PageResult};
use crate::records::LinkQuery;
use crate::Shared;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use einklang_store::Role;
use maud::html;
use serde::Deserialize;
use std::sync::Arc;

const PAGE: usize = 100;

#[derive(Deserialize)]
pub(crate) struct Filter {
    status: Option<String>,
    connector: Option<String>,
    after: Option<i64>,
}

/// `/attention`.
pub(crate) async fn page(
    State(s): State<Arc<Shared>>,
    p: Page,
    Query(f): Query<Filter>,
) -> PageResult {
    let lang = p.lang;
    let config = s.config_of(p.caller.tenant()).or_page(lang)?;
    let status = match f.status.as_deref() {
        Some("permanently_failed") => "permanently_failed",
        _ => "failed",
    };
    let connector = f.connector.clone().filter(|c| !c.is_empty());
    let q = LinkQuery {
        status: status.to_string(),
        connector: connector.clone(),
        after: f.after,
        limit: Some(PAGE),
    };
    let Json(links) = crate::records::links(State(s.clone()), p.caller.clone(), Query(q))
        .await
        .or_page(lang)?;
    let conn = connector.unwrap_or_default();
    let next = links.next.map(|n| {
        url(
            "/attention",
            &[
                ("status", status),
                ("connector", &conn),
                ("after", &n.to_string()),
            ],
        )
    });
    let body = html! {
        form method="get" action="/attention" class="filters" {
            label { (lang.t("Status", "Status")) " "
                select name="status" {
                    option value="failed" selected[status == "failed"] { (lang.t("failed, will retry", "fehlgeschlagen, wird wiederholt")) }
                    option value="permanently_failed" selected[status == "permanently_failed"] { (lang.t("permanently failed", "endgültig fehlgeschlagen")) }
                }
            }
            label { (lang.t("Connector", "Konnektor")) " "
                select name="connector" {
                    option value="" { (lang.t("all", "alle")) }
                    @for c in config.connectors.keys() { option value=(c) selected[c == &conn] { (c) } }
                }
            }
            button type="submit" { (lang.t("Filter", "Filtern")) }
        }
        @if links.links.is_empty() { p { (lang.t("Nothing needs attention.", "Nichts braucht Aufmerksamkeit.")) } } @else {
            div class="scroll" { table {
                thead { tr {
                    th scope="col" { (lang.t("Record", "Datensatz")) }
                    th scope="col" { (lang.t("System", "System")) }
                    th scope="col" { (lang.t("Status", "Status")) }
                    th scope="col" { (lang.t("Error", "Fehler")) }
                    th scope="col" { (lang.t("Attempts", "Versuche")) }
                    th scope="col" { (lang.t("Next attempt", "Nächster Versuch")) }
                    th scope="col" { (lang.t("Since", "Seit")) }
                    @if p.may(Role::Operator) { th scope="col" { span class="sr-only" { (lang.t("Action", "Aktion")) } } }
                } }
                tbody { @for l in &links.links { tr {
                    td { a href={ "/records/" (l.entity) "/" (l.record_id) } { (l.entity) " #" (l.record_id) } }
                    td { (l.connector) " " code { (l.external_id) } }
                    td { (badge(l.status.as_str())) }
                    td { @if let Some(e) = &l.last_error { (e) } @else { "–" } }
                    td { (l.attempts) }
                    td { (maybe_time(l.next_attempt_at.as_ref())) }
                    td { (time(&l.updated_at)) }
                    @if p.may(Role::Operator) { td {
                        form data-api={ "/api/links/" (l.id) "/retry" } data-then="reload" {
                            button type="submit" { (lang.t("Retry now", "Jetzt wiederholen")) }
                        }
                    } }
                } } }
            } }
        }
        (next_link(lang, next))
    };
    Ok(Html(
        layout(
            &p,
            lang.t("Needs attention", "Braucht Aufmerksamkeit"),
            body,
        )
        .into_string(),
    ))
}
