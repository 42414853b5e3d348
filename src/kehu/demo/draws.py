"""Small vectorised draws and string joins the master data are built with."""

from __future__ import annotations

import numpy as np
import pandas as pd


def choice_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One category per row of the probability matrix ``p`` (rows sum to 1)."""
    return (rng.random((len(p), 1)) > np.cumsum(p, axis=1)).sum(axis=1).clip(0, p.shape[1] - 1)


def concat(*parts) -> np.ndarray:
    """Element-wise string join of arrays (a scalar first part is repeated), as objects."""
    out = pd.Series(np.broadcast_to(np.asarray(parts[0], dtype=object), len(parts[-1])))
    for part in parts[1:]:
        out = out + pd.Series(np.asarray(part, dtype=object))
    return out.to_numpy(dtype=object)


def pick(rng: np.random.Generator, words: list[str], n: int) -> np.ndarray:
    """``n`` words drawn uniformly, with replacement."""
    return np.array(words, dtype=object)[rng.integers(0, len(words), n)]


def blank_some(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Blank out about ``share`` of the values: real master data have gaps."""
    return np.where(rng.random(len(values)) < share, "", values)
