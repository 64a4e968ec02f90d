//! `/runs`: runs newest first, filtered by job and status, paged by id;
//! `/runs/{id}`: one run — its steps with counters, notes and errors,
//! its quarantined records with their reasons, and for a held run what
//! was held (the staged snapshot) with **Approve**.

use super::html::{badge, counters, layout, maybe_time, next_link, time, url};
use super::page::{OrPage, Page, PageResult};
use crate::answers::RunView;
use crate::api::RunFilter;
use crate::Shared;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use axum::Json;
use einklang_store::{Role, RunStatus};
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

const STATUSES: [&str; 7] = [
    "queued",
    "running",
    "succeeded",
    "partial",
    "failed",
    "needs_review",
    "abandoned",
];
const PAGE: usize = 50;

#[derive(Deserialize)]
pub(crate) struct Filter {
    job: Option<String>,
    status: Option<String>,
    before: Option<i64>,
}

/// `/runs`.
pub(crate) async fn list(
    State(s): State<Arc<Shared>>,
    p: Page,
    Query(f): Query<Filter>,
) -> PageResult {
    let lang = p.lang;
    let job = f.job.clone().filter(|j| !j.is_empty());
    let status = f.status.clone().filter(|j| !j.is_empty());
    let filter = RunFilter {
        job: job.clone(),
        status: status.clone(),
        limit: Some(PAGE),
        before: f.before,
    };
    let Json(runs) = crate::api::runs(State(s.clone()), p.caller.clone(), Query(filter))
        .await
        .or_page(lang)?;
    let config = s.config_of(p.caller.tenant()).or_page(lang)?;
    let (job, status) = (job.unwrap_or_default(), status.unwrap_or_default());
    let next = (runs.runs.len() == PAGE)
        .then(|| runs.runs.last().map(|r| r.id))
        .flatten()
        .map(|last| {
            url(
                "/runs",
                &[
                    ("job", &job),
                    ("status", &status),
                    ("before", &last.to_string()),
                ],
            )
        });
    let body = html! {
        form method="get" action="/runs" class="filters" {
            label { (lang.t("Job", "Job")) " "
                select name="job" {
                    option value="" { (lang.t("all", "alle")) }
                    @for name in config.jobs.keys() {
                        option value=(name) selected[name == &job] { (name) }
                    }
                }
            }
            label { (lang.t("Status", "Status")) " "
                select name="status" {
                    option value="" { (lang.t("all", "alle")) }
                    @for st in STATUSES { option value=(st) selected[st == status] { (st) } }
                }
            }
            button type="submit" { (lang.t("Filter", "Filtern")) }
        }
        (runs_table(&p, &runs.runs))
        (next_link(lang, next))
    };
    Ok(Html(
        layout(&p, lang.t("Runs", "Läufe"), body).into_string(),
    ))
}

fn runs_table(p: &Page, runs: &[RunView]) -> Markup {
    let lang = p.lang;
    html! {
        @if runs.is_empty() { p { (lang.t("No runs.", "Keine Läufe.")) } } @else {
        div class="scroll" { table {
            thead { tr {
                th scope="col" { "#" }
                th scope="col" { (lang.t("Job", "Job")) }
                th scope="col" { (lang.t("Status", "Status")) }
                th scope="col" { (lang.t("Started", "Begonnen")) }
                th scope="col" { (lang.t("Ended", "Beendet")) }
                th scope="col" { (lang.t("Counters", "Zähler")) }
                th scope="col" { (lang.t("Started by", "Gestartet von")) }
            } }
            tbody { @for r in runs { tr {
                td { a href={ "/runs/" (r.id) } { (r.id) } }
                td { (r.job) }
                td { (badge(r.status.as_str())) }
                td { (time(&r.started_at)) }
                td { (maybe_time(r.finished_at.as_ref())) }
                td { (counters(&r.counters)) }
                td { (r.triggered_by) }
            } } }
        } }
        }
    }
}

