"""The dashboard in a real browser: Debian's Chromium, driven by Playwright.

Run by crates/einklang/tests/dashboard_browser.rs against a real
`einklang serve` over a hub it prepared with the command line (a conflict,
a review pair, a held refresh, a hostile record value). Each page is
screenshotted into $EINKLANG_SHOTS and checked with axe-core (no serious
or critical violation). Exits non-zero, naming the check, when one fails.

Environment: EINKLANG_BASE (http://127.0.0.1:PORT), EINKLANG_VIEW_TOKEN,
EINKLANG_OPS_TOKEN, EINKLANG_CHROMIUM, EINKLANG_AXE (axe.min.js),
EINKLANG_SHOTS (a directory).
"""

import json
import os
import re
import sys
import time

from playwright.sync_api import expect, sync_playwright

BASE = os.environ["EINKLANG_BASE"]
VIEW = os.environ["EINKLANG_VIEW_TOKEN"]
OPS = os.environ["EINKLANG_OPS_TOKEN"]
SHOTS = os.environ["EINKLANG_SHOTS"]
AXE = open(os.environ["EINKLANG_AXE"], encoding="utf-8").read()
expect.set_options(timeout=15_000)
checked = []


def shoot(page, name):
    page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


def axe(page, name):
    """axe-core over the page: serious or critical violations fail."""
    # evaluated through the debugging protocol: the page's CSP rightly
    # refuses an injected <script>
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE + "\n;void 0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"axe on {name}: " + "; ".join(bad)
    checked.append(name)


def visit(page, path, name):
    page.goto(BASE + path)
    assert page.url.startswith(BASE), page.url
    shoot(page, name)
    axe(page, name)


