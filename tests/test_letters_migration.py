"""Migration 0015: letters queued before any could be sent are held for a person, not sent late."""

from __future__ import annotations

from casework import take_in
from letterwork import letter_rows

from complaintflow.bootstrap import App
from complaintflow.migrations import downgrade, upgrade


def test_letters_queued_before_delivery_existed_are_held_and_the_schema_goes_both_ways(sqlite_app: App) -> None:
    take_in(sqlite_app, customer={"name": "Ann Lee", "email": "ann@example.com"})
    [before] = letter_rows(sqlite_app)
    assert before["status"] == "queued"
    downgrade(sqlite_app.db, "0014")
    upgrade(sqlite_app.db)
    [after] = letter_rows(sqlite_app)
    assert (after["status"], after["attempts"], after["next_attempt_at"]) == ("held", 0, before["created_at"])
    assert (after["body"], after["subject"], after["message_id"]) == (before["body"], None, None)
