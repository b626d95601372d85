"""``complaints advance --preview``, ``complaints outbox ...`` and ``complaints replies read``."""

from __future__ import annotations

from pathlib import Path

import pytest
from letterwork import Mailbox, smtp_server, write_eml
from test_cli import Cli, cli, migrated  # noqa: F401 - the CLI fixtures

ANN = ("--customer-name", "Ann Lee", "--customer-email", "ann@example.com")


def test_advance_preview_shows_the_letter_and_changes_nothing(cli: Cli) -> None:  # noqa: F811
    reference = cli.intake(*ANN, "--language", "lv")
    cli.advance(reference, "assess")
    before = cli.show(reference)
    shown = cli.ok("--json", "advance", reference, "need_info", "-f", "question=the date of the charge",
                   "--preview").data
    assert shown["preview"] is True and (shown["from"], shown["to"]) == ("assessing", "awaiting_customer")
    [letter] = shown["letters"]
    assert (letter["template"], letter["language"], letter["status"]) == ("information_request", "lv", "queued")
    assert "papildu informācija: the date of the charge." in letter["body"]
    assert cli.show(reference) == before
    text = cli.ok("advance", reference, "need_info", "-f", "question=the date of the charge", "--preview").out
    assert "nothing was done" in text and f"Subject: Jūsu sūdzība {reference}" in text


def test_the_outbox_lists_holds_edits_releases_and_sends_letters(cli: Cli, tmp_path: Path,  # noqa: F811
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    reference = cli.intake(*ANN)
    [ack] = cli.ok("--json", "outbox", "list").data
    assert (ack["reference"], ack["template"], ack["status"]) == (reference, "acknowledgement", "queued")
    cli.ok("outbox", "hold", str(ack["id"]), "--note", "check the dates")
    assert "held for review" in cli.ok("list").out
    body = tmp_path / "letter.txt"
    body.write_text("Dear Ann Lee,\n\nWe received your complaint today.", encoding="utf-8")
    out = cli.ok("outbox", "edit", str(ack["id"]), "--body-file", str(body), "--release").out
    assert out.startswith(f"✓ letter {ack['id']} ('acknowledgement' of {reference}) is edited and released")
    assert [e["action"] for e in cli.show(reference)["events"]][-2:] == ["letter_held", "letter_edited"]
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(server.port)), ("SMTP_STARTTLS", "false")):
            monkeypatch.setenv(f"COMPLAINTS_{name}", value)
        assert cli.ok("outbox", "send").out.startswith("1 sent, 0 to try again later, 0 failed")
    [message] = mailbox.messages
    assert message.get_content().strip().replace("\r\n", "\n") == body.read_text(encoding="utf-8")
    shown = cli.ok("outbox", "show", str(ack["id"])).out
    assert "ann@example.com" in shown and message["Message-ID"] in shown and "sent" in shown
    assert cli("outbox", "cancel", str(ack["id"]), "--reason", "too late").err.startswith(
        f"Error: Can't cancel letter {ack['id']} ('acknowledgement' of {reference}): it is sent;")


def test_a_failed_letter_fails_the_send_command_and_the_case_is_flagged(cli: Cli,  # noqa: F811
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    reference = cli.intake(*ANN)
    with smtp_server(Mailbox(refuse={"ann@example.com": "550 no such user"})) as server:
        for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(server.port)), ("SMTP_STARTTLS", "false")):
            monkeypatch.setenv(f"COMPLAINTS_{name}", value)
        failed = cli("outbox", "send")
    assert failed.code == 1 and "the address was refused: 550 no such user" in failed.out
    [row] = cli.ok("--json", "list").data
    assert row["reference"] == reference and row["attention"].startswith("letter 'acknowledgement' failed")
    assert [r["status"] for r in cli.ok("--json", "outbox", "list", "--status", "failed").data] == ["failed"]


def test_a_role_not_shown_personal_data_reads_letters_masked_and_may_not_change_them(cli: Cli) -> None:  # noqa: F811
    cli.intake(*ANN)
    [ack] = cli.ok("--json", "outbox", "list", role="quality").data
    assert ack["body"].startswith("Dear [name withheld],") and "Ann Lee" not in str(ack)
    refused = cli("outbox", "hold", str(ack["id"]), role="quality")
    assert refused.code == 1 and f"Role 'quality' may not hold letter {ack['id']}" in refused.err


