"""The web console in a real browser: Debian's chromium driven by Playwright against a real
``uvicorn`` server (``create_app``) on a free port of 127.0.0.1, one server and one browser
for the module.

A person signs in, takes complaints through every branch of the lifecycle a person can take
by clicking (the timers' own branches, such as ``deemed_accepted``, are the sweep's), sees a
conflict when two handlers act at once, a quality analyst sees no names, and the problem map
opens and drills down. A screenshot of each page, wide and phone-sized, is kept under
``tests/artifacts/screenshots/`` (and copied to ``$COMPLAINTS_TEST_ARTIFACTS`` if set).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from complaintflow.bootstrap import App, build, init_database
from complaintflow.settings import Settings
from complaintflow.users.services import add_user
from complaints.steps import Actor
from root_cause.capa_service import create_capa
from root_cause.schemas import CapaIn
from root_cause.services import add_link

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra: pip install -e '.[test]'")
expect = sync_api.expect

PASSWORD = "correct-horse-battery-staple"
ROOT_CAUSE = "BILLING.DUPLICATE"
SHOTS = Path(__file__).parent / "artifacts" / "screenshots"
WIDE, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A migrated SQLite database with users and complaints, served by uvicorn."""
    folder = tmp_path_factory.mktemp("console")
    env = {**os.environ, "COMPLAINTS_DATABASE_URL": f"sqlite:///{folder / 'console.db'}",
           "COMPLAINTS_DATA_DIR": str(folder), "COMPLAINTS_SESSION_SECRET": "console-test-" + "s" * 32}
    settings = Settings(database_url=env["COMPLAINTS_DATABASE_URL"], data_dir=folder)
    app = build(settings)
    init_database(app.db)
    _people(app)
    port = _free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "complaintflow.api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield {"base": base, "app": app, "log": log}
    finally:
        process.terminate()
        process.wait(timeout=20)
        app.db.dispose()
        _copy_artefacts(log)


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped at once:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/console/sign-in", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server at {base} did not answer within a minute")


def _copy_artefacts(log: Path) -> None:
    """The screenshots and the server's log, where CI keeps a run's artefacts."""
    target = os.environ.get("COMPLAINTS_TEST_ARTIFACTS")
    if target:
        if SHOTS.exists():
            shutil.copytree(SHOTS, Path(target) / "screenshots", dirs_exist_ok=True)
        shutil.copy(log, Path(target) / "console-server.log")


def _people(app: App) -> None:
    now = datetime.now(UTC)
    known = {"handler", "supervisor", "specialist", "executive", "quality"}
    for name, display, roles in (("hana", "Hana Handler", ["handler"]), ("hugo", "Hugo Handler", ["handler"]),
                                 ("quinn", "Quinn Quality", ["quality"]),
                                 ("mira", "Mira Both", ["handler", "quality"])):
        add_user(app.db, now, name, display, roles, known, PASSWORD, "test")


def _take_in(app: App, **fields: Any) -> str:
    from complaints.schemas import ComplaintIn

    record = ComplaintIn.model_validate({"product": "Current account", "description": "Charged twice for one transfer.",
                                         **fields})
    reference, _ = app.intake.take_in_one(record, Actor("intake", "handler"))
    return reference


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture
def base(server: dict[str, Any]) -> str:
    return str(server["base"])


@pytest.fixture
def cf(server: dict[str, Any]) -> App:
    return server["app"]  # type: ignore[no-any-return]


def _signed_in(browser: Any, base: str, name: str, viewport: dict[str, int] = WIDE, script: bool = True) -> Any:
    page = browser.new_context(viewport=viewport, java_script_enabled=script).new_page()
    page.goto(f"{base}/console/queue")
    expect(page).to_have_url(f"{base}/console/sign-in?next=/console/queue")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
    return page