def sign_in(page, token):
    page.goto(BASE + "/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label(re.compile("API token|API-Token")).fill(token)
    page.get_by_role("button", name=re.compile("Sign in|Anmelden")).click()
    expect(page).to_have_url(BASE + "/")


def sign_out(page):
    page.get_by_role("button", name=re.compile("Sign out|Abmelden")).click()
    expect(page).to_have_url(re.compile("/login"))


def no_dialogs(page):
    def fail(dialog):
        raise AssertionError(f"a dialog opened: {dialog.message} — a value ran as script")

    page.on("dialog", fail)


def viewer(browser):
    page = browser.new_page()
    no_dialogs(page)
    sign_in(page, VIEW)
    for path in ["/", "/runs", "/conflicts", "/reviews", "/attention", "/reviews/1"]:
        page.goto(BASE + path)
        assert page.locator("form[data-api]").count() == 0, f"a viewer sees a button on {path}"
    # a forged request from the viewer's page, with its own CSRF token
    status = page.evaluate(
        """async () => (await fetch('/api/jobs/both/runs', {method: 'POST',
            headers: {'Content-Type': 'application/json',
                      'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content},
            body: '{}'})).status"""
    )
    assert status == 403, f"a viewer's forged run request answered {status}"
    # and one without the token, as another site's form would send it
    status = page.evaluate(
        """async () => (await fetch('/api/conflicts/1/resolve', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"take": "hub"}'})).status"""
    )
    assert status == 403, f"a request without CSRF token answered {status}"
    sign_out(page)
    page.goto(BASE + "/runs")
    expect(page).to_have_url(re.compile("/login"))
    page.close()
    checked.append("viewer cannot act")


def wait_run(page, run_path, status):
    """Reload the run's page until it shows `status`."""
    for _ in range(150):
        page.goto(BASE + run_path)
        text = page.locator("#run-status").inner_text()
        if status in text:
            return
        time.sleep(0.1)
    raise AssertionError(f"{run_path} never showed {status}: {text}")


def operator(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    no_dialogs(page)
    shoot_login = browser.new_page()
    shoot_login.goto(BASE + "/login")
    shoot(shoot_login, "00-sign-in")
    axe(shoot_login, "sign-in")
    shoot_login.close()
    sign_in(page, OPS)
    shoot(page, "01-overview")
    axe(page, "overview")

    # Sync now → live progress → succeeded
    card = page.locator("article", has=page.get_by_role("heading", name="both"))
    card.get_by_role("button", name="Sync now").click()
    progress = page.locator("#progress-both")
    expect(progress).to_contain_text(re.compile("queued|running|succeeded"))
    expect(progress).to_contain_text("succeeded")
    checked.append("sync now: progress until succeeded")

    # the conflict: typed value, then a sync carries it to both systems
    visit(page, "/conflicts", "02-conflicts")
    page.get_by_label("Or type the value").fill("Bo Resolved")
    page.get_by_role("button", name="Set").click()
    expect(page.get_by_text("No open conflicts.")).to_be_visible()
    page.goto(BASE + "/")
    page.locator("article", has=page.get_by_role("heading", name="both")).get_by_role(
        "button", name="Sync now"
    ).click()
    expect(page.locator("#progress-both")).to_contain_text("succeeded")
    checked.append("conflict resolved and synced")

    # the review queue: accept with the keyboard, then unmerge
    visit(page, "/reviews", "03-review-queue")
    page.get_by_role("link", name="Start with the first pair").click()
    expect(page).to_have_url(re.compile(r"/reviews/\d+$"))
    shoot(page, "04-review-pair")
    axe(page, "review pair")
    expect(page.get_by_role("row", name=re.compile("^name"))).to_contain_text("exact")
    page.keyboard.press("a")
    expect(page).to_have_url(BASE + "/reviews")
    expect(page.get_by_text("No pairs wait for review.")).to_be_visible()
    page.goto(BASE + "/records/contact/1")
    unmerge = page.get_by_role("button", name=re.compile("Unmerge"))
    expect(unmerge).to_be_visible()
    shoot(page, "05-record-merged")
    unmerge.click()
    expect(page.locator(".merges")).to_contain_text("undone")
    checked.append("review accepted by key, then unmerged")

    # a sync that left a conflict needs a person, but has nothing to approve
    page.goto(BASE + "/runs?job=both&status=needs_review")
    page.locator("table a").first.click()
    expect(page.get_by_role("heading", name="Needs a person")).to_be_visible()
    assert page.get_by_role("button", name="Approve and apply").count() == 0

    # the held refresh: approve, then its run applies
    visit(page, "/runs?status=needs_review", "06-runs-held")
    page.locator("table a").first.click()
    expect(page.get_by_role("heading", name="Held for review")).to_be_visible()
    shoot(page, "07-run-held")
    axe(page, "held run")
    held = page.url
    page.get_by_role("button", name="Approve and apply").click()
    page.wait_for_url(lambda url: url != held and re.search(r"/runs/\d+$", url))
    wait_run(page, page.url[len(BASE):], "succeeded")
    checked.append("held run approved and applied")

    # a hostile value is text
    page.goto(BASE + "/records?entity=contact&field=email&q=x%40example.org")
    page.locator("table a").first.click()
    expect(page.get_by_role("cell", name="<script>alert(1)</script>")).to_be_visible()
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    checked.append("hostile value rendered as text")

    # links that failed: the error, and retry now
    visit(page, "/attention", "13-attention")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Connection refused")
    with page.expect_navigation():  # the page reloads once the API answered
        rows.first.get_by_role("button", name="Retry now").click()
    for _ in range(150):
        page.goto(BASE + "/runs?job=to_advo")
        latest = page.locator("tbody tr").first.inner_text() if page.locator("tbody tr").count() >= 2 else ""
        if latest and "queued" not in latest and "running" not in latest:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("retry now made no run of to_advo")
    assert "office" in latest, f"the retry's run names who started it: {latest}"
    # the system still refuses: the links still wait, with their error
    page.goto(BASE + "/attention")
    expect(page.locator("tbody tr")).to_have_count(4)
    checked.append("failed links retried")

    # every other page, screenshotted and checked
    for path, name in [
        ("/runs", "08-runs"),
        ("/records?entity=contact&q=K%C3%B6ln", "09-records-search"),
        ("/records/contact/2", "10-record"),
        ("/records/contact/2/compare", "11-compare"),
        ("/changes?entity=contact&since=2000-01-01T00:00", "12-changes"),
    ]:
        visit(page, path, name)

    # recent changes as CSV, downloaded as a browser does
    page.goto(BASE + "/changes?entity=contact&field=name&since=2000-01-01T00:00")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    csv = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert csv[0] == "change,field,old,new,record,external_id,run,origin,at", csv[:2]
    assert any("Bo Resolved" in line for line in csv), csv
    checked.append("changes downloaded as CSV")

    # German by the switch, kept on the next page
    page.get_by_role("link", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.goto(BASE + "/")
    expect(page.get_by_role("heading", name="Übersicht")).to_be_visible()
    shoot(page, "14-overview-de")
    axe(page, "overview (de)")
    page.get_by_role("link", name="English").click()
    checked.append("language switch")

    # the keyboard: the first Tab reaches the skip link
    page.goto(BASE + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    checked.append("keyboard: skip link first")
    page.close()


def small_screens(browser):
    """A phone, and a laptop at 200 % zoom (half the CSS pixels): the
    page reflows — nothing wider than the window but scrolling tables."""
    for name, viewport, scale in [("phone", (390, 844), 3), ("zoom-200", (640, 400), 2)]:
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=scale)
        page = ctx.new_page()
        sign_in(page, OPS)
        for path in ["/", "/runs", "/reviews", "/records/contact/2"]:
            page.goto(BASE + path)
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 0, f"{path} on {name}: {wide}px wider than the window"
        page.goto(BASE + "/")
        shoot(page, f"15-overview-{name}")
        ctx.close()
        checked.append(f"reflows: {name}")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ["EINKLANG_CHROMIUM"], args=["--no-sandbox"]
        )
        try:
            viewer(browser)
            operator(browser)
            small_screens(browser)
        finally:
            browser.close()
    print(json.dumps({"checked": checked}))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
