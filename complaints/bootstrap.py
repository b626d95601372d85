"""Composition root: settings -> database -> workflows -> engine -> services.

Called by the CLI and the Prefect flows; nothing is built at import time. Prefect is never
imported here, so taking in, advancing and showing complaints never waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import SQLModel

from complaints.clock import Clock, SystemClock
from complaints.db import Database
from complaints.intake import IntakeService
from complaints.settings import Settings, load_settings
from escalation.observer import SlaObserver
from escalation.tiers import initial_tier as severity_tier
from workflows.engine import StepObserver, WorkflowEngine
from workflows.registry import WorkflowRegistry


@dataclass
class App:
    settings: Settings
    db: Database
    registry: WorkflowRegistry
    clock: Clock
    engine: WorkflowEngine
    intake: IntakeService


def import_models() -> None:
    """Register every package's tables on SQLModel.metadata."""
    import complaints.models  # noqa: F401
    import escalation.models  # noqa: F401
    import root_cause.models  # noqa: F401


def metadata():  # type: ignore[no-untyped-def]
    import_models()
    return SQLModel.metadata


def build(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or load_settings()
    import_models()
    db = Database(settings.database_url)
    registry = WorkflowRegistry.load(settings.workflow_files)
    clock = clock or SystemClock()
    engine = WorkflowEngine(db, registry, clock, observers=_observers(settings))
    engine.observers.append(SlaObserver(engine))  # SLA clocks and escalation triggers
    intake = IntakeService(
        engine,
        initial_tier=severity_tier,
        workflow_name=settings.default_workflow,
        pseudonym_key=settings.pseudonym_key,
        batch_size=settings.intake_batch_size,
    )
    return App(settings, db, registry, clock, engine, intake)


def _observers(settings: Settings) -> list[StepObserver]:
    """Hooks that add their writes to every step's transaction."""
    from root_cause.observer import RootCauseObserver
    from root_cause.taxonomy import load_taxonomy

    return [RootCauseObserver(load_taxonomy(settings.root_cause_taxonomy))]


def init_database(db: Database) -> None:
    """Create or upgrade the schema (Alembic, to head). Never called as a side effect of an import."""
    from complaints.migrations import upgrade  # Alembic stays off the paths that don't migrate

    upgrade(db)
