"""The small base of every estimator: parameters, the fitted check, and one file format.

:class:`Estimator` gives ``get_params`` (read from the ``__init__`` signature),
``set_params`` and ``_check_fitted`` (a :class:`~kehu.exceptions.NotFittedError`
telling the user to call ``fit`` first).  :class:`SavedEstimator` adds
``save(path)`` and ``load(path)``; a subclass only says what its fitted state
is, as plain data: :meth:`SavedEstimator._state` returns JSON values and
numpy arrays, :meth:`SavedEstimator._restore` sets them on a new instance.

The file is a zip archive holding ``manifest.json`` (format and version, the
estimator's kind, its parameters, the JSON part of the state, the names of the
arrays) and one ``arrays/<name>.npy`` per array, read with
``allow_pickle=False``.  Nothing in it is executed on load, so a model file
from anyone is safe to open; a file of another kind, another format version,
a damaged file or a pickle (what older kehu versions wrote for churn and
forecast models) gets a :class:`~kehu.exceptions.ModelFileError` that says
which.  :meth:`~SavedEstimator.save` writes through :func:`kehu.writers.atomic_zip`,
so a failed save leaves an earlier file whole.
"""

from __future__ import annotations

import inspect
import io
import json
import zipfile
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from kehu.exceptions import ConfigError, ModelFileError, ModelFileNotFoundError, NotFittedError
from kehu.writers import atomic_zip

#: the ``format`` of every saved model's manifest, and its version
FORMAT = "kehu.model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_ZIP_MAGIC = b"PK\x03\x04"


class Estimator:
    """Parameters from ``__init__`` and the check that ``fit`` was called.

    A subclass keeps its ``__init__`` arguments as attributes of the same
    name, sets :attr:`fitted_attribute` to an attribute that ``fit`` sets, and
    :attr:`fit_call` to how ``fit`` is called (for the error message).
    """

    #: attribute that ``fit`` sets (a value of ``None`` or ``False`` means "not fitted")
    fitted_attribute: ClassVar[str] = "fitted_"
    #: how to fit, as the error message shows it: "call {fit_call} first"
    fit_call: ClassVar[str] = "fit(...)"

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in kinds]

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, by name."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Self:
        """Change constructor arguments (they take effect at the next ``fit``)."""
        names = self._param_names()
        for name in params:
            if name not in names:
                raise ConfigError(
                    f"{type(self).__name__} has no parameter {name!r}; "
                    f"its parameters are {', '.join(names)}"
                )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def is_fitted(self) -> bool:
        value = getattr(self, self.fitted_attribute, None)
        return value is not None and value is not False

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet; call {self.fit_call} first"
            )


class SavedEstimator(Estimator):
    """An :class:`Estimator` that can be saved to one file and loaded back.

    Subclasses implement :meth:`_state` and :meth:`_restore`, and may set
    :attr:`kind` (default: the class name) and :attr:`noun` (how errors name it).
    """

    #: what the manifest calls this estimator; a file of another kind is refused
    kind: ClassVar[str] = ""
    #: how error messages name it ("churn model")
    noun: ClassVar[str] = "model"

    @classmethod
    def _kind(cls) -> str:
        return cls.kind or cls.__name__

    @classmethod
    def _params_from_json(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Saved parameters; a list where ``__init__``'s default is a tuple becomes a tuple."""
        sig = inspect.signature(cls.__init__).parameters
        out = dict(params)
        for name, value in params.items():
            if name in sig and isinstance(sig[name].default, tuple) and isinstance(value, list):
                out[name] = tuple(value)
        return out

    # --- hooks ----------------------------------------------------------------------------------
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted state: JSON values and numpy arrays (no object arrays)."""
        raise NotImplementedError

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Set the fitted attributes from what :meth:`_state` returned."""
        raise NotImplementedError

    # --- save and load ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator to ``path`` (one zip file: JSON and arrays); returns the path.

        The write is atomic: until it succeeds, an earlier file at ``path`` stays as it was.
        """
        self._check_fitted()
        state, arrays = self._state()
        members = {}
        for name, value in arrays.items():
            value = np.asarray(value)
            if value.dtype.hasobject:  # a programming error: say which array
                raise TypeError(f"{type(self).__name__}: array {name!r} holds Python objects")
            members[name] = f"arrays/{name}.npy"
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self._kind(),
            "params": plain(self.get_params()),
            "state": plain(state),
            "arrays": members,
        }
        path = Path(path)
        with atomic_zip(path) as zf:
            text = json.dumps(manifest, ensure_ascii=False, indent=1)
            zf.writestr(MANIFEST, text.encode("utf-8"))
            for name, member in members.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
                zf.writestr(member, buf.getvalue())
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read an estimator written by :meth:`save`; never runs code from the file."""
        manifest, arrays = read_model_file(path, cls.noun)
        found = manifest.get("kind")
        if found != cls._kind():
            raise ModelFileError(f"{path} holds a {found}, not a {cls._kind()}")
        try:
            model = cls(**cls._params_from_json(manifest["params"]))
            model._restore(manifest["state"], arrays)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelFileError(
                f"the saved {cls.noun} in {path} is incomplete or malformed: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        return model


def read_model_file(path: str | Path, noun: str = "model") -> tuple[dict[str, Any], dict]:
    """The manifest and the arrays of a file written by :meth:`SavedEstimator.save`.

    Raises :class:`ModelFileNotFoundError` when there is no such file and
    :class:`ModelFileError` when it is not a kehu model file of this format version.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileNotFoundError(f"model file not found: {path} does not exist")

    def refuse(detail: str) -> ModelFileError:
        return ModelFileError(
            f"cannot read a saved {noun} from {path}: not a saved kehu {noun} ({detail})"
        )

    with path.open("rb") as fh:
        head = fh.read(4)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise refuse(
            "it is a pickle, which older kehu versions wrote; pickles are never loaded "
            "because they can run code: fit the model again and save it"
        )
    if head != _ZIP_MAGIC:
        raise refuse("not a zip archive")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise refuse(f"no {FORMAT} manifest")
            if manifest.get("version") != FORMAT_VERSION:
                raise ModelFileError(
                    f"{path} was saved in model format version {manifest.get('version')}; "
                    f"this kehu reads version {FORMAT_VERSION}"
                )
            arrays = {}
            for name, member in dict(manifest.get("arrays") or {}).items():
                with zf.open(member) as fh:
                    arrays[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise refuse(f"{type(exc).__name__}: {exc}") from None
    return manifest, arrays


def plain(value: Any) -> Any:
    """``value`` with numpy scalars, tuples and NumPy arrays made JSON values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