def _shoot(page: Any, name: str) -> None:
    """The page as it is, wide and on a phone (the viewport put back afterwards)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(SHOTS / f"{name}-1280.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / f"{name}-390.png"), full_page=True)
    wider = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    page.set_viewport_size(size)
    assert not wider, f"{name}: the page is wider than a 390-pixel phone screen"


def _act(page: Any, label: str, fields: dict[str, str] | None = None, state: str | None = None) -> None:
    """Open the action, fill its fields and take it by clicking; check the state it reaches."""
    form = page.locator(f'form[aria-label="{label}"]')
    if not form.is_visible():
        page.locator(f'details:has(form[aria-label="{label}"]) > summary').click()
    for name, value in (fields or {}).items():
        field = form.locator(f'[name="f_{name}"]')
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    form.get_by_role("button", name=label, exact=True).click()
    if state is not None:
        expect(page.locator("h1 .state")).to_have_text(state)
        expect(page.locator(".done")).to_contain_text("done")


def _release_held(page: Any, reader: Any) -> None:
    """The held letter of ``page``'s case, released by a second reader (its author may not)."""
    expect(page.get_by_role("button", name="Release letter")).to_have_count(0)
    reader.goto(page.url)
    reader.get_by_role("button", name="Release letter").first.click()
    expect(reader.locator(".done")).to_contain_text("released")
    page.reload()


FUTURE = (date.today() + timedelta(days=30)).isoformat()


def test_a_handler_signs_in_sees_the_queue_and_signs_out(browser: Any, base: str, cf: App) -> None:
    reference = _take_in(cf)
    page = _signed_in(browser, base, "hana")
    row = page.locator("tr", has=page.get_by_role("link", name=reference))
    expect(row).to_contain_text("due in")
    expect(row).to_contain_text("business")
    expect(page.locator(".state-counts")).to_contain_text("acknowledged")
    _shoot(page, "queue")
    for viewport in (PHONE, WIDE):  # a reference is never broken at its hyphen
        page.set_viewport_size(viewport)
        assert page.get_by_role("link", name=reference).evaluate("a => a.getClientRects().length") == 1
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{base}/console/queue")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.context.close()


def test_a_wrong_password_is_refused_with_a_message(browser: Any, base: str) -> None:
    page = browser.new_context(viewport=WIDE).new_page()
    page.goto(f"{base}/console/sign-in")
    page.get_by_label("User name").fill("hana")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")
    _shoot(page, "sign-in")
    page.context.close()