/// `/runs/{id}`.
pub(crate) async fn one(State(s): State<Arc<Shared>>, p: Page, Path(id): Path<i64>) -> PageResult {
    let lang = p.lang;
    let Json(run) = crate::api::run(State(s.clone()), p.caller.clone(), Path(id))
        .await
        .or_page(lang)?;
    let q = crate::records::QuarantineQuery {
        run: Some(id),
        limit: Some(100),
    };
    let Json(quarantine) = crate::records::quarantine(State(s.clone()), p.caller.clone(), Query(q))
        .await
        .or_page(lang)?;
    let needs_review = run.status == RunStatus::NeedsReview;
    let staged = match needs_review {
        true => crate::snapshots::staging_of(
            State(s.clone()),
            p.caller.clone(),
            Path(id),
            Query(crate::snapshots::Limit { limit: Some(20) }),
        )
        .await
        .ok()
        .map(|Json(j)| j),
        false => None,
    };
    let body = html! {
        dl class="facts" {
            dt { (lang.t("Job", "Job")) } dd { (run.job) }
            dt { (lang.t("Status", "Status")) } dd id="run-status" { (badge(run.status.as_str())) }
            dt { (lang.t("Started", "Begonnen")) } dd { (time(&run.started_at)) " · " (run.triggered_by) }
            dt { (lang.t("Ended", "Beendet")) } dd { (maybe_time(run.finished_at.as_ref())) }
            dt { (lang.t("Counters", "Zähler")) } dd { (counters(&run.counters)) }
        }
        @if needs_review && staged.is_none() {
            section aria-labelledby="held-h" class="held" {
                h2 id="held-h" { (lang.t("Needs a person", "Braucht eine Person")) }
                p { (lang.t(
                    "This run did what it could and left a decision: conflicts wait on the Conflicts page; deletes held by the delete guard are named in the steps' notes below.",
                    "Dieser Lauf hat getan, was er konnte, und eine Entscheidung offen gelassen: Konflikte warten auf der Seite Konflikte; von der Löschschranke angehaltene Löschungen nennen die Hinweise der Schritte unten."
                )) " " a href="/conflicts" { (lang.t("Conflicts", "Konflikte")) } }
            }
        }
        @if let Some(st) = &staged {
            section aria-labelledby="held-h" class="held" {
                h2 id="held-h" { (lang.t("Held for review", "Zur Prüfung angehalten")) }
                p { (lang.t(
                    "This run stopped before applying: it would have changed more than its guard allows. Nothing was changed. Check the steps' notes below; approving applies exactly the staged snapshot.",
                    "Dieser Lauf hat vor dem Übernehmen angehalten: er hätte mehr geändert, als seine Schranke erlaubt. Nichts wurde geändert. Prüfen Sie die Hinweise der Schritte unten; Freigeben übernimmt genau den bereitgestellten Stand."
                )) }
                ul { @for c in &st.counts { li { (c.entity) ": " (c.records) " " (lang.t("records staged", "Datensätze bereitgestellt")) } } }
                @if p.may(Role::Operator) {
                    form data-api={ "/api/runs/" (id) "/approve" } data-then="run" {
                        button type="submit" { (lang.t("Approve and apply", "Freigeben und übernehmen")) }
                    }
                }
            }
        }
        @if !run.errors.is_empty() {
            h2 { (lang.t("Errors", "Fehler")) }
            ul class="errors" { @for e in &run.errors { li { (e) } } }
        }
        @if let Some(steps) = &run.steps {
            h2 { (lang.t("Steps", "Schritte")) }
            div class="scroll" { table {
                thead { tr {
                    th scope="col" { (lang.t("Step", "Schritt")) }
                    th scope="col" { (lang.t("Counters", "Zähler")) }
                    th scope="col" { (lang.t("Notes and errors", "Hinweise und Fehler")) }
                } }
                tbody { @for st in steps { tr {
                    th scope="row" { (st.action) " " (st.connector) " → " (st.entity) }
                    td { (counters(&st.counters)) }
                    td {
                        @if st.needs_review { (badge("needs_review")) " " }
                        @if let Some(e) = &st.error { span class="error" { (e) } }
                        @for n in &st.notes { div { (n) } }
                    }
                } } }
            } }
        }
        @if let Some(progress) = &run.progress {
            h2 { (lang.t("Progress", "Fortschritt")) }
            ul { @for st in progress { li { (st.step) ": " (st.records) @if st.done { " ✓" } } } }
        }
        h2 { (lang.t("Quarantined records", "Zurückgehaltene Datensätze")) }
        @if quarantine.quarantine.is_empty() { p { (lang.t("None.", "Keine.")) } } @else {
            div class="scroll" { table {
                thead { tr {
                    th scope="col" { (lang.t("Where", "Wo")) }
                    th scope="col" { (lang.t("Reason", "Grund")) }
                    th scope="col" { (lang.t("As read", "Wie gelesen")) }
                } }
                tbody { @for q in &quarantine.quarantine { tr {
                    td { (q.connector) " " (q.entity) " " (q.position) @if let Some(x) = &q.external_id { " · " code { (x) } } }
                    td { (q.reason) }
                    td { code class="raw" { (super::html::clip(&q.raw, 300)) } }
                } } }
            } }
        }
    };
    let title = format!("{} #{id}", lang.t("Run", "Lauf"));
    Ok(Html(layout(&p, &title, body).into_string()))
}
