"""Text similarity of one complaint against a few hundred others, in plain Python.

The full linking run vectorises every complaint with scikit-learn (``similarity``); importing
it takes about a second, which ``show`` and ``intake`` would pay for one small comparison.
Here the same weights are computed without it: character n-grams of each word padded with
spaces (scikit-learn's ``char_wb`` analyser, short words counted once whole), sublinear term
frequency, smoothed inverse document frequency over the texts compared, unit length, cosine.
Only the hashing differs (exact n-grams here, 2**18 hashed features there), so both give the
same similarity but for rare hash collisions (``tests/test_root_cause_textsim.py``).

Also what explains a link to a person (``words``, ``shared_terms``) and the normalisation
both paths share. Why character n-grams: they need no tokeniser, stemmer or stop-word list,
so English, Latvian, Greek and Turkish text work alike, and inflected forms (``kontā`` /
``kontu``) still share most of their n-grams. Accents are stripped and case folded.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

NGRAMS = (3, 4)
MAX_CHARS = 1000  # the opening of a narrative carries its topic; the rest mostly adds cost
_MASKS = re.compile(r"\bX{2,}\b|X{2}/X{2}/X{2,4}|\{\$[\d,.]+\}|\d+")
_WORD = re.compile(r"[^\W\d_]{4,}")
_COMBINING = re.compile("[\u0300-\u036f]")  # accents, Greek tonos, the dot of Turkish İ


def normalise(text: str, limit: int | None = MAX_CHARS) -> str:
    """Case-folded, accent-free text with CFPB masks and numbers removed."""
    text = _MASKS.sub(" ", text[:limit]).casefold()
    if text.isascii():  # most text: nothing to decompose
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def ngrams(text: str) -> Counter[str]:
    """The ``char_wb`` n-grams of normalised ``text``: those of each word padded with one
    space; a word shorter than n yields itself, padded, once.

    Taken over all the words at once, joined with two spaces, and those spanning two words
    (the only ones with two spaces in a row) dropped: one slicing pass instead of one per word.
    """
    joined = " " + "  ".join(text.split()) + " "
    counts = Counter([joined[i:i + NGRAMS[0]] for i in range(len(joined) - NGRAMS[0] + 1)])
    for n in NGRAMS[1:]:
        counts.update([joined[i:i + n] for i in range(len(joined) - n + 1)])
    for gram in [g for g in counts if "  " in g]:
        del counts[gram]
    return counts


def similarities(query: str, others: Sequence[str]) -> list[float]:
    """The cosine similarity of ``query`` to each of ``others``, as TF-IDF vectors whose IDF is
    taken over all of them. Each text's vector is summed as it is read, never kept."""
    counts = [ngrams(normalise(t)) for t in (query, *others)]
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    total = len(counts)
    idf = {g: math.log((1 + total) / (1 + d)) + 1 for g, d in df.items()}
    weights = {g: (1 + math.log(n)) * idf[g] for g, n in counts[0].items()}
    query_length = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    found = []
    for c in counts[1:]:
        squares = dot = 0.0
        for g, n in c.items():
            w = (1 + math.log(n)) * idf[g]
            squares += w * w
            dot += w * weights.get(g, 0.0)
        found.append(dot / (query_length * math.sqrt(squares)) if squares else 0.0)
    return found


def words(text: str) -> set[str]:
    """Normalised words of four letters or more, for explaining a link."""
    return set(_WORD.findall(normalise(text, limit=None)))


def shared_terms(a: set[str], b: set[str], df: Counter[str] | None = None, limit: int = 6) -> list[str]:
    """The words both texts use, rarest first (ties: longest first): the evidence a person reads."""
    common = a & b
    key = (lambda w: (df.get(w, 0), -len(w), w)) if df is not None else (lambda w: (-len(w), w))
    return sorted(common, key=key)[:limit]


def document_frequency(word_sets: Iterable[set[str]]) -> Counter[str]:
    df: Counter[str] = Counter()
    for ws in word_sets:
        df.update(ws)
    return df
