"""Text similarity of many complaints at once: character n-gram TF-IDF and cosine. No I/O.

The weights are ``textsim``'s (which compares one complaint with a few hundred in plain
Python); here scikit-learn hashes the n-grams into a sparse matrix for the full linking run.

Why a hashing vectoriser: it is stateless (no vocabulary to fit or store), so 100k
complaints are vectorised in chunks in bounded memory. IDF weights are computed over the
corpus of the run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from root_cause.textsim import NGRAMS, normalise

N_FEATURES = 2**18


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

    def pair_similarities(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The cosine of each (row, col) pair, for the few pairs kept after ranking."""
        out = np.zeros(len(rows), dtype=np.float32)
        for at in range(0, len(rows), 50_000):
            r, c = rows[at:at + 50_000], cols[at:at + 50_000]
            a, b = self._take(r), self._take(c)
            out[at:at + len(r)] = np.asarray(a.multiply(b).sum(axis=1)).ravel()
        return out

    def _take(self, index: np.ndarray) -> sparse.csr_matrix:
        which = index // self.chunk
        order = np.argsort(which, kind="stable")
        pieces = [self.parts[k][index[order][which[order] == k] - k * self.chunk] for k in np.unique(which)]
        stacked = pieces[0] if len(pieces) == 1 else sparse.vstack(pieces, format="csr")
        return stacked[np.argsort(order, kind="stable")]

    def project(self, directions: np.ndarray) -> np.ndarray:
        return np.vstack([np.asarray(p @ directions) for p in self.parts])
