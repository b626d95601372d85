"""Customers' replies: e-mail left as ``.eml`` files in the reply folder (as a mail server's
delivery or fetchmail leaves it), read onto the timeline of the case each answers.

A message answers a case if its ``In-Reply-To`` or ``References`` names the Message-ID of a
letter sent for it, or if its subject quotes the case's reference and it comes from the
customer's own address (anyone can write a reference in a subject: mail from another
address opens a complaint of its own instead). It is stored as a ``customer_message`` event
(in place) with its text and the metadata of its attachments, whose files are kept
content-addressed (named by their SHA-256) under the attachments folder, each up to a size
limit; a case waiting for the customer moves on with ``info_received``. Mail that answers no
case opens a new complaint from its sender. The file is then moved to ``processed/``; mail
that can't be read (no sender, no text and nothing attached, too large) goes to ``failed/``
with ``<file>.report.json`` beside it, and nothing is lost. Reading again is safe: a message
already on its case (by its Message-ID) is not stored twice, and a new complaint is
idempotent on an external id made from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

from complaintflow.bootstrap import App
from complaints.errors import ComplaintflowError
from complaints.limits import NAME_MAX, PAYLOAD_STR_MAX, PAYLOAD_TEXT_MAX
from complaints.repository import CUSTOMER_MESSAGE
from complaints.schemas import parse_complaint
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from workflows.machine import allowed_for

REPLY_ACTOR = Actor.system("replies")
#: The action that moves a case waiting for the customer on once they answer.
ANSWERED = "info_received"
PROCESSED, FAILED, SUFFIX = "processed", "failed", ".eml"
REFERENCE = re.compile(r"\bC-\d{4}-\d{6}\b")
MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
#: The most attachments of one message kept, and of Message-IDs read from its headers.
MAX_ATTACHMENTS, MAX_IDS = 50, 100


class Unreadable(ComplaintflowError):
    """A message that can't be taken in; ``reasons`` says why, for its report."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """What one message says, as read from its file."""

    key: str  # its Message-ID, or the SHA-256 of the file when it has none
    sender: str
    sender_name: str | None
    subject: str
    text: str
    language: str
    answers: list[str]  # the Message-IDs of In-Reply-To and References
    attachments: list[Attachment]


@dataclass
class ReplyOutcome:
    file: str
    outcome: str = ""  # on a case, new complaint, already read, failed
    reference: str | None = None
    moved_to: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class RepliesReport:
    folder: str
    files: list[ReplyOutcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "files": [asdict(f) for f in self.files]}


