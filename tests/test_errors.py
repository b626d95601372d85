"""complaintflow's errors keep their message and fields across processes (a Prefect run's
result, a worker's report), though most take other arguments than the message they keep."""

from __future__ import annotations

import pickle

import pytest

from complaints.errors import (
    ActionNotAllowed,
    ComplaintflowError,
    ConflictError,
    GuardFailed,
    ImportRowError,
    InvalidInput,
    InvalidWorkflow,
    NotFound,
)

ERRORS = [
    NotFound("No complaint C-2026-000001"),
    InvalidInput("Payload of 'assess'", ["reason: field required"]),
    ImportRowError(7, ["product: field required", "received_at: not a date"]),
    InvalidWorkflow("complaint.yaml", ["state 'x' is unreachable"]),
    ActionNotAllowed("C-2026-000001", "close", "received", ["acknowledge"], "no such move"),
    GuardFailed("C-2026-000001", "close", "resolved", ["data.root_cause_code is required"]),
    ConflictError("C-2026-000001", expected=3, actual=4),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_an_error_survives_pickling_with_its_message_and_fields(error: ComplaintflowError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
