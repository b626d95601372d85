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
_COMBINING = re.compile("[\u0300-\u036f]")  # accents, Greek tonos, the dot of Turkish İ


def normalise(text: str, limit: int | None = MAX_CHARS) -> str:
    """Case-folded, accent-free text with CFPB masks and numbers removed."""
    text = _MASKS.sub(" ", text[:limit]).casefold()
    if text.isascii():  # most text: nothing to decompose
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def _vectoriser() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False,
        norm=None, preprocessor=normalise, dtype=np.float32,
    )


class Vectors:
    """Unit-length TF-IDF rows of many texts, kept as row chunks.

    Chunks keep memory near the size of the vectors themselves: no step ever holds the whole
    matrix twice (stacking chunks, or a temporary the size of all the data, would), which at
    100k complaints is the difference between about 0.5 GB and 1.5 GB."""

    def __init__(self, texts: Sequence[str], chunk: int = 5000):
        vec = _vectoriser()
        self.chunk = chunk
        self.parts: list[sparse.csr_matrix] = []
        df = np.zeros(N_FEATURES, dtype=np.int64)
        for at in range(0, len(texts), chunk):
            raw = vec.transform(texts[at : at + chunk])
            part = sparse.csr_matrix(
                (raw.data.astype(np.float32), raw.indices.astype(np.int32), raw.indptr.astype(np.int32)), shape=raw.shape
            )
            del raw
            df += np.bincount(part.indices, minlength=N_FEATURES)
            self.parts.append(part)
        idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
        for part in self.parts:  # sublinear TF times smoothed IDF, in place, then unit length
            np.log(part.data, out=part.data)
            part.data += 1
            part.data *= idf[part.indices]
            normalize(part, norm="l2", copy=False)

    def __len__(self) -> int:
        return sum(p.shape[0] for p in self.parts)

    def rows(self, index: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
        """(index reordered by chunk, its rows in that order): the order of a leaf doesn't matter."""
        which = index // self.chunk
        ordered = index[np.argsort(which, kind="stable")]
        which = ordered // self.chunk
        pieces = [self.parts[k][ordered[which == k] - k * self.chunk] for k in np.unique(which)]
        return ordered, (pieces[0] if len(pieces) == 1 else sparse.vstack(pieces, format="csr"))

    def project(self, directions: np.ndarray) -> np.ndarray:
        return np.vstack([np.asarray(p @ directions) for p in self.parts])


def vectors(texts: Sequence[str]) -> sparse.csr_matrix:
    """The TF-IDF rows of a few texts as one matrix (one complaint and its block)."""
    parts = Vectors(texts).parts
    return parts[0] if len(parts) == 1 else sparse.vstack(parts, format="csr")


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
