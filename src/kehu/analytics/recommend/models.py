"""Item-item weight matrices fit on a binary customer x item matrix.

Both models score a customer's items as ``x @ W`` where ``x`` is the row of
the customer's history and ``W`` an item x item matrix with a zero diagonal
(an item never recommends itself).

- **EASE** (Steck 2019, "Embarrassingly Shallow Autoencoders"): the closed form
  ``P = (X'X + l2 I)^-1``, ``W = -P / diag(P)``, ``diag(W) = 0``.  One dense
  inverse of size n_items^2, so the catalogue is capped (``max_items``).
- **item-kNN**: cosine similarity with shrinkage,
  ``W_ij = c_ij / (sqrt(n_i n_j) + shrink)``, keeping each item's
  ``neighbours`` strongest neighbours (a sparse matrix).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def ease_weights(x: sp.csr_matrix, l2: float) -> np.ndarray:
    """Dense EASE weight matrix (float32) of a customer x item matrix."""
    g = (x.T @ x).toarray().astype(np.float64)
    g[np.diag_indices_from(g)] += l2
    p = np.linalg.inv(g)
    w = -p / np.diag(p)  # divides column j by P_jj
    np.fill_diagonal(w, 0.0)
    return w.astype(np.float32)


def itemknn_weights(x: sp.csr_matrix, neighbours: int, shrink: float) -> sp.csr_matrix:
    """Sparse cosine item-item similarity with shrinkage, top ``neighbours`` per item."""
    c = (x.T @ x).tocsr().astype(np.float64)
    c.setdiag(0.0)
    c.eliminate_zeros()
    n = np.asarray(x.sum(axis=0)).ravel()
    coo = c.tocoo()
    data = coo.data / (np.sqrt(n[coo.row] * n[coo.col]) + shrink)
    sim = sp.csr_matrix((data, (coo.row, coo.col)), shape=c.shape)
    return _top_per_column(sim, neighbours).astype(np.float32)


def _top_per_column(sim: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each column (the neighbours that score an item)."""
    csc = sim.tocsc()
    counts = np.diff(csc.indptr)
    if counts.max(initial=0) <= k:
        return csc.tocsr()
    keep = np.zeros(csc.nnz, dtype=bool)
    # rank within column: sort by (column, -value) once, then position in the column
    col = np.repeat(np.arange(csc.shape[1]), counts)
    order = np.lexsort((-csc.data, col))
    pos = np.arange(csc.nnz) - np.repeat(csc.indptr[:-1], counts)
    keep[order[pos < k]] = True
    out = sp.csc_matrix((csc.data * keep, csc.indices, csc.indptr), shape=csc.shape)
    out.eliminate_zeros()
    return out.tocsr()