def test_a_role_not_shown_personal_data_is_told_why_it_may_not_edit_a_letter_not_a_state(cli: Cli) -> None:  # noqa: F811
    reference = cli.intake(*ANN)
    [ack] = cli.ok("--json", "outbox", "list").data
    refused = cli("outbox", "edit", str(ack["id"]), "--body", "Dear customer", role="quality")
    assert refused.code == 1 and "state 'queued'" not in refused.err
    assert (f"Role 'quality' may not edit letter {ack['id']} ('acknowledgement' of {reference}): workflow "
            "'complaint' does not show it the customer's name and contacts; act as one of: handler, supervisor, "
            "specialist, executive") in " ".join(refused.err.split())
    assert cli.ok("--json", "outbox", "list").data == [ack]


def test_an_unknown_status_is_refused_naming_the_statuses(cli: Cli) -> None:  # noqa: F811
    refused = cli("outbox", "list", "--status", "lost")
    assert refused.code == 2 and "lost: a status is one of queued, held, sending, sent, failed, cancelled" in refused.err


def test_replies_read_takes_in_the_folder_and_reports_each_file(cli: Cli, tmp_path: Path,  # noqa: F811
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    reference = cli.intake(*ANN)
    folder = tmp_path / "replies"
    monkeypatch.setenv("COMPLAINTS_REPLY_DIR", str(folder))
    monkeypatch.setenv("COMPLAINTS_ATTACHMENT_DIR", str(tmp_path / "attachments"))
    write_eml(folder, "1.eml", f"From: ann@example.com\nSubject: Re: Your complaint {reference}\n\nAny news?\n")
    write_eml(folder, "2.eml", "nonsense\n")
    result = cli("--json", "replies", "read")
    assert result.code == 1  # one message failed
    files = {f["file"]: f for f in result.data["files"]}
    assert (files["1.eml"]["outcome"], files["1.eml"]["reference"]) == ("on a case", reference)
    assert files["2.eml"]["outcome"] == "failed" and (folder / "failed" / "2.eml.report.json").exists()
    assert cli.show(reference)["events"][-1]["action"] == "customer_message"


def test_every_held_letter_of_a_template_is_released_or_cancelled_at_once(cli: Cli) -> None:  # noqa: F811
    references = [cli.intake(*ANN) for _ in range(3)]
    for reference in references:
        cli.advance(reference, "assess")
        cli.advance(reference, "invalid")
    assert cli("outbox", "release").code == 2  # neither letters nor --all-held
    done = cli.ok("outbox", "cancel", "--all-held", "--template", "assessment_invalid", "--reason", "sent by post")
    assert done.out.startswith("✓ 3 letters cancelled")
    letters = cli.ok("--json", "outbox", "list").data
    assert [r["status"] for r in letters if r["template"] == "assessment_invalid"] == ["cancelled"] * 3
    assert "held" not in {r["status"] for r in letters}
    assert all(cli.show(ref)["events"][-1]["payload"]["reason"] == "sent by post" for ref in references)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("COMPLAINTS_SMTP_PORT", "abc", "COMPLAINTS_SMTP_PORT: Input should be a valid integer, unable to parse string as "
                                    "an integer (got 'abc')"),
    ("COMPLAINTS_RC_NOTICE_CHANNEL", "pigeon", "COMPLAINTS_RC_NOTICE_CHANNEL: String should match pattern"),
    ("COMPLAINTS_LETTER_ROUTES", "phone=webhook", "COMPLAINTS_LETTER_ROUTES: not valid JSON"),
])
def test_a_setting_that_cannot_be_read_is_named_with_what_is_wrong(cli: Cli, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                                   variable: str, value: str, message: str) -> None:
    monkeypatch.setenv(variable, value)
    outcome = cli("outbox", "send")
    assert outcome.code == 1 and f"Error: Invalid settings: {message}" in outcome.err
    assert "ValidationError" not in outcome.err and "SettingsError" not in outcome.err


def test_a_secret_that_cannot_be_read_is_named_but_not_echoed() -> None:
    from complaintflow.settings import load_settings
    from complaints.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="COMPLAINTS_SMTP_PASSWORD: Input should be a valid string") as raised:
        load_settings(smtp_password=["hunter2"])
    assert "hunter2" not in str(raised.value)
