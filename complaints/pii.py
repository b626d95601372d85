"""Personal data in free text: find it and mask it. Pure, no I/O.

A complaint's description, a handler's rationale and the letters to the customer are prose
in English, Latvian or Greek in which people type their email, phone, IBAN, card or national
id. Each kind is found by what can be checked, so that amounts, dates, complaint references
(``C-2026-000123``) and CFPB masks (``XX/XX/XXXX``, ``{$100.00}``) stay as written:

- emails by their shape;
- IBANs by ``stdnum.iban`` (country length and mod-97 checksum), with or without spaces;
- card numbers of 13 to 19 digits, grouped as cards are printed, by the Luhn check (``stdnum.luhn``);
- national ids: the Latvian personal code ``DDMMYY-NNNNN`` in its old and new (``32…``)
  forms (``stdnum.lv.pvn``), the UK National Insurance number (python-stdnum has none:
  ``_NINO`` follows HMRC's prefix rules), the US SSN ``NNN-NN-NNNN`` (``stdnum.us.ssn``);
  numbers that look like any other number only where a label names them: the Greek AMKA
  (``stdnum.gr.amka``) and AFM (``stdnum.gr.vat``), the Turkish T.C. kimlik no
  (``stdnum.tr.tckimlik``), and a Latvian personal code or NI number written without its
  hyphen or suffix;
- phone numbers by ``phonenumbers``' matcher, valid for one of ``PHONE_REGIONS`` or written
  with ``+``, less what reads as a date, an amount or part of a longer identifier;
- the customer's own name, and each capitalised part of it, as a whole word, letter case
  and accents ignored (``Berzina`` is ``Bērziņa`` typed on another keyboard).

A mask names the kind it replaced (``[email]``, ``[phone]``, ``[iban]``, ``[card]``,
``[national id]``, ``[name]``) and holds no digit or ``@``, so masking masked text changes
nothing. Nothing is cached between calls: a name or a number must not outlive its text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from stdnum import iban, luhn
from stdnum.gr import amka
from stdnum.gr import vat as gr_vat
from stdnum.lv import pvn
from stdnum.tr import tckimlik
from stdnum.us import ssn

EMAIL, PHONE, IBAN, CARD, NATIONAL_ID, NAME = "email", "phone", "iban", "card", "national id", "name"
KINDS = (EMAIL, PHONE, IBAN, CARD, NATIONAL_ID, NAME)
#: Regions whose national phone formats are recognised; a number written with ``+`` is found in any.
PHONE_REGIONS = ("GB", "LV", "GR", "US", "TR")
#: A code that starts or ends with a letter is whole where no letter touches it (names too:
#: ``1111Anna`` holds Anna).
_LETTER = r"[^\W\d_]"
#: What a later detector reads where an earlier one found something: like a mask's brackets,
#: neither a letter, a digit nor a separator of numbers.
_BLANK = "#"


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of personal data: its kind and where it stands (``text[start:end]``)."""

    kind: str
    start: int
    end: int

    @property
    def mask(self) -> str:
        return f"[{self.kind}]"


def find(text: str, names: Iterable[str] = ()) -> list[Finding]:
    """The personal data in ``text`` in reading order, none overlapping another: where two
    detectors could claim the same characters, the first has them (emails, the name, IBANs,
    cards, national ids, phones), and the later ones read the text with them blanked out, as
    they would read it once masked: so masking masked text finds nothing new."""
    taken: list[Finding] = []
    names = tuple(names)
    detectors: list[Callable[[str], Iterator[Finding]]] = [_emails, lambda t: _names(t, names)]
    if any(c.isdigit() for c in text):
        detectors += _NUMBERS
    seen = text
    for detect in detectors:
        found = True
        while found:  # again on what is left: a finding can hide another from the phone matcher
            found = False
            for f in [*detect(seen)]:
                if not any(f.start < t.end and t.start < f.end for t in taken):
                    taken.append(f)
                    seen, found = seen[: f.start] + _BLANK * (f.end - f.start) + seen[f.end :], True
    return sorted(taken, key=lambda f: f.start)


def mask(text: str, names: Iterable[str] = (), name_mask: str = f"[{NAME}]") -> str:
    """``text`` with every finding replaced by its mask (``name_mask`` for the name)."""
    names = tuple(names)
    out, at = [], 0
    for f in find(text, names):
        out += [text[at : f.start], name_mask if f.kind == NAME else f.mask]
        at = f.end
    return "".join(out) + text[at:] if out else text


