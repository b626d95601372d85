"""``complaints`` run in process as a handler's colour terminal would show it."""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from complaintflow.cli.app import main

Run = Callable[..., tuple[int, str, str]]


def terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *leading: str,
             colour: bool = True) -> Run:
    """A runner of ``complaints *leading *args`` in a 200-column terminal (in colour, styles
    and all, unless not ``colour``): (exit code, stdout, stderr)."""
    if colour:
        monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["complaints", *leading, *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
