"""Pseudonyms can't be reversed: the key is a secret made per installation, never a default."""

from __future__ import annotations

import hashlib
import hmac
import stat
import sys
from pathlib import Path

import pytest
from casework import complaint
from sqlalchemy import select

from complaintflow.bootstrap import App, build
from complaintflow.cli.app import main
from complaintflow.keys import ensure_pseudonym_key, pseudonym_key
from complaintflow.settings import Settings
from complaints.errors import ConfigurationError
from complaints.privacy import erase_customer
from complaints.repository import customer_t
from complaints.steps import Actor


def settings_without_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.delenv("COMPLAINTS_PSEUDONYM_KEY", raising=False)
    return Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}", data_dir=tmp_path / "data")


def test_init_makes_a_random_key_only_its_owner_can_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("COMPLAINTS_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "argv", ["complaints", "--db", f"sqlite:///{tmp_path / 'k.db'}", "init"])
    main()
    key_file = tmp_path / "data" / "pseudonym.key"
    assert "pseudonym key made in" in capsys.readouterr().out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text().strip()) >= 32
    other = tmp_path / "other"
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(other))
    ensure_pseudonym_key(Settings(data_dir=other))
    assert (other / "pseudonym.key").read_text() != key_file.read_text()  # per installation
    main()  # a second init keeps the key
    assert "pseudonym key made" not in capsys.readouterr().out


def test_without_a_key_no_customer_who_can_be_identified_is_taken_in(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_without_key(tmp_path, monkeypatch)
    assert pseudonym_key(settings) is None
    app = build(settings)
    from complaintflow.bootstrap import init_database

    init_database(app.db)
    with pytest.raises(ConfigurationError, match="run `complaints init` to make one"):
        app.intake.take_in_one(complaint(customer={"email": "anna@example.lv"}), Actor("hana"))
    app.intake.take_in_one(complaint(), Actor("hana"))  # a complaint with no customer needs none


def test_a_pseudonym_is_no_hash_of_the_email_under_a_known_key_and_erasure_replaces_it(app: App) -> None:
    reference, _ = app.intake.take_in_one(complaint(customer={"email": "anna@example.lv"}), Actor("hana"))
    with app.db.read() as conn:
        stored = conn.execute(select(customer_t.c.pseudonym)).scalar_one()
    guessed = hmac.new(b"complaintflow-default-pseudonym-key", b"email:anna@example.lv", hashlib.sha256)
    assert stored != guessed.hexdigest()[:32] and stored == app.intake.pseudonym("email:anna@example.lv")
    erase_customer(app.db, app.clock.now(), Actor("dora", "supervisor"), "request", reference=reference)
    with app.db.read() as conn:
        after = conn.execute(select(customer_t.c.pseudonym)).scalar_one()
    assert after != stored and len(after) == 32


def test_linking_knows_a_customer_by_their_row_so_nothing_derived_from_who_they_are_is_kept(app: App) -> None:
    from root_cause.blocking import LinkRecord, blocking_keys
    from root_cause.repository import block_t

    first, _ = app.intake.take_in_one(complaint(customer={"email": "anna@example.lv"}), Actor("hana"))
    second, _ = app.intake.take_in_one(complaint(customer={"email": "anna@example.lv"}, product="Card"), Actor("hana"))
    pseudonym = app.intake.pseudonym("email:anna@example.lv")
    derived = set(blocking_keys(LinkRecord(0, "", customer=pseudonym)))
    with app.db.read() as conn:
        keys = [(key, cid) for key, cid in conn.execute(select(block_t.c.key, block_t.c.complaint_id))]
    assert derived and not derived & {key for key, _ in keys}
    shared = {key for key, cid in keys if cid == 1} & {key for key, cid in keys if cid == 2}
    assert shared, "the same customer's complaints share a block"
    assert first != second
