//! `/`: each job — schedule, last run, next run, **Sync now** with live
//! progress (the script follows `GET /api/runs/{id}/events`) — and each
//! connector's health, with the open conflicts and review pairs.

use super::html::{badge, counters, layout, maybe_time, time};
use super::page::{OrPage, Page, PageResult};
use crate::answers::{ConnectorHealth, JobView};
use crate::Shared;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::Json;
use einklang_store::Role;
use maud::{html, Markup};
use std::sync::Arc;

/// The page.
pub(crate) async fn page(State(s): State<Arc<Shared>>, p: Page) -> PageResult {
    let lang = p.lang;
    let Json(jobs) = crate::api::jobs(State(s.clone()), p.caller.clone())
        .await
        .or_page(lang)?;
    let Json(health) = crate::connectors::connectors(State(s.clone()), p.caller.clone())
        .await
        .or_page(lang)?;
    let waiting = waiting(&s, &p, (&health.connectors, health.links_capped)).await?;
    let body = html! {
        (waiting)
        section aria-labelledby="jobs-h" {
            h2 id="jobs-h" { (lang.t("Jobs", "Jobs")) }
            @if jobs.jobs.is_empty() {
                p { (lang.t("No jobs are configured.", "Es sind keine Jobs eingerichtet.")) }
            }
            div class="cards" {
                @for j in &jobs.jobs { (job_card(&p, j)) }
            }
        }
        section aria-labelledby="conn-h" {
            h2 id="conn-h" { (lang.t("Connectors", "Konnektoren")) }
            div class="scroll" {
                table {
                    thead { tr {
                        th scope="col" { (lang.t("Connector", "Konnektor")) }
                        th scope="col" { (lang.t("Links", "Verknüpfungen")) }
                        th scope="col" { (lang.t("Last good run", "Letzter guter Lauf")) }
                        th scope="col" { (lang.t("Last answer", "Letzte Antwort")) }
                        th scope="col" { (lang.t("Recent errors", "Letzte Fehler")) }
                        th scope="col" { (lang.t("Slow-downs", "Bremsungen")) }
                    } }
                    tbody { @for c in &health.connectors { (connector_row(&p, c)) } }
                }
            }
        }
    };
    Ok(Html(
        layout(&p, lang.t("Overview", "Übersicht"), body).into_string(),
    ))
}

/// What waits for a person: open conflicts and review pairs (counted up
/// to [`COUNTED`]), failed links.
async fn waiting(
    s: &Arc<Shared>,
    p: &Page,
    (health, capped): (&[ConnectorHealth], bool),
) -> Result<Markup, super::page::PageError> {
    let lang = p.lang;
    let listing = || crate::decisions::Listing {
        limit: Some(COUNTED),
        ..Default::default()
    };
    let Json(conflicts) =
        crate::decisions::conflicts(State(s.clone()), p.caller.clone(), Query(listing()))
            .await
            .or_page(lang)?;
    let Json(reviews) =
        crate::decisions::reviews(State(s.clone()), p.caller.clone(), Query(listing()))
            .await
            .or_page(lang)?;
    let links = |status: &str| -> u64 { health.iter().filter_map(|c| c.links.get(status)).sum() };
    let count = |n: usize| match n >= COUNTED {
        true => format!("{COUNTED}+"),
        false => n.to_string(),
    };
    Ok(html! {
        ul class="waiting" aria-label=(lang.t("Waiting for a person", "Wartet auf eine Person")) {
            li { a href="/conflicts" { strong { (count(conflicts.conflicts.len())) } " " (lang.t("open conflicts", "offene Konflikte")) } }
            li { a href="/reviews" { strong { (count(reviews.reviews.len())) } " " (lang.t("pairs to review", "Paare zu prüfen")) } }
            li { a href="/attention" { strong { (links("failed")) } " " (lang.t("failed links", "fehlgeschlagene Verknüpfungen")) } }
            li { a href="/attention?status=permanently_failed" { strong { (links("permanently_failed")) } " " (lang.t("given up", "aufgegeben")) } }
            @if capped {
                li { (lang.t("more than 50,000 links are not in step yet: the counts below cover the first 50,000", "über 50.000 Verknüpfungen sind noch nicht abgeglichen: die Zahlen unten zählen die ersten 50.000")) }
            }
        }
    })
}

/// Open conflicts and review pairs the overview counts at most.
const COUNTED: usize = 1000;

fn job_card(p: &Page, j: &JobView) -> Markup {
    let lang = p.lang;
    html! {
        article class="card" aria-labelledby={ "job-" (j.name) } {
            h3 id={ "job-" (j.name) } { (j.name) }
            dl {
                dt { (lang.t("Schedule", "Zeitplan")) }
                dd { @match &j.schedule { Some(s) => { code { (s) } " (" (j.tz) ")" }, None => { (lang.t("on demand", "auf Abruf")) } } }
                dt { (lang.t("Last run", "Letzter Lauf")) }
                dd {
                    @match &j.last_run {
                        Some(r) => {
                            a href={ "/runs/" (r.id) } { "#" (r.id) } " " (badge(r.status.as_str())) " " (time(&r.started_at))
                            br; (counters(&r.counters))
                        },
                        None => { (lang.t("never", "nie")) },
                    }
                }
                dt { (lang.t("Next run", "Nächster Lauf")) }
                dd { (maybe_time(j.next_run_at.as_ref())) }
            }
            @if p.may(Role::Operator) {
                form data-api={ "/api/jobs/" (j.name) "/runs" } data-then="follow" data-status={ "progress-" (j.name) } {
                    button type="submit" { (lang.t("Sync now", "Jetzt synchronisieren")) }
                }
                p class="progress" id={ "progress-" (j.name) } role="status" aria-live="polite" {}
            }
        }
    }
}

fn connector_row(p: &Page, c: &ConnectorHealth) -> Markup {
    let lang = p.lang;
    let links: Vec<String> = c.links.iter().map(|(s, n)| format!("{s} {n}")).collect();
    html! {
        tr {
            th scope="row" { (c.name) " " span class="muted" { "(" (c.kind) ")" } }
            td { @if links.is_empty() { "–" } @else { (links.join(" · ")) } }
            td { (maybe_time(c.last_good_run.as_ref())) }
            td { (maybe_time(c.last_success.as_ref())) }
            td {
                @if c.recent_failures.is_empty() { "–" }
                @for f in &c.recent_failures {
                    div { (time(&f.at)) " " code { (f.method) " " (f.path) } " → " (f.error) }
                }
            }
            td {
                (c.throttled) @if c.calls > 0 { " / " (c.calls) " " (lang.t("calls", "Aufrufe")) }
                @if c.rate_limit_waits > 0 {
                    br; (c.rate_limit_waits) " " (lang.t("waits for the rate limit", "Wartezeiten am Ratenlimit")) ", " (format!("{:.1}", c.rate_limit_wait_ms as f64 / 1000.0)) " s"
                }
            }
        }
    }
}
