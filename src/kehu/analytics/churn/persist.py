"""Saving a churn model's calibrated boosters without pickle, and rebuilding them.

:meth:`ChurnModel.save <kehu.analytics.churn.ChurnModel.save>` writes the file of
:mod:`kehu.analytics.estimator`: each calibration fold's trees as scikit-learn's node
arrays and its calibrator's numbers.  :func:`rebuild_estimator` makes the same
scikit-learn objects from them (the trees are scikit-learn's own ``TreePredictor``
objects made from the saved nodes), so the risks after a round trip are identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def estimator_state(
    estimator: Any, calibration: str
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Each fold's booster spec and calibrator numbers, and the arrays of its trees."""
    folds, arrays = [], {}
    for k, fold in enumerate(estimator.calibrated_classifiers_):
        booster, calibrator = fold.estimator, fold.calibrators[0]
        trees = [p for (p,) in booster._predictors]  # one tree per iteration (binary)
        if booster._preprocessor is not None or any(
            len(t.raw_left_cat_bitsets) for t in trees
        ):  # pragma: no cover - the churn features are all numerical
            raise ValueError("ChurnModel.save: categorical splits cannot be saved")
        arrays[f"nodes_{k}"] = np.concatenate([t.nodes for t in trees])
        arrays[f"tree_sizes_{k}"] = np.array([len(t.nodes) for t in trees], dtype=np.int64)
        spec: dict[str, Any] = {
            "booster": booster.get_params(),
            "baseline": booster._baseline_prediction.ravel().tolist(),
        }
        if calibration == "sigmoid":
            spec["sigmoid"] = [float(calibrator.a_), float(calibrator.b_)]
        else:
            arrays[f"iso_x_{k}"] = calibrator.X_thresholds_
            arrays[f"iso_y_{k}"] = calibrator.y_thresholds_
            spec["isotonic"] = {
                "X_min_": float(calibrator.X_min_),
                "X_max_": float(calibrator.X_max_),
                "increasing_": bool(calibrator.increasing_),
            }
        folds.append(spec)
    return folds, arrays


def rebuild_estimator(
    state: dict[str, Any], arrays: dict[str, np.ndarray], calibration: str, cv: int
) -> Any:
    """The fitted ``CalibratedClassifierCV`` of a saved state; it predicts as before."""
    from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = [str(c) for c in state["features_"]]
    names = np.array(features, dtype=object)
    classes = np.array(state["classes"])
    folds = []
    for k, spec in enumerate(state["folds"]):
        booster = _rebuild_booster(state, arrays, k, spec, classes, names)
        calibrator = _rebuild_calibrator(arrays, k, spec, calibration)
        folds.append(
            _CalibratedClassifier(booster, [calibrator], classes=classes, method=calibration)
        )
    estimator = CalibratedClassifierCV(
        HistGradientBoostingClassifier(**state["folds"][0]["booster"]),
        method=calibration,
        cv=cv,
    )
    estimator.calibrated_classifiers_ = folds
    estimator.classes_ = classes
    estimator.n_features_in_ = len(features)
    estimator.feature_names_in_ = names
    return estimator


def _rebuild_booster(
    state: dict[str, Any],
    arrays: dict[str, np.ndarray],
    k: int,
    spec: dict[str, Any],
    classes: np.ndarray,
    names: np.ndarray,
) -> Any:
    """Fold ``k``'s booster from its node arrays, set up as ``fit`` would leave it."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.common import (
        PREDICTOR_RECORD_DTYPE,
        X_BITSET_INNER_DTYPE,
    )
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    no_bitsets = np.zeros((0, 8), dtype=X_BITSET_INNER_DTYPE)
    nodes = arrays[f"nodes_{k}"]
    if nodes.dtype != PREDICTOR_RECORD_DTYPE:
        raise ValueError(
            f"its trees were saved by scikit-learn {state.get('sklearn')} in a layout "
            "this scikit-learn does not use; fit the model again"
        )
    ends = np.cumsum(arrays[f"tree_sizes_{k}"])
    booster = HistGradientBoostingClassifier(**spec["booster"])
    booster._predictors = [
        [TreePredictor(tree, no_bitsets, no_bitsets)] for tree in np.split(nodes, ends[:-1])
    ]
    booster._baseline_prediction = np.array([spec["baseline"]], dtype=np.float64)
    booster.n_trees_per_iteration_ = 1
    booster.classes_ = classes
    booster.n_features_in_ = len(names)
    booster.feature_names_in_ = names
    booster.is_categorical_ = None
    booster._preprocessor = None
    booster._bin_mapper = _BinMapper()
    booster._bin_mapper.is_categorical_ = np.zeros(len(names), dtype=bool)
    booster._bin_mapper.bin_thresholds_ = []
    return booster


def _rebuild_calibrator(
    arrays: dict[str, np.ndarray], k: int, spec: dict[str, Any], calibration: str
) -> Any:
    """Fold ``k``'s sigmoid or isotonic calibrator from its saved numbers."""
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    if calibration == "sigmoid":
        calibrator = _SigmoidCalibration()
        calibrator.a_, calibrator.b_ = (np.float64(v) for v in spec["sigmoid"])
        return calibrator
    calibrator = IsotonicRegression(out_of_bounds="clip")
    for name, value in spec["isotonic"].items():
        setattr(calibrator, name, value)
    calibrator.X_thresholds_ = arrays[f"iso_x_{k}"]
    calibrator.y_thresholds_ = arrays[f"iso_y_{k}"]
    calibrator._build_f(calibrator.X_thresholds_, calibrator.y_thresholds_)
    return calibrator