def test_a_complaint_goes_through_every_branch_a_person_takes_by_clicking(browser: Any, base: str, cf: App) -> None:
    page, reader = _signed_in(browser, base, "hana"), _signed_in(browser, base, "hugo")
    reference = _take_in(cf, customer={"name": "Anna Bērziņa", "email": "anna@example.lv"})
    page.goto(f"{base}/console/cases/{reference}")
    _act(page, "Start the validity assessment", state="assessing")
    _act(page, "Ask the customer for information", {"question": "the date of the second charge"}, "awaiting_customer")
    _act(page, "Customer replied", {"summary": "statement received"}, "assessing")
    _act(page, "Valid complaint", {"criteria": "in time, our product", "rationale": "the fee was charged twice"},
         "investigating")
    _act(page, "Assign to a handler", {"assignee": "hana"}, "investigating")
    expect(page.locator(".meta")).to_contain_text("assignee hana")
    # the engine's own guard message, beside the field its condition tests: nothing written
    _act(page, "Put on hold", {"reason": "waiting for the bank", "resume_on": "2020-01-01"})
    expect(page.get_by_role("alert")).to_contain_text("Can't 'pause'")
    expect(page.get_by_label("Resume on")).to_have_accessible_description(re.compile("must be today or later"))
    expect(page.locator("h1 .state")).to_have_text("investigating")
    _act(page, "Put on hold", {"reason": "waiting for the bank", "resume_on": FUTURE}, "on_hold")
    _act(page, "Resume the investigation", state="investigating")
    _act(page, "Escalate to the next tier", {"reason": "needs a senior decision"}, "investigating")
    expect(page.locator(".meta")).to_contain_text("Tier supervisor")
    proposal = {"resolution": "refund of 40 EUR", "reasons": "the second charge was a system error"}
    page.locator('details:has(form[aria-label="Propose a resolution"]) > summary').click()
    form = page.locator('form[aria-label="Propose a resolution"]')
    form.locator('[name="f_resolution"]').fill("refund of <b>40 EUR</b>")
    form.locator('[name="f_reasons"]').fill(proposal["reasons"])
    form.get_by_role("button", name="Preview letters").click()
    preview = page.get_by_role("region", name="Preview of Propose a resolution")
    expect(preview).to_contain_text("refund of <b>40 EUR</b>")  # shown as text, never as markup
    expect(page.locator("h1 .state")).to_have_text("investigating")
    _shoot(page, "case-preview")
    _act(page, "Propose a resolution", proposal, "resolution_proposed")
    _act(page, "Customer rejected the resolution", {"reason": "the refund is too small"}, "investigating")
    _act(page, "Propose a resolution", proposal, "resolution_proposed")
    _act(page, "Customer accepted the resolution", state="resolved")
    _act(page, "Follow up with the customer", state="follow_up")
    _act(page, "Customer dissatisfied; reopen", {"reason": "the fee came back"}, "investigating")
    _act(page, "Propose a resolution", proposal, "resolution_proposed")
    _act(page, "Customer accepted the resolution", state="resolved")
    _act(page, "Follow up with the customer", state="follow_up")
    _act(page, "Customer satisfied", {"comment": "thanks"}, "recurrence_review")
    _act(page, "Record the root cause and close", {"root_cause_code": ROOT_CAUSE, "finding": "batch job ran twice"},
         "closed")
    expect(page.locator(".s-held").first).to_be_visible()  # the closure letter waits for a second reader
    _release_held(page, reader)
    page.get_by_label("New note").fill("customer called to thank us")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".notes")).to_contain_text("customer called to thank us")
    page.get_by_label("New note").fill("We have refunded the second charge.")
    page.get_by_label("A comment for the customer: send it to them as a letter").check()
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".notes li").first).to_contain_text("comment for the customer")
    expect(page.locator("section[aria-labelledby=h-letters]")).to_contain_text("comment · en · web · queued")
    _act(page, "Reopen", {"reason": "a third charge"}, "investigating")
    timeline = page.locator(".timeline")
    for action in ("need_info", "info_received", "pause", "resume", "escalate", "reject", "dissatisfied", "close",
                   "reopen"):
        expect(timeline).to_contain_text(action)
    expect(timeline).to_contain_text("customer called to thank us")
    _shoot(page, "case")

    invalid = _take_in(cf)
    page.goto(f"{base}/console/cases/{invalid}")
    _act(page, "Start the validity assessment", state="assessing")
    _act(page, "Not a valid complaint", {"criteria": "our product", "rationale": "the loan is with another lender"},
         "closed")
    _release_held(page, reader)

    declined = _take_in(cf)
    page.goto(f"{base}/console/cases/{declined}")
    for label, fields in (("Start the validity assessment", {}),
                          ("Valid complaint", {"criteria": "in time", "rationale": "fee charged twice"}),
                          ("Propose a resolution", proposal), ("Customer accepted the resolution", {}),
                          ("Follow up with the customer", {}), ("Customer declined the follow-up", {})):
        _act(page, label, fields)
    expect(page.locator("h1 .state")).to_have_text("recurrence_review")
    page.context.close()
    reader.context.close()


def test_two_handlers_acting_at_once_the_second_is_told_and_shown_the_current_version(
        browser: Any, base: str, cf: App) -> None:
    reference = _take_in(cf)
    first, second = _signed_in(browser, base, "hana"), _signed_in(browser, base, "hugo")
    for page in (first, second):
        page.goto(f"{base}/console/cases/{reference}")
    version = second.get_by_test_id("version").inner_text()
    _act(first, "Start the validity assessment", state="assessing")
    _act(second, "Assign to a handler", {"assignee": "hugo"})
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("Someone else changed this complaint first")
    expect(alert).to_contain_text(f"expected version {version}")
    expect(second.locator("h1 .state")).to_have_text("assessing")
    assert int(second.get_by_test_id("version").inner_text()) > int(version)
    _shoot(second, "case-conflict")
    assert cf.engine.get(reference).fields.get("assignee") in (None, "")
    for page in (first, second):
        page.context.close()


