"""Clock rows, ledger entries and their timers, in SQLAlchemy Core on the caller's connection.

Writes join the transaction of the step (or sweep) that caused them: a rolled-back step
leaves no clock change behind.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy import Connection, bindparam, update

from complaints.bulk import Bulk, Stamps, select_matching
from complaints.repository import INSERT_TIMERS, cancel_named_timers
from escalation.clocks import TIMER_KINDS, ClockState, Due, Entry, Outcome
from escalation.models import SlaClock, SlaLedgerEntry

clock_t = SlaClock.__table__  # type: ignore[attr-defined]
ledger_t = SlaLedgerEntry.__table__  # type: ignore[attr-defined]

# Built once with bind parameters: the observer runs them inside every clock-changing step,
# and rebuilding SQLAlchemy expressions per call would be most of an observer's cost.
_UPDATE_CLOCK = Bulk(update(clock_t).where(clock_t.c.id == bindparam("clock_id")))
_CANCEL = cancel_named_timers(TIMER_KINDS)  # a clock's timers: named after it, or 'clock.<milestone>...'

# No RETURNING: nothing needs a new clock's id within the step that starts it. Writes go
# through ``Bulk`` (straight to the driver, values converted per column).
_INSERT_CLOCKS = Bulk(clock_t.insert())
_INSERT_LEDGER = Bulk(ledger_t.insert())


def _columns(state: ClockState) -> dict[str, Any]:
    """A clock's column values (its id is the row's key, never written)."""
    row = vars(state).copy()
    del row["id"]
    return row


def _changeable(state: ClockState) -> dict[str, Any]:
    """A stored clock's column values but its name and kind, which never change: left out of
    the update, SQLite leaves the unique index on (complaint, name) alone."""
    row = _columns(state)
    del row["name"], row["kind"]
    return row


def _cancel_row(complaint_id: int, clock: str, at: datetime) -> dict[str, Any]:
    """``_CANCEL``'s parameters: names after 'clock.' and before 'clock/' ('/' follows '.')."""
    return {"cid": complaint_id, "clock": clock, "after": f"{clock}.", "before": f"{clock}/", "at": at}


def _owns(clock: str, timer: dict[str, Any]) -> bool:
    """What ``_CANCEL`` matches: a clock's timers are named after it, or ``clock.<milestone>...``."""
    name = timer["name"]
    return timer["kind"] in TIMER_KINDS and (name == clock or name.startswith(clock + "."))


@dataclass(frozen=True)
class FreshStep:
    """What one step of a new complaint adds to its clock rows, without its id: the clocks it
    adds first (in their final states, with the time of their last change), its ledger rows
    and the timer rows it adds that are still pending at the end, each in order."""

    clocks: list[tuple[ClockState, datetime]]
    ledger: list[Mapping[str, Any]]
    timers: list[dict[str, Any]]


#: A new complaint's clock rows, by step (``ClockChanges.fresh``).
FreshClocks = list[FreshStep]


