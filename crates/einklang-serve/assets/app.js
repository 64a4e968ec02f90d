// einklang dashboard: the buttons. A form with `data-api` is sent to that
// API route with the session's CSRF token; what happens after is its
// `data-then`: reload, go (to data-next), run (to the run queued), or
// follow (the run's progress, streamed by /api/runs/{id}/events).
// No framework, no build step.
"use strict";
(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const notice = () => document.getElementById("notice");
  function say(text, bad) {
    const n = notice();
    if (!n) return;
    n.textContent = text;
    n.className = bad ? "error" : "";
  }
  async function call(method, url, body) {
    const r = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (!r.ok) throw new Error((data && data.error) || r.status + " " + r.statusText);
    return data;
  }
  function bodyOf(form, submitter) {
    const body = form.dataset.body ? JSON.parse(form.dataset.body) : {};
    for (const el of form.querySelectorAll("input[name]")) {
      if (el.type === "hidden" || el.type === "text" || el.type === "search" || !el.type) body[el.name] = el.value;
    }
    if (submitter && submitter.name) body[submitter.name] = submitter.value;
    return body;
  }
  function follow(runId, out) {
    out.textContent = "#" + runId + " queued";
    const es = new EventSource("/api/runs/" + runId + "/events");
    const show = (ev) => {
      const run = JSON.parse(ev.data);
      const steps = (run.progress || []).map((s) => s.step + ": " + s.records).join(" · ");
      out.textContent = "#" + run.id + " " + run.status + (steps ? " — " + steps : "");
      return run;
    };
    es.addEventListener("progress", show);
    es.addEventListener("finished", (ev) => {
      const run = show(ev);
      es.close();
      out.dataset.status = run.status;
      const a = document.createElement("a");
      a.href = "/runs/" + run.id;
      a.textContent = " →";
      out.appendChild(a);
    });
    es.onerror = () => { es.close(); };
  }
  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!form.dataset.api) return;
    e.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      const data = await call("POST", form.dataset.api, bodyOf(form, e.submitter));
      const then = form.dataset.then;
      if (then === "follow") {
        follow(data.run_id, document.getElementById(form.dataset.status) || notice());
      } else if (then === "go") {
        location.assign(form.dataset.next || location.href);
      } else if (then === "run" && data && data.run_id) {
        location.assign("/runs/" + data.run_id);
      } else {
        location.reload();
      }
    } catch (err) {
      say(err.message, true);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
  // keyboard triage: a key named by an element's data-key presses it
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
    const el = document.querySelector('[data-key="' + e.key.toLowerCase() + '"]');
    if (!el) return;
    e.preventDefault();
    el.click();
  });
})();
