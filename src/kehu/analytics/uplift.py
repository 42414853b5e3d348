"""Uplift of a campaign over its control group, with confidence intervals.

Pure functions over summary figures (counts, means, variances), so that the
store can aggregate in SQL and hand over a few numbers:

* conversion: difference of two proportions with the Newcombe hybrid score
  interval (Newcombe 1998, method 10, built from two Wilson intervals; good
  coverage even for small counts and rates near 0 or 1) or the Wald interval;
* revenue per member: difference of means with the Welch interval (unequal
  variances, Welch-Satterthwaite degrees of freedom).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from kehu.exceptions import SchemaError


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval (``None`` when undefined)."""

    estimate: float
    low: float | None
    high: float | None
    confidence: float
    method: str

    def covers(self, value: float) -> bool:
        return self.low is not None and self.high is not None and self.low <= value <= self.high


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise SchemaError(f"confidence must be between 0 and 1, got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _check_counts(x: int, n: int, name: str) -> None:
    if n < 0 or x < 0 or x > n:
        raise SchemaError(f"{name}: need 0 <= successes <= trials, got {x} of {n}")


def wilson_interval(x: int, n: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval of the proportion ``x / n``."""
    _check_counts(x, n, "wilson_interval")
    z = _z(confidence)
    if n == 0:
        return Interval(math.nan, None, None, confidence, "wilson")
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # exact bounds at the edges (the formula gives them up to rounding)
    low = 0.0 if x == 0 else centre - half
    high = 1.0 if x == n else centre + half
    return Interval(p, low, high, confidence, "wilson")


def diff_proportions(
    x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95, method: str = "newcombe"
) -> Interval:
    """``x1/n1 - x2/n2`` (treatment minus control) with its confidence interval.

    ``method`` is ``"newcombe"`` (hybrid score, recommended) or ``"wald"``.
    The interval is ``None`` when a group is empty.
    """
    _check_counts(x1, n1, "treatment")
    _check_counts(x2, n2, "control")
    if method not in ("newcombe", "wald"):
        raise SchemaError(f"method must be 'newcombe' or 'wald', got {method!r}")
    z = _z(confidence)
    if n1 == 0 or n2 == 0:
        return Interval(math.nan, None, None, confidence, method)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    if method == "wald":
        se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        return Interval(d, d - z * se, d + z * se, confidence, method)
    w1, w2 = wilson_interval(x1, n1, confidence), wilson_interval(x2, n2, confidence)
    low = d - math.sqrt((p1 - w1.low) ** 2 + (w2.high - p2) ** 2)
    high = d + math.sqrt((w1.high - p1) ** 2 + (p2 - w2.low) ** 2)
    return Interval(d, low, high, confidence, method)


@dataclass(frozen=True)
class WelchInterval(Interval):
    df: float | None = None


def welch_diff(
    mean1: float,
    var1: float,
    n1: int,
    mean2: float,
    var2: float,
    n2: int,
    confidence: float = 0.95,
) -> WelchInterval:
    """``mean1 - mean2`` with the Welch interval; ``var`` are sample variances (ddof=1).

    The interval is ``None`` when a group has fewer than two members.  When both
    variances are zero the interval collapses to the estimate.
    """
    if n1 < 0 or n2 < 0 or var1 < 0 or var2 < 0:
        raise SchemaError("welch_diff: sizes and variances must not be negative")
    _z(confidence)
    if n1 == 0 or n2 == 0:
        return WelchInterval(math.nan, None, None, confidence, "welch")
    d = mean1 - mean2
    if n1 < 2 or n2 < 2:
        return WelchInterval(d, None, None, confidence, "welch")
    a, b = var1 / n1, var2 / n2
    se2 = a + b
    if se2 == 0:
        return WelchInterval(d, d, d, confidence, "welch", df=float(n1 + n2 - 2))
    df = se2 * se2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    half = t * math.sqrt(se2)
    return WelchInterval(d, d - half, d + half, confidence, "welch", df=df)


def summarise(values) -> tuple[float, float, int]:
    """``(mean, sample variance, n)`` of a sequence, for :func:`welch_diff`."""
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        return math.nan, 0.0, 0
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0
    return mean, var, n


def variance_from_sums(total: float, total_sq: float, n: int) -> float:
    """Sample variance from the sum and the sum of squares (as SQL aggregates give them)."""
    if n < 2:
        return 0.0
    mean = total / n
    return max((total_sq - n * mean * mean) / (n - 1), 0.0)