def test_bulk_assign_moves_every_selected_complaint(browser: Any, base: str, cf: App) -> None:
    references = [_take_in(cf, product="Payday loan") for _ in range(2)]
    page = _signed_in(browser, base, "hana")
    page.get_by_label("Product").fill("Payday loan")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"product=Payday"))
    for reference in references:
        page.get_by_label(f"Select {reference}").check()
    page.get_by_label("Action", exact=True).select_option("assign")
    page.get_by_label("Assignee (for assign)").fill("hugo")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator(".done")).to_contain_text("2 complaints assigned to hugo")
    assert all(cf.engine.get(r).fields["assignee"] == "hugo" for r in references)
    page.context.close()


def test_a_quality_analyst_sees_no_names(browser: Any, base: str, cf: App) -> None:
    reference = _take_in(cf, customer={"name": "Zelda Quackenbush", "email": "zelda@example.com"},
                         description="Zelda Quackenbush was charged twice; call +371 2612 3456")
    page = _signed_in(browser, base, "quinn")
    page.goto(f"{base}/console/cases/{reference}")
    expect(page.locator("h1")).to_contain_text(reference)
    content = page.content()
    assert "Quackenbush" not in content and "zelda@" not in content and "2612 3456" not in content
    expect(page.get_by_text("personal data is not shown to role 'quality'")).to_be_visible()
    page.get_by_role("link", name="Customer’s complaints").click()
    expect(page.locator("h1")).to_contain_text("Customer")
    assert "Quackenbush" not in page.content() and "zelda@" not in page.content()
    _shoot(page, "customer-quality")
    page.goto(f"{base}/console/queue?q=charged")
    assert "Quackenbush" not in page.content()
    page.context.close()


def test_the_problem_map_opens_and_drills_down_to_complaints(browser: Any, base: str, cf: App) -> None:
    now = datetime.now(UTC)
    quality = Actor("quinn", "quality")
    texts = ["Overdraft fee charged twice on the same day", "Overdraft fee charged twice again this month",
             "Second overdraft fee charged twice after transfer"]
    group = [_take_in(cf, description=t) for t in texts]
    for other in group[1:]:
        add_link(cf.db, now, group[0], other, "related", quality, "same overdraft fee")
    closed = _take_in(cf)
    for action, payload in (("assess", {}), ("valid", {"criteria": "in time", "rationale": "fee twice"}),
                            ("propose", {"resolution": "refund", "reasons": "system error"}), ("accept", {}),
                            ("start_follow_up", {}), ("satisfied", {}),
                            ("close", {"root_cause_code": ROOT_CAUSE, "finding": "batch ran twice"})):
        cf.engine.advance(closed, action, Actor("hana", "handler"), payload)
    create_capa(cf.db, cf.taxonomy, now, CapaIn(title="Fix the double-capture job", owner="ops",
                                                due_at=now + timedelta(days=30), root_causes=[ROOT_CAUSE]), quality)
    page = _signed_in(browser, base, "quinn")
    page.get_by_role("link", name="Problem map").click()
    expect(page.get_by_role("heading", name="Problem map")).to_be_visible()
    assert page.locator("svg.map a.node").count() <= 300
    expect(page.locator("svg.map a.root_cause")).to_have_count(1)
    expect(page.locator("svg.map a.capa")).to_have_count(1)
    _shoot(page, "map")
    page.locator("svg.map a.cluster").first.click()
    expect(page.get_by_role("heading", name="Cluster")).to_be_visible()
    for reference in group:
        expect(page.get_by_role("link", name=reference)).to_be_visible()
    _shoot(page, "map-cluster")
    page.goto(f"{base}/console/quality/pareto?period=30d")
    expect(page.locator("table.pareto")).to_contain_text(ROOT_CAUSE)
    _shoot(page, "pareto")
    page.goto(f"{base}/console/quality/capas")
    expect(page.locator("#capa-1")).to_contain_text("Fix the double-capture job")
    page.get_by_role("button", name="Implement CAPA 1").click()
    expect(page.locator(".done")).to_have_text("CAPA 1 implemented")
    _shoot(page, "capas")
    page.goto(f"{base}/console/quality/alerts")
    _shoot(page, "alerts")
    page.context.close()