def pending_replies(folder: Path) -> list[Path]:
    """``.eml`` files waiting, oldest name first; hidden files (still being written) wait."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == SUFFIX
                  and not p.name.startswith("."))


def read_replies(app: App, folder: Path | None = None) -> RepliesReport:
    """Read every reply waiting in ``folder`` (default: the settings' reply folder); one
    message's failure never stops the others."""
    where = folder or app.settings.replies
    report = RepliesReport(str(where))
    for path in pending_replies(where):
        report.files.append(read_reply(app, path))
    return report


def read_reply(app: App, path: Path) -> ReplyOutcome:
    """Take in one message, then move it to processed/ or failed/."""
    outcome = ReplyOutcome(path.name)
    try:
        reply = parse_reply(path, app.settings.reply_max_bytes)
        kept = [_keep(app, a) for a in reply.attachments]
        _take_in(app, reply, kept, outcome)
    except ComplaintflowError as exc:
        outcome.outcome, outcome.notes = "failed", exc.reasons if isinstance(exc, Unreadable) else [str(exc)]
    outcome.moved_to = str(_move(path, FAILED if outcome.outcome == "failed" else PROCESSED, outcome,
                                 app.clock.now().strftime("%Y%m%dT%H%M%S")))
    return outcome


# -- reading a message -------------------------------------------------------------------------


def parse_reply(path: Path, max_bytes: int) -> Reply:
    """The message in ``path``, or ``Unreadable`` saying why it can't be taken in."""
    size = path.stat().st_size
    if size > max_bytes:
        raise Unreadable([f"the message is {size:,} bytes, more than the {max_bytes:,} read "
                          "(COMPLAINTS_REPLY_MAX_BYTES)"])
    raw = path.read_bytes()
    message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(raw))  # policy.default: an EmailMessage
    problems = [f"{type(d).__name__}: {d}" for d in message.defects]
    try:
        [(name, sender)] = getaddresses([str(message.get("From", ""))]) or [("", "")]
    except (ValueError, TypeError):
        name, sender = "", ""
    if "@" not in sender:
        raise Unreadable(["no sender address (From:) to answer or match the customer by", *problems])
    try:
        text = _text(message)
        attachments = _attachments(message)
    except (LookupError, ValueError, UnicodeError, AttributeError) as exc:
        raise Unreadable([f"its parts can't be read: {type(exc).__name__}: {exc}", *problems]) from exc
    if not text.strip() and not attachments:
        raise Unreadable(["no text and nothing attached", *problems])
    key = str(message.get("Message-ID", "")).strip() or "sha256:" + hashlib.sha256(raw).hexdigest()
    answers = MESSAGE_ID.findall(f"{message.get('In-Reply-To', '')} {message.get('References', '')}")[:MAX_IDS]
    language = str(message.get("Content-Language", "")).strip().lower()[:2]
    return Reply(key=key[:250], sender=sender.strip().lower(), sender_name=name.strip()[:NAME_MAX] or None,
                 subject=str(message.get("Subject", "")).strip()[:PAYLOAD_STR_MAX], text=_bounded(text),
                 language=language if re.fullmatch(r"[a-z]{2}", language) else "en", answers=answers,
                 attachments=attachments)


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return _html_text(text) if body.get_content_subtype() == "html" else text


def _attachments(message: EmailMessage) -> list[Attachment]:
    found = []
    for part in list(message.iter_attachments())[:MAX_ATTACHMENTS]:
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            name = Path(str(part.get_filename() or "attachment")).name[:200]
            found.append(Attachment(name, part.get_content_type(), data))
    return found


def _bounded(text: str) -> str:
    text = text.replace("\x00", "").replace("\r\n", "\n").strip()
    if len(text) <= PAYLOAD_TEXT_MAX:
        return text
    cut = f"\n[… {len(text) - PAYLOAD_TEXT_MAX + 100:,} more characters not kept]"
    return text[:PAYLOAD_TEXT_MAX - 100] + cut


