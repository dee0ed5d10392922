"""Every metric per subgroup (gender, age band, data set...), the gap between subgroups, and
the unweighted average bias, with bootstrap intervals from one set of resamples.

For an attribute with levels g = 1..G, each metric m is computed on each level's samples;
the **gap** is :math:`\\max_g m_g - \\min_g m_g` (the distance between the best and the worst
subgroup, whatever the metric's direction). Intervals come from resampling the whole test
set (pairs, or whole ``groups`` such as subjects): each resample gives every level's metric
and so its gap, so the gap's interval accounts for the subgroups' metrics moving together.

The **unweighted average bias** (UAB; audmetric's ``unweighted_average_bias`` with its
defaults) is a gap measure for expression classification: per class, the population standard
deviation over subgroups of the per-subgroup F1 of that class, averaged over the classes that
have an F1 in at least two subgroups:

.. math::

    \\mathrm{UAB} = \\frac{1}{|K|} \\sum_{c \\in K} \\operatorname{std}_g F_1^{(c, g)},

where a class's F1 in a subgroup is undefined (and left out) when the class is neither
present nor predicted there.

Intervals are percentile intervals (whatever ``ci_method`` the report's own intervals use).
A gap is a maximum minus a minimum of noisy values, so its bootstrap distribution sits above
the true gap, most for small subgroups: read a gap interval that excludes its own estimate as
"the subgroups are indistinguishable at this sample size", not as evidence of a gap.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import _check_unique_names, _group_codes, _id_array
from .bootstrap import (
    _clean_key,
    _encode_groups,
    _Engines,
    _generator,
    _interval,
    _prepare_engine,
    _resample_draws,
)
from .classification import _f1_batch
from .exceptions import UndefinedMetricWarning, _warn_undefined
from .multilabel import _MultilabelEngine

__all__ = ["SubgroupResult"]

UAB_KEY = "unweighted_average_bias"


@dataclass(frozen=True)
class SubgroupResult:
    """Metrics of one attribute's subgroups and the gaps between them.

    Attributes
    ----------
    attribute : str
        The attribute's name (``"gender"``).
    levels : tuple of str
        Its subgroups, sorted.
    n_samples : dict of str to int
        Samples per subgroup.
    metrics : dict of str to dict of str to float
        ``metrics[level][key]``: every metric of the report, per subgroup.
    gap : dict of str to float
        ``max - min`` over the subgroups of each metric (nan with fewer than two defined),
        and ``unweighted_average_bias`` when expression labels were given.
    low, high : dict of str to dict of str to float, optional
        Per subgroup intervals, ``low[level][key]`` (with ``ci``).
    gap_low, gap_high : dict of str to float, optional
        Intervals of the gaps and of the UAB (with ``ci``), from the same resamples.
    """

    attribute: str
    levels: tuple[str, ...]
    n_samples: dict[str, int]
    metrics: dict[str, dict[str, float]]
    gap: dict[str, float]
    low: dict[str, dict[str, float]] | None = field(default=None, repr=False)
    high: dict[str, dict[str, float]] | None = field(default=None, repr=False)
    gap_low: dict[str, float] | None = field(default=None, repr=False)
    gap_high: dict[str, float] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python types (nan as None)."""
        def clean(values: dict[str, float] | None) -> dict[str, float | None] | None:
            if values is None:
                return None
            return {k: (None if np.isnan(v) else float(v)) for k, v in values.items()}

        return {
            "attribute": self.attribute,
            "levels": list(self.levels),
            "n_samples": dict(self.n_samples),
            "metrics": {level: clean(v) for level, v in self.metrics.items()},
            "gap": clean(self.gap),
            "low": None if self.low is None else {g: clean(v) for g, v in self.low.items()},
            "high": None if self.high is None else {g: clean(v) for g, v in self.high.items()},
            "gap_low": clean(self.gap_low),
            "gap_high": clean(self.gap_high),
        }


