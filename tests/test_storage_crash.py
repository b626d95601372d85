"""Nothing lost in a crash: an import killed with SIGKILL half-way, run again, stores every row once."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import T0
from sqlalchemy import event, func, select

from complaintflow.bootstrap import App
from complaints.repository import complaint_t, counter_t, customer_t, event_t, note_t
from complaints.uow import UnitOfWork
from workflows.integrity import check_integrity

ROWS = 1500
BATCH = 25
CLI = [sys.executable, "-c", "from complaintflow.cli.app import main; main()"]


def write_import_file(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["external_id", "product", "description", "customer_name", "customer_email", "received_at"])
        for n in range(1, rows + 1):
            out.writerow([f"EXT-{n:05d}", "Payday loan", f"Charged a fee twice (case {n})", f"Customer {n}",
                          f"customer{n}@example.com", "2026-11-20T10:00:00Z"])
    return path


def import_command(url: str, file: Path) -> list[str]:
    return [*CLI, "--db", url, "--now", T0.isoformat(), "--json", "import", str(file)]


def stored_complaints(app: App) -> int:
    with app.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(complaint_t)).scalar_one())


@pytest.mark.slow
def test_an_import_killed_half_way_and_run_again_stores_every_row_exactly_once(
    app: App, database_url: str, tmp_path: Path
) -> None:
    file = write_import_file(tmp_path / "complaints.csv", ROWS)
    env = {**os.environ, "COMPLAINTS_INTAKE_BATCH_SIZE": str(BATCH)}
    victim = subprocess.Popen(import_command(database_url, file), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while stored_complaints(app) == 0 and victim.poll() is None:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    before = stored_complaints(app)
    assert 0 < before < ROWS and before % BATCH == 0  # whole batches only

    rerun = subprocess.run(import_command(database_url, file), env=env, capture_output=True, text=True, check=False)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert (summary["created"], summary["duplicates"], summary["errors"]) == (ROWS - before, before, [])

    with app.db.read() as conn:
        complaints = conn.execute(select(complaint_t.c.id, complaint_t.c.reference, complaint_t.c.external_id,
                                         complaint_t.c.state, complaint_t.c.version)).all()
        events = dict(conn.execute(select(event_t.c.complaint_id, func.count()).group_by(event_t.c.complaint_id)).all())
        acks = dict(conn.execute(select(note_t.c.complaint_id, func.count())
                                 .where(note_t.c.template == "acknowledgement", note_t.c.event_seq == 2)
                                 .group_by(note_t.c.complaint_id)).all())
        customers = conn.execute(select(func.count()).select_from(customer_t)).scalar_one()
        counter = conn.execute(select(counter_t.c.next_number).where(counter_t.c.year == 2026)).scalar_one()
    assert sorted(c.external_id for c in complaints) == [f"EXT-{n:05d}" for n in range(1, ROWS + 1)]
    assert {(c.state, c.version) for c in complaints} == {("acknowledged", 2)}
    assert all(events.get(c.id) == 2 and acks.get(c.id) == 1 for c in complaints)
    assert customers == ROWS
    assert counter == ROWS + 1  # the killed batch's references were rolled back with it
    assert sorted(c.reference for c in complaints) == [f"C-2026-{n:06d}" for n in range(1, ROWS + 1)]
    assert check_integrity(app.db, app.registry).problems == []


def test_a_failed_commit_loses_its_transaction_and_the_next_one_starts_clean(app: App) -> None:
    """The connection of a failed commit may still be inside its transaction: it is discarded,
    never handed to the next unit of work."""
    def fail(conn: object) -> None:
        raise RuntimeError("the disk is full")

    event.listen(app.db.engine, "commit", fail)
    try:
        with pytest.raises(RuntimeError, match="the disk is full"), UnitOfWork(app.db) as uow:
            uow.conn.execute(counter_t.insert().values(year=1999, next_number=7))
            uow.commit()
    finally:
        event.remove(app.db.engine, "commit", fail)
    with UnitOfWork(app.db) as uow:  # would fail to begin, or commit the leftovers, on the same connection
        uow.conn.execute(counter_t.insert().values(year=2000, next_number=1))
        uow.commit()
    with app.db.read() as conn:
        assert conn.execute(select(counter_t.c.year)).scalars().all() == [2000]
