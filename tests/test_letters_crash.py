"""A sender killed with SIGKILL mid-batch, and run again: the SMTP server receives every letter,
each under one Message-ID, and only the letter in flight when the sender died can arrive twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest
from casework import take_in
from conftest import T0
from letterwork import Mailbox, letter_rows, mail_settings, sender_worker, smtp_server

from complaintflow.bootstrap import App
from complaintflow.delivery import send_due
from complaints.clock import FixedClock

SPAWN = multiprocessing.get_context("spawn")  # a fresh process: no threads of this one copied into it


def customers(app: App, count: int) -> None:
    for n in range(count):
        take_in(app, customer={"name": f"Customer {n}", "email": f"c{n}@example.com"})


def after_the_claims_run_out(app: App, clock: FixedClock) -> None:
    clock.advance(seconds=app.settings.outbox_claim_seconds + 1)


@pytest.mark.slow
def test_a_sender_killed_between_the_servers_answer_and_its_commit_sends_that_letter_again_with_its_message_id(
    app: App, database_url: str, clock: FixedClock,
) -> None:
    customers(app, 12)
    victim: list[multiprocessing.process.BaseProcess] = []

    def kill_at_the_fifth(count: int) -> None:  # the server has the fifth letter; the sender never hears 250
        if count == 5:
            os.kill(victim[0].pid, signal.SIGKILL)  # type: ignore[arg-type]

    mailbox = Mailbox(on_message=kill_at_the_fifth)
    with smtp_server(mailbox) as server:
        victim.append(SPAWN.Process(target=sender_worker, args=(database_url, T0.isoformat(), server.port, 4)))
        victim[0].start()
        victim[0].join(60)
        assert victim[0].exitcode == -signal.SIGKILL
        left = [r["status"] for r in letter_rows(app)]
        assert left == ["sent"] * 4 + ["sending"] * 4 + ["queued"] * 4  # the second batch claimed, one of it sent
        claimed = [r["id"] for r in letter_rows(app)][4:8]
        rerun = send_due(mail_settings(app, server.port))  # the queued ones go; the dead sender's claims hold
        assert [int(label.split()[0]) for label in rerun.sent] == [r["id"] for r in letter_rows(app)][8:]
        after_the_claims_run_out(app, clock)
        report = send_due(app)
    rows = letter_rows(app)
    fifth = rows[4]["id"]
    assert [int(label.split()[0]) for label in report.sent] == claimed and {r["status"] for r in rows} == {"sent"}
    received = mailbox.by_letter()
    assert {letter: len(ids) for letter, ids in received.items()} == {r["id"]: 2 if r["id"] == fifth else 1 for r in rows}
    assert all(ids == [r["message_id"]] * len(ids) for r in rows for ids in [received[r["id"]]])


@pytest.mark.slow
def test_a_sender_killed_at_any_moment_and_run_again_delivers_every_letter_at_most_the_one_in_flight_twice(
    app: App, database_url: str, clock: FixedClock,
) -> None:
    customers(app, 80)
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        victim = SPAWN.Process(target=sender_worker, args=(database_url, T0.isoformat(), server.port, 20))
        victim.start()
        deadline = time.monotonic() + 60
        while len(mailbox.message_ids()) < 25 and victim.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(victim.pid, signal.SIGKILL)  # type: ignore[arg-type]
        victim.join(10)
        assert victim.exitcode == -signal.SIGKILL, "the sender finished before it could be killed"
        before = sum(mailbox.message_ids().values())
        assert 25 <= before < 80
        after_the_claims_run_out(app, clock)
        send_due(mail_settings(app, server.port))
    rows = letter_rows(app)
    received = mailbox.by_letter()
    assert {r["status"] for r in rows} == {"sent"} and set(received) == {r["id"] for r in rows}
    twice = [letter for letter, ids in received.items() if len(ids) > 1]
    assert len(twice) <= 1 and all(len(ids) <= 2 for ids in received.values())
    assert all(received[r["id"]] == [r["message_id"]] * len(received[r["id"]]) for r in rows)