def _uab_batch(cms: np.ndarray) -> np.ndarray:
    """UAB of stacks of per-subgroup confusion matrices (..., G, C, C); nan if undefined."""
    f1 = _f1_batch(cms, None, float("nan"))  # (..., G, C): nan where absent from both
    defined = ~np.isnan(f1)
    count = defined.sum(axis=-2)
    values = np.where(defined, f1, 0.0)
    mean = values.sum(axis=-2) / np.maximum(count, 1)
    spread = np.where(defined, values - mean[..., None, :], 0.0)
    std = np.sqrt((spread * spread).sum(axis=-2) / np.maximum(count, 1))
    used = count >= 2
    n_used = used.sum(axis=-1)
    total = np.where(used, std, 0.0).sum(axis=-1)
    return np.where(n_used > 0, total / np.maximum(n_used, 1), np.nan)


def _gap(values: np.ndarray) -> np.ndarray:
    """max - min over the last axis, ignoring nan; nan with fewer than two values."""
    defined = ~np.isnan(values)
    high = np.where(defined, values, -np.inf).max(axis=-1)
    low = np.where(defined, values, np.inf).min(axis=-1)
    return np.where(defined.sum(axis=-1) >= 2, high - low, np.nan)


class _GroupConfusions:
    """Per-subgroup confusion matrices of weighted samples: (b, G, C, C) for weights (b, n)."""

    def __init__(self, level_codes: np.ndarray, n_levels: int, codes: np.ndarray,
                 pred_codes: np.ndarray, n_classes: int) -> None:
        cells = (level_codes * n_classes + codes) * n_classes + pred_codes
        self._order = np.argsort(cells, kind="stable")
        ordered = cells[self._order]
        self._starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self._cells = ordered[self._starts]
        self._shape = (n_levels, n_classes, n_classes)

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        per_cell = np.add.reduceat(weights[:, self._order], self._starts, axis=1)
        cms = np.zeros((weights.shape[0], int(np.prod(self._shape))))
        cms[:, self._cells] = per_cell
        return cms.reshape(weights.shape[0], *self._shape)


def _check_subgroups(subgroups: Any, n: int) -> dict[str, np.ndarray]:
    """Each attribute's values, checked with the core's encoding of group ids (any hashable
    type; a missing value, None or NaN, is refused with its position)."""
    if not isinstance(subgroups, Mapping) or not subgroups:
        raise TypeError("subgroups must be a non-empty dict from attribute name to one value "
                        f"per sample, got {type(subgroups).__name__}")
    _check_unique_names(subgroups, "the attribute names of subgroups")
    checked = {}
    for name, values in subgroups.items():
        label = f"subgroups[{name!r}]"
        codes, _ = _group_codes(values, n, label)
        arr = values if isinstance(values, np.ndarray) else _id_array(values)
        # the levels are keys of the results as text: 1 and "1" would be one subgroup there
        _check_unique_names(arr[np.unique(codes, return_index=True)[1]].tolist(),
                            f"the levels of {label}")
        checked[str(name)] = arr
    return checked


