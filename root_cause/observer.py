"""The workflow hook: blocking keys (fields and words) at intake, the root cause at the review.

Runs inside the transaction of each step (``StepObserver``), so a complaint is never
stored without its blocking keys, and a ``close`` with a code outside the taxonomy rolls
the whole step back with a message naming the code.
"""

from __future__ import annotations

from collections.abc import Sequence

from complaints.steps import Case, Step
from complaints.uow import UnitOfWork
from root_cause.blocking import SAME_ROOT_CAUSE, LinkRecord, all_keys
from root_cause.repository import RootCauseRepository
from root_cause.taxonomy import Taxonomy

ROOT_CAUSE_FIELD = "root_cause_code"


class RootCauseObserver:
    """A ``workflows.engine.StepObserver``; it reads steps only, never the workflow."""

    def __init__(self, taxonomy: Taxonomy):
        self.taxonomy = taxonomy

    def after_steps(self, uow: UnitOfWork, workflow: object, items: Sequence[tuple[Case, Step]]) -> None:
        received = {before.id: (before, str(step.payload.get("description") or ""))
                    for before, step in items if step.action == "receive" and before.id is not None}
        if received:
            self._index(uow, received)
        for before, step in items:
            if before.id is not None and ROOT_CAUSE_FIELD in step.payload:
                self._record(uow, before.id, step)

    def _index(self, uow: UnitOfWork, cases: dict[int, tuple[Case, str]]) -> None:
        """Blocking keys of new complaints: one customer query and one insert for the batch."""
        repo = RootCauseRepository(uow.conn)
        customers = repo.customers(cases)
        records = (LinkRecord(cid, text, c.fields.get("product"), c.fields.get("company"), c.fields.get("category"),
                              customers.get(cid), c.language) for cid, (c, text) in cases.items())
        repo.add_block_keys((r.id, key) for r in records for key in all_keys(r))

    def _record(self, uow: UnitOfWork, complaint_id: int, step: Step) -> None:
        code = self.taxonomy.check_code(str(step.payload.get(ROOT_CAUSE_FIELD) or ""))
        repo = RootCauseRepository(uow.conn)
        repo.record_cause(complaint_id, step.seq, code, str(step.payload.get("finding", "")), step.actor.name, step.at)
        _mark_same_root_cause(repo, complaint_id, code, step)


def _mark_same_root_cause(repo: RootCauseRepository, complaint_id: int, code: str, step: Step) -> None:
    """Links to complaints already reviewed with the same cause become ``same_root_cause``."""
    links = [lk for lk in repo.links_of(complaint_id) if lk["target_id"] is not None and lk["status"] != "rejected"]
    others = {lk["id"]: lk["target_id"] if lk["source_id"] == complaint_id else lk["source_id"] for lk in links}
    causes = repo.current_causes(others.values())
    for link in links:
        other = causes.get(others[link["id"]])
        if other and other["code"] == code:
            evidence = {**(link["evidence"] or {}), "root_cause": code}
            repo.update_link(link["id"], kind=SAME_ROOT_CAUSE, status="confirmed", evidence=evidence,
                             decided_by=step.actor.name, decided_at=step.at, updated_at=step.at)
