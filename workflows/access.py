"""Who reads personal data: a viewer's roles against each workflow's ``personal_data_roles``."""

from __future__ import annotations

from collections.abc import Iterable

from complaints.errors import NotFound
from complaints.privacy import ShowsPersonalData
from workflows.registry import WorkflowRegistry


def personal_data_rule(registry: WorkflowRegistry, roles: Iterable[str]) -> ShowsPersonalData:
    """Whether a viewer with ``roles`` reads personal data in a complaint of workflow (name,
    version): one of the roles is among its ``personal_data_roles`` (a workflow that names none
    shows it to every role). A workflow the registry does not know shows it only if every
    known workflow would."""
    held = frozenset(roles)

    def shown_in(roles_shown: list[str] | None) -> bool:
        return roles_shown is None or bool(held & set(roles_shown))

    def shows(name: str, version: int) -> bool:
        try:
            return shown_in(registry.get(name, version).spec.personal_data_roles)
        except NotFound:
            return all(shown_in(w.spec.personal_data_roles) for w in registry)

    return shows
