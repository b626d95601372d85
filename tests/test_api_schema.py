"""Hypothesis-generated requests over the API's OpenAPI schema, sent to a real server: no 500,
no answer outside the schema (status codes, content types, bodies), whatever is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from apiserver import ROLES, serving
from casework import take_in
from conftest import _empty_postgres
from hypothesis import HealthCheck, given, settings

from complaintflow.bootstrap import build, init_database
from complaintflow.settings import Settings
from complaintflow.users import services

TOKEN: dict[str, str] = {}
#: Checks left out: the schema bounds shapes, not meaning, so a schema-valid request may still be
#: refused for what it says (a date before 1900, a state no workflow has): 422 with the field, no fault.
NOT_CHECKED = [schemathesis.checks.positive_data_acceptance]
#: Requests generated per operation: enough to find a 500 in each, few enough to run in seconds.
EXAMPLES = 8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api_schema(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    folder = tmp_path
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'complaints.db'}"
        app = build(Settings(database_url=url))
        init_database(app.db)
    else:
        url = request.getfixturevalue("postgres_url")
        _empty_postgres(url)
        app = build(Settings(database_url=url))
    now = datetime.now(UTC)
    # one user in every role, acting as a supervisor by default, and a case to find
    services.add_user(app.db, now, "sam", "Sam", ["supervisor", *sorted(ROLES - {"supervisor"})], ROLES, None, by="t")
    TOKEN["sam"] = services.create_token(app.db, now, "sam", "schemathesis", by="t").secret
    take_in(app)
    with serving(Settings(database_url=url, data_dir=folder / "data", session_secret="s" * 48)) as base:  # type: ignore[arg-type]
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")
    app.db.dispose()


def test_no_request_gets_a_server_error_or_an_answer_outside_the_schema(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {TOKEN['sam']}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  derandomize=True)
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, excluded_checks=NOT_CHECKED)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation is tried; all failures are reported together
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert failures == [], "\n\n".join(failures)
