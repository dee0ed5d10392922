"""Bootstrap confidence intervals and paired model comparisons, vectorised across resamples.

Resampling is expressed as weights: resample ``b`` of the n samples is a row ``W[b]`` of
counts (how often each sample was drawn), and every metric is computed for a whole block of
rows at once:

* the continuous metrics from weighted sums ``W @ F`` of per-sample features, centred on the
  full sample's means first (so no uncentred sum of squares is ever formed) and scaled as in
  ``_moments.py``: one packed state per resample, scored by the functions' final steps, with
  "constant" decided exactly on the samples each resample drew;
* accuracy, F1, UAR, kappa and alpha from a stack of confusion matrices, one ``reduceat`` of the
  weights over the samples sorted by (truth, prediction) cell;
* ROC AUC and average precision per class from the scores sorted once, with the weights of
  tied scores added per distinct value and cumulated, then ``ranking._ranking_batch``.

There is no Python loop per resample. Samples are drawn in pairs (truth with its
prediction); ``groups=`` draws whole groups (subjects, videos) instead, since frames of one
video are not independent and per-frame intervals are then far too narrow.

Intervals are percentile or BCa (bias-corrected and accelerated; Efron & Tibshirani 1993,
ch. 14), computed as in ``scipy.stats.bootstrap``: for the same resamples the intervals are
the same. The BCa acceleration uses the jackknife: leave-one-out for n <= 2,000 samples (as
SciPy does), otherwise a grouped jackknife over 1,000 random blocks (leave-one-group-out with
``groups=``), which keeps it O(n).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ._moments import (
    _diff_scale,
    _Moments,
    _moments,
    _power_of_two_below,
    _scale,
    _std,
)
from ._optional import _import_optional
from ._validation import (
    _as_labels,
    _check_classification,
    _check_continuous,
    _check_lengths,
    _check_nan_policy,
    _check_unique_names,
    _fmt_number,
    _group_codes,
    _id_array,
)
from .accumulators import _classification_results, _continuous_results
from .agreement import _alpha_batch
from .classification import _accuracy_batch, _confusion, _f1_batch, _kappa_batch, _uar_batch
from .exceptions import UndefinedMetricWarning
from .ranking import _class_counts, _ranking_batch

__all__ = ["BootstrapResult", "PairedComparison", "bootstrap_ci", "paired_comparison"]

_METHODS = ("percentile", "bca")
# Weights per block: b rows of n samples, about 32 MB of float64.
_BLOCK_ELEMENTS = 4_000_000
_EXACT_JACKKNIFE_MAX = 2_000
# A resample whose mean sits further than sqrt(this) of its own standard deviations from the
# full sample's centre would lose that many ulps to cancellation in the centred sums (an
# outlier the resample did not draw, e.g. a -9999 code): it is summed again on its own.
_CANCELLATION = 100.0
_JACKKNIFE_BLOCKS = 1_000
CLASSIFICATION_KEYS = ("accuracy", "f1", "uar", "kappa", "krippendorff_alpha", "auc", "auc_pr")
CONTINUOUS_KEYS = ("rmse", "pearson", "sagr", "ccc", "icc")


# -- the vectorised metric engine --------------------------------------------------------


class _Engine:
    """Every metric for many weight rows at once. Built once per data set.

    Each metric is the core's statistics step, weighted, followed by the core's final step:

    * continuous: the packed moments of ``_moments.py`` for every resample at once (weighted
      two-pass sums ``W @ F`` of features centred on the full sample, in the state's scaled
      units), with each resample's extremes taken exactly over the samples it drew (weight
      > 0), so "constant" means max == min of the drawn values; then ``_ccc_from_moments``...
    * classification: stacks of confusion matrices and the batched final steps of
      ``classification.py`` and ``agreement.py``;
    * ranking: weighted per-threshold counts and ``ranking._ranking_batch``.

    :meth:`estimate` scores the full sample with the functions' own steps (and warnings);
    resamples are scored silently (an undefined metric is nan in its distribution).
    """

    def __init__(
        self,
        *,
        codes: np.ndarray | None = None,
        pred_codes: np.ndarray | None = None,
        scores: np.ndarray | None = None,
        n_classes: int = 0,
        va_true: np.ndarray | None = None,
        va_pred: np.ndarray | None = None,
        output_names: tuple[str, ...] = (),
    ) -> None:
        self.keys: list[str] = []
        self.n = int((codes if codes is not None else va_true).shape[0])
        self._classification = codes is not None
        if self._classification:
            self.n_classes = n_classes
            self._codes, self._pred_codes, self._scores = codes, pred_codes, scores
            cells = codes * n_classes + pred_codes
            self._cell_order = np.argsort(cells, kind="stable")
            sorted_cells = cells[self._cell_order]
            starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
            self._cell_starts, self._cells = starts, sorted_cells[starts]
            self.keys += ["accuracy", "f1", "uar", "kappa", "krippendorff_alpha"]
            self._ranking = []
            if scores is not None:
                for k in range(n_classes):
                    column = np.asarray(scores[:, k], dtype=np.float64)
                    order = np.argsort(column, kind="stable")
                    ordered = column[order]
                    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
                    self._ranking.append((order, starts, (codes[order] == k).astype(np.float64)))
                self.keys += ["auc", "auc_pr"]
        self._continuous = va_true is not None
        if self._continuous:
            self._prepare_continuous(np.asarray(va_true, dtype=np.float64),
                                     np.asarray(va_pred, dtype=np.float64))
            self._output_names = output_names
            for metric in CONTINUOUS_KEYS:
                self.keys += [f"{metric}_{name}" for name in output_names]

    def _prepare_continuous(self, t: np.ndarray, p: np.ndarray) -> None:
        self._t, self._p = t, p
        self._k = k = t.shape[1]
        self._scale_t = _scale(t.min(axis=0), t.max(axis=0), np)
        self._scale_p = _scale(p.min(axis=0), p.max(axis=0), np)
        self._scale_d = _diff_scale(t.min(axis=0), t.max(axis=0), p.min(axis=0),
                                    p.max(axis=0), np)
        ts, ps = t / self._scale_t, p / self._scale_p
        ds = t / self._scale_d - p / self._scale_d
        self._centres = [z.mean(axis=0) for z in (ts, ps, ds)]
        a, b, c = (z - centre for z, centre in zip((ts, ps, ds), self._centres, strict=True))
        agree = (np.sign(t) == np.sign(p)).astype(np.float64)
        # Per output: centred scaled t, p and t - p; squares and the cross product of the
        # first two; the raw squared (scaled) difference; sign agreement.
        self._features = np.concatenate([a, b, c, a * a, b * b, a * b, ds * ds, agree], axis=1)
        self._bounds = (t.min(axis=0), t.max(axis=0), p.min(axis=0), p.max(axis=0))
        # A constant drawn set's computed sum of squares is at most a few ulps of
        # count * (its deviation from the centre)**2 <= count * (range / scale)**2.
        eps = np.finfo(np.float64).eps
        self._rounding = tuple(64 * eps * (high / scale - low / scale) ** 2 for low, high, scale in
                               ((self._bounds[0], self._bounds[1], self._scale_t),
                                (self._bounds[2], self._bounds[3], self._scale_p)))
        # Sorted values of each column, to find the extremes of a resample's drawn set.
        self._sorted = [(np.argsort(x[:, j], kind="stable"), j, x)
                        for x in (t, p) for j in range(k)]

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            if self._classification:
                out.update(self._confusion_metrics(weights))
                if self._ranking:
                    out.update(self._ranking_metrics(weights))
            if self._continuous:
                out.update(self._named(_continuous_results(self._moments(weights))))
        return out

    def estimate(self, warn: bool = True) -> dict[str, float]:
        """Every metric on the full sample, by the functions' own steps (and warnings)."""
        values: dict[str, Any] = {}
        with warnings.catch_warnings():
            if not warn:
                warnings.simplefilter("ignore", UndefinedMetricWarning)
            if self._classification:
                cm = _confusion(self._codes, self._pred_codes, self.n_classes)
                counts = (None if self._scores is None
                          else _class_counts(self._codes, self._scores))
                values.update(_classification_results(cm, counts, np.arange(self.n_classes)))
            if self._continuous:
                moments = _continuous_results(_moments(self._t, self._p))
                values.update(self._named({k: v[None] for k, v in moments.items()}))
        return {key: float(np.asarray(value).reshape(-1)[0]) for key, value in values.items()}

    def _named(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {f"{metric}_{name}": values[metric][:, j]
                for metric in CONTINUOUS_KEYS for j, name in enumerate(self._output_names)}

    def _moments(self, weights: np.ndarray) -> _Moments:
        """The packed moments of every resample (rows of ``weights``), as one stacked state.

        A resample whose drawn values of a column could be constant (its computed sum of
        squares is within rounding of 0) gets its exact extremes over the samples it drew;
        the others, certainly varying, keep the full sample's extremes as bounds (only
        constancy and the scale are read from them, and both are then the full sample's).
        """
        k = self._k
        sums = weights @ self._features
        count = weights.sum(axis=1)[:, None]
        safe = np.where(count > 0, count, 1.0)
        mean_a, mean_b, mean_c = (sums[:, i * k:(i + 1) * k] / safe for i in range(3))
        aa, bb, ab, sse, agree = (sums[:, i * k:(i + 1) * k] for i in range(3, 8))
        m2_t = aa - count * mean_a * mean_a
        m2_p = bb - count * mean_b * mean_b
        low_t, high_t, low_p, high_p = (np.broadcast_to(bound, m2_t.shape).copy()
                                        for bound in self._bounds)
        suspect = np.flatnonzero(((m2_t <= self._rounding[0] * count)
                                  | (m2_p <= self._rounding[1] * count)).any(axis=1))
        if suspect.shape[0]:
            drawn = weights[suspect] > 0
            extremes = []
            for order, j, x in self._sorted:
                chosen = drawn[:, order]
                first = np.argmax(chosen, axis=1)
                last = chosen.shape[1] - 1 - np.argmax(chosen[:, ::-1], axis=1)
                extremes.append((x[order[first], j], x[order[last], j]))
            for j in range(k):
                low_t[suspect, j], high_t[suspect, j] = extremes[j]
                low_p[suspect, j], high_p[suspect, j] = extremes[k + j]
        # The sums are in the full sample's scales; a state's are those of its extremes.
        s_t, s_p = _scale(low_t, high_t, np), _scale(low_p, high_p, np)
        r_t, r_p = self._scale_t / s_t, self._scale_p / s_p
        r_d = self._scale_d / _diff_scale(low_t, high_t, low_p, high_p, np)
        centre_t, centre_p, centre_d = self._centres
        lossy = np.flatnonzero(((count * mean_a * mean_a > _CANCELLATION * m2_t)
                                | (count * mean_b * mean_b > _CANCELLATION * m2_p)).any(axis=1))
        stacked = [
            count,
            (centre_t + mean_a) * self._scale_t,
            (centre_p + mean_b) * self._scale_p,
            (centre_d + mean_c) * r_d,
            np.maximum(m2_t, 0.0) * r_t * r_t,
            np.maximum(m2_p, 0.0) * r_p * r_p,
            (ab - count * mean_a * mean_b) * r_t * r_p,
            sse * r_d * r_d,
            agree,
            low_t, high_t, low_p, high_p,
        ]
        for row in lossy:
            self._exact_row(stacked, row, weights[row])
        return _Moments(*stacked)

    def _exact_row(self, stacked: list[np.ndarray], row: int, weights: np.ndarray) -> None:
        """Overwrite resample ``row`` with the core's own statistics step on its samples.

        Used where the weighted sums centred on the full sample would cancel; the weights of
        a resample are draw counts (integers), so the resample is the data repeated.
        """
        counts = weights.astype(np.int64)
        if not (counts == weights).all() or counts.sum() == 0:
            return
        exact = _moments(np.repeat(self._t, counts, axis=0), np.repeat(self._p, counts, axis=0))
        for i, name in enumerate(f.name for f in fields(_Moments)):
            stacked[i][row] = getattr(exact, name)

    def _confusion_metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        c = self.n_classes
        per_cell = np.add.reduceat(weights[:, self._cell_order], self._cell_starts, axis=1)
        cms = np.zeros((weights.shape[0], c * c))
        cms[:, self._cells] = per_cell
        cms = cms.reshape(-1, c, c)
        return {
            "accuracy": _accuracy_batch(cms),
            "f1": _f1_batch(cms, "macro", 0.0),
            "uar": _uar_batch(cms, 0.0),
            "kappa": _kappa_batch(cms),
            "krippendorff_alpha": _alpha_batch(cms, np.arange(c), "nominal"),
        }

    def _ranking_metrics(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        aucs, aps = [], []
        for order, starts, is_pos in self._ranking:
            w = weights[:, order]
            pos = np.add.reduceat(w * is_pos, starts, axis=1)  # ascending distinct scores
            neg = np.add.reduceat(w, starts, axis=1) - pos
            below = np.cumsum(neg, axis=1) - neg
            auc, ap = _ranking_batch(pos, neg, below, pos.sum(axis=1), neg.sum(axis=1))
            aucs.append(auc)
            aps.append(ap)
        return {"auc": _nanmean_rows(np.stack(aucs, axis=1)),
                "auc_pr": _nanmean_rows(np.stack(aps, axis=1))}


def _nanmean_rows(values: np.ndarray) -> np.ndarray:
    """The macro average of the ranking final step: the mean over defined classes."""
    defined = ~np.isnan(values)
    count = defined.sum(axis=1)
    total = np.where(defined, values, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# -- resampling --------------------------------------------------------------------------


def _generator(seed: Any) -> np.random.Generator:
    """``np.random.default_rng(seed)``, refusing a bad seed by the argument's name."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise type(err)(f"seed must be None, a non-negative integer, a sequence of them or a "
                        f"numpy Generator, got {seed!r}") from err


def _encode_groups(groups: Any, n: int) -> tuple[np.ndarray, int]:
    codes, n_groups = _group_codes(groups, n)
    if n_groups < 2:
        raise ValueError("groups must contain at least two distinct groups to resample")
    return codes, n_groups


class _Draws:
    """A block of resamples as drawn indices; ``weights()`` turns them into counts (b, n).

    Without groups each row draws n indices with replacement, exactly as
    ``scipy.stats.bootstrap`` does (the same generator gives the same resamples when one
    block holds them all); with groups it draws n_groups group ids and every sample takes
    its group's count.
    """

    def __init__(self, drawn: np.ndarray, group_codes: np.ndarray | None) -> None:
        self.drawn, self.group_codes = drawn, group_codes

    def weights(self) -> np.ndarray:
        b, units = self.drawn.shape
        counts = np.empty((b, units))
        # Row by row: each row's counts stay in cache (one bincount over all rows is ~30%
        # slower for n = 1e5 from cache misses).
        for row, drawn in zip(counts, self.drawn, strict=True):
            row[:] = np.bincount(drawn, minlength=units)
        return counts if self.group_codes is None else counts[:, self.group_codes]


def _resample_draws(n: int, n_resamples: int, rng: np.random.Generator,
                    group_codes: np.ndarray | None, n_groups: int) -> Iterator[_Draws]:
    """Blocks of resamples, drawn in order from one generator (reproducible from the seed)."""
    units = n if group_codes is None else n_groups
    block = max(1, _BLOCK_ELEMENTS // max(n, units))
    for start in range(0, n_resamples, block):
        b = min(block, n_resamples - start)
        yield _Draws(rng.integers(0, units, (b, units)), group_codes)


def _jackknife_weights(n: int, rng: np.random.Generator, group_codes: np.ndarray | None,
                       n_groups: int) -> Iterator[np.ndarray]:
    """Blocks of leave-one-out (or leave-one-group-out) weight rows."""
    if group_codes is None:
        if n <= _EXACT_JACKKNIFE_MAX:
            group_codes, n_groups = np.arange(n), n
        else:
            group_codes = rng.permutation(n) % _JACKKNIFE_BLOCKS
            n_groups = _JACKKNIFE_BLOCKS
    block = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, n_groups, block):
        left_out = np.arange(start, min(start + block, n_groups))
        yield (group_codes[None, :] != left_out[:, None]).astype(np.float64)


def _run(engine: _Engine, blocks: Iterator[Any], keys: list[str],
         progress: Any = None) -> dict[str, np.ndarray]:
    """Evaluate the engine on blocks of weights (arrays, or draws turned into weights)."""
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}

    def evaluate(block: Any) -> dict[str, np.ndarray]:
        return engine(block.weights() if isinstance(block, _Draws) else block)

    for values in map(evaluate, blocks):
        for key in keys:
            parts[key].append(values[key])
        if progress is not None:
            progress.update(values[keys[0]].shape[0])
    return {key: np.concatenate(value) for key, value in parts.items()}


def _acceleration(jack: np.ndarray) -> float:
    """The BCa acceleration of jackknife values (SciPy's formula), at any magnitude.

    With ``u = (k - 1)(mean - jack)`` it is ``sum(u**3) / (6 sum(u**2)**1.5)``, in which any
    common factor of ``u`` cancels; the deviations are therefore divided by powers of two near
    their largest magnitude (exact) before they are cubed, so that metric values near 1e300
    (RMSE of huge data) or 1e-170 neither overflow nor underflow.
    """
    if jack.shape[0] == 0:
        return 0.0
    top = float(np.max(np.abs(jack)))
    if top == 0.0:
        return 0.0
    scaled = jack / _power_of_two_below(top)
    u = scaled.mean() - scaled
    spread = float(np.max(np.abs(u)))
    if spread == 0.0:
        return 0.0
    u = u / _power_of_two_below(spread)
    return float(np.sum(u ** 3) / (6.0 * np.sum(u ** 2) ** 1.5))


def _interval(distribution: np.ndarray, estimate: float, jackknife: np.ndarray | None,
              confidence_level: float, method: str) -> tuple[float, float]:
    """Percentile or BCa interval of one metric (SciPy's formulas)."""
    finite = distribution[np.isfinite(distribution)]
    if finite.shape[0] == 0 or not np.isfinite(estimate):
        return float("nan"), float("nan")
    alpha = (1.0 - confidence_level) / 2.0
    levels = np.array([alpha, 1.0 - alpha])
    if method == "bca":
        b = finite.shape[0]
        percentile = (np.count_nonzero(finite < estimate)
                      + np.count_nonzero(finite <= estimate)) / (2.0 * b)
        z0 = ndtri(percentile)
        acceleration = _acceleration(jackknife[np.isfinite(jackknife)])
        z = ndtri(levels)
        levels = ndtr(z0 + (z0 + z) / (1.0 - acceleration * (z0 + z)))
        if not np.isfinite(levels).all():
            return float("nan"), float("nan")
    low, high = np.quantile(finite, levels)
    return float(low), float(high)


def _check_options(confidence_level: float, n_resamples: int, method: str) -> None:
    if not 0.0 < float(confidence_level) < 1.0:
        raise ValueError(f"confidence_level must be in (0, 1), got {confidence_level!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) \
            or n_resamples < 2:
        raise ValueError(f"n_resamples must be an integer >= 2, got {n_resamples!r}")
    if method not in _METHODS:
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")


def _progress_bar(progress: bool, total: int, description: str) -> Any:
    if not progress:
        return None
    tqdm = _import_optional("tqdm", "cli", purpose="a bootstrap progress bar")
    return tqdm.tqdm(total=total, desc=description, unit="resample", leave=False)


# -- public API --------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapResult:
    """Confidence intervals for several metrics from one set of resamples.

    Attributes
    ----------
    estimate, low, high, standard_error : dict of str to float
        Per metric key (``"ccc"``, ``"accuracy"``, ``"ccc_valence"``...).
    distribution : dict of str to ndarray
        The bootstrap distribution of each metric (n_resamples values; nan where a resample
        left the metric undefined, which the intervals ignore).
    confidence_level, method, n_resamples, seed :
        The settings used.
    grouped : bool
        Whether whole groups were resampled.
    """

    estimate: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    standard_error: dict[str, float]
    distribution: dict[str, np.ndarray] = field(repr=False)
    confidence_level: float = 0.95
    method: str = "percentile"
    n_resamples: int = 1000
    seed: int | None = None
    grouped: bool = False


def _prepare_engine(expression: Any, expression_pred: Any, va: Any, va_pred: Any,
                    output_names: tuple[str, ...], n_classes: int | None,
                    nan_policy: str) -> _Engine:
    """Validate inputs with the core's checks and build the engine (rows kept aligned)."""
    kwargs: dict[str, Any] = {}
    if expression is not None:
        labels = None if n_classes is None else np.arange(n_classes)
        pred = _as_labels(expression_pred, "expression_pred")
        if pred.ndim == 2 and labels is None:
            labels = np.arange(pred.shape[1])
        data = _check_classification(expression, pred, labels=labels, nan_policy=nan_policy,
                                     scores=pred.ndim == 2, pred_name="expression_pred",
                                     true_name="expression")
        if data.n_omitted:
            raise ValueError("the bootstrap needs complete rows; drop NaN rows before calling")
        pred_codes = data.predicted
        kwargs.update(codes=data.y_true, pred_codes=pred_codes, scores=data.y_score,
                      n_classes=data.classes.shape[0])
    if va is not None:
        t, p, omitted = _check_continuous(va, va_pred, nan_policy=nan_policy,
                                          names=("va", "va_pred"))
        if omitted:
            raise ValueError("the bootstrap needs complete rows; drop NaN rows before calling")
        t, p = (t[:, None], p[:, None]) if t.ndim == 1 else (t, p)
        if len(output_names) != t.shape[1]:
            output_names = tuple(f"{i}" for i in range(t.shape[1])) if t.shape[1] > 1 else ("",)
        # the names key the results (ccc_valence): two alike would keep one column's values
        output_names = _check_unique_names(output_names, "output_names")
        kwargs.update(va_true=t, va_pred=p, output_names=output_names)
        if "codes" in kwargs:
            _check_lengths(expression=kwargs["codes"], va=t)
    if not kwargs:
        raise ValueError("give expression labels and predictions, valence/arousal truth and "
                         "predictions, or both")
    return _Engine(**kwargs)


class _Engines:
    """Several bootstrap engines on the same samples, resampled together (same draws)."""

    def __init__(self, engines: list[Any]) -> None:
        self._engines = engines
        self.n = engines[0].n
        self.keys = [key for engine in engines for key in engine.keys]

    def __call__(self, weights: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v for engine in self._engines for k, v in engine(weights).items()}

    def estimate(self, warn: bool = True) -> dict[str, float]:
        return {k: v for engine in self._engines for k, v in engine.estimate(warn).items()}


def _clean_key(key: str) -> str:
    return key[:-1] if key.endswith("_") else key


def _bootstrap(engine: _Engine, *, confidence_level: float, n_resamples: int, method: str,
               seed: Any, groups: Any, progress: bool, warn: bool = True) -> BootstrapResult:
    """Resample ``engine``'s data; ``warn=False`` when the caller has already warned about
    undefined metrics (a report)."""
    group_codes, n_groups = (None, 0) if groups is None else _encode_groups(groups, engine.n)
    rng = _generator(seed)
    keys = engine.keys
    estimate = engine.estimate(warn)
    bar = _progress_bar(progress, n_resamples, "bootstrap")
    try:
        distribution = _run(engine, _resample_draws(engine.n, n_resamples, rng, group_codes,
                                                    n_groups), keys, bar)
    finally:
        if bar is not None:
            bar.close()
    jackknife = None
    if method == "bca":
        jackknife = _run(engine, _jackknife_weights(engine.n, rng, group_codes, n_groups), keys)
    low, high, se = {}, {}, {}
    for key in keys:
        low[key], high[key] = _interval(distribution[key], estimate[key],
                                        None if jackknife is None else jackknife[key],
                                        confidence_level, method)
        finite = distribution[key][np.isfinite(distribution[key])]
        se[key] = _std(finite, ddof=1)
    rename = {key: _clean_key(key) for key in keys}
    return BootstrapResult(
        {rename[k]: v for k, v in estimate.items()}, {rename[k]: v for k, v in low.items()},
        {rename[k]: v for k, v in high.items()}, {rename[k]: v for k, v in se.items()},
        {rename[k]: v for k, v in distribution.items()}, float(confidence_level), method,
        int(n_resamples), seed if isinstance(seed, (int, type(None))) else None,
        groups is not None,
    )


def bootstrap_ci(
    *,
    expression: Any = None,
    expression_pred: Any = None,
    va: Any = None,
    va_pred: Any = None,
    output_names: tuple[str, ...] = ("valence", "arousal"),
    n_classes: int | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 1000,
    method: str = "percentile",
    seed: Any = None,
    groups: Any = None,
    nan_policy: str = "raise",
    progress: bool = False,
) -> BootstrapResult:
    """Bootstrap confidence intervals for every metric at once.

    Parameters
    ----------
    expression : array-like of shape (n,), optional
        True expression labels 0..C-1.
    expression_pred : array-like of shape (n, C) or (n,), optional
        Scores (enables AUC and AUC-PR) or predicted labels.
    va, va_pred : array-like of shape (n,) or (n, k), optional
        Continuous truth and predictions (valence, arousal).
    output_names : tuple of str, default ("valence", "arousal")
        Suffixes of the continuous keys (``"ccc_valence"``); 1-D input gives plain keys.
    n_classes : int, optional
        Number of classes when ``expression_pred`` holds labels.
    confidence_level : float, default 0.95
    n_resamples : int, default 1000
    method : {"percentile", "bca"}, default "percentile"
    seed : int or numpy Generator, optional
        Makes the resamples (and so the intervals) reproducible.
    groups : array-like of shape (n,), optional
        Subject or video ids of any hashable type (integers, strings, objects): resample
        whole groups (cluster bootstrap). None or NaN ids are refused.
    nan_policy : {"raise"}
        Rows with NaN are refused: drop them first so that all metrics see the same rows.
    progress : bool, default False
        Show a tqdm progress bar (needs the ``cli`` extra).

    Returns
    -------
    BootstrapResult

    Notes
    -----
    Pairs (truth, prediction) are resampled together; with ``groups`` whole groups are.
    Resamples in which a metric is undefined (e.g. a class drawn without positives for
    AUC) are left out of that metric's interval. With 1,000 resamples, interval ends carry a
    Monte-Carlo error of a few percent of the interval's width; use more for a paper.

    References
    ----------
    B. Efron, R. J. Tibshirani, An Introduction to the Bootstrap, Chapman & Hall, 1993.

    Examples
    --------
    >>> import numpy as np
    >>> import affectmetrics as am
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=500)
    >>> pred = truth + rng.normal(scale=0.5, size=500)
    >>> result = am.bootstrap_ci(va=truth, va_pred=pred, n_resamples=500, seed=1)
    >>> result.low["ccc"] < result.estimate["ccc"] < result.high["ccc"]
    True
    """
    _check_options(confidence_level, n_resamples, method)
    engine = _prepare_engine(expression, expression_pred, va, va_pred, tuple(output_names),
                                n_classes, nan_policy)
    return _bootstrap(engine, confidence_level=confidence_level, n_resamples=n_resamples,
                      method=method, seed=seed, groups=groups, progress=progress)


@dataclass(frozen=True)
class PairedComparison:
    """The difference B - A of every metric on one test set, with paired-bootstrap evidence.

    Attributes
    ----------
    names : (str, str)
        Names of model A and model B.
    value_a, value_b, difference, low, high, p_value : dict of str to float
        Per metric key. ``difference = value_b - value_a``; ``[low, high]`` is its percentile
        interval; ``p_value`` is the two-sided bootstrap p-value of "no difference". A metric
        undefined for either model (nan) has nan difference, interval and p-value.
    confidence_level, n_resamples :
        The settings used.
    left_out : tuple of str
        Metrics only one of the models has (e.g. ``auc`` when one model gave scores and the
        other labels only): they are not compared.
    """

    names: tuple[str, str]
    value_a: dict[str, float]
    value_b: dict[str, float]
    difference: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    p_value: dict[str, float]
    confidence_level: float
    n_resamples: int
    left_out: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types only; nan becomes None (strict JSON)."""
        def clean(values: dict[str, float]) -> dict[str, float | None]:
            return {k: (float(v) if np.isfinite(v) else None) for k, v in values.items()}

        return {
            "names": list(self.names),
            "confidence_level": self.confidence_level,
            "n_resamples": self.n_resamples,
            "metrics": {key: {"value_a": clean(self.value_a)[key],
                              "value_b": clean(self.value_b)[key],
                              "difference": clean(self.difference)[key],
                              "low": clean(self.low)[key], "high": clean(self.high)[key],
                              "p_value": clean(self.p_value)[key]}
                        for key in self.difference},
            "left_out": list(self.left_out),
        }

    def to_json(self, path: str | Path | None = None, indent: int = 2) -> str:
        """Strict JSON text (nan written as null); also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def to_markdown(self, decimals: int = 4) -> str:
        """A table: metric, A, B, B - A, interval, p; then the metrics left out."""
        a, b = self.names
        def fmt(value: float) -> str:
            return _fmt_number(value, decimals)

        rows = [f"| Metric | {a} | {b} | {b} - {a} | {self.confidence_level:.0%} CI | p |",
                "|---|---|---|---|---|---|"]
        for key in self.difference:
            rows.append(
                f"| {key} | {fmt(self.value_a[key])} | {fmt(self.value_b[key])} "
                f"| {fmt(self.difference[key])} | [{fmt(self.low[key])}, "
                f"{fmt(self.high[key])}] | {fmt(self.p_value[key])} |"
            )
        if self.left_out:
            rows += ["", f"Not compared (only one model has them): {', '.join(self.left_out)}."]
        return "\n".join(rows)


def _comparable_engines(expression: Any, va: Any, preds: tuple[dict[str, Any], ...],
                        output_names: tuple[str, ...], n_classes: int | None,
                        names: tuple[str, str]) -> tuple[list[_Engine], list[str], tuple[str, ...]]:
    """Both models' engines on one class set, the keys both have, and the keys left out."""
    for pred in preds:
        unknown = set(pred) - {"expression_pred", "va_pred"}
        if unknown:
            raise ValueError(f"predictions have unknown keys {sorted(unknown)}; use "
                             "'expression_pred' and 'va_pred'")
    if n_classes is None:
        widths = [np.shape(pred["expression_pred"])[1] for pred in preds
                  if pred.get("expression_pred") is not None
                  and np.ndim(pred["expression_pred"]) == 2]
        n_classes = widths[0] if widths else None
    engines = []
    for pred, name in zip(preds, names, strict=True):
        expression_pred, va_pred = pred.get("expression_pred"), pred.get("va_pred")
        if (expression_pred is None or expression is None) and (va_pred is None or va is None):
            raise ValueError(f"model {name!r} has no predictions for the truth given (give "
                             "expression with 'expression_pred', va with 'va_pred')")
        engines.append(_prepare_engine(
            None if expression_pred is None else expression, expression_pred,
            None if va_pred is None else va, va_pred, output_names, n_classes, "raise"))
    common = [key for key in engines[0].keys if key in engines[1].keys]
    if not common:
        raise ValueError(f"pred_a and pred_b have no metric in common: {names[0]} gives "
                         f"{sorted(preds[0])}, {names[1]} gives {sorted(preds[1])}")
    left_out = tuple(_clean_key(key) for key in
                     [*engines[0].keys, *engines[1].keys] if key not in common)
    if left_out:
        owners = {_clean_key(key): names[i] for i, engine in enumerate(engines)
                  for key in engine.keys if key not in common}
        detail = ", ".join(f"{key} (only {owners[key]})" for key in dict.fromkeys(left_out))
        warnings.warn(f"paired_comparison: not compared, only one model has them: {detail}",
                      UserWarning, stacklevel=3)
    return engines, common, tuple(dict.fromkeys(left_out))


def _paired_complete_rows(expression: Any, va: Any, pred_a: dict[str, Any],
                          pred_b: dict[str, Any], groups: Any) -> tuple[Any, ...]:
    """The arguments of :func:`paired_comparison` without the samples that have a NaN in
    the truth or in either model's predictions (lengths are checked later, as without)."""
    arrays = [expression, va, *pred_a.values(), *pred_b.values()]
    present = [np.asarray(a) for a in arrays if a is not None]
    n = present[0].shape[0] if present and present[0].ndim else 0
    nan = np.zeros(n, dtype=bool)
    for arr in present:
        if arr.ndim and arr.shape[0] == n and arr.dtype.kind in "fc":
            nan |= np.isnan(arr.reshape(n, -1)).any(axis=1)
    if not nan.any():
        return expression, va, pred_a, pred_b, groups
    keep = ~nan

    def kept(value: Any) -> Any:
        if value is None:
            return None
        arr = value if isinstance(value, np.ndarray) else _id_array(value)
        return arr[keep] if arr.ndim and arr.shape[0] == n else value

    return (kept(expression), kept(va), {k: kept(v) for k, v in pred_a.items()},
            {k: kept(v) for k, v in pred_b.items()}, kept(groups))


def paired_comparison(
    *,
    expression: Any = None,
    va: Any = None,
    pred_a: dict[str, Any],
    pred_b: dict[str, Any],
    names: tuple[str, str] = ("A", "B"),
    output_names: tuple[str, ...] = ("valence", "arousal"),
    n_classes: int | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    seed: Any = None,
    groups: Any = None,
    nan_policy: str = "raise",
    progress: bool = False,
) -> PairedComparison:
    """Compare two models on the same test set with a paired bootstrap.

    Both models are scored on the same resamples, so the interval of the difference
    reflects only how the models differ, not the test set's own variability twice.

    Parameters
    ----------
    expression, va : array-like, optional
        The shared ground truth (labels; valence/arousal).
    pred_a, pred_b : dict
        Each model's predictions: ``{"expression_pred": ..., "va_pred": ...}``. When the
        models are unlike (one gives class scores, the other labels only; one predicts
        valence/arousal, the other not), the metrics both have are compared and the others
        are listed in ``left_out`` with a ``UserWarning``.
    names : (str, str), default ("A", "B")
    groups : array-like of shape (n,), optional
        Resample whole groups (subjects, videos); ids of any hashable type, as for
        :func:`bootstrap_ci`.
    nan_policy : {"raise", "omit"}, default "raise"
        "omit" drops every sample with a NaN in the truth or in either model's predictions
        (from both models alike: the comparison stays paired), with its group id.

    Returns
    -------
    PairedComparison
        ``difference = B - A``; the two-sided p-value is
        ``min(1, 2 min((1 + #{d* <= 0}) / (B + 1), (1 + #{d* >= 0}) / (B + 1)))`` over the
        bootstrap differences d* (the percentile test of "no difference").

    Examples
    --------
    >>> import numpy as np
    >>> import affectmetrics as am
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.normal(size=400)
    >>> good, poor = truth + rng.normal(0, 0.3, 400), truth + rng.normal(0, 1.0, 400)
    >>> result = am.paired_comparison(va=truth, pred_a={"va_pred": poor},
    ...                               pred_b={"va_pred": good}, n_resamples=500, seed=0)
    >>> result.difference["ccc"] > 0 and result.p_value["ccc"] < 0.05
    True
    """
    _check_options(confidence_level, n_resamples, "percentile")
    _check_nan_policy(nan_policy)
    if nan_policy == "omit":
        expression, va, pred_a, pred_b, groups = _paired_complete_rows(
            expression, va, pred_a, pred_b, groups)
    (engine_a, engine_b), keys, left_out = _comparable_engines(
        expression, va, (pred_a, pred_b), tuple(output_names), n_classes, tuple(names))
    group_codes, n_groups = (None, 0) if groups is None else _encode_groups(groups, engine_a.n)
    rng = _generator(seed)
    estimate_a, estimate_b = engine_a.estimate(), engine_b.estimate()
    value_a = {key: estimate_a[key] for key in keys}
    value_b = {key: estimate_b[key] for key in keys}
    diffs: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    bar = _progress_bar(progress, n_resamples, "paired bootstrap")
    def difference_of(draws: _Draws) -> dict[str, np.ndarray]:
        weights = draws.weights()
        a, b = engine_a(weights), engine_b(weights)
        with np.errstate(invalid="ignore"):  # inf - inf (two overflowing RMSEs) is nan
            return {key: b[key] - a[key] for key in keys}

    try:
        for values in map(difference_of, _resample_draws(engine_a.n, n_resamples, rng,
                                                         group_codes, n_groups)):
            for key in keys:
                diffs[key].append(values[key])
            if bar is not None:
                bar.update(values[keys[0]].shape[0])
    finally:
        if bar is not None:
            bar.close()
    low, high, p_value, difference = {}, {}, {}, {}
    for key in keys:
        d = np.concatenate(diffs[key])
        d = d[np.isfinite(d)]
        difference[key] = value_b[key] - value_a[key]
        if d.shape[0] == 0 or not np.isfinite(difference[key]):
            low[key] = high[key] = p_value[key] = float("nan")
            continue
        alpha = (1.0 - confidence_level) / 2.0
        low[key], high[key] = (float(v) for v in np.quantile(d, [alpha, 1.0 - alpha]))
        count = d.shape[0]
        p_low = (1 + np.count_nonzero(d <= 0)) / (count + 1)
        p_high = (1 + np.count_nonzero(d >= 0)) / (count + 1)
        p_value[key] = float(min(1.0, 2.0 * min(p_low, p_high)))
    rename = {key: _clean_key(key) for key in keys}

    def named(values: dict[str, float]) -> dict[str, float]:
        return {rename[k]: v for k, v in values.items()}

    return PairedComparison(tuple(names), named(value_a), named(value_b), named(difference),
                            named(low), named(high), named(p_value), float(confidence_level),
                            int(n_resamples), left_out)