def test_a_handler_is_not_shown_the_quality_pages(browser: Any, base: str) -> None:
    page = _signed_in(browser, base, "hana")
    expect(page.get_by_role("link", name="Problem map")).to_have_count(0)
    response = page.goto(f"{base}/console/quality/map")
    assert response is not None and response.status == 403
    page.context.close()


def test_a_person_switches_to_their_quality_role_and_reads_the_indicators(browser: Any, base: str, cf: App) -> None:
    _take_in(cf, product="Mortgage")
    page = _signed_in(browser, base, "mira")
    expect(page.get_by_role("link", name="Indicators")).to_have_count(0)
    page.get_by_label("Mira Both, acting as").select_option("quality")
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("status")).to_contain_text("acting as quality")
    page.get_by_role("link", name="Indicators").click()
    expect(page.get_by_role("heading", name="Indicators")).to_be_visible()
    page.get_by_label("Break down by").select_option("product")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.breakdown")).to_contain_text("Mortgage")
    received = page.locator("table.indicators tr", has_text="Received").locator("td").first
    expect(received).to_have_text(re.compile(r"^[1-9]\d*$"))
    _shoot(page, "indicators")
    page.context.close()


def test_every_control_is_reachable_by_keyboard(browser: Any, base: str, cf: App) -> None:
    reference = _take_in(cf)
    page = _signed_in(browser, base, "hana")
    page.goto(f"{base}/console/cases/{reference}")
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
    assert unlabelled == []
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.textContent.trim().slice(0, 40)"))
    assert any(text.startswith("Start the validity assessment") for text in reached)
    page.context.close()


def test_markup_a_customer_wrote_is_shown_as_text_and_never_run(browser: Any, base: str, cf: App) -> None:
    script = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
    reference = _take_in(cf, description=f"Charged twice {script}",
                         customer={"name": "<b>Eve</b>", "email": "eve@example.com"})
    page = _signed_in(browser, base, "hana")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.goto(f"{base}/console/cases/{reference}")
    expect(page.locator("body")).to_contain_text(script)
    expect(page.locator("body")).to_contain_text("<b>Eve</b>")
    assert page.evaluate("window.pwned === undefined") and page.locator("b", has_text="Eve").count() == 0
    page.goto(f"{base}/console/queue")
    assert page.evaluate("window.pwned === undefined") and dialogs == []
    page.context.close()


def test_the_case_page_brings_in_its_related_complaints_once_open(browser: Any, base: str, cf: App) -> None:
    first = _take_in(cf, description="Overdraft fee charged twice on the same day")
    second = _take_in(cf, description="Overdraft fee charged twice again this month")
    add_link(cf.db, datetime.now(UTC), first, second, "related", Actor("quinn", "quality"), "same overdraft fee")
    page = _signed_in(browser, base, "hana")
    page.goto(f"{base}/console/cases/{first}")
    expect(page.locator("ul.related").get_by_role("link", name=second)).to_be_visible()
    # htmx asks for the list alone; a browser without script follows the link to the whole page with it
    alone = page.request.get(f"{base}/console/cases/{first}/related", headers={"HX-Request": "true"})
    assert alone.status == 200 and second in alone.text() and "<html" not in alone.text()
    whole = page.request.get(f"{base}/console/cases/{first}/related")
    assert whole.status == 200 and second in whole.text() and "<html" in whole.text() and first in whole.text()
    missing = page.request.get(f"{base}/console/cases/C-1999-000001/related", headers={"HX-Request": "true"})
    assert missing.status == 404
    assert page.request.get(f"{base}/console/cases/C-1999-000001/related").status == 404
    page.context.close()
    page = _signed_in(browser, base, "hana", script=False)
    page.goto(f"{base}/console/cases/{first}")
    expect(page.get_by_text("Looking for related complaints")).to_be_hidden()  # nothing is looking
    page.get_by_role("link", name="Show related complaints").click()
    expect(page.locator("ul.related").get_by_role("link", name=second)).to_be_visible()
    page.context.close()
