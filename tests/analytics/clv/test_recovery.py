"""Parameter recovery: simulated customers give the true parameters back within 3 SE."""

from __future__ import annotations

import numpy as np
import pytest

from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    clv_summary,
    simulate_bgnbd,
    simulate_pareto_nbd,
    simulate_spend,
    simulate_transactions,
)
from kehu.exceptions import SchemaError

BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PN = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def within(model, truth, k=3.0):
    z = {p: (model.params_[p] - v) / model.se_[p] for p, v in truth.items()}
    assert all(abs(v) < k for v in z.values()), z


def test_bgnbd_and_gamma_gamma_recover_their_parameters():
    s = simulate_bgnbd(20_000, **BG, T=(27.0, 39.0), seed=11)
    assert s["T"].between(27, 39).all() and (s.recency <= s["T"]).all()
    within(BetaGeoModel().fit(s), BG)
    s["monetary_value"] = simulate_spend(s.frequency, **GG, seed=12)
    assert (s.monetary_value[s.frequency == 0] == 0).all()
    within(GammaGammaModel().fit(s), GG)


def test_pareto_nbd_recovers_its_parameters():
    s = simulate_pareto_nbd(10_000, **PN, T=(27.0, 39.0), seed=13)
    within(ParetoNBDModel().fit(s), PN)


def test_transactions_give_back_the_summary():
    s = simulate_bgnbd(300, **BG, T=39.0, seed=5)
    orders = simulate_transactions(s, calibration_end="2024-12-31", seed=6)
    assert len(orders) == s.frequency.sum() + len(s)
    back = clv_summary(orders, calibration_end="2024-12-31").to_pandas()
    back = back.set_index("customer_id").loc[s.customer_id]
    # days are whole in the summary: T within a day, merged same-day purchases only lower x
    assert np.allclose(back["T"].to_numpy(), s["T"].to_numpy(), atol=1 / 7)
    assert (back.frequency.to_numpy() <= s.frequency.to_numpy()).all()
    assert (back.frequency.to_numpy() == s.frequency.to_numpy()).mean() > 0.97


def test_simulator_rejects_bad_sizes():
    with pytest.raises(SchemaError):
        simulate_bgnbd(0, **BG)
    with pytest.raises(SchemaError):
        simulate_pareto_nbd(10, **PN, T=-1.0)
