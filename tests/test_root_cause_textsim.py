"""The similarity a person waits on (plain Python) is scikit-learn's TF-IDF, weight for weight."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
from conftest import CFPB_SAMPLE
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from root_cause import textsim

TEXTS = [
    "Bankas komisija tika iekasēta divreiz par vienu maksājumu; lūdzu atmaksāt.",
    "Η τράπεζα χρέωσε δύο φορές την ίδια προμήθεια στον λογαριασμό μου.",
    "Kredi kartı yıllık aidatı iade edilmedi, müşteri hizmetleri yanıt vermiyor.",
    "I was charged twice for the monthly fee on my current account. A b cd efg.",
    "   ", "a", "ok go",
]


def sample_texts(n: int = 300) -> list[str]:
    if not CFPB_SAMPLE.exists():
        return TEXTS
    with CFPB_SAMPLE.open(newline="", encoding="utf-8") as fh:
        return TEXTS + [row["Consumer complaint narrative"] for _, row in zip(range(n), csv.DictReader(fh), strict=False)]


def test_the_n_grams_are_scikit_learns_char_wb_n_grams_exactly() -> None:
    analyse = CountVectorizer(analyzer="char_wb", ngram_range=textsim.NGRAMS, lowercase=False).build_analyzer()
    for text in sample_texts():
        plain = textsim.normalise(text)
        assert textsim.ngrams(plain) == Counter(analyse(plain))


def test_similarities_are_the_cosines_of_scikit_learns_sublinear_smoothed_tf_idf() -> None:
    texts = sample_texts(200)
    tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=textsim.NGRAMS, lowercase=False,
                            preprocessor=textsim.normalise, sublinear_tf=True, smooth_idf=True, norm="l2")
    matrix = tfidf.fit_transform(texts)
    expected = np.asarray((matrix[1:] @ matrix[0].T).toarray()).ravel()
    assert textsim.similarities(texts[0], texts[1:]) == pytest.approx(expected.tolist(), abs=1e-9)


def test_a_text_is_most_like_itself_and_an_empty_one_like_nothing() -> None:
    sims = textsim.similarities(TEXTS[1], [TEXTS[1], TEXTS[0], ""])
    assert sims[0] == pytest.approx(1.0) and 0 <= sims[1] < 0.2 and sims[2] == 0.0
