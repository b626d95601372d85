"""E-mail over SMTP (the standard library's ``smtplib`` and ``email``): one connection per
run, STARTTLS and login from the settings, each letter a plain-text message in its language.

The Message-ID is the letter's own (``complaints.delivery`` keeps it across attempts), so a
letter sent again after a crash is the same message to the receiving server. A 5xx answer or
a refused address fails the letter for good; anything else (a 4xx, a dropped connection, a
server that can't be reached, a login refused) is tried again later.
"""

from __future__ import annotations

import smtplib
import ssl
from contextlib import suppress
from email.charset import BASE64, Charset
from email.header import Header
from email.message import Message
from email.utils import format_datetime, formataddr, parseaddr

from complaints.clock import Clock
from complaints.delivery import OutgoingLetter
from complaints.errors import DeliveryFailed

#: UTF-8 bodies in base64: 7 bits, a third larger, and Latvian and Greek read as written.
UTF8 = Charset("utf-8")
UTF8.body_encoding = BASE64
UTF8_HEADER = Charset("utf-8")  # headers in base64 words (the default for UTF-8)
#: RFC 5322's recommended line length: a longer header line is folded.
LINE = 78


def wire_text(message: Message) -> str:
    """``message`` as it goes on the wire (``smtplib`` turns its line ends into CRLF and
    stuffs its dots). ``build_message`` makes its headers 7-bit and mostly short, so each is
    written as it stands; only a longer line (or one not in ASCII) goes through
    ``email.header``, whose folding ``email.generator`` runs on every header (a third of a
    letter's cost otherwise)."""
    lines = []
    for name, value in message.items():
        line = f"{name}: {value}"
        if not line.isascii() or max(map(len, line.split("\n"))) > LINE:
            line = f"{name}: " + Header(value, header_name=name, maxlinelen=LINE).encode(linesep="\n")
        lines.append(line)
    body = message.get_payload()
    assert isinstance(body, str), "letters are single-part"
    return "\n".join(lines) + "\n\n" + body


def build_message(letter: OutgoingLetter, sender: str, to: str, clock: Clock, reply_to: str | None = None) -> Message:
    """The letter as an e-mail: the customer's name on the To: line, the subject that carries
    the reference a reply quotes, the letter's Message-ID, marked as sent automatically.

    Built with the ``compat32`` classes, whose headers are written as given rather than
    parsed back and refolded, its body encoded once by ``email.charset``: several times
    cheaper than ``EmailMessage`` for a sender that builds one message per letter. The text
    travels in 7 bits (base64 when it is not ASCII), the headers as RFC 2047 words, so no
    server needs 8BITMIME or SMTPUTF8."""
    message = Message()
    message["From"] = _address(*parseaddr(sender))
    message["To"] = _address(letter.customer_name or "", to)
    if reply_to:
        message["Reply-To"] = _address(*parseaddr(reply_to))
    message["Subject"] = _words(letter.subject, "Subject")
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = letter.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: holiday auto-replies stay away
    message["Content-Language"] = letter.language
    message["X-Complaint-Reference"] = letter.reference
    message["X-Complaintflow-Letter"] = str(letter.letter_id)
    message["MIME-Version"] = "1.0"
    text = letter.body if letter.body.endswith("\n") else letter.body + "\n"
    if text.isascii():
        message["Content-Type"] = 'text/plain; charset="us-ascii"'
        message["Content-Transfer-Encoding"] = "7bit"
        message.set_payload(text)
    else:
        message["Content-Type"] = 'text/plain; charset="utf-8"'
        message["Content-Transfer-Encoding"] = "base64"
        message.set_payload(UTF8.body_encode(text.encode()))
    return message


def _words(text: str, header: str) -> str:
    """``text`` as it stands if ASCII, else as RFC 2047 words in UTF-8, folded to ``LINE``."""
    return text if text.isascii() else Header(text, UTF8_HEADER, header_name=header, maxlinelen=LINE).encode()


def _address(name: str, address: str) -> str:
    """``Name <address>``: only the name in RFC 2047 words, so the address stays readable; a
    word each, as readers put a space between the words of a name (and the folding goes there)."""
    if name.isascii():
        return formataddr((name, address))
    return " ".join(UTF8_HEADER.header_encode(word) for word in name.split()) + f" <{address}>"


class SmtpSender:
    """Sends letters through one SMTP connection, opened at the first letter and kept."""

    def __init__(self, host: str, port: int, sender: str, clock: Clock, starttls: bool = True,
                 user: str | None = None, password: str | None = None, timeout: float = 30.0,
                 reply_to: str | None = None, ca_file: str | None = None):
        self.host, self.port, self.sender, self.clock = host, port, sender, clock
        self.ca_file = ca_file
        self.starttls, self.user, self.password, self.timeout = starttls, user, password, timeout
        self.reply_to = reply_to
        self.envelope_from = parseaddr(sender)[1]
        self._smtp: smtplib.SMTP | None = None
        self._unreachable: DeliveryFailed | None = None

    def send(self, letter: OutgoingLetter) -> str:
        if not letter.email:
            raise DeliveryFailed("the customer has no e-mail address (or it was erased)", permanent=True)
        message = build_message(letter, self.sender, letter.email, self.clock, self.reply_to)
        try:
            self._connection().sendmail(self.envelope_from, [letter.email], wire_text(message))
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise DeliveryFailed(f"the address was refused: {code} {_text(text)}", permanent=code >= 500) from exc
        except smtplib.SMTPResponseException as exc:  # the sender or the data refused
            raise DeliveryFailed(f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: {exc}", permanent=False) from exc
        return letter.email

    def _connection(self) -> smtplib.SMTP:
        """The open connection, or a new one. A server that could not be reached is not tried
        again in this run: each letter would wait for the timeout in turn."""
        if self._unreachable is not None:
            raise self._unreachable
        if self._smtp is None:
            try:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            except OSError as exc:
                self._unreachable = DeliveryFailed(f"can't reach the SMTP server {self.host}:{self.port}: {exc}",
                                                   permanent=False)
                raise self._unreachable from exc
            try:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.user:
                    smtp.login(self.user, self.password or "")
            except (smtplib.SMTPException, OSError) as exc:  # a login refused is ours to fix, not the letter's
                smtp.close()
                raise DeliveryFailed(f"SMTP {self.host}:{self.port} refused the session: {exc}", permanent=False) from exc
            self._smtp = smtp
        return self._smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            with suppress(smtplib.SMTPException, OSError):  # the server hung up first: nothing is left to end
                self._smtp.quit()
            self._smtp = None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
