"""Language-independent text similarity: character n-gram TF-IDF and cosine. Pure, no I/O.

Why character n-grams: they need no tokeniser, stemmer or stop-word list, so English,
Latvian, Greek and Turkish text work alike, and inflected forms (``kontā``/``kontu``,
``λογαριασμό``/``λογαριασμού``) still share most of their n-grams. Accents are stripped and
case folded, so text typed without diacritics still matches.

Why a hashing vectoriser: it is stateless (no vocabulary to fit or store), so one complaint
can be vectorised against a block fetched from the database, and 100k complaints can be
vectorised in chunks in bounded memory. IDF weights are computed over whatever set is being
compared (the corpus for a full run, the block for one complaint).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

N_FEATURES = 2**18
NGRAMS = (3, 4)
MAX_CHARS = 1000  # the opening of a narrative carries its topic; the rest mostly adds cost
_MASKS = re.compile(r"\bX{2,}\b|X{2}/X{2}/X{2,4}|\{\$[\d,.]+\}|\d+")
_WORD = re.compile(r"[^\W\d_]{4,}")


def normalise(text: str, limit: int | None = MAX_CHARS) -> str:
    """Case-folded, accent-free text with CFPB masks and numbers removed."""
    text = _MASKS.sub(" ", text[:limit])
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _vectoriser() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False,
        norm=None, preprocessor=normalise, dtype=np.float32,
    )


def term_counts(texts: Sequence[str], chunk: int = 5000) -> sparse.csr_matrix:
    """Raw n-gram counts, vectorised in chunks so temporary memory stays bounded."""
    vec = _vectoriser()
    parts = [vec.transform(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    if not parts:
        return sparse.csr_matrix((0, N_FEATURES), dtype=np.float32)
    return sparse.vstack(parts, format="csr")


def tfidf(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Sublinear TF times smoothed IDF over these rows, each row scaled to unit length."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
    weighted = counts.copy()
    weighted.data = (1 + np.log(weighted.data)) * idf[weighted.indices]
    return normalize(weighted, norm="l2", copy=False)


def vectors(texts: Sequence[str]) -> sparse.csr_matrix:
    return tfidf(term_counts(texts))


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