class _Words(HTMLParser):
    """The text of an HTML message, its paragraphs kept apart, scripts and styles left out."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")
        if tag in ("p", "br", "div", "li", "tr"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    words = _Words()
    words.feed(html)
    return re.sub(r"\n\s*\n+", "\n\n", "".join(words.parts)).strip()


# -- keeping attachments -----------------------------------------------------------------------


def _keep(app: App, attachment: Attachment) -> dict[str, Any]:
    """Metadata of an attachment, its file kept under its SHA-256 (once, however often sent);
    one over the size limit is named but not kept."""
    size, limit = len(attachment.data), app.settings.attachment_max_bytes
    meta: dict[str, Any] = {"name": attachment.name, "content_type": attachment.content_type, "size": size}
    if size > limit:
        return meta | {"refused": f"larger than {limit:,} bytes (COMPLAINTS_ATTACHMENT_MAX_BYTES)"}
    digest = hashlib.sha256(attachment.data).hexdigest()
    target = app.settings.attachments / digest[:2] / digest
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".incoming-", delete=False) as out:
            out.write(attachment.data)
        os.replace(out.name, target)  # whole or not at all, even beside another reader of the same file
    return meta | {"sha256": digest}


# -- onto a case, or a new complaint -------------------------------------------------------------


def _take_in(app: App, reply: Reply, attachments: list[dict[str, Any]], outcome: ReplyOutcome) -> None:
    reference = _answered_case(app, reply, outcome)
    if reference is None:
        reference = _new_complaint(app, reply, outcome)
    outcome.reference = reference
    if not _store(app, reference, reply, attachments, outcome) and outcome.outcome != "new complaint":
        outcome.outcome = "already read"


def _answered_case(app: App, reply: Reply, outcome: ReplyOutcome) -> str | None:
    with UnitOfWork(app.db) as uow:
        matched = uow.outbox.complaints_by_message_ids(reply.answers) if reply.answers else {}
        if matched:
            outcome.outcome = "on a case"
            outcome.notes.append("answers a letter sent for it")
            return next(ref for mid in reply.answers if mid in matched for _, ref in [matched[mid]])
        for quoted in dict.fromkeys(REFERENCE.findall(reply.subject)):
            email = uow.cases.customer_email(quoted)
            if email is not None and email.lower() == reply.sender:
                outcome.outcome = "on a case"
                outcome.notes.append("quotes its reference, from the customer's address")
                return quoted
            outcome.notes.append(f"quotes {quoted} but comes from another address than its customer's")
    return None


def _new_complaint(app: App, reply: Reply, outcome: ReplyOutcome) -> str:
    record = parse_complaint({
        "external_id": "mail:" + hashlib.sha256(reply.key.encode()).hexdigest()[:40], "channel": "email",
        "product": app.settings.reply_product, "language": reply.language,
        "description": reply.text or reply.subject or "(attachments only)",
        "customer": {"email": reply.sender, **({"name": reply.sender_name} if reply.sender_name else {})},
    })
    reference, created = app.intake.take_in_one(record, REPLY_ACTOR)
    outcome.outcome = "new complaint"
    if not created:
        outcome.notes.append("opened from this message before")
    return reference


def _store(app: App, reference: str, reply: Reply, attachments: list[dict[str, Any]], outcome: ReplyOutcome) -> bool:
    """The message as an event on the case, and the case moved on if it waits for the
    customer; False if the message is on the case already."""
    now = app.clock.now()
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(reference, for_update=True)
        if any(e["action"] == CUSTOMER_MESSAGE and e["payload"].get("message_id") == reply.key
               for e in uow.cases.events(case.id)):  # type: ignore[arg-type]
            return False
        payload = {"message_id": reply.key, "from": reply.sender, "subject": reply.subject, "text": reply.text,
                   "attachments": attachments}
        step = Step.in_place(case, CUSTOMER_MESSAGE, REPLY_ACTOR, now, payload)
        uow.cases.write_step(case, step, expected_version=case.version)
        _move_on(app, uow, step.apply(case), reply, outcome)
        uow.commit()
    return True


def _move_on(app: App, uow: UnitOfWork, case: Case, reply: Reply, outcome: ReplyOutcome) -> None:
    """``info_received`` on a case that waits for the customer; a refusal leaves it where it is."""
    workflow = app.engine.workflow_of(case)
    if ANSWERED not in allowed_for(workflow, case, REPLY_ACTOR):
        return
    fields = workflow.transition(ANSWERED).fields
    payload = {"summary": (reply.text or reply.subject)[:PAYLOAD_STR_MAX]} if "summary" in fields else {}
    try:
        with uow.conn.begin_nested():
            app.engine.apply(uow, case, ANSWERED, REPLY_ACTOR, payload)
        outcome.notes.append(f"the case moved on ({ANSWERED})")
    except ComplaintflowError as exc:
        outcome.notes.append(f"the case stays in '{case.state}': {exc}")


# -- moving the file -----------------------------------------------------------------------------


def _move(path: Path, folder: str, outcome: ReplyOutcome, stamp: str) -> Path:
    """Move ``path`` into ``folder`` beside it, never over an earlier file of the same name;
    a failed one gets its report beside it."""
    target = path.parent / folder
    target.mkdir(parents=True, exist_ok=True)
    dest = target / path.name
    if dest.exists():
        dest = target / f"{path.stem}.{stamp}{path.suffix}"
    if folder == FAILED:
        report = dest.with_name(dest.name + ".report.json")
        report.write_text(json.dumps(asdict(outcome) | {"moved_to": str(dest)}, indent=2, ensure_ascii=False),
                          encoding="utf-8")
    try:
        path.replace(dest)
    except FileNotFoundError:  # an overlapping run got there first
        return target / path.name
    return dest
