"""Nothing a customer or a file's author writes reaches the handler's terminal as a command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from terminal import Run, terminal

from complaintflow.bootstrap import build, init_database
from complaintflow.settings import Settings

HOSTILE = {
    "product": "Card\x1b[2J",
    "customer-name": "\x1b[31mEve\x1b[0m",
    "description": "Charged twice\x1b]0;pwned\x07 for Card\u202egnp.exe",
}
#: What a terminal may receive: Rich's own colours and styles (SGR), nothing else.
STYLE = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    url = f"sqlite:///{tmp_path / 'hostile.db'}"
    app = build(Settings(database_url=url))
    init_database(app.db)
    app.db.dispose()
    return terminal(monkeypatch, capsys, "--db", url, "--actor", "hana")  # styles and all


def commands_in(text: str) -> list[str]:
    """Escape sequences and bidirectional controls other than Rich's styles."""
    return re.findall(r"\x1b[^\[]|\x1b\[[0-9;?]*[^0-9;?m]|[\u202a-\u202e\u2066-\u2069\x07]", STYLE.sub("", text))


def test_show_list_and_errors_print_hostile_text_visibly_and_never_as_commands(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("intake", *[arg for key, value in HOSTILE.items() for arg in (f"--{key}", value)])
    assert code == 0
    reference = out.strip().splitlines()[-1]
    for args in (("show", reference), ("list",), ("advance", reference, "\x1b[2Jassess")):
        code, out, err = run(*args)
        assert commands_in(out + err) == [], args
    assert "Card␛[2J" in run("show", reference)[1] and "<U+202E>" in run("show", reference)[1]
    assert "␛[2Jassess" in run("advance", reference, "\x1b[2Jassess")[2]


def test_json_output_keeps_the_text_exactly_but_escaped(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("--json", "intake", *[arg for key, value in HOSTILE.items() for arg in (f"--{key}", value)])
    assert code == 0 and commands_in(out) == [] and "\x1b" not in out and "\u202e" not in out
    view = json.loads(out)
    assert view["complaint"]["description"] == HOSTILE["description"]
    code, _, err = run("--json", "advance", view["reference"], "\x1b[2J")
    assert code == 1 and "\x1b" not in err and json.loads(err)["error"]["action"] == "\x1b[2J"


def test_letters_shown_and_previewed_carry_hostile_text_visibly(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("intake", *[arg for key, value in HOSTILE.items() for arg in (f"--{key}", value)],
                       "--customer-email", "eve@example.com")
    assert code == 0
    reference = out.strip().splitlines()[-1]
    code, out, _ = run("--json", "outbox", "list", "--reference", reference)
    [letter] = json.loads(out)
    code, out, err = run("outbox", "show", str(letter["id"]))
    assert code == 0 and commands_in(out + err) == [] and "␛[31mEve␛[0m" in out
    assert run("advance", reference, "assess")[0] == 0
    code, out, err = run("advance", reference, "invalid", "-f", "criteria=ours", "-f", "rationale=\x1b[2Jno",
                         "--preview")
    assert code == 0 and commands_in(out + err) == [] and "␛[31mEve␛[0m" in out
