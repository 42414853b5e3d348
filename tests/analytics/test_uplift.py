"""Uplift intervals: Newcombe's published examples, hand-computed Wilson and Welch values,
a scipy cross-check, edge cases and coverage on simulated campaigns with a known effect."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kehu.analytics.uplift import (
    diff_proportions,
    summarise,
    variance_from_sums,
    welch_diff,
    wilson_interval,
)
from kehu.exceptions import SchemaError

#: Newcombe (1998), Statistics in Medicine 17:873-890, Table II: (x1, n1, x2, n2) ->
#: method 1 (Wald) and method 10 (hybrid score) 95% limits, to 4 decimals
NEWCOMBE = [
    ((56, 70, 48, 80), (0.0575, 0.3425), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.2605, 0.9395), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (0.0146, 0.1640), (-0.0381, 0.1926)),
]


@pytest.mark.parametrize(("counts", "wald", "newcombe"), NEWCOMBE)
def test_newcombe_published_examples(counts, wald, newcombe):
    w = diff_proportions(*counts, method="wald")
    n = diff_proportions(*counts)
    assert (round(w.low, 4), round(w.high, 4)) == wald
    assert (round(n.low, 4), round(n.high, 4)) == newcombe
    assert n.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])


def test_wilson_by_hand():
    # 56/70, z = 1.959964: centre (0.8 + z²/140) / (1 + z²/70), half-width by the formula
    z = 1.959963984540054
    p, n = 0.8, 70
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    got = wilson_interval(56, 70)
    assert (got.low, got.high) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert (round(got.low, 4), round(got.high, 4)) == (0.6918, 0.8770)
    assert (wilson_interval(0, 10).low, wilson_interval(10, 10).high) == (0.0, 1.0)


def test_welch_by_hand_and_against_scipy():
    a = [1.0, 2.0, 3.0, 4.0, 10.0]  # mean 4, variance 12.5
    b = [0.0, 0.0, 1.0, 2.0]  # mean 0.75, variance 0.9166..
    assert summarise(a) == (4.0, 12.5, 5)
    va, vb = 12.5 / 5, (11 / 12) / 4
    df = (va + vb) ** 2 / (va**2 / 4 + vb**2 / 3)
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    got = welch_diff(*summarise(a), *summarise(b))
    assert got.estimate == 3.25 and got.df == pytest.approx(df)
    assert (got.low, got.high) == pytest.approx((3.25 - half, 3.25 + half))
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (got.low, got.high) == pytest.approx((ci.low, ci.high))
    ci90 = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.90)
    got90 = welch_diff(*summarise(a), *summarise(b), confidence=0.90)
    assert (got90.low, got90.high) == pytest.approx((ci90.low, ci90.high))


def test_variance_from_sums_matches_numpy():
    x = np.array([0.0, 0.0, 120.5, 33.0, 0.0, 80.0])
    assert variance_from_sums(x.sum(), (x * x).sum(), len(x)) == pytest.approx(x.var(ddof=1))
    assert variance_from_sums(5.0, 25.0, 1) == 0.0


def test_edges_and_bad_input():
    assert diff_proportions(0, 0, 1, 2).low is None
    assert math.isnan(diff_proportions(0, 0, 1, 2).estimate)
    assert welch_diff(1.0, 0.0, 1, 0.0, 0.0, 5).low is None  # one member: no variance
    same = welch_diff(2.0, 0.0, 10, 1.0, 0.0, 10)
    assert (same.low, same.high) == (1.0, 1.0)
    with pytest.raises(SchemaError, match="successes"):
        diff_proportions(5, 3, 1, 2)
    with pytest.raises(SchemaError, match="confidence"):
        diff_proportions(1, 3, 1, 2, confidence=1.5)
    with pytest.raises(SchemaError, match="method"):
        diff_proportions(1, 3, 1, 2, method="exact")
    with pytest.raises(SchemaError):
        welch_diff(1.0, -1.0, 3, 1.0, 1.0, 3)


def test_intervals_cover_a_known_effect_about_95_percent_of_the_time():
    """Simulated campaigns: conversion 12% vs 8%, revenue per converted member ~ lognormal."""
    rng = np.random.default_rng(20261122)
    runs, n_t, n_c = 400, 900, 300
    p_t, p_c, mu = 0.12, 0.08, 4.0
    spend_mean = math.exp(mu + 0.5)  # lognormal(mu, 1) mean
    true_rev = (p_t - p_c) * spend_mean
    hit_conv = hit_rev = hit_wald = 0
    for _ in range(runs):
        ct = rng.random(n_t) < p_t
        cc = rng.random(n_c) < p_c
        rt = np.where(ct, rng.lognormal(mu, 1.0, n_t), 0.0)
        rc = np.where(cc, rng.lognormal(mu, 1.0, n_c), 0.0)
        hit_conv += diff_proportions(ct.sum(), n_t, cc.sum(), n_c).covers(p_t - p_c)
        hit_wald += diff_proportions(ct.sum(), n_t, cc.sum(), n_c, method="wald").covers(p_t - p_c)
        rev = welch_diff(rt.mean(), rt.var(ddof=1), n_t, rc.mean(), rc.var(ddof=1), n_c)
        hit_rev += rev.covers(true_rev)
    for hits in (hit_conv, hit_wald, hit_rev):
        assert 0.91 <= hits / runs <= 0.985, (hit_conv, hit_wald, hit_rev)