def mask_values(value: Any, names: Iterable[str] = (), name_mask: str = f"[{NAME}]") -> Any:
    """``value`` with every string in it masked, through dicts, lists and tuples (keys kept):
    for JSON documents such as an event's payload or a complaint's recorded data."""
    names = tuple(names)
    if isinstance(value, str):
        return mask(value, names, name_mask)
    if isinstance(value, Mapping):
        return {k: mask_values(v, names, name_mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_values(v, names, name_mask) for v in value)
    return value


# -- emails, IBANs, cards -------------------------------------------------------------------------
# A pattern starts with what it matches, its look-behind after the first character: ``re``
# then skips to the candidates, where a leading look-behind is tried at every position (four
# times the cost).
_EMAIL = re.compile(r"(?<![^\W_]|[+-])\w[\w.+-]*@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![^\W\d_])")
# Two letters, two check digits, then 11 to 30 letters or digits, each perhaps after one space:
# the longest run is tried first, then ever shorter ones (``GB82 WEST 1234 5698 7654 32 ON``).
_IBAN = re.compile(r"[A-Z](?<![^\W\d_].)[A-Z]\d{2}(?: ?[A-Z0-9]){11,30}", re.IGNORECASE)
_CARD = re.compile(
    r"\d(?<![\d-].)(?:\d{3}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?"  # 16 to 19 digits, printed 4-4-4-4
    r"|\d{3}([ -]?)\d{6}\2\d{4,5}"  # 14 and 15 digits, printed 4-6-4 and 4-6-5 (Diners, Amex)
    r"|\d{12})(?![\d-])"
)


def _emails(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text) if "@" in text else ():
        yield Finding(EMAIL, m.start(), m.end())


def _ibans(text: str) -> Iterator[Finding]:
    at = 0
    while m := _IBAN.search(text, at):
        run, at = m.group(), m.start() + 1  # a run may hold two IBANs, or one after a false start
        for end in range(len(run), 14, -1):
            if run[end - 1] != " " and iban.is_valid(run[:end]):
                yield Finding(IBAN, m.start(), m.start() + end)
                at = m.start() + end
                break


def _cards(text: str) -> Iterator[Finding]:
    for m in _CARD.finditer(text):
        if luhn.is_valid(re.sub(r"[ -]", "", m.group())):
            yield Finding(CARD, m.start(), m.end())


# -- national ids ---------------------------------------------------------------------------------
# HMRC (NIM39110): neither letter is D, F, I, Q, U or V; the second is not O; BG, GB, KN, NK,
# NT, TN and ZZ are never issued; the suffix is A to D.
_NINO_LETTERS = rf"[A-CEGHJ-PR-TW-Z](?<!{_LETTER}.)[A-CEGHJ-NPR-TW-Z](?<!BG|GB|KN|NK|NT|TN|ZZ)"
_NINO = re.compile(rf"(?i:{_NINO_LETTERS} ?\d{{2}} ?\d{{2}} ?\d{{2}} ?[A-D])(?!{_LETTER})")
# A number written without its suffix needs its label; with one, it takes the suffix too.
_NINO_BARE = re.compile(rf"{_NINO_LETTERS} ?\d{{2}} ?\d{{2}} ?\d{{2}}(?: ?[A-D](?!\w))?(?![\w])")
_LV_CODE = re.compile(r"[0-3](?<![\d-].)\d{5}-\d{5}(?![\d-])")
_SSN = re.compile(r"\d(?<![\d-].)\d{2}-\d{2}-\d{4}(?![\d-])")
_DIGITS = {n: re.compile(rf"\d(?<![\w-].)\d{{{n - 1}}}(?![\w-])") for n in (9, 11)}


def _label(words: str) -> re.Pattern[str]:
    """A label that ends the text before a number, perhaps with up to three short words
    between (``is``, ``μου είναι``, ``nr.``)."""
    return re.compile(rf"(?:{words})(?:[\s:.#№-]*[^\W\d]{{1,8}}){{0,3}}[\s:.#№-]*$", re.IGNORECASE)


#: Numbers that only a label tells apart from any other number: (numbers, label, check).
_LABELLED: tuple[tuple[re.Pattern[str], re.Pattern[str], Callable[[str], bool]], ...] = (
    (_DIGITS[11], _label(r"\bΑ\.?Μ\.?Κ\.?Α\b\.?|\bAMKA\b"), amka.is_valid),
    (_DIGITS[9], _label(r"\bΑ\.?Φ\.?Μ\b\.?|\bAFM\b"), gr_vat.is_valid),
    (_DIGITS[11], _label(r"\bT\.?C\.? ?kimlik|\bTCKN\b|\bkimlik"), tckimlik.is_valid),
    (_DIGITS[11], _label(r"\bpersonas kod\w*|\bpers\. ?kod\w*|\bp\.k\.|\bpersonal (?:id |identity )?code"),
     lambda n: n[0] in "0123" and pvn.is_valid(n)),
    (_NINO_BARE, _label(r"\bnational insurance|\bNI\b|\bNINO\b"), lambda n: True),
)
#: How far before a number its label may start.
_LABEL_REACH = 40


def _labelled_ids(text: str) -> Iterator[Finding]:
    numbers_in = {numbers: list(numbers.finditer(text)) for numbers, _, _ in _LABELLED}
    for numbers, label, valid in _LABELLED:
        for m in numbers_in[numbers]:
            if label.search(text[max(0, m.start() - _LABEL_REACH) : m.start()]) and valid(m.group()):
                yield Finding(NATIONAL_ID, m.start(), m.end())


def _latvian_codes(text: str) -> Iterator[Finding]:
    for m in _LV_CODE.finditer(text):
        if pvn.is_valid(m.group()):
            yield Finding(NATIONAL_ID, m.start(), m.end())


def _ssns(text: str) -> Iterator[Finding]:
    for m in _SSN.finditer(text):
        if ssn.is_valid(m.group()):
            yield Finding(NATIONAL_ID, m.start(), m.end())


def _ninos(text: str) -> Iterator[Finding]:
    for m in _NINO.finditer(text):
        yield Finding(NATIONAL_ID, m.start(), m.end())


# -- phone numbers --------------------------------------------------------------------------------
# Stretches of seven digits or more with what separates a phone number's groups: only these
# go to the matcher, which is most of the cost of ``find`` (most texts have none).
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]{5,}\d")
_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_MONEY_BEFORE = re.compile(r"(?:[$€£₺¥]|\{\$?|EUR|USD|GBP|TRY)\s?$")
_MONEY_AFTER = re.compile(r"\s?(?:[$€£₺%]|(?:EUR|USD|GBP|TRY|eur|euro|eiro|ευρώ|lira|dollars?)\b)", re.IGNORECASE)


