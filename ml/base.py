"""The model contract, in scikit-learn's habits: parameters are the arguments of `__init__`,
stored as given (no logic there); `fit(...)` returns the model; what it learns is kept in
attributes ending in `_`; predictions are `predict_proba` / `score_samples` / `predict`.

The input is a `Dataset` (the feature table with its graph), not a bare matrix: the anomaly
models read graph context and laundering evidence from it. Models are registered in
`ml/models.py`'s `MODELS` table, which the CLI, the registry and the report read."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from ml.anomaly import AnomalyResult
    from ml.dataset import Dataset


class Estimator:
    """`get_params()` from the signature of `__init__`, as scikit-learn's BaseEstimator does."""

    # parameters that are how to run, not what was learned: left out of the registry's metadata
    _run_params: ClassVar[tuple[str, ...]] = ()
    # old attribute name -> new, for artifacts pickled before the rename (the registry keeps them)
    _renamed: ClassVar[dict[str, str]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD
        ]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Estimator:
        names = set(self._param_names())
        for name, value in params.items():
            if name not in names:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}")
            setattr(self, name, value)
        return self

    @property
    def params(self) -> dict[str, Any]:
        """The parameters the registry records (`get_params()` without the run settings)."""
        return {k: v for k, v in self.get_params().items() if k not in self._run_params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        old = state.pop("params", None)
        if isinstance(old, dict):  # pickled when parameters lived in a dict (some added since)
            defaults = inspect.signature(type(self).__init__).parameters
            for name in self._param_names():
                if name not in state:
                    state[name] = old.get(name, defaults[name].default)
        for before, after in self._renamed.items():
            if before in state and after not in state:
                state[after] = state.pop(before)
        self.__dict__.update(state)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class AnomalyModel(Estimator):
    """Per wallet a score (higher = more suspicious), a flag and an explanation.

    Subclasses implement `fit` and `predict_result`; the rest follows from them."""

    name: ClassVar[str]
    oof_: np.ndarray | None = None  # out-of-fold scores of the labelled wallets, when fitting makes them
    oof_y_: np.ndarray | None = None

    @property
    def supervised(self) -> bool:
        """Fitted on labels (False: the label-free score)."""
        raise NotImplementedError

    def fit(
        self, ds: Dataset, positions: np.ndarray | None = None, y: np.ndarray | None = None
    ) -> AnomalyModel:
        """Fit on the graph; `positions` (rows of `ds`) and `y` (0/1) are the labelled wallets."""
        raise NotImplementedError

    def predict_result(self, ds: Dataset, explain: bool = True) -> AnomalyResult:
        """Score, rank, flag and (unless `explain=False`) the explanation of every wallet."""
        raise NotImplementedError

    def score_samples(self, ds: Dataset) -> np.ndarray:
        """The anomaly score of every wallet, higher = more suspicious."""
        return self.predict_result(ds, explain=False).score

    def predict(self, ds: Dataset) -> np.ndarray:
        """Flagged (bool) per wallet."""
        return np.asarray(self.predict_result(ds, explain=False).flagged, dtype=bool)

    def predict_proba(self, ds: Dataset) -> np.ndarray:
        """(n, 2): [normal, suspicious] per wallet; the score in [0, 1] as the second column."""
        p = np.clip(np.asarray(self.score_samples(ds), dtype=float), 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def importances(self) -> dict[str, float] | None:
        """Feature -> importance, for the registry's metadata; None when the model has none."""
        return None
