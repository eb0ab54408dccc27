"""Item embeddings learned from purchase histories and item text vectors, for user-item affinities."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from rankers.profile import UserProfile

logger = logging.getLogger(__name__)

TOKEN_PATTERN = r"(?u)\b[a-zA-Z]{2,}\b"
DEFAULT_FACTORS = 48
# Only the user's heaviest items take part in the max-similarity feature, to bound its cost.
MAX_PROFILE_ITEMS_FOR_SIMILARITY = 50


@dataclass(frozen=True)
class UserVectors:
    """A user's taste as unit vectors in the factor and text spaces, and their item rows."""

    factor: np.ndarray | None
    text: np.ndarray | None
    factor_rows: np.ndarray
    factor_row_doc_ids: tuple[str, ...]


class ItemModel:
    """Collaborative-filtering item factors and TF-IDF title vectors, indexed by doc_id."""

    def __init__(
        self,
        doc_ids: Sequence[str],
        factors: np.ndarray,
        text: sp.csr_matrix,
        vectorizer: TfidfVectorizer,
    ) -> None:
        self.doc_ids = list(doc_ids)
        self.row = {doc_id: i for i, doc_id in enumerate(self.doc_ids)}
        self.factors = factors
        self.has_factor = np.linalg.norm(factors, axis=1) > 0
        self.text = text
        self.vectorizer = vectorizer

    @classmethod
    def fit(
        cls,
        titles: Mapping[str, str],
        user_ids: Sequence[str],
        doc_ids: Sequence[str],
        n_factors: int = DEFAULT_FACTORS,
        seed: int = 0,
    ) -> ItemModel:
        """Learn item factors from (user_id, doc_id) purchases and text vectors from `titles`.

        The factors are a truncated SVD of the user-item matrix with TF-IDF weighting, so very
        popular items do not dominate every user's taste.
        """
        catalog_ids = sorted(titles)
        row = {doc_id: i for i, doc_id in enumerate(catalog_ids)}

        # User-item matrix over the catalog; purchases of unknown items are ignored.
        users: dict[str, int] = {}
        rows, cols = [], []
        for user_id, doc_id in zip(user_ids, doc_ids, strict=True):
            item = row.get(doc_id)
            if item is None:
                continue
            rows.append(users.setdefault(user_id, len(users)))
            cols.append(item)
        matrix = sp.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(max(len(users), 1), len(catalog_ids))
        )
        matrix.data = np.log1p(matrix.data)
        buyers = np.asarray((matrix > 0).sum(axis=0)).ravel()
        idf = np.log((1 + matrix.shape[0]) / (1 + buyers)) + 1.0
        weighted = normalize_rows(matrix @ sp.diags(idf))

        n_components = max(1, min(n_factors, min(weighted.shape) - 1))
        svd = TruncatedSVD(n_components=n_components, random_state=seed)
        svd.fit(weighted)
        factors = (svd.components_.T * svd.singular_values_).astype(np.float64)
        factors[buyers == 0] = 0.0
        factors = normalize_dense_rows(factors)
        logger.info(
            "item model: %d items, %d users, %d purchases, %d factors, %d items without purchases",
            len(catalog_ids), len(users), len(rows), n_components, int((buyers == 0).sum()),
        )

        vectorizer = TfidfVectorizer(token_pattern=TOKEN_PATTERN, sublinear_tf=True)
        text = vectorizer.fit_transform([titles[doc_id] for doc_id in catalog_ids]).tocsr()

        return cls(catalog_ids, factors, text, vectorizer)

    def user_vectors(self, profile: UserProfile) -> UserVectors:
        """Fold the user's weighted items into one factor vector and one text vector."""
        known = [(self.row[d], a.weight, d) for d, a in profile.items.items() if d in self.row]
        if not known:
            return UserVectors(None, None, np.zeros((0, self.factors.shape[1])), ())

        rows = np.array([r for r, _, _ in known])
        weights = np.array([w for _, w, _ in known])

        factor = weights @ self.factors[rows]
        factor_norm = np.linalg.norm(factor)
        text = np.asarray(self.text[rows].T @ weights).ravel()
        text_norm = np.linalg.norm(text)

        heaviest = np.argsort(-weights)[:MAX_PROFILE_ITEMS_FOR_SIMILARITY]
        heaviest = heaviest[self.has_factor[rows[heaviest]]]

        return UserVectors(
            factor=factor / factor_norm if factor_norm > 0 else None,
            text=text / text_norm if text_norm > 0 else None,
            factor_rows=self.factors[rows[heaviest]],
            factor_row_doc_ids=tuple(known[i][2] for i in heaviest),
        )

    def affinities(
        self, user: UserVectors, doc_ids: Sequence[str], titles: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return cf_affinity, cf_max_similarity and text_affinity per candidate (NaN if unknown)."""
        n = len(doc_ids)
        cf = np.full(n, math.nan)
        cf_max = np.full(n, math.nan)
        text = np.full(n, math.nan)

        rows = np.array([self.row.get(d, -1) for d in doc_ids])
        known = rows >= 0
        with_factor = known.copy()
        with_factor[known] = self.has_factor[rows[known]]

        if user.factor is not None and with_factor.any():
            cf[with_factor] = self.factors[rows[with_factor]] @ user.factor
        if len(user.factor_row_doc_ids) and with_factor.any():
            similarity = self.factors[rows[with_factor]] @ user.factor_rows.T
            # An item is not its own neighbour: repeat purchases have their own features.
            column = {doc_id: j for j, doc_id in enumerate(user.factor_row_doc_ids)}
            for k, position in enumerate(np.flatnonzero(with_factor)):
                j = column.get(doc_ids[int(position)])
                if j is not None:
                    similarity[k, j] = -np.inf
            best = similarity.max(axis=1)
            cf_max[with_factor] = np.where(np.isfinite(best), best, math.nan)

        if user.text is not None:
            if known.any():
                text[known] = np.asarray(self.text[rows[known]] @ user.text).ravel()
            # Items unknown to the model are vectorized from the title retrieval returned.
            if not known.all():
                unknown = np.flatnonzero(~known)
                vectors = self.vectorizer.transform([titles[int(i)] for i in unknown])
                text[unknown] = np.asarray(vectors @ user.text).ravel()

        return cf, cf_max, text

    def save(self, directory: Path) -> None:
        """Write the model as item_model.npz and item_model.json in `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            directory / "item_model.npz",
            factors=self.factors,
            text_data=self.text.data,
            text_indices=self.text.indices,
            text_indptr=self.text.indptr,
            text_shape=np.array(self.text.shape),
        )
        meta = {
            "doc_ids": self.doc_ids,
            "vocabulary": {term: int(i) for term, i in self.vectorizer.vocabulary_.items()},
            "idf": self.vectorizer.idf_.tolist(),
            "token_pattern": TOKEN_PATTERN,
        }
        (directory / "item_model.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: Path) -> ItemModel:
        """Read a model written by `save`."""
        arrays = np.load(directory / "item_model.npz")
        meta = json.loads((directory / "item_model.json").read_text())

        text = sp.csr_matrix(
            (arrays["text_data"], arrays["text_indices"], arrays["text_indptr"]),
            shape=tuple(arrays["text_shape"]),
        )
        vectorizer = TfidfVectorizer(
            token_pattern=meta["token_pattern"], sublinear_tf=True, vocabulary=meta["vocabulary"]
        )
        vectorizer.idf_ = np.asarray(meta["idf"])

        return cls(meta["doc_ids"], arrays["factors"], text, vectorizer)


def normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Scale each row of a sparse matrix to unit L2 norm, leaving empty rows empty."""
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0

    return sp.diags(1.0 / norms) @ matrix


def normalize_dense_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row of a dense matrix to unit L2 norm, leaving zero rows zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0

    return matrix / norms
