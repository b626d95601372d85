"""`complaints demo`: a fresh SQLite database, the bundled sample imported, and complaints
walked through every branch of the lifecycle on a simulated clock, with a summary.

This is composition-level code (like the CLI): it wires services together and prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from complaintflow.bootstrap import App, build, init_database
from complaintflow.cli.render import Listing
from complaintflow.keys import ensure_pseudonym_key
from complaintflow.settings import load_settings
from complaints.clock import FixedClock, SystemClock
from complaints.errors import ComplaintflowError
from complaints.importers import read_file
from complaints.repository import WORKFLOW_TIMER
from complaints.steps import Actor
from escalation.sweep import sweep
from root_cause.nightly import nightly
from root_cause.services import candidates
from workflows.queries import count_by_state

HANDLER = Actor("hana", "handler")
SUPERVISOR = Actor("sam", "supervisor")


@dataclass
class Scenario:
    name: str
    reference: str
    path: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def bundled_sample() -> Path:
    return Path(str(resources.files("complaintflow") / "sample_data" / "complaints.json"))


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class _Walker:
    """Runs actions and timer sweeps on a simulated clock, noting what happened."""

    def __init__(self, app: App, clock: FixedClock):
        self.app, self.clock = app, clock
        self.timers_fired = 0
        self.escalations: list[str] = []

    def do(self, sc: Scenario, action: str, actor: Actor = HANDLER, **payload: Any) -> None:
        self.app.engine.advance(sc.reference, action, actor, payload)
        sc.path.append(action)

    def refuse(self, sc: Scenario, action: str, actor: Actor = HANDLER, **payload: Any) -> None:
        """An action the rules must refuse; the refusal is part of the demonstration."""
        try:
            self.app.engine.advance(sc.reference, action, actor, payload)
        except ComplaintflowError as exc:
            sc.refused.append(f"{action}: {exc}")
        else:  # pragma: no cover - would mean the workflow lost a rule
            raise AssertionError(f"{action} on {sc.reference} should have been refused")

    def wait(self, days: int, scenarios: list[Scenario]) -> None:
        """Let ``days`` pass and fire every timer that falls due, noting it on its scenario."""
        self.clock.advance(days=days)
        by_ref = {sc.reference: sc for sc in scenarios}
        report = sweep(self.app.engine)
        self.escalations += report.escalated
        for label in report.escalated:  # "C-2026-000007 → supervisor": a breached clock escalated it
            reference, _, tier = label.partition(" → ")
            if reference in by_ref:
                by_ref[reference].path.append(f"⏱SLA breach: escalated to {tier}")
        for label in report.fired:
            reference, kind, name = label.split(" ", 2)
            self.timers_fired += 1
            if reference in by_ref and kind == WORKFLOW_TIMER:
                by_ref[reference].path.append(f"⏱{name}")

    def state(self, sc: Scenario) -> str:
        return self.app.engine.get(sc.reference).state


def run_demo(database: Path, sample: Path | None = None, console: Console | None = None) -> dict[str, Any]:
    """Build the demo database and return a JSON-ready summary; print it when given a console."""
    _remove_database(database)
    clock = FixedClock(SystemClock().now().replace(hour=9, minute=0, second=0, microsecond=0))
    settings = load_settings(database_url=f"sqlite:///{database}")
    ensure_pseudonym_key(settings)  # as `complaints init` does
    app = build(settings, clock=clock)
    init_database(app.db)
    imported = 0
    for path in [bundled_sample(), *([sample] if sample else [])]:
        report = app.intake.take_in(read_file(path), HANDLER)
        imported += len(report.created)
    with app.db.read() as conn:
        refs = [r for r, in conn.exec_driver_sql("SELECT reference FROM complaint ORDER BY id LIMIT 7")]
    names = ["invalid, then archived", "information asked and given, resolved, reopened",
             "no reply: auto-closed", "escalated, paused, rejected, resolved",
             "deemed accepted, dissatisfied, no follow-up answer", "escalated to the top tier",
             "left in the queue"]
    sc = [Scenario(n, r) for n, r in zip(names, refs, strict=False)]
    a, b, c, d, e, f = sc[:6]
    w = _Walker(app, clock)
    criteria = "within scope, within time limit, customer identified"

    for s in (a, b, c, d, e, f):
        w.do(s, "assess")
    w.refuse(a, "close")
    w.do(a, "invalid", criteria=criteria, rationale="The fee is set out in the signed tariff, section 4.")
    w.do(b, "need_info", question="a copy of the statement showing both charges")
    w.do(c, "need_info", question="the date of the purchase")
    w.do(d, "valid", criteria=criteria, rationale="Charged twice for one purchase.")
    w.do(d, "escalate", SUPERVISOR, reason="Card scheme dispute needs a supervisor.")
    w.do(d, "pause", reason="Waiting for the card scheme's chargeback answer.",
         resume_on=(clock.now() + timedelta(days=3)).date().isoformat())
    w.do(e, "valid", criteria=criteria, rationale="Mortgage collected twice.")
    w.refuse(e, "propose", resolution="Refund")  # missing 'reasons': payload checked per field
    w.do(e, "propose", resolution="Refund of the second payment and the overdraft fee.",
         reasons="A batch job ran twice on the 1st.")
    w.do(f, "valid", criteria=criteria, rationale="Account blocked in error.")
    for _ in range(3):
        w.do(f, "escalate", SUPERVISOR, reason="Critical: customer without access to funds.")
    w.refuse(f, "escalate", SUPERVISOR, reason="Already at the executive tier.")

    w.wait(4, sc)  # d resumes on its date
    w.do(b, "info_received", summary="Statement received: two identical charges.")
    w.do(b, "valid", criteria=criteria, rationale="Two identical charges on the statement.")
    w.do(b, "propose", resolution="Refund of the second charge.", reasons="Duplicate posting.")
    w.do(b, "accept")
    w.do(d, "propose", resolution="Goodwill payment of 20 EUR.", reasons="Chargeback refused by the scheme.")
    w.do(d, "reject", reason="The customer wants the full amount back.")
    w.do(d, "propose", resolution="Full refund of the disputed amount.", reasons="Merchant confirmed the error.")
    w.do(d, "accept")

    w.wait(11, sc)  # c auto-closes, e is deemed accepted, b and d get their follow-up
    w.do(b, "satisfied", comment="Quick and fair.")
    w.do(b, "close", root_cause_code="BILLING.DUPLICATE", finding="Batch job posted twice.")
    w.do(d, "declined")
    w.do(d, "close", root_cause_code="BILLING.CHARGEBACK", finding="Scheme rules unclear to staff.")

    w.wait(8, sc)  # e's follow-up starts
    w.do(e, "dissatisfied", reason="The overdraft fee was not refunded.")
    w.do(e, "propose", resolution="Refund of the overdraft fee too.", reasons="Fee caused by our error.")
    w.do(e, "accept")
    w.wait(8, sc)
    w.wait(11, sc)  # no answer to the follow-up
    w.do(e, "close", root_cause_code="BILLING.DUPLICATE", finding="Same batch job as before.")
    w.do(b, "reopen", reason="The refund never arrived.")
    w.wait(91, sc)  # reopening windows end: closed cases are archived

    night = nightly(app.db, app.taxonomy, app.clock.now())  # what the root-cause-nightly flow runs: linking, recurrence, CAPA checks
    with app.db.read() as conn:
        every = [r for r, in conn.exec_driver_sql("SELECT reference FROM complaint ORDER BY id")]
    related = {ref: candidates(app.db, ref, k=2) for ref in every}
    states = count_by_state(app.engine)
    with app.db.read() as conn:
        totals = {name: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                  for name, table in (("events", "complaint_event"), ("notifications", "notification"),
                                      ("timers", "timer"))}
    summary = {
        "database": str(database),
        "imported": imported,
        "scenarios": [{"name": s.name, "reference": s.reference, "state": w.state(s), "path": s.path,
                       "refused": s.refused} for s in sc],
        "states": states,
        "timers_fired": w.timers_fired,
        "sla_escalations": w.escalations,
        "links_created": night["linking"]["created"],
        "related": {ref: [{k: r[k] for k in ("reference", "kind", "score")} for r in rows] for ref, rows in related.items()},
        **totals,
    }
    app.db.dispose()
    if console is not None:
        _print(console, summary)
    return summary


def _print(console: Console, summary: dict[str, Any]) -> None:
    path = "Path (⏱ = fired by a timer)"
    table = Listing(("Scenario", "Reference", path, "Now", "Refused as it should be"),
                    wrap=("Scenario", path, "Refused as it should be"), title="Lifecycle branches walked", show_lines=True)
    for s in summary["scenarios"]:
        table.add_row(s["name"], s["reference"], " → ".join(s["path"]) or "-", s["state"],
                      "\n".join(r.split(":")[0] for r in s["refused"]) or "-")
    console.print(table)
    counts = Table(title="Database", header_style="bold")
    counts.add_column("What")
    counts.add_column("How many", justify="right")
    counts.add_row("complaints imported", str(summary["imported"]))
    for state, n in sorted(summary["states"].items()):
        counts.add_row(f"  in state {state}", str(n))
    counts.add_row("escalations by breached SLA clocks", str(len(summary["sla_escalations"])))
    counts.add_row("related-complaint links found", str(summary["links_created"]))
    for key in ("events", "notifications", "timers", "timers_fired"):
        counts.add_row(key.replace("_", " "), str(summary[key]))
    console.print(counts)
    related = Listing(("Complaint", "Related", "Kind", "Score"),
                      title="Related complaints found by the nightly linking (any language)")
    shown: set[frozenset[str]] = set()
    for ref, rows in summary["related"].items():
        for r in rows:
            if frozenset((ref, r["reference"])) not in shown:
                shown.add(frozenset((ref, r["reference"])))
                related.add_row(ref, r["reference"], r["kind"], f"{r['score']:.2f}")
    if related.row_count:
        console.print(related)
    db = f"complaints --db sqlite:///{summary['database']}"
    ref, untouched = summary["scenarios"][1]["reference"], summary["scenarios"][-1]["reference"]
    # soft_wrap: a command is one line, whatever the terminal's width, so that it copies whole
    console.print(f"\nLook closer:\n  {db} show {ref}\n  {db} sla explain {untouched}"
                  f"\n  {db} rootcause report\n  {db} rootcause graph --format html -o graph.html", highlight=False,
                  soft_wrap=True)