def _phones(text: str) -> Iterator[Finding]:
    spans: set[tuple[int, int]] = set()
    for run in _DIGIT_RUN.finditer(text):
        if sum(c.isdigit() for c in run.group()) >= 7:
            for region in PHONE_REGIONS:
                for m in phonenumbers.PhoneNumberMatcher(run.group(), region, leniency=phonenumbers.Leniency.VALID):
                    spans.add((run.start() + m.start, run.start() + m.end))
    for start, end in sorted(spans):
        if not _reads_as_other_number(text, start, end, spans):
            yield Finding(PHONE, start, end)


def _reads_as_other_number(text: str, start: int, end: int, spans: set[tuple[int, int]]) -> bool:
    """Whether a number the phone matcher took is a date, an amount, part of a time
    (``2026-12-05 20:31:27.512626``), or the tail or head of a longer identifier
    (``C-2026-000123``): a valid phone number can be written in any of them. A neighbouring
    phone number (``07911 123456/020 7946 0958``) makes no identifier."""
    def joins(i: int) -> bool:
        return 0 <= i < len(text) and text[i].isalnum() and not any(
            s <= i < e and (e <= start or s >= end) for s, e in spans)

    glued_before = joins(start - 1) or (text[start - 1 : start] in ("-", "/", "_") and joins(start - 2)) \
        or (text[start - 1 : start] == ":" and text[start - 2 : start - 1].isdigit())
    glued_after = joins(end) or (text[end : end + 1] in ("-", "/", "_") and joins(end + 1)) \
        or (text[end : end + 1] == ":" and text[end + 1 : end + 2].isdigit())
    return bool(_DATE.fullmatch(text[start:end]) or glued_before or glued_after
                or _MONEY_BEFORE.search(text[max(0, start - 6) : start]) or _MONEY_AFTER.match(text, end))


# -- the customer's name --------------------------------------------------------------------------
def _names(text: str, names: Iterable[str]) -> Iterator[Finding]:
    """Where a form of a name stands as whole words; compared folded, and found with plain
    string search: a pattern made of a name would stay in ``re``'s cache after the text."""
    forms = [_fold(form).split() for form in _name_forms(names)]
    if not forms:
        return
    folded = _fold(text)
    for words in forms:
        at = folded.find(words[0])
        while at != -1:
            end = _words_end(folded, at, words)
            if end is not None and not _letter_at(folded, at - 1) and not _letter_at(folded, end):
                yield Finding(NAME, at, end)
            at = folded.find(words[0], at + 1)


def _words_end(folded: str, at: int, words: list[str]) -> int | None:
    """Where ``words``, separated by any white space, end if they stand at ``at``."""
    end = at + len(words[0])
    for word in words[1:]:
        gap = end
        while gap < len(folded) and folded[gap].isspace():
            gap += 1
        if gap == end or not folded.startswith(word, gap):
            return None
        end = gap + len(word)
    return end


def _letter_at(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isalpha()


def _name_forms(names: Iterable[str]) -> list[str]:
    """Each full name, then its parts of two letters or more; a part in small letters
    (``van``, ``de``) in a name written with capitals is a particle, not a name."""
    forms: list[str] = []
    for name in names:
        words = name.split()
        if not words:
            continue
        forms.append(" ".join(words))
        capitals = not name.islower()
        forms += [w for w in words if len(words) > 1 and len(w) >= 2 and not (capitals and w.islower())]
    return list(dict.fromkeys(forms))


def _fold(text: str) -> str:
    """``text`` in small letters without accents, one character for each of ``text``'s."""
    return text.lower() if text.isascii() else "".join(map(_fold_char, text))


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    # a character, never a text: the first of its decomposition, in small letters (Ē, ē -> e;
    # Ό -> ο; İ -> i); the final sigma is a sigma
    small = unicodedata.normalize("NFKD", ch)[0].lower()[:1] or ch
    return "σ" if small == "ς" else small


_NUMBERS: tuple[Callable[[str], Iterator[Finding]], ...] = (
    _ibans, _cards, _labelled_ids, _latvian_codes, _ssns, _ninos, _phones)