class ClockChanges:
    """Clock outcomes of one batch of steps, folded in memory and written set-based.

    Each clock is written once, in its final state (inserted if it is new, else updated);
    ledger entries and timers keep their order. A timer added and cancelled within the batch
    is not stored at all: it was never pending when anything could read it (intake starts
    and stops the acknowledgement clock in one batch), and the ledger keeps the clock's
    start and stop. The pending timers already stored for a clock are cancelled by its
    first cancelling outcome.
    ``flush`` then writes set-based: its statements do not grow in number with the batch.
    Complaints that share outcomes (the observer memoises them) share their rows too: each
    row is built once per outcome, and written once for all the complaints that share it
    (``Stamps``: their ids travel as one list).
    """

    def __init__(self, sharing: ClockChanges | None = None) -> None:
        """``sharing``: the changes of the same batch whose row templates this one reuses."""
        self._clocks: dict[tuple[int, str], tuple[ClockState, datetime]] = {}
        self._ledger = Stamps(_INSERT_LEDGER, "complaint_id")
        self._timers: dict[int, tuple[dict[str, Any], int]] = {}  # (template, complaint) in the order added
        self._numbers = count()
        self._ends: list[tuple[int, int, int]] = []  # (clocks, ledger rows, timer number) at each step's end
        self._pending: dict[int, list[tuple[int, dict[str, Any]]]] = {}  # complaint -> timers added here
        self._cancel: list[dict[str, Any]] = []
        self._cancelled: set[tuple[int, str]] = set()  # stored clocks whose stored timers are cancelled
        # Rows without their complaint, by how they are built and the (shared, unchanging) object
        # they are built from; the object is kept beside its row so that its id stays its own.
        self._templates: dict[tuple[Any, ...], tuple[object, dict[str, Any]]] = sharing._templates if sharing else {}

    def _template(self, build: Callable[[Any, Any], dict[str, Any]], source: Any, extra: Any) -> dict[str, Any]:
        """``build(source, extra)``, built once per batch."""
        key = (build, id(source), extra)
        found = self._templates.get(key)
        if found is None:
            found = self._templates[key] = (source, build(source, extra))
        return found[1]

    def add(self, complaint_id: int, outcome: Outcome, actor: str, at: datetime) -> None:
        state = outcome.state
        key = (complaint_id, state.name)
        if outcome.cancel:
            kept = []
            for number, timer in self._pending.get(complaint_id, []):
                if _owns(state.name, timer):
                    del self._timers[number]
                else:
                    kept.append((number, timer))
            self._pending[complaint_id] = kept
            if state.id is not None and key not in self._cancelled:
                self._cancelled.add(key)
                self._cancel.append(_cancel_row(complaint_id, state.name, at))
        self._clocks[key] = (state, at)
        for e in outcome.entries:
            self._ledger.add(self._template(_ledger_row, e, actor), complaint_id)
        for t in outcome.timers:
            row = self._template(_timer_row, t, at)
            number = next(self._numbers)
            self._timers[number] = (row, complaint_id)
            self._pending.setdefault(complaint_id, []).append((number, row))

    def end_step(self) -> None:
        """Mark the end of a step's outcomes: ``fresh`` splits what was added by step."""
        self._ends.append((len(self._clocks), len(self._ledger), next(self._numbers)))

    def fresh(self) -> FreshClocks:
        """Everything added, by step (``end_step``), when it was added for one complaint with
        no clocks stored: to add for other complaints with ``add_fresh``."""
        assert len({cid for cid, _ in self._clocks}) <= 1, "fresh() takes the changes of one complaint"
        clocks, ledger = list(self._clocks.values()), [row for row, _ in self._ledger]
        steps, start = [], (0, 0, -1)
        for end in self._ends:
            steps.append(FreshStep(
                clocks=clocks[start[0]:end[0]], ledger=ledger[start[1]:end[1]],
                timers=[row for number, (row, _) in self._timers.items() if start[2] < number < end[2]],
            ))
            start = end
        return steps

    def add_fresh(self, complaint_id: int, fresh: FreshStep) -> None:
        """The clocks, ledger entries and timers of one step of ``fresh`` for ``complaint_id``
        (which has no clocks stored)."""
        for state, at in fresh.clocks:
            self._clocks[(complaint_id, state.name)] = (state, at)
        for row in fresh.ledger:
            self._ledger.add(row, complaint_id)
        pending = self._pending.setdefault(complaint_id, [])
        for row in fresh.timers:
            number = next(self._numbers)
            self._timers[number] = (row, complaint_id)
            pending.append((number, row))

    def flush(self, conn: Connection) -> None:
        """Write everything added: clocks, cancellations, ledger, timers (call once). A clock
        inserted here keeps ``id`` None in memory; read the clocks again to get it."""
        fresh, timers = Stamps(_INSERT_CLOCKS, "complaint_id"), Stamps(INSERT_TIMERS, "complaint_id")
        for (cid, _), (state, at) in self._clocks.items():
            if state.id is None:
                fresh.add(self._template(_clock_row, state, at), cid)
        changed = [_changeable(state) | {"updated_at": at, "clock_id": state.id}
                   for state, at in self._clocks.values() if state.id is not None]
        for row, cid in self._timers.values():
            timers.add(row, cid)
        fresh.run(conn)
        _UPDATE_CLOCK.run(conn, changed)
        _CANCEL.run(conn, self._cancel)  # before the inserts: only timers stored by earlier transactions are meant
        self._ledger.run(conn)
        timers.run(conn)


def _clock_row(state: ClockState, at: datetime) -> dict[str, Any]:
    return _columns(state) | {"updated_at": at, "complaint_id": 0}


def _ledger_row(e: Entry, actor: str) -> dict[str, Any]:
    return {"complaint_id": 0, "clock": e.clock, "entry": e.entry, "at": e.at, "actor": actor,
            "reason": e.reason[:500], "detail": e.detail}


def _timer_row(t: Due, at: datetime) -> dict[str, Any]:
    return {"complaint_id": 0, "kind": t.kind, "name": t.name, "action": None, "state": None,
            "due_at": t.due_at, "status": "pending", "payload": t.payload, "created_at": at}


class ClockRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    def clocks(self, complaint_id: int, kinds: Sequence[str] | None = None) -> dict[str, ClockState]:
        """The complaint's clocks (only those of ``kinds``, if given), in the order started."""
        found = self.clocks_wanted({complaint_id: None})[complaint_id]
        return {name: state for name, state in found.items() if kinds is None or state.kind in kinds}

    def clocks_wanted(self, wanted: Mapping[int, Collection[str] | None]) -> dict[int, dict[str, ClockState]]:
        """For each complaint the clocks named (all of them for ``None``): the rows a batch of
        steps needs and no others, with at most two statements whatever the batch size."""
        found: dict[int, dict[str, ClockState]] = {cid: {} for cid in wanted}
        every = [(cid,) for cid, names in wanted.items() if names is None]
        pairs = [(cid, name) for cid, names in wanted.items() if names is not None for name in sorted(names)]
        rows = [*select_matching(self.conn, clock_t, ("complaint_id",), every),
                *select_matching(self.conn, clock_t, ("complaint_id", "name"), pairs)]
        for clock in rows:
            cid = clock.pop("complaint_id")
            clock.pop("updated_at")
            found[cid][clock["name"]] = ClockState(**clock)
        return found

    def ledger(self, complaint_id: int) -> list[dict[str, Any]]:
        return select_matching(self.conn, ledger_t, ("complaint_id",), [(complaint_id,)], order_by="id")

    def save(self, complaint_id: int, outcomes: Iterable[Outcome], actor: str, at: datetime) -> None:
        """Insert or update each clock, append its ledger entries, replace its timers."""
        changes = ClockChanges()
        for outcome in outcomes:
            changes.add(complaint_id, outcome, actor, at)
        changes.flush(self.conn)

    def add_ledger(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Ledger entries written as they are (a sweep's warnings, breaches and letters)."""
        if rows:
            self.conn.execute(ledger_t.insert(), list(rows))

    def mark(self, clock_id: int, at: datetime, **values: Any) -> None:
        """Stamp a clock (``warned_at``, ``breached_at``) without moving it."""
        self.conn.execute(update(clock_t).where(clock_t.c.id == clock_id).values(updated_at=at, **values))
