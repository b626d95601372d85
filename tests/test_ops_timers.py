"""Sweeps restricted to some timer actions (the follow-up and auto-close flows' services)."""

from __future__ import annotations

from complaints.schemas import ComplaintIn
from workflows import timers


def _awaiting_customer(app, handler, n: int) -> list[str]:
    refs = []
    for i in range(n):
        ref, _ = app.intake.take_in_one(ComplaintIn(product="Loan", description=f"Case {i}", external_id=f"A-{i}"), handler)
        app.engine.advance(ref, "assess", handler)
        app.engine.advance(ref, "need_info", handler, {"question": "Which account?"})
        refs.append(ref)
    return refs


def test_a_sweep_restricted_to_some_actions_leaves_other_due_timers_pending(app, handler, clock):
    refs = _awaiting_customer(app, handler, 2)
    clock.advance(days=15)
    assert timers.sweep(app.engine, actions=("start_follow_up", "no_response")).fired == []
    report = timers.sweep(app.engine, actions=("auto_close",))
    assert sorted(report.fired) == sorted(f"{r} workflow auto_close" for r in refs)
    assert {app.engine.get(r).state for r in refs} == {"closed"}
