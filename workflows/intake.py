"""Taking complaints in: validated records -> stored, acknowledged cases, in batches.

Idempotent on the external id: a record seen before (in the database or earlier in the same
batch) is reported as a duplicate and not stored again. Each batch is one transaction, so an
import killed half-way leaves whole batches or nothing, and a rerun completes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from threading import Event
from typing import Any, Self

from sqlalchemy.exc import IntegrityError

from complaints.clock import as_utc
from complaints.collector import collector_paused
from complaints.db import Database
from complaints.errors import ComplaintflowError, ConfigurationError, ImportRowError, InvalidInput
from complaints.retry import is_contention
from complaints.schemas import ComplaintIn, CustomerIn
from complaints.steps import SYSTEM_ROLE, Actor, Case, Step
from complaints.uow import UnitOfWork
from workflows import machine
from workflows.compiled import CompiledWorkflow
from workflows.engine import NewCase, WorkflowEngine

#: Decides the tier a new complaint starts at (escalation: critical complaints start higher).
InitialTier = Callable[[CompiledWorkflow, ComplaintIn], str]
INTAKE_FIELDS = ("channel", "product", "sub_product", "company", "category", "sub_category",
                 "severity", "language", "region", "external_id")


#: How far ahead of the clock a receipt may be (a date alone, from a source ahead of UTC):
#: a complaint received later than that is a mistyped date, refused with its row.
FUTURE_TOLERANCE = timedelta(days=1)


def receipt_problem(record: ComplaintIn, now: datetime) -> str | None:
    """Why the record's receipt can't be right (later than ``now`` and its tolerance), if so."""
    if record.received_at is None or (received := as_utc(record.received_at)) <= now + FUTURE_TOLERANCE:
        return None
    return f"received_at: {received:%Y-%m-%d %H:%M} UTC is in the future (now {now:%Y-%m-%d %H:%M} UTC)"


#: The data key marking a complaint imported as history, and the action that closes one.
HISTORY, CLOSE = "imported_as_history", "close"


def history_problem(record: ComplaintIn, historical: bool) -> str | None:
    """Why the record can't be taken in as it is: history needs its receipt date, and only
    history may come closed."""
    if historical and record.received_at is None:
        return "received_at: a historical import needs the date each complaint was received"
    if not historical and record.closed_at is not None:
        return "closed_at: only a historical import (--historical) takes a complaint that is closed already"
    return None


def first_tier(workflow: CompiledWorkflow, record: ComplaintIn) -> str:
    return workflow.first_tier


@dataclass
class IntakeReport:
    created: list[tuple[int, str]] = field(default_factory=list)  # (row, reference)
    duplicates: list[tuple[int, str, str]] = field(default_factory=list)  # (row, external id, reference)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)

    @property
    def ok(self) -> bool:
        return not self.errors

    def refusals(self) -> list[dict[str, Any]]:
        """Each refused row as a script reads it: its number, and the reason without it (an
        error read by a person says ``row 3: product: Field required``)."""
        return [{"row": row, "reason": why.removeprefix(f"row {row}: ")} for row, why in self.errors]

    def merge(self, other: IntakeReport) -> None:
        self.created += other.created
        self.duplicates += other.duplicates
        self.errors += other.errors


class IntakeService:
    def __init__(
        self,
        engine: WorkflowEngine,
        workflow_name: str = "complaint",
        pseudonym_key: str | None = None,
        initial_tier: InitialTier = first_tier,
        batch_size: int = 500,
        missing_key: str = "No pseudonym key: customers with an email or phone can't be taken in",
    ):
        self.engine = engine
        self.workflow_name = workflow_name
        self.pseudonym_key = pseudonym_key.encode() if pseudonym_key else None
        self.missing_key = missing_key
        self.initial_tier = initial_tier
        self.batch_size = batch_size

    def pseudonym(self, identity: str) -> str:
        """A keyed hash: stable per person, meaningless without the key (GDPR pseudonymisation).
        Without a key there is no pseudonym, and no customer who can be identified is taken in."""
        if self.pseudonym_key is None:
            raise ConfigurationError(self.missing_key)
        return hmac.new(self.pseudonym_key, identity.encode(), hashlib.sha256).hexdigest()[:32]

    def check_may_take_in(self, actor: Actor) -> None:
        """Intake records who the customer is: a person takes complaints in only in a role the
        workflow shows personal data to (the system's own intake, the inbox and replies, too)."""
        if actor.role != SYSTEM_ROLE:
            self.engine.registry.get(self.workflow_name).check_shows_personal_data_to(actor.role, "take complaints in")

    def take_in_one(self, record: ComplaintIn, actor: Actor) -> tuple[str, bool]:
        """(reference, created). A known external id returns the existing reference."""
        self.check_may_take_in(actor)
        problem = receipt_problem(record, self.engine.clock.now())
        if problem:
            raise InvalidInput("Invalid complaint", [problem])
        report = self.take_in([(1, record)], actor)
        if report.created:
            return report.created[0][1], True
        return report.duplicates[0][2], False

    def take_in(
        self,
        records: Iterable[tuple[int, ComplaintIn | ComplaintflowError]],
        actor: Actor,
        on_batch: Callable[[int], None] | None = None,
        historical: bool = False,
    ) -> IntakeReport:
        """Store valid records in batches; rows that failed parsing are reported, not stored.
        ``historical``: the records are history, each stored as received on its date
        (``_plan_history``).

        A batch commits on a helper thread while the next batch is read and validated (the
        commit writes the batch's pages without Python, reading needs nothing from the
        database), and SQLite's log is copied back on another while the next batch is written
        (``_Committer``). A batch is written only once the one before it has committed, and
        ``on_batch`` hears of a batch once it is committed. The last batch, and so a single
        complaint, commits in the caller's thread: nothing is left to read beside it.
        """
        self.check_may_take_in(actor)
        report = IntakeReport()
        iterator = iter(records)
        with _Committer(self.engine.db, report) as committer:
            size = 0
            while True:
                with collector_paused():
                    batch = []
                    try:
                        batch = list(islice(iterator, self.batch_size))
                    finally:
                        committed = committer.settle(more=bool(batch))
                    if committed and on_batch:
                        on_batch(size)
                    if not batch:
                        committer.finish()
                        return report
                    good = []
                    now = self.engine.clock.now()
                    for row, item in batch:
                        if not isinstance(item, ComplaintflowError) and (
                                problem := receipt_problem(item, now) or history_problem(item, historical)):
                            item = ImportRowError(row, [problem])
                        if isinstance(item, ComplaintflowError):
                            report.errors.append((row, str(item)))
                        else:
                            good.append((row, item))
                    # fewer rows than asked for: the records have run out
                    committer.commit(*self._write_batch(good, actor, historical), last=len(batch) < self.batch_size)
                    size = len(batch)

    def _write_batch(self, batch: list[tuple[int, ComplaintIn]], actor: Actor,
                     historical: bool = False) -> tuple[UnitOfWork, IntakeReport]:
        """The batch written in a transaction left open for ``_commit``."""
        for attempt in range(3):
            uow = UnitOfWork(self.engine.db).__enter__()
            try:
                return uow, self._write(uow, batch, actor, historical)
            except BaseException as exc:
                uow.__exit__(type(exc), exc, exc.__traceback__)
                if not (isinstance(exc, IntegrityError) or is_contention(exc)) or attempt == 2:
                    raise  # 3 times: a concurrent importer keeps winning the same ids, give up loudly
        raise AssertionError("unreachable")  # pragma: no cover

    def _write(self, uow: UnitOfWork, batch: list[tuple[int, ComplaintIn]], actor: Actor,
               historical: bool = False) -> IntakeReport:
        report = IntakeReport()
        workflow = self.engine.registry.get(self.workflow_name)
        now = self.engine.clock.now()
        known = uow.cases.known_external_ids([r.external_id for _, r in batch if r.external_id])
        fresh: list[tuple[int, ComplaintIn]] = []
        for row, record in batch:
            if record.external_id and record.external_id in known:
                report.duplicates.append((row, record.external_id, known[record.external_id]))
                continue
            if record.external_id:
                known[record.external_id] = "(earlier in this import)"
            fresh.append((row, record))
        if not fresh:
            return report
        customers = self._customers(uow, [r.customer for _, r in fresh], now)
        by_year: dict[int, list[int]] = {}
        for i, (_, record) in enumerate(fresh):
            by_year.setdefault((record.received_at or now).year, []).append(i)
        references: list[str] = [""] * len(fresh)
        for year, idxs in sorted(by_year.items()):
            for i, ref in zip(idxs, uow.cases.allocate_references(year, len(idxs)), strict=True):
                references[i] = ref
        new = []
        for (_, record), reference, customer_id in zip(fresh, references, customers, strict=True):
            case, steps = (self._plan_history if historical else self._plan)(workflow, record, reference, actor, now)
            new.append(NewCase(_row(record, case, customer_id, now), case, steps))
        self.engine.start_cases(uow, workflow, new)
        for (row, record), ref in zip(fresh, references, strict=True):
            report.created.append((row, ref))
            if record.external_id:
                known[record.external_id] = ref
        return report

    def _plan(self, workflow: CompiledWorkflow, record: ComplaintIn, reference: str, actor: Actor, now: datetime) -> tuple[Case, list[Step]]:
        fields = {k: getattr(record, k) for k in INTAKE_FIELDS}
        fields.update(workflow_name=workflow.name, workflow_version=workflow.version,
                      received_at=record.received_at or now)
        intake = {k: v for k, v in fields.items() if v is not None and k not in ("workflow_name", "workflow_version")}
        intake["received_at"] = machine.iso(record.received_at or now)
        intake["description"] = record.description
        if record.source:  # the file's columns no field took: kept with what was received
            intake["source"] = record.source
        case, received = machine.start(
            workflow, reference, fields, actor, now, tier=self.initial_tier(workflow, record), intake=intake
        )
        if record.customer and record.customer.name:
            case = Case(**{**case.__dict__, "customer_name": record.customer.name})
        ack = machine.plan(workflow, case, "acknowledge", Actor.system("intake"), {}, now, self.engine.deadline)
        return ack.apply(case), [received, ack]

    def _plan_history(self, workflow: CompiledWorkflow, record: ComplaintIn, reference: str, actor: Actor,
                      now: datetime) -> tuple[Case, list[Step]]:
        """A complaint from history: received and acknowledged on its receipt date (so its clocks
        count from then), closed on its closing date with its outcome if it came closed, and no
        letter for any of it. The case's data says it was imported as history (``HISTORY``):
        the automatic escalation of a repeat complaint leaves it alone, and the sweep records
        the deadlines that passed before it was imported without acting on them."""
        received_at = as_utc(record.received_at)  # type: ignore[arg-type]
        case, steps = self._plan(workflow, record.model_copy(update={"received_at": received_at}), reference, actor,
                                 received_at)
        received, ack = steps
        marker = {HISTORY: machine.iso(now)}
        received = Step(**{**received.__dict__, "changes": marker})
        ack = Step(**{**ack.__dict__, "notifications": []})
        case = Case(**{**case.__dict__, "data": {**case.data, **marker}})
        if record.closed_at is None:
            return case, [received, ack]
        if CLOSE not in workflow.spec.transitions:
            raise InvalidInput(f"Workflow '{workflow.name}' v{workflow.version}",
                               [f"has no '{CLOSE}' action to import a closed complaint into"])
        closed_at, closed = as_utc(record.closed_at), workflow.target(CLOSE, ack.to_state)
        changes = {"outcome": record.outcome} if record.outcome else {}
        after = Case(**{**case.__dict__, "data": {**case.data, **changes}})
        close = Step(action=CLOSE, actor=actor, from_state=ack.to_state, to_state=closed, tier=ack.tier,
                     queue=ack.queue, seq=ack.seq + 1, at=closed_at,
                     payload={"closed_at": machine.iso(closed_at), "imported": True, **changes}, changes=changes,
                     timers=machine.entry_timers(workflow, closed, after, closed_at, self.engine.deadline),
                     notifications=[])
        return close.apply(case), [received, ack, close]

    def _customers(self, uow: UnitOfWork, customers: list[CustomerIn | None], now: datetime) -> list[int | None]:
        """Customer ids, creating customers not seen before (matched by pseudonymised identity)."""
        # A name alone identifies no one: such a customer gets a row (and random pseudonym) of its own.
        keys = [
            self.pseudonym(c.identity) if c and c.identity else secrets.token_hex(16) if c and c.name else None
            for c in customers
        ]
        wanted = sorted({k for k in keys if k})
        ids = uow.cases.customer_ids(wanted)
        new_rows: dict[str, dict[str, Any]] = {}
        for key, c in zip(keys, customers, strict=True):
            if key and key not in ids and key not in new_rows and c is not None:
                new_rows[key] = {"pseudonym": key, "name": c.name, "email": c.email, "phone": c.phone, "created_at": now}
        ids.update(uow.cases.add_customers(list(new_rows.values())))
        return [ids[k] if k else None for k in keys]


def _row(record: ComplaintIn, case: Case, customer_id: int | None, now: datetime) -> dict[str, Any]:
    """The complaint's row as stored after its first steps."""
    return {
        **{k: getattr(record, k) for k in INTAKE_FIELDS},
        "reference": case.reference, "customer_id": customer_id, "description": record.description,
        "state": case.state, "tier": case.tier, "queue": case.queue, "assignee": None,
        "workflow_name": case.fields["workflow_name"], "workflow_version": case.fields["workflow_version"],
        "version": case.version, "data": dict(case.data),
        "received_at": record.received_at or now, "created_at": now, "updated_at": now,
    }


class _Committer:
    """Commits intake's batches on a helper thread, one at a time, and after each commit
    copies SQLite's log back into the database on another (``Database.checkpoint``), so the
    importer waits for neither while it reads and writes the next batch. The helpers start
    with the first batch that has another after it."""

    def __init__(self, db: Database, report: IntakeReport):
        self.db, self.report = db, report
        self._helpers: ThreadPoolExecutor | None = None
        self._committing: Future[IntakeReport] | None = None
        self._checkpointing: Future[None] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._helpers is not None:
            self._helpers.shutdown(wait=True)

    def _submit(self, work: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._helpers is None:
            self._helpers = ThreadPoolExecutor(2, thread_name_prefix="intake")
        return self._helpers.submit(work, *args)

    def commit(self, uow: UnitOfWork, written: IntakeReport, last: bool) -> None:
        """Commit a written batch: here if it is the ``last``, else started on a helper
        (``settle`` waits for it).

        A helper's commit is under way when this returns: reading the next batch releases the
        interpreter lock at every chunk of the file and takes it back at once, which would keep
        the helper from the lock, and from its commit, until the whole next batch was read."""
        if last:
            self._committing = Future()
            self._committing.set_result(_commit(uow, written))
            return
        started = Event()
        self._committing = self._submit(_commit, uow, written, started)
        started.wait()

    def settle(self, more: bool) -> bool:
        """Wait for the batch being committed, if any, and add it to the report; whether there
        was one. If ``more`` batches follow, start copying the log back (unless the last copy
        still runs): an import of one batch leaves that to SQLite, as any other transaction
        does. Raises what the commit, or the last copy, raised."""
        if self._committing is None:
            return False
        committing, self._committing = self._committing, None
        self.report.merge(committing.result())
        if more and (self._checkpointing is None or self._checkpointing.done()):
            if self._checkpointing is not None:
                self._checkpointing.result()
            self._checkpointing = self._submit(self.db.checkpoint)
        return True

    def finish(self) -> None:
        """Wait for everything started; raises what failed."""
        self.settle(more=False)
        if self._checkpointing is not None:
            self._checkpointing.result()


def _commit(uow: UnitOfWork, report: IntakeReport, started: Event | None = None) -> IntakeReport:
    """Commit a batch's transaction and close it (a failed commit loses the batch whole:
    ``UnitOfWork.commit``); ``started`` is set on the way in."""
    if started is not None:
        started.set()
    try:
        uow.commit()
    finally:
        uow.__exit__(None, None, None)
    return report
