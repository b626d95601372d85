"""Correctness under concurrency, with real processes: racing writers lose no update."""

from __future__ import annotations

from pathlib import Path

from casework import TO_INVESTIGATING, stored, take_in, walk
from complaints.bootstrap import App
from complaints.integrity import check_integrity
from conftest import T0
from storage_workers import CYCLE, advance_worker, run_workers
from workflows.machine import replay

WORKERS = 4
ROUNDS = 30


def test_racing_processes_lose_no_update_and_every_refusal_is_clean(
    app: App, database_url: str, tmp_path: Path
) -> None:
    references = [take_in(app) for _ in range(3)]
    for reference in references:
        walk(app, reference, TO_INVESTIGATING)
    setup_events = 2 + len(TO_INVESTIGATING)

    results = run_workers(advance_worker, [(database_url, T0.isoformat(), references, w, ROUNDS)
                                           for w in range(WORKERS)], tmp_path)
    outcomes = [o for result in results for o in result]
    accepted = [o for o in outcomes if o["result"] == "accepted"]
    refused = [o for o in outcomes if o["result"] != "accepted"]

    assert len(outcomes) == WORKERS * ROUNDS and accepted and refused
    for o in refused:
        if o["result"] == "conflict":
            assert o["expected_version"] is not None
            assert "was changed by someone else" in o["message"] and "Reload it and try again" in o["message"]
        else:  # without a version to check, the case had moved on to where the action doesn't apply
            assert o["result"] == "not_allowed" and CYCLE.get(o["state"]) != o["action"], o
    for reference in references:
        case = stored(app, reference)
        logged = [(e["seq"], e["action"], e["actor"], e["payload"]) for e in case["events"][setup_events:]]
        wanted = sorted((o["seq"], o["action"], o["actor"], o["payload"]) for o in accepted
                        if o["reference"] == reference)
        assert logged == wanted  # every accepted action once, in its order, and nothing else
        folded = replay(case["events"])
        assert folded is not None
        assert (folded.state, folded.tier, folded.queue, folded.version, folded.data) == (
            case["state"], case["tier"], case["queue"], case["version"], case["data"])
    assert check_integrity(app.db, app.registry).problems == []