def _scored(score: Any, rows: np.ndarray, where: str) -> dict[str, float]:
    """``score(rows)``, its UndefinedMetricWarnings saying which subgroup they are about
    (``... (in subgroup gender=female)``); other warnings pass unchanged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = score(rows)
    for warning in caught:
        if issubclass(warning.category, UndefinedMetricWarning):
            _warn_undefined(f"{warning.message} (in subgroup {where})")
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
    return values


def _subgroup_result(
    attribute: str,
    values: np.ndarray,
    score: Any,
    *,
    codes: np.ndarray | None,
    pred: np.ndarray | None,
    pred_codes: np.ndarray | None,
    n_classes: int | None,
    va: np.ndarray | None,
    va_pred: np.ndarray | None,
    output_names: tuple[str, ...],
    au: np.ndarray | None = None,
    au_pred: np.ndarray | None = None,
    au_threshold: float = 0.5,
    au_names: tuple[str, ...] = (),
    ci: float | None,
    n_resamples: int,
    seed: Any,
    groups: Any,
) -> SubgroupResult:
    """Metrics per level of one attribute, gaps and UAB, with intervals when ``ci``.

    ``score(rows)`` returns the report's metrics dict for the samples ``rows``.
    """
    level_codes, _ = _group_codes(values, values.shape[0], f"subgroups[{attribute!r}]")
    firsts = values[np.unique(level_codes, return_index=True)[1]]
    names = tuple(str(v) for v in firsts)
    if len(set(names)) < len(names):  # ids that print alike (1 and "1"): name them by repr
        names = tuple(repr(v) for v in firsts)
    rows = [np.flatnonzero(level_codes == g) for g in range(len(names))]
    metrics = {name: _scored(score, r, f"{attribute}={name}")
               for name, r in zip(names, rows, strict=True)}
    keys = list(dict.fromkeys(k for m in metrics.values() for k in m))
    table = np.array([[metrics[name].get(k, np.nan) for k in keys] for name in names])
    gap = dict(zip(keys, _gap(table.T).tolist(), strict=True))
    confusions = None
    if codes is not None:
        confusions = _GroupConfusions(level_codes, len(names), codes, pred_codes, n_classes)
        gap[UAB_KEY] = float(_uab_batch(confusions(np.ones((1, codes.shape[0]))))[0])
    if ci is None:
        return SubgroupResult(attribute, names, {n: int(r.shape[0]) for n, r in
                                                 zip(names, rows, strict=True)}, metrics, gap)
    n = level_codes.shape[0]

    def level_engine(r: np.ndarray) -> Any:
        # the report's engines on one subgroup's rows: expression and valence/arousal, and
        # action units, resampled together
        engines = []
        if codes is not None or va is not None:
            engines.append(_prepare_engine(None if codes is None else codes[r],
                                           None if pred is None else pred[r],
                                           None if va is None else va[r],
                                           None if va_pred is None else va_pred[r],
                                           output_names, n_classes, "raise"))
        if au is not None:
            engines.append(_MultilabelEngine(au[r], au_pred[r], au_threshold, au_names))
        return engines[0] if len(engines) == 1 else _Engines(engines)

    engines = [level_engine(r) for r in rows]
    group_codes, n_groups = (None, 0) if groups is None else _encode_groups(groups, n)
    draws = _resample_draws(n, n_resamples, _generator(seed), group_codes, n_groups)
    parts: dict[str, list[np.ndarray]] = {}
    for block in draws:
        weights = block.weights()
        per_level = [engine(weights[:, r]) for engine, r in zip(engines, rows, strict=True)]
        # A resample that drew no sample of a subgroup has no metric there (the engines'
        # F1, UAR and AU F1 would read its empty counts as zero_division, 0)
        drawn = np.stack([weights[:, r].sum(axis=1) > 0 for r in rows], axis=-1)
        for key in engines[0].keys:
            stacked = np.stack([values[key] for values in per_level], axis=-1)
            parts.setdefault(key, []).append(np.where(drawn, stacked, np.nan))
        if confusions is not None:
            parts.setdefault(UAB_KEY, []).append(_uab_batch(confusions(weights)))
    low: dict[str, dict[str, float]] = {name: {} for name in names}
    high: dict[str, dict[str, float]] = {name: {} for name in names}
    gap_low, gap_high = {}, {}
    for raw_key, blocks in parts.items():
        dist = np.concatenate(blocks)
        key = _clean_key(raw_key)
        if raw_key == UAB_KEY:
            gap_low[key], gap_high[key] = _interval(dist, gap[key], None, ci, "percentile")
            continue
        for j, name in enumerate(names):
            low[name][key], high[name][key] = _interval(
                dist[:, j], metrics[name].get(key, np.nan), None, ci, "percentile")
        if key in gap:
            gap_low[key], gap_high[key] = _interval(_gap(dist), gap[key], None, ci,
                                                    "percentile")
    return SubgroupResult(attribute, names,
                          {n: int(r.shape[0]) for n, r in zip(names, rows, strict=True)},
                          metrics, gap, low, high, gap_low, gap_high)
