"""BG/NBD, Pareto/NBD and Gamma-Gamma: published CDNOW values, lifetimes 0.11.3, API."""

from __future__ import annotations

import pickle

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import check_grad

from kehu.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    simulate_bgnbd,
    simulate_spend,
)
from kehu.exceptions import KehuError, ModelFileError, NotFittedError, SchemaError

SMALL = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "frequency": [0, 0, 1, 2, 5, 1],
        "recency": [0.0, 0.0, 3.0, 20.0, 30.0, 3.0],
        "T": [38.0, 30.0, 38.0, 38.0, 35.0, 38.0],
        "monetary_value": [0.0, 0.0, 10.0, 30.0, 22.0, 10.0],
    }
)


@pytest.fixture(scope="module")
def fitted(cdnow_summary):
    s = cdnow_summary
    return BetaGeoModel().fit(s), ParetoNBDModel().fit(s), GammaGammaModel().fit(s)


@pytest.mark.realdata
def test_bgnbd_reproduces_fader_hardie_lee_2005(fitted):
    bg = fitted[0]
    p = bg.params_
    assert [round(p[k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bg.n_customers_ == 2357
    # standard errors as lifetimes 0.11.3 reports them
    se = [bg.se_[k] for k in ("r", "alpha", "a", "b")]
    assert se == pytest.approx([0.012557, 0.378224, 0.185734, 0.705414], rel=2e-3)


@pytest.mark.realdata
def test_pareto_nbd_and_gamma_gamma_reproduce_published(fitted):
    _, pn, gg = fitted
    p = pn.params_
    assert [round(p[k], 2) for k in ("r", "alpha", "s", "beta")] == [0.55, 10.58, 0.61, 11.67]
    assert pn.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)
    q = gg.params_
    assert [round(q[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]
    assert gg.n_customers_ == 946  # customers with repeat purchases


@pytest.mark.realdata
def test_predictions_equal_lifetimes(fitted, cdnow_summary):
    bg, pn, gg = fitted
    s = cdnow_summary
    # sums over the 2,357 customers from lifetimes 0.11.3 with the same parameters
    assert bg.predict_purchases(39, s).sum() == pytest.approx(1653.40872, rel=1e-6)
    assert bg.probability_alive(s).sum() == pytest.approx(1917.27766, rel=1e-6)
    assert bg.expected_purchases([39, 78]) == pytest.approx([1.19501, 1.85796], rel=1e-5)
    assert pn.predict_purchases(39, s).sum() == pytest.approx(1665.5168, rel=1e-4)
    assert pn.probability_alive(s).sum() == pytest.approx(1051.860, rel=1e-4)
    assert pn.expected_purchases(39) == pytest.approx(1.213396, rel=1e-4)
    assert gg.predict_spend(s).sum() == pytest.approx(83089.6077, rel=1e-6)


def test_gradients_are_analytic_and_right():
    for model, theta in ((BetaGeoModel(), [0.3, 4.0, 0.8, 2.5]), (GammaGammaModel(), [6, 3.7, 15])):
        *arrays, w = model._statistics(SMALL)

        def f(th, model=model, arrays=arrays, w=w):
            return model._loglik_grad(th, *arrays, weights=w)[0]

        def g(th, model=model, arrays=arrays, w=w):
            return model._loglik_grad(th, *arrays, weights=w)[1]

        assert check_grad(f, g, np.array(theta, dtype=float)) < 1e-5


def test_grouping_gives_the_same_fit_as_repeating_rows():
    once = BetaGeoModel().fit(SMALL)
    twice = BetaGeoModel().fit(pd.concat([SMALL, SMALL]))
    assert twice.n_customers_ == 12
    # c and f are identical, so there are five distinct rows
    assert len(BetaGeoModel()._statistics(SMALL)[0]) == 5
    assert twice.params_ == pytest.approx(once.params_, rel=1e-3)
    assert twice.log_likelihood_ == pytest.approx(2 * once.log_likelihood_, rel=1e-6)


def test_fit_on_an_engine_table_groups_there_and_equals_pandas():
    data = simulate_bgnbd(3000, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=3)
    data["recency"] = np.ceil(data.recency)  # whole weeks, so rows repeat
    data["T"] = np.maximum(np.ceil(data["T"]), data.recency)
    data["monetary_value"] = np.round(simulate_spend(data.frequency, p=6, q=4, gamma=15, seed=4))
    table = ibis.memtable(data)
    for model in (BetaGeoModel, GammaGammaModel):
        in_engine, in_pandas = model().fit(table), model().fit(data)
        assert in_engine.n_customers_ == in_pandas.n_customers_
        assert in_engine.params_ == pytest.approx(in_pandas.params_, rel=1e-6)
        assert in_engine.log_likelihood_ == pytest.approx(in_pandas.log_likelihood_, rel=1e-9)
    assert in_engine.n_customers_ == int(((data.frequency > 0) & (data.monetary_value > 0)).sum())
    # errors count customers, not the distinct rows that travel from the engine
    doubled = ibis.memtable(pd.concat([SMALL, SMALL]).assign(frequency=-1))
    with pytest.raises(SchemaError, match="frequency has 12 negative"):
        BetaGeoModel().fit(doubled)
    with pytest.raises(SchemaError, match="missing column"):
        GammaGammaModel().fit(table.drop("monetary_value"))


def test_probability_alive_and_predictions_by_hand():
    bg = BetaGeoModel()
    bg.params_ = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    alive = bg.probability_alive(SMALL)
    assert alive[:2] == pytest.approx([1.0, 1.0])  # no repeat purchase: cannot have dropped out
    # x=2, t_x=20, T=38: 1 / (1 + a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
    assert alive[3] == pytest.approx(1 / (1 + 0.8 / 3.5 * (42 / 24) ** 2.25))
    more = bg.predict_purchases(52, SMALL)
    assert np.all(more > bg.predict_purchases(26, SMALL))
    pn = ParetoNBDModel()
    pn.params_ = {"r": 0.55, "alpha": 10.58, "s": 1.0, "beta": 11.67}  # the s = 1 limit
    near = ParetoNBDModel()
    near.params_ = {**pn.params_, "s": 1.0 + 1e-6}
    assert pn.predict_purchases(39, SMALL) == pytest.approx(
        near.predict_purchases(39, SMALL), rel=1e-4
    )
    assert np.all((pn.probability_alive(SMALL) > 0) & (pn.probability_alive(SMALL) <= 1))


def test_pareto_branches_alpha_above_and_below_beta_agree_at_the_boundary():
    below, above = ParetoNBDModel(), ParetoNBDModel()
    below.params_ = {"r": 0.5, "alpha": 10.0 - 1e-7, "s": 0.6, "beta": 10.0}
    above.params_ = {"r": 0.5, "alpha": 10.0 + 1e-7, "s": 0.6, "beta": 10.0}
    theta_b = np.array(list(below.params_.values()))
    theta_a = np.array(list(above.params_.values()))
    x, tx, T = (SMALL[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    assert below._loglik(theta_b, x, tx, T) == pytest.approx(above._loglik(theta_a, x, tx, T))
    # a large frequency close to the edge z -> 1 stays finite
    far = np.array([0.5, 0.01, 0.6, 50.0])
    assert np.all(
        np.isfinite(below._loglik(far, np.array([60.0]), np.array([38.9]), np.array([39.0])))
    )


def test_save_and_load_round_trip(tmp_path):
    data = simulate_bgnbd(2000, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=1)
    data["monetary_value"] = simulate_spend(data.frequency, p=6.0, q=4.0, gamma=15.0, seed=2)
    model = GammaGammaModel().fit(data)
    path = model.save(tmp_path / "gg.json")
    back = GammaGammaModel.load(path)
    assert back.params_ == model.params_
    assert back.se_ == pytest.approx(model.se_, nan_ok=True)
    assert back.n_customers_ == model.n_customers_ == int((data.frequency > 0).sum())
    assert back.predict_spend(SMALL) == pytest.approx(model.predict_spend(SMALL))
    with pytest.raises(KehuError, match="not a BetaGeoModel"):
        BetaGeoModel.load(path)
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(KehuError, match="cannot read"):
        GammaGammaModel.load(tmp_path / "bad.json")


@pytest.mark.parametrize("cls", [BetaGeoModel, ParetoNBDModel])
def test_purchase_models_round_trip_and_refuse_pickles(tmp_path, cls):
    data = simulate_bgnbd(1500, r=0.25, alpha=4.0, a=0.8, b=2.5, seed=3)
    model = cls().fit(data)
    path = model.save(tmp_path / "m.zip")
    back = cls.load(path)
    assert back.params_ == model.params_ and back.get_params() == model.get_params()
    np.testing.assert_array_equal(
        back.predict_purchases(30, SMALL), model.predict_purchases(30, SMALL)
    )
    np.testing.assert_array_equal(back.probability_alive(SMALL), model.probability_alive(SMALL))
    before = path.read_bytes()
    model.params_ = {**model.params_, "r": object()}  # cannot be written as JSON
    with pytest.raises(TypeError):
        model.save(path)
    assert path.read_bytes() == before  # the failed save left the earlier file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.zip"]
    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps({"model": cls.__name__}))
    with pytest.raises(ModelFileError, match="pickle"):
        cls.load(old)
    with pytest.raises(ModelFileError, match=f"holds a {cls.__name__}, not a GammaGammaModel"):
        GammaGammaModel.load(path)


def test_not_fitted_and_bad_input():
    with pytest.raises(NotFittedError):
        BetaGeoModel().probability_alive(SMALL)
    with pytest.raises(NotFittedError):
        GammaGammaModel().save("never.json")
    with pytest.raises(SchemaError, match="recency, T"):
        BetaGeoModel().fit(SMALL[["frequency"]])
    with pytest.raises(SchemaError, match="negative"):
        BetaGeoModel().fit(SMALL.assign(frequency=-1))
    with pytest.raises(SchemaError, match="recency exceeds T"):
        ParetoNBDModel().fit(SMALL.assign(recency=100.0))
    with pytest.raises(SchemaError, match="no customers"):
        BetaGeoModel().fit(SMALL.iloc[:0])
    with pytest.raises(SchemaError, match="no customers"):
        GammaGammaModel().fit(SMALL.iloc[:2])  # nobody with repeat purchases
    with pytest.raises(SchemaError, match="missing or non-numeric"):
        BetaGeoModel().fit(SMALL.assign(T=np.nan))
    bg = BetaGeoModel().fit(SMALL)
    for bad in (0, -5, [10, 0]):
        with pytest.raises(SchemaError, match="positive time horizon"):
            bg.predict_purchases(bad, SMALL)
