"""The model contract (ml/base.py), the table of models (ml/models.py), the analysis seam
(ml/analyzer.py) and the analysis record (graph/wallet_analysis.py), without a graph."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from graph.wallet_analysis import SCORE_PROPERTIES, Explanation, Factor, WalletAnalysis
from ml.analyzer import AnalysisUnavailable, Analyzer, ModelAnalyzer, make_analyzer
from ml.anomaly.aidrop import AidropAnomaly
from ml.anomaly.mpocryptoml import MpoCryptoML
from ml.base import AnomalyModel
from ml.clusters import ClusterModel
from ml.models import ANOMALY_MODELS, MODELS, make_model
from ml.registry import MODEL_NAMES, Registry
from ml.typology import TypologyModel


@pytest.mark.parametrize("name", ANOMALY_MODELS)
def test_every_anomaly_model_of_the_table_follows_the_contract(name: str) -> None:
    model = make_model(name, seed=7)
    assert isinstance(model, AnomalyModel) and model.name == name
    params = model.get_params()
    assert params["seed"] == 7
    assert type(model)(**params).get_params() == params  # parameters in __init__, stored as given
    assert not [k for k in vars(model) if k.endswith("_")]  # nothing learned before fit
    with pytest.raises(ValueError, match="no parameter"):
        model.set_params(depth=3)
    with pytest.raises(ValueError, match="unknown anomaly model"):
        make_model("isolation-forest")


def test_the_registry_and_the_table_name_the_same_models(tmp_path: Path) -> None:
    assert MODEL_NAMES == tuple(MODELS) and set(ANOMALY_MODELS) == {"aidrop", "mpocryptoml"}
    assert MODELS["mpocryptoml"].needs_labels and not MODELS["aidrop"].needs_labels
    with pytest.raises(ValueError, match="unknown model"):
        Registry(tmp_path).active("isolation-forest")


def test_registry_params_leave_out_how_to_run() -> None:
    assert "n_jobs" not in AidropAnomaly().params and AidropAnomaly().params["n_estimators"] == 400
    assert MpoCryptoML(seed=3).params == {"alpha": 0.5, "seed": 3}
    assert "n_jobs" not in TypologyModel().params
    assert ClusterModel(k_range=(2, 4)).params["k_range"] == [2, 4]


def test_models_pickled_before_the_rename_load_with_learned_attributes() -> None:
    """Artifacts in a registry written before parameters became attributes and learned state
    got its trailing underscore still load."""
    old = MpoCryptoML.__new__(MpoCryptoML)
    old.__dict__.update({"seed": 4, "params": {"alpha": 0.5, "seed": 4}, "lr": None, "threshold": 0.25,
                         "flag_share": 0.1})  # fmt: skip
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.threshold_ == 0.25 and loaded.flag_share_ == 0.1 and loaded.get_params() == {"seed": 4}
    forest = AidropAnomaly.__new__(AidropAnomaly)
    forest.__dict__.update({"params": {"n_estimators": 9, "seed": 1}, "n_jobs": 1, "forest": None,
                            "columns": ["fan_in"], "oof": np.ones(2), "oof_y": np.ones(2)})  # fmt: skip
    loaded = pickle.loads(pickle.dumps(forest))
    assert loaded.n_estimators == 9 and loaded.columns_ == ["fan_in"] and loaded.oof_ is not None
    assert loaded.contamination == 0.01  # a parameter the old dict lacked keeps its default


def test_wallet_analysis_round_trips_node_properties() -> None:
    props = {"typology": "D-T-A-C", "anomaly_score": 0.5, "cluster": 2, "profile_image": "p.svg", "other": 1}
    found = WalletAnalysis.from_props(props)
    assert found.typology == "D-T-A-C" and found.cluster == 2 and found.profile_image == "p.svg"
    out = found.to_props()
    assert set(SCORE_PROPERTIES) <= set(out) and out["profile_image"] == "p.svg" and "other" not in out
    assert "analyzed_at" not in out  # unset job fields are not written (nor removed)
    assert found.changed({**props, "cluster": 3, "anomaly_rank": None}) == {"cluster": 2}


async def test_the_analyzer_is_built_from_settings(tmp_path: Path) -> None:
    stub = make_analyzer(Settings(AIDROP_ANALYZER="tests.stub_analyzer", AIDROP_DATA_DIR=tmp_path))
    assert isinstance(stub, Analyzer) and stub.model_version() == "stub-1"
    for bad in ("tests.no_such_module", "json"):  # not importable; no make_analyzer
        with pytest.raises(AnalysisUnavailable):
            make_analyzer(Settings(AIDROP_ANALYZER=bad, AIDROP_DATA_DIR=tmp_path))
    models = make_analyzer(Settings(AIDROP_DATA_DIR=tmp_path, AIDROP_ANOMALY_MODEL="mpocryptoml"))
    assert isinstance(models, ModelAnalyzer) and models.model == "mpocryptoml"
    assert models.model_version() == "untrained" and models.cluster_profiles() == {}


def test_cluster_profiles_come_from_the_registry_metadata_once_per_version(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    analyzer = ModelAnalyzer(registry)
    first = registry.save("clusters", None, {"profiles": [{"cluster": 1, "size": 3, "summary": "savers"}]})
    assert analyzer.cluster_profiles() == {1: {"cluster": 1, "size": 3, "summary": "savers"}}
    (first.path / "metadata.json").unlink()  # read once: the version's profiles are kept
    assert analyzer.cluster_profiles()[1]["summary"] == "savers"
    registry.save("clusters", None, {"profiles": [{"cluster": 0, "size": 5}]})  # another version
    assert set(analyzer.cluster_profiles()) == {0}


def test_the_model_version_names_each_active_version(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    versions = {m: registry.save(m, None, {}).version for m in ("aidrop", "typology", "clusters")}
    analyzer = ModelAnalyzer(registry)
    assert analyzer.model_version() == (
        f"aidrop:{versions['aidrop']}|typology:{versions['typology']}|clusters:{versions['clusters']}"
    )


def test_one_explanation_type_reads_every_stored_shape() -> None:
    from ml.explain import top_factors

    written = top_factors(np.array([[0.0, 0.4, -0.1]]), ["a", "fan_in", "ppr"], np.array([[1.0, 12.0, 0.5]]))[
        0
    ]
    found = Explanation.parse(written)
    assert found.factors == (Factor("fan_in", 0.4, 12.0), Factor("ppr", -0.1, 0.5))
    assert Explanation.parse(found.to_json()) == found
    assert Explanation.parse('{"fan_out": 0.3}').factors == (Factor("fan_out", 0.3),)
    assert Explanation.parse([{"factor": "x", "contribution": None}]).factors == (Factor("x", 0.0),)
    assert Explanation.parse("not json") == Explanation() == Explanation.parse(None)
    assert WalletAnalysis(anomaly_explanation=written).explanation() == found
