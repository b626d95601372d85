"""Keys of a complaint's words, so that alike texts share a block whatever their labels. Light.

Blocks by shared fields (``blocking``) never bring together two complaints filed under
different labels, however alike their words: a restatement typed in under another category
was never compared with the first telling. These keys close that gap with MinHash locality
sensitive hashing over the complaint's *stems*: its words of three letters or more, stop
words of its language left out (``stopwordsiso``, about 60 languages), accents stripped and
each cut to its first ``STEM`` letters, which folds most inflection in Latvian, Greek,
Turkish and English alike (``komisijas``/``komisiju``, ``χρέωσε``/``χρέωση``,
``aidatı``/``aidatsız``, ``charged``/``charge``).

Each of ``BANDS`` keys is the pair of stems that come first under two seeded hash orders:
two texts share a band's key with probability about J², J being the Jaccard overlap of their
stem sets, so they share at least one key with probability ``1 - (1 - J²)**BANDS``: 0.9 for a
restatement (J near 0.4), 0.1 for two complaints that merely share a topic (J near 0.1).
The keys are stored beside the field keys in ``rc_block_key`` when a complaint is taken in,
so one indexed query finds both kinds of candidate. A text key starts with ``t``, which no
field key (hexadecimal) does.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache, partial

from root_cause.textsim import normalise

BANDS = 12
ROWS = 2
STEM = 5
MIN_STEMS = 4  # fewer stems than this say too little to match on
PREFIX = "t"
_WORD = re.compile(r"[^\W\d_]{3,}")
_SEEDS = tuple(hashlib.blake2b(f"band{i}".encode(), digest_size=8).digest() for i in range(BANDS * ROWS))


@cache
def stop_stems(language: str | None) -> frozenset[str]:
    """Stop words of ``language`` (and always English, which mixes into any text), normalised."""
    import stopwordsiso  # loaded on first use: the field keys alone need no word lists

    languages = {"en"} | ({language.lower()[:2]} if language and stopwordsiso.has_lang(language.lower()[:2]) else set())
    return frozenset(normalise(w, None) for w in stopwordsiso.stopwords(sorted(languages)))


def stems(text: str, language: str | None = None) -> frozenset[str]:
    """The distinct stems of ``text``: content words cut to ``STEM`` letters."""
    stop = stop_stems(language)
    return frozenset(w[:STEM] for w in _WORD.findall(normalise(text, None)) if w not in stop)


def _rank(seed: bytes, stem: str) -> bytes:
    return hashlib.blake2b(stem.encode(), digest_size=8, key=seed).digest()


def text_keys(text: str, language: str | None = None) -> list[str]:
    """The MinHash band keys of ``text`` (none for a text of fewer than ``MIN_STEMS`` stems)."""
    found = stems(text, language)
    if len(found) < MIN_STEMS:
        return []
    firsts = [min(found, key=partial(_rank, seed)) for seed in _SEEDS]
    keys = []
    for band in range(BANDS):
        picked = "|".join(firsts[band * ROWS:(band + 1) * ROWS])
        keys.append(PREFIX + hashlib.sha1(f"{band}:{picked}".encode()).hexdigest()[:19])
    return keys


def is_text_key(key: str) -> bool:
    return key.startswith(PREFIX)
