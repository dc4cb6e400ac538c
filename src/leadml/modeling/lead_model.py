"""The scoring model: a LightGBM booster, its feature specification and its calibrator.

Saved as native, non-pickle files (LightGBM's text model and JSON) with SHA-256 checksums that are
verified on load, so a tampered or half-copied model refuses to load instead of scoring wrong.
Columns are always reordered to the saved feature list and categoricals cast to the training
vocabulary before predicting: LightGBM matches both by position.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leadml.modeling.calibration import IsotonicCalibrator, SigmoidCalibrator, calibrator_from_dict
from leadml.modeling.shap_patterns import PatternExplainer, check_sums

if TYPE_CHECKING:  # LightGBM and SciPy load with a model, not with this module: scoring imports it to read data
    import lightgbm as lgb
    from scipy import sparse

log = logging.getLogger("leadml")

UNSEEN = "unknown"
FILES = ("booster.txt", "spec.json", "calibrator.json")
EXPLAIN_THREADS = 1  # scoring explains beside the next chunk's features: more threads for the trees were slower
PROFILE = "profile.json"  # optional: models saved before drift monitoring have none


class ModelError(ValueError):
    """Raised when a model cannot be loaded or does not fit the data it is given."""


def vocabulary_codes(values: pd.Series, vocabulary: Sequence[str]) -> np.ndarray:
    """Each value's position in the training vocabulary (as text), values outside it at ``unknown``'s, and -1
    for missing: the codes of the categorical the model reads."""
    if values.dtype == object or values.dtype.kind == "f":
        values = values.astype("str")  # 1 and True, 0.0 and -0.0 are one value to factorize, but not as text
    value_numbers, uniques = pd.factorize(values)  # a few distinct values fill a chunk: each is looked up once
    codes = pd.Index(vocabulary).get_indexer(pd.Series(uniques).astype("str"))
    codes[codes < 0] = list(vocabulary).index(UNSEEN) if UNSEEN in vocabulary else -1
    return np.append(codes, -1)[value_numbers]  # factorize numbers missing values -1: the appended last code


@dataclass(frozen=True)
class FeatureSpec:
    """The model's inputs: names in order, families, and the vocabulary of each categorical."""

    names: tuple[str, ...]
    families: dict[str, str]
    categories: dict[str, tuple[str, ...]]

    @classmethod
    def learn(cls, matrix: pd.DataFrame, families: dict[str, str], categorical: list[str],
              max_categories: int) -> FeatureSpec:
        """Learn each categorical's vocabulary: its most frequent values, plus 'unknown' for the rest."""
        vocab = {}
        for name in categorical:
            top = matrix[name].value_counts().index[: max_categories - 1].astype(str).tolist()
            vocab[name] = tuple(sorted(v for v in top if v != UNSEEN)) + (UNSEEN,)
        return cls(tuple(matrix.columns), {n: families[n] for n in matrix.columns}, vocab)

    def require(self, columns: Collection[str]) -> None:
        """Refuse a matrix (or a catalog's names) that lacks a feature the model was trained on."""
        missing = [name for name in self.names if name not in columns]
        if missing:
            raise ModelError(f"feature matrix lacks the model's feature(s): {', '.join(missing)}")

    def prepare(self, matrix: pd.DataFrame) -> pd.DataFrame:
        """Return the matrix in training order with categoricals cast to the training vocabulary."""
        self.require(matrix.columns)
        columns = {name: pd.Categorical.from_codes(vocabulary_codes(matrix[name], self.categories[name]),
                                                   categories=list(self.categories[name]))
                   if name in self.categories else matrix[name].astype("float64") for name in self.names}
        return pd.DataFrame(columns, index=matrix.index, copy=False)  # numbers shared, not copied: the training
        # cutoffs' matrix is a gigabyte, and LightGBM copies it into its own array anyway

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "families": self.families,
                "categories": {k: list(v) for k, v in self.categories.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        return cls(tuple(data["names"]), dict(data["families"]),
                   {k: tuple(v) for k, v in data["categories"].items()})


@dataclass(frozen=True)
class Design:
    """A feature matrix as LightGBM reads it (``FeatureSpec.prepare``, then category codes and NaN for missing)
    with the matrix's index: what a prediction and its contributions both read."""

    values: np.ndarray
    index: pd.Index


class LeadModel:
    """A fitted booster with the spec it was trained on and the calibrator fitted after it."""

    def __init__(self, booster: lgb.Booster, spec: FeatureSpec,
                 calibrator: SigmoidCalibrator | IsotonicCalibrator, info: dict[str, Any] | None = None, *,
                 profile: dict[str, Any] | None = None):
        if list(booster.feature_name()) != list(spec.names):
            raise ModelError("booster features differ from the feature spec")
        vocabularies = [list(spec.categories[name]) for name in spec.names if name in spec.categories]
        if vocabularies and booster.pandas_categorical != vocabularies:  # ``design`` codes categories by the spec
            raise ModelError("the booster's categories differ from the feature spec's vocabularies")
        flat = calibrator.predict(np.linspace(-20.0, 20.0, 401))
        if np.ptp(flat) < 1e-12:  # every lead would get the same probability: no ranking, no grades
            raise ModelError(f"the model's calibrator maps every score to {flat[0]:.6g}; refusing to use it "
                             "(retrain with more conversions in the held-out cutoff)")
        self.booster = booster
        self.spec = spec
        self.calibrator = calibrator
        self.info = dict(info or {})
        self.profile = profile  # the training population, for drift checks (leadml.scoring.drift)
        self.explain_threads = EXPLAIN_THREADS  # TreeSHAP by pattern can share the trees among threads

    def raw_score(self, matrix: pd.DataFrame) -> np.ndarray:
        """Return log-odds from the booster, after aligning the matrix to the spec."""
        return self.booster.predict(self.spec.prepare(matrix), raw_score=True, validate_features=True)

    def predict_proba(self, matrix: pd.DataFrame) -> np.ndarray:
        """Return the calibrated probability of becoming an opportunity within the horizon."""
        return self.calibrated(self.raw_score(matrix))

    def calibrated(self, raw: np.ndarray) -> np.ndarray:
        """Return the calibrated probability of raw scores (log-odds) already predicted."""
        return np.clip(self.calibrator.predict(raw), 0.0, 1.0)

    def design(self, matrix: pd.DataFrame) -> Design:
        """Return the matrix as LightGBM reads it, prepared once for a prediction and its contributions:
        category codes as floats and NaN for missing, without the prepared frame in between."""
        self.spec.require(matrix.columns)
        values = np.empty((len(matrix), len(self.spec.names)), order="F")  # column by column, as written
        for j, name in enumerate(self.spec.names):
            vocabulary = self.spec.categories.get(name)
            if vocabulary is None:
                values[:, j] = matrix[name].to_numpy(dtype="float64", na_value=np.nan)
            else:
                codes = vocabulary_codes(matrix[name], vocabulary)
                values[:, j] = np.where(codes < 0, np.nan, codes)
        return Design(values, matrix.index)

    def contributions(self, matrix: pd.DataFrame, method: str = "treeshap") -> pd.DataFrame:
        """Return contributions per feature plus 'base'; each row sums to the raw score.

        ``treeshap`` is exact TreeSHAP, equal to LightGBM's ``pred_contrib`` but computed once per
        decision pattern of each tree (``leadml.modeling.shap_patterns``); ``path`` attributes each
        split on a row's path to its feature (value of the child minus value of the node), gathered
        from ``pred_leaf``: cheaper still, it adds up exactly too, but is not TreeSHAP.
        """
        return self._contributions(self.design(matrix), method)

    def score(self, matrix: pd.DataFrame | Design, method: str = "treeshap",
              lap: Callable[[str], None] = lambda _: None, *, threads: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
        """Return calibrated probabilities and contributions of a feature matrix or its ``design``; ``lap`` is
        told when the prediction (``predict``) and the contributions (``explainer``) are done. The prediction
        runs on ``threads`` threads (0: OpenMP's default, every core)."""
        design = matrix if isinstance(matrix, Design) else self.design(matrix)
        raw = self.booster.predict(design.values, raw_score=True, num_threads=threads)
        probability = self.calibrated(raw)
        lap("predict")
        contributions = self._contributions(design, method, raw)
        lap("explainer")
        return probability, contributions

    def _contributions(self, design: Design, method: str, raw: np.ndarray | None = None) -> pd.DataFrame:
        if method == "treeshap":
            values = self._treeshap(design.values, raw)
        elif method == "path":
            from scipy import sparse

            leaves = self.booster.predict(design.values, pred_leaf=True).astype("int64")
            table, offsets, base = self._path_table()
            rows = np.repeat(np.arange(len(leaves)), leaves.shape[1])
            onehot = sparse.csr_matrix((np.ones(leaves.size), (rows, (leaves + offsets).ravel())),
                                       shape=(len(leaves), table.shape[0]))
            values = np.column_stack([(onehot @ table).toarray(), np.full(len(leaves), base)])
        else:
            raise ValueError(f"unknown contribution method {method!r}: use treeshap or path")
        return pd.DataFrame(values, columns=[*self.spec.names, "base"], index=design.index)

    def _treeshap(self, values: np.ndarray, raw: np.ndarray | None) -> np.ndarray:
        """Exact TreeSHAP by decision pattern. A row whose sum misses the raw score means a split was read
        otherwise than LightGBM reads it, which would also touch rows whose sums still match (the split off
        their path): then the whole matrix is computed again by ``pred_contrib`` itself, and that is logged."""
        if getattr(self, "_explainer", None) is None:  # kept: it remembers patterns from chunk to chunk
            self._explainer = PatternExplainer(self.booster, self.explain_threads)
        contributions = self._explainer.contributions(values)
        if raw is None:  # the check needs the raw score; ``score`` passes the one it predicted
            raw = self.booster.predict(values, raw_score=True)
        wrong = check_sums(contributions, raw)
        if len(wrong):
            log.warning("TreeSHAP by pattern missed the raw score on %d of %d rows; all computed by pred_contrib",
                        len(wrong), len(contributions))
            contributions = self.booster.predict(values, pred_contrib=True)
            self._explainer.forget()
        return contributions

    def _path_table(self) -> tuple[sparse.csr_matrix, np.ndarray, float]:
        """Per leaf of every tree, the contribution of each feature on its path (computed once)."""
        if getattr(self, "_paths", None) is None:
            trees = self.booster.dump_model()["tree_info"]
            rows, cols, vals, offsets, base, offset = [], [], [], [], 0.0, 0
            for tree in trees:
                root = tree["tree_structure"]
                offsets.append(offset)
                if "leaf_index" in root:  # a tree of one leaf only shifts the base
                    base += root["leaf_value"]
                    offset += 1
                    continue
                base += root["internal_value"]
                stack = [(root, {})]
                while stack:
                    node, path = stack.pop()
                    for side in ("left_child", "right_child"):
                        child = node[side]
                        value = child["leaf_value"] if "leaf_index" in child else child["internal_value"]
                        step = dict(path)
                        step[node["split_feature"]] = step.get(node["split_feature"], 0.0) + value - node[
                            "internal_value"]
                        if "leaf_index" in child:
                            for feature, contribution in step.items():
                                rows.append(offset + child["leaf_index"])
                                cols.append(feature)
                                vals.append(contribution)
                        else:
                            stack.append((child, step))
                offset += tree["num_leaves"]
            from scipy import sparse

            table = sparse.csr_matrix((vals, (rows, cols)), shape=(offset, len(self.spec.names)))
            self._paths = (table, np.array(offsets, dtype="int64"), base)
        return self._paths

    def save(self, folder: str | Path) -> Path:
        """Write the model files and a manifest of their checksums into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "booster.txt").write_text(self.booster.model_to_string(), encoding="utf-8")
        (folder / "spec.json").write_text(json.dumps(self.spec.to_dict(), indent=1), encoding="utf-8")
        (folder / "calibrator.json").write_text(json.dumps(self.calibrator.to_dict()), encoding="utf-8")
        files = FILES
        if self.profile is not None:
            (folder / PROFILE).write_text(json.dumps(self.profile, allow_nan=False), encoding="utf-8")
            files = (*FILES, PROFILE)
        manifest = {"files": {name: _sha256(folder / name) for name in files}, "info": self.info}
        (folder / "model.json").write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> LeadModel:
        """Load a saved model, refusing it when any file's checksum does not match."""
        folder = Path(folder)
        try:
            manifest = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"no readable model manifest in {folder}: {exc}") from None
        expected = (*FILES, PROFILE) if PROFILE in manifest["files"] else FILES
        for name in expected:
            path = folder / name
            if not path.exists() or _sha256(path) != manifest["files"].get(name):
                raise ModelError(f"model file {name} in {folder} is missing or does not match its checksum")
        import lightgbm as lgb

        booster = lgb.Booster(model_str=(folder / "booster.txt").read_text(encoding="utf-8"))
        spec = FeatureSpec.from_dict(json.loads((folder / "spec.json").read_text(encoding="utf-8")))
        calibrator = calibrator_from_dict(json.loads((folder / "calibrator.json").read_text(encoding="utf-8")))
        profile = json.loads((folder / PROFILE).read_text(encoding="utf-8")) if PROFILE in manifest["files"] else None
        return cls(booster, spec, calibrator, manifest.get("info"), profile=profile)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

