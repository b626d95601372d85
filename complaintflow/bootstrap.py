"""Composition root: settings -> database -> workflows -> engine -> services.

Called by the CLI and the Prefect flows; nothing is built at import time. Prefect is never
imported here, so taking in, advancing and showing complaints never waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from complaintflow.keys import missing_key_message, pseudonym_key
from complaintflow.settings import Settings, load_settings
from complaints.clock import Clock, SystemClock
from complaints.db import Database
from escalation.migration import ClockMigration
from escalation.observer import SlaObserver
from escalation.tiers import initial_tier as severity_tier
from root_cause.observer import RootCauseObserver
from root_cause.taxonomy import Taxonomy, load_taxonomy
from workflows.engine import WorkflowEngine
from workflows.intake import IntakeService
from workflows.migration import WorkflowMigration
from workflows.registry import WorkflowRegistry

__all__ = ["App", "build", "init_database", "workflow_migration"]


@dataclass
class App:
    """Everything a command or a flow works with, built once per process (or task run)."""

    settings: Settings
    db: Database
    registry: WorkflowRegistry
    clock: Clock
    engine: WorkflowEngine
    intake: IntakeService
    taxonomy: Taxonomy


def build(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or load_settings()
    db = Database(settings.database_url, pool_size=settings.database_pool_size)
    registry = WorkflowRegistry.load(settings.workflow_files)
    clock = clock or SystemClock()
    taxonomy = load_taxonomy(settings.root_cause_taxonomy)
    # Observers add their writes to every step's transaction: blocking keys and root causes,
    # then SLA clocks and escalation triggers (which may apply a further step).
    engine = WorkflowEngine(db, registry, clock, observers=[RootCauseObserver(taxonomy)])
    engine.observers.append(SlaObserver(engine))
    intake = IntakeService(
        engine,
        initial_tier=severity_tier,
        workflow_name=settings.default_workflow,
        pseudonym_key=pseudonym_key(settings),
        missing_key=missing_key_message(settings),
        batch_size=settings.intake_batch_size,
    )
    return App(settings, db, registry, clock, engine, intake, taxonomy)


def init_database(db: Database) -> None:
    """Create or upgrade the schema (Alembic, to head). Never called as a side effect of an import."""
    from complaintflow.migrations import upgrade  # Alembic stays off the paths that don't migrate

    upgrade(db)


def workflow_migration(app: App) -> WorkflowMigration:
    """Moves open cases to a newer workflow version, their clocks with them."""
    return WorkflowMigration(app.engine, hooks=[ClockMigration()])
