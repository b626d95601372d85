"""Who reads personal data: a viewer's roles against each workflow's ``personal_data_roles``;
and the read use cases that depend on it, for the CLI and the API to call alike."""

from __future__ import annotations

from collections.abc import Iterable

from complaints.errors import NotFound
from complaints.history import PER_PAGE, CustomerHistory, customer_history
from complaints.privacy import ShowsPersonalData
from complaints.search import SearchPage, SearchQuery, search_complaints
from workflows.engine import WorkflowEngine
from workflows.queries import check_filters
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


def search(engine: WorkflowEngine, query: SearchQuery, roles: Iterable[str]) -> SearchPage:
    """``complaints.search.search_complaints`` as a viewer with ``roles`` sees it; a state, tier
    or queue no workflow has is refused (a mistyped filter would show an empty page)."""
    check_filters(engine, state=query.state, tier=query.tier, queue=query.queue)
    return search_complaints(engine.db, query, personal_data_rule(engine.registry, roles))


def customer(engine: WorkflowEngine, key: str, roles: Iterable[str], page: int = 1,
             per_page: int = PER_PAGE) -> CustomerHistory:
    """A page of ``complaints.history.customer_history`` as a viewer with ``roles`` sees it."""
    held = tuple(roles)
    return customer_history(engine.db, key, personal_data_rule(engine.registry, held), held, page, per_page)
