"""The installation's pseudonym key: a secret made at ``init``, kept outside the database.

A customer's pseudonym is a keyed hash of their email or phone (``workflows.intake``): stable,
so repeat complaints are recognised, and meaningless without the key. A key written in the
source (as it once was) would let anyone hash a candidate email and find the person, so
there is no default: ``complaints init`` writes a random key to a file only its owner can
read, and ``COMPLAINTS_PSEUDONYM_KEY`` may give one instead (from a secrets manager).
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from complaintflow.settings import Settings
from complaints.errors import ConfigurationError


def pseudonym_key(settings: Settings) -> str | None:
    """The key given in the environment, else the one in the key file; None if neither exists."""
    if settings.pseudonym_key is not None:
        return settings.pseudonym_key.get_secret_value()
    try:
        key = settings.key_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigurationError(f"Can't read the pseudonym key file {settings.key_file}: {exc.strerror}") from exc
    if len(key) < 32:
        raise ConfigurationError(f"The pseudonym key in {settings.key_file} is too short to be a secret "
                                 "(at least 32 characters)")
    return key


def ensure_pseudonym_key(settings: Settings) -> Path | None:
    """Make the key file if no key is given and none exists yet: the file made, or None."""
    if settings.pseudonym_key is not None or settings.key_file.exists():
        return None
    settings.key_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(settings.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
    return settings.key_file


def missing_key_message(settings: Settings) -> str:
    return (f"No pseudonym key: run `complaints init` to make one in {settings.key_file} (keep it, and a copy "
            "of it, outside the database), or set COMPLAINTS_PSEUDONYM_KEY")


def session_secret(settings: Settings) -> str:
    """The key that signs session cookies: given in the environment, else the key file's,
    made on first use (every worker of a server reads the same file, so a cookie one signed
    the others accept)."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = settings.session_key_file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigurationError(f"Can't make the session key file {path}: {exc.strerror}") from exc
    else:
        with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
    for _ in range(50):  # another worker may have made the file and not yet written it
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
        time.sleep(0.01)
    raise ConfigurationError(f"The session key file {path} is empty: delete it, and it is made again")
