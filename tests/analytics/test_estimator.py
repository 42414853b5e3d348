"""The shared estimator base: parameters, the fitted check and the one file format."""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kehu.analytics.estimator import SavedEstimator, read_model_file
from kehu.exceptions import (
    ConfigError,
    ModelFileError,
    ModelFileNotFoundError,
    NotFittedError,
    NotFoundError,
    SchemaError,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "kehu"


class Mean(SavedEstimator):
    fitted_attribute = "mean_"
    fit_call = "fit(x)"
    noun = "mean model"

    def __init__(self, scale: float = 1.0, *, label: str = "m"):
        self.scale = scale
        self.label = label

    def fit(self, x):
        self.mean_ = np.asarray(x, dtype=float).mean(axis=0)
        self.n_ = len(x)
        return self

    def predict(self, n):
        self._check_fitted()
        return np.tile(self.mean_ * self.scale, (n, 1))

    def _state(self):
        return {"n": self.n_}, {"mean": self.mean_}

    def _restore(self, state, arrays):
        self.n_ = int(state["n"])
        self.mean_ = arrays["mean"]


class Other(Mean):
    pass


def test_params_from_the_signature():
    m = Mean(2.0, label="x")
    assert m.get_params() == {"scale": 2.0, "label": "x"}
    assert m.set_params(scale=3.0) is m and m.scale == 3.0
    with pytest.raises(ConfigError, match=r"no parameter 'scal'.*scale, label"):
        m.set_params(scal=1)


def test_fitted_check_and_round_trip(tmp_path):
    with pytest.raises(NotFittedError, match="Mean is not fitted yet; call fit\\(x\\) first"):
        Mean().predict(1)
    with pytest.raises(NotFittedError):
        Mean().save(tmp_path / "m.zip")
    assert not (tmp_path / "m.zip").exists()
    m = Mean(2.0).fit(np.arange(12.0).reshape(6, 2))
    path = m.save(tmp_path / "m.zip")
    back = Mean.load(path)
    assert back.get_params() == m.get_params() and back.n_ == 6
    np.testing.assert_array_equal(back.predict(3), m.predict(3))
    manifest, arrays = read_model_file(path)
    assert manifest["format"] == "kehu.model" and manifest["kind"] == "Mean"
    assert list(arrays) == ["mean"]


def test_other_kind_version_damage_and_pickles_are_refused(tmp_path):
    path = Mean().fit([[1.0]]).save(tmp_path / "m.zip")
    with pytest.raises(ModelFileError, match="holds a Mean, not a Other"):
        Other.load(path)
    with pytest.raises(ModelFileNotFoundError, match="not found"):
        Mean.load(tmp_path / "missing.zip")
    # one class, caught as any of the errors the models raised before
    assert issubclass(ModelFileNotFoundError, NotFoundError)
    assert issubclass(ModelFileError, ConfigError) and issubclass(ModelFileError, SchemaError)

    def rewrite(name: str, **changes) -> Path:
        manifest, _ = read_model_file(path)
        out = tmp_path / name
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "manifest.json":
                    data = json.dumps({**manifest, **changes}).encode()
                dst.writestr(item, data)
        return out

    with pytest.raises(ModelFileError, match="format version 99; this kehu reads version 1"):
        Mean.load(rewrite("v99.zip", version=99))
    with pytest.raises(ModelFileError, match="not a saved kehu mean model"):
        Mean.load(rewrite("other.zip", format="something"))
    with pytest.raises(ModelFileError, match="incomplete or malformed"):
        Mean.load(rewrite("nostate.zip", state={}))
    cut = tmp_path / "cut.zip"
    cut.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ModelFileError, match="cannot read a saved mean model"):
        Mean.load(cut)

    # a pickle is never unpickled: it would run this
    ran = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (Path.touch, (ran,))

    bad = tmp_path / "m.pkl"
    bad.write_bytes(pickle.dumps({"format": "kehu.model", "x": Boom()}))
    with pytest.raises(ModelFileError, match=r"is a pickle.*fit the model again"):
        Mean.load(bad)
    assert not ran.exists()
    # an npz holding an object array is refused, not unpickled
    obj = tmp_path / "obj.zip"
    with zipfile.ZipFile(obj, "w") as zf:
        zf.writestr("manifest.json", json.dumps({**read_model_file(path)[0]}))
        with zf.open("arrays/mean.npy", "w") as fh:
            np.lib.format.write_array(fh, np.array([Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(ModelFileError, match="cannot read"):
        Mean.load(obj)
    assert not ran.exists()


def test_a_failed_save_leaves_the_earlier_file_whole(tmp_path, monkeypatch):
    m = Mean().fit([[1.0, 2.0]])
    path = m.save(tmp_path / "m.zip")
    before = path.read_bytes()
    m.mean_ = np.array([object()], dtype=object)
    with pytest.raises(TypeError, match="'mean' holds Python objects"):
        m.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.zip"]
    m.mean_ = np.array([3.0])

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)  # fails mid-file
    with pytest.raises(OSError, match="disk full"):
        m.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.zip"]


def test_no_pickle_in_the_source():
    pattern = re.compile(
        r"^\s*(import pickle|from pickle import)|pickle\.loads?\(|cloudpickle", re.M
    )
    found = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if pattern.search(p.read_text())]
    assert found == []
