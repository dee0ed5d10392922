"""The field's published evaluation protocols, as functions and report presets.

* ``"affectnet"``: the metrics of the AffectNet paper's tables (Mollahosseini et al. 2017):
  accuracy, F1, Cohen's kappa, Krippendorff's alpha, AUC and AUC-PR for the eight
  expressions; RMSE, CORR (Pearson), SAGR and CCC for valence and arousal. This is the
  default report.
* ``"abaw"``: the ABAW challenges' scores (Kollias et al.): the VA score is the mean of the
  valence and arousal CCC, the EXPR score the macro F1 over the eight expressions, the AU
  score the mean F1 over the twelve action units, and the multi-task score their sum. ABAW
  computes CCC over all frames pooled; AVEC-style protocols compute it per recording and
  average (:func:`ccc_per_group`), which gives a different number; say which one you report.
* :func:`fera_scores`: the FERA 2015/2017 action-unit sub-challenges (Valstar et al.):
  occurrence by F1 per AU and their mean, intensity by ICC(3,1) per AU and their mean, with
  MAE and RMSE beside it.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._moments import _ccc_from_moments, _moments
from ._validation import (
    _as_labels,
    _check_classification,
    _check_continuous,
    _check_continuous_keeping_nan,
    _check_unique_names,
    _group_codes,
    _omit,
)
from .accumulators import _check_positive_int
from .classification import f1_score
from .continuous import ccc, icc, mae, rmse
from .examples import AFFECTNET_CLASSES
from .exceptions import UndefinedMetricWarning, _warn_undefined
from .multilabel import _check_multilabel, _check_threshold, multilabel_f1

__all__ = ["ABAW_AUS", "FERA2017_INTENSITY_AUS", "FERA2017_OCCURRENCE_AUS", "PRESETS",
           "abaw_scores", "ccc_per_group", "fera_scores"]

#: The twelve action units of the ABAW AU track (Aff-Wild2), in the challenge's order.
ABAW_AUS = ("AU1", "AU2", "AU4", "AU6", "AU7", "AU10", "AU12", "AU15", "AU23", "AU24",
            "AU25", "AU26")
#: The ten action units of the FERA 2017 occurrence sub-challenge.
FERA2017_OCCURRENCE_AUS = ("AU1", "AU4", "AU6", "AU7", "AU10", "AU12", "AU14", "AU15",
                           "AU17", "AU23")
#: The seven action units of the FERA 2017 intensity sub-challenge.
FERA2017_INTENSITY_AUS = ("AU1", "AU4", "AU6", "AU10", "AU12", "AU14", "AU17")

#: Names of the presets accepted by :func:`affectmetrics.evaluate` and the CLI.
PRESETS = ("affectnet", "abaw")


def abaw_scores(
    *,
    expression: Any = None,
    expression_pred: Any = None,
    va: Any = None,
    va_pred: Any = None,
    au: Any = None,
    au_pred: Any = None,
    n_classes: int = 8,
    n_aus: int = 12,
    au_threshold: float = 0.5,
    nan_policy: str = "raise",
) -> dict[str, float]:
    """The ABAW challenge scores.

    .. math::

        P_{VA} = \\tfrac{1}{2}(\\mathrm{CCC}_V + \\mathrm{CCC}_A), \\quad
        P_{EXPR} = \\tfrac{1}{8} \\sum_{c=1}^{8} F_1^{(c)}, \\quad
        P_{AU} = \\tfrac{1}{12} \\sum_{l=1}^{12} F_1^{(l)}, \\quad
        P_{MTL} = P_{VA} + P_{EXPR} + P_{AU}

    Parameters
    ----------
    expression, expression_pred : array-like, optional
        Labels 0..7 and predicted labels or (n, 8) scores; F1 is averaged over all
        ``n_classes`` classes, present or not.
    va, va_pred : array-like of shape (n, 2), optional
        Valence (column 0) and arousal (column 1), CCC pooled over all frames.
    au, au_pred : array-like of shape (n, 12), optional
        0/1 occurrence of the twelve AUs (:data:`ABAW_AUS`) and 0/1 predictions or scores;
        the binary F1 of each AU, averaged over the AUs.
    n_classes : int, default 8
    n_aus : int, default 12
        The number of AU columns required.
    au_threshold : float, default 0.5
        A score above it predicts the AU present.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops, in each task, the frames with a NaN in that task's truth or
        predictions (frames without an annotation for one task still count in the others).

    Returns
    -------
    dict
        ``abaw_va``, ``abaw_expr`` and ``abaw_au`` for the tasks given, and ``abaw_mtl``,
        the sum of the given tasks' scores, when at least two are given (ABAW 3 onwards
        sums all three; give all three for the published multi-task score).

    Raises
    ------
    ValueError
        No task given, ``va`` without two columns, ``au`` without ``n_aus`` columns.

    References
    ----------
    D. Kollias, "ABAW: Valence-Arousal Estimation, Expression Recognition, Action Unit
    Detection & Multi-Task Learning Challenges", CVPR Workshops, 2022.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # CCC: valence perfect (1), arousal constant prediction (0): VA score 0.5
    >>> am.abaw_scores(va=[[0.1, 0.2], [0.5, 0.4], [-0.3, 0.1]],
    ...                va_pred=[[0.1, 0.3], [0.5, 0.3], [-0.3, 0.3]])
    {'abaw_va': 0.5}
    """
    _check_pairs(expression=expression, expression_pred=expression_pred, va=va,
                 va_pred=va_pred, au=au, au_pred=au_pred)
    scores: dict[str, float] = {}
    if va is not None:
        t, p, _ = _check_continuous(va, va_pred, nan_policy=nan_policy, names=("va", "va_pred"))
        values = np.atleast_1d(ccc(t, p))
        if values.shape[0] != 2:
            raise ValueError(f"va must have two columns (valence, arousal); got {values.shape[0]}")
        scores["abaw_va"] = float(values.mean())
    if expression is not None:
        labels = np.arange(_check_positive_int(n_classes, "n_classes"))
        pred = _as_labels(expression_pred, "expression_pred")
        data = _check_classification(expression, pred, labels=labels, scores=pred.ndim == 2,
                                     nan_policy=nan_policy, true_name="expression",
                                     pred_name="expression_pred")
        scores["abaw_expr"] = float(f1_score(data.y_true, data.predicted, labels=labels))
    if au is not None:
        threshold = _check_threshold(au_threshold, "au_threshold")
        t, s, _ = _check_multilabel(au, au_pred, nan_policy=nan_policy, true_name="au",
                                    pred_name="au_pred")
        if t.shape[1] != n_aus:
            raise ValueError(f"au must have {n_aus} columns (one per AU: {', '.join(ABAW_AUS)}"
                             f"); got shape {t.shape}")
        scores["abaw_au"] = float(multilabel_f1(t, s, threshold=threshold))
    if len(scores) >= 2:
        scores["abaw_mtl"] = float(sum(scores.values()))
    if not scores:
        raise ValueError("give expression labels and predictions, valence/arousal, action "
                         "units, or several of them")
    return scores


def fera_scores(
    *,
    occurrence: Any = None,
    occurrence_pred: Any = None,
    intensity: Any = None,
    intensity_pred: Any = None,
    au_names: Any = None,
    threshold: float = 0.5,
    nan_policy: str = "raise",
) -> dict[str, float]:
    """The FERA action-unit scores: occurrence F1 and intensity ICC(3,1), per AU and mean.

    .. math::

        P_{occ} = \\tfrac{1}{L} \\sum_l F_1^{(l)}, \\qquad
        P_{int} = \\tfrac{1}{L} \\sum_l \\mathrm{ICC}(3,1)^{(l)}

    with MAE and RMSE per AU and their means beside the ICC.

    Parameters
    ----------
    occurrence, occurrence_pred : array-like of shape (n, L), optional
        0/1 occurrence and 0/1 predictions or scores (present when above ``threshold``).
    intensity, intensity_pred : array-like of shape (n, L), optional
        AU intensities (0-5) and their predictions.
    au_names : sequence of str, or dict, optional
        Names of the columns, used in the keys. Default ``AU0``, ``AU1``... by position.
        When the two tasks score different AUs, a dict names each:
        ``{"occurrence": FERA2017_OCCURRENCE_AUS, "intensity": FERA2017_INTENSITY_AUS}``
        (FERA 2017's ten and seven AUs).
    threshold : float, default 0.5
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops, in each task, the rows with a NaN in that task's arrays.

    Returns
    -------
    dict
        ``fera_occurrence_f1`` (mean) and ``f1_<AU>``; ``fera_intensity_icc``,
        ``fera_intensity_mae``, ``fera_intensity_rmse`` (means) and ``icc_<AU>``,
        ``mae_<AU>``, ``rmse_<AU>``. An AU whose ICC is undefined (both sides constant)
        is nan, with an :class:`~affectmetrics.UndefinedMetricWarning`, and is left out of
        the mean.

    References
    ----------
    M. F. Valstar et al., "FERA 2017 - Addressing head pose in the third facial expression
    recognition and analysis challenge", IEEE FG, 2017.

    Examples
    --------
    >>> import affectmetrics as am
    >>> scores = am.fera_scores(intensity=[[0, 1], [2, 1], [4, 3]],
    ...                         intensity_pred=[[1, 1], [2, 2], [3, 3]], au_names=["AU6", "AU12"])
    >>> # ICC(3,1) = 2 S_tp / (S_tt + S_pp); AU6: 2*4 / (8 + 2); AU12: 2*2 / (8/3 + 2) = 6/7
    >>> round(scores["icc_AU6"], 6), round(scores["icc_AU12"], 6)
    (0.8, 0.857143)
    """
    _check_pairs(occurrence=occurrence, occurrence_pred=occurrence_pred, intensity=intensity,
                 intensity_pred=intensity_pred)
    scores: dict[str, float] = {}
    if occurrence is not None:
        threshold = _check_threshold(threshold)
        occurrence, occurrence_pred, _ = _check_multilabel(
            occurrence, occurrence_pred, nan_policy=nan_policy, true_name="occurrence",
            pred_name="occurrence_pred")
        names = _au_keys(au_names, occurrence.shape[1], "occurrence")
        per_au = multilabel_f1(occurrence, occurrence_pred, threshold=threshold, average=None)
        scores["fera_occurrence_f1"] = float(per_au.mean())
        scores.update({f"f1_{name}": float(v) for name, v in zip(names, per_au, strict=True)})
    if intensity is not None:
        intensity, intensity_pred, _ = _check_continuous(
            intensity, intensity_pred, nan_policy=nan_policy,
            names=("intensity", "intensity_pred"))
        if intensity.ndim != 2:
            raise ValueError(f"intensity must be an (n, L) matrix, one column per AU; got shape "
                             f"{intensity.shape}")
        names = _au_keys(au_names, intensity.shape[1], "intensity")
        values = {"icc": np.atleast_1d(icc(intensity, intensity_pred)),
                  "mae": np.atleast_1d(mae(intensity, intensity_pred)),
                  "rmse": np.atleast_1d(rmse(intensity, intensity_pred))}
        for metric, per_au in values.items():
            defined = per_au[~np.isnan(per_au)]
            scores[f"fera_intensity_{metric}"] = (float(defined.mean()) if defined.shape[0]
                                                 else float("nan"))
        for metric, per_au in values.items():
            scores.update({f"{metric}_{name}": float(v)
                           for name, v in zip(names, per_au, strict=True)})
    if not scores:
        raise ValueError("give occurrence labels and predictions, intensities, or both")
    return scores


def _check_pairs(**arrays: Any) -> None:
    """Each task's truth and predictions (``x`` and ``x_pred``) are given together."""
    for name, value in arrays.items():
        if not name.endswith("_pred") and (value is None) != (arrays[f"{name}_pred"] is None):
            raise ValueError(f"give both {name} and {name}_pred, or neither")


def _au_keys(au_names: Any, n_columns: int, what: str) -> list[str]:
    label = "au_names"
    if isinstance(au_names, Mapping):
        unknown = sorted(set(map(str, au_names)) - {"occurrence", "intensity"})
        if unknown:
            raise ValueError(f"au_names as a dict names the AUs of 'occurrence' and "
                             f"'intensity'; got the keys {unknown}")
        au_names, label = au_names.get(what), f"au_names[{what!r}]"
    if au_names is None:
        return [f"AU{j}" for j in range(n_columns)]
    names = list(_check_unique_names(au_names, label))
    if len(names) != n_columns:
        raise ValueError(f"{label} has {len(names)} names but {what} has {n_columns} "
                         "column(s)")
    return names


def ccc_per_group(y_true: Any, y_pred: Any, groups: Any, *,
                  nan_policy: str = "raise") -> float | np.ndarray:
    """CCC computed per recording (group), then averaged over recordings (AVEC-style).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
    groups : array-like of shape (n,)
        Recording (video, subject) id of each sample: any hashable ids (integers, strings,
        objects); None or NaN is refused.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every row with a NaN in ``y_true`` or ``y_pred`` (with its group id).

    Returns
    -------
    float or ndarray of shape (k,)
        The mean over groups of each group's CCC. Groups where the CCC is undefined (both
        sides constant and equal, e.g. a one-frame recording) are left out with an
        :class:`~affectmetrics.UndefinedMetricWarning`.

    Notes
    -----
    This differs from the pooled CCC of :func:`affectmetrics.ccc`: a model that gets each
    recording's mean right but not its dynamics scores well pooled and poorly per
    recording.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # two recordings, each predicted perfectly up to a shift of its own
    >>> am.ccc_per_group([0, 1, 2, 10, 11, 12], [0, 1, 2, 10, 11, 12], [1, 1, 1, 2, 2, 2])
    1.0
    """
    t, p, nan_rows = _check_continuous_keeping_nan(y_true, y_pred, nan_policy)
    was_1d = t.ndim == 1
    t, p = (t[:, None], p[:, None]) if was_1d else (t, p)
    ids, _ = _group_codes(groups, t.shape[0])
    if nan_rows is not None and nan_rows.any():
        (t, p, ids), _ = _omit(nan_rows, t, p, ids)
    mean = _mean_over_groups(_ccc_by_group(t.astype(np.float64), p.astype(np.float64), ids))
    return float(mean[0]) if was_1d else mean


def _ccc_by_group(t: np.ndarray, p: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each group's CCC, ``(G, k)`` for validated ``(n, k)`` arrays and codes ``0..G-1``
    (one sort, then contiguous slices), nan where undefined, without warnings."""
    order = np.argsort(codes, kind="stable")
    sorted_ids = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    bounds = np.r_[starts, sorted_ids.shape[0]]
    per_group = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for lo, hi in itertools.pairwise(bounds):
            rows = order[lo:hi]
            per_group.append(_ccc_from_moments(_moments(t[rows], p[rows])))
    return np.array(per_group).reshape(-1, t.shape[1])


def _mean_over_groups(values: np.ndarray) -> np.ndarray:
    """The mean over groups (axis 0) of per-group CCCs, leaving out (with a warning)
    the groups where it is undefined."""
    undefined = np.isnan(values)
    if undefined.any():
        _warn_undefined(f"ccc_per_group: CCC is undefined in {int(undefined.any(axis=1).sum())} "
                        "group(s) (both sides constant and equal); they are left out")
    counts = (~undefined).sum(axis=0)
    return np.where(counts > 0,
                    np.where(undefined, 0.0, values).sum(axis=0) / np.maximum(counts, 1), np.nan)


@dataclass(frozen=True)
class _DatasetConventions:
    """How a data set writes its labels: class order and the codes that are not data.

    ``dropped`` maps an expression code that is not an expression to its meaning;
    ``missing_va`` is the value written for valence/arousal that was not annotated.
    Rows carrying either are left out before scoring and counted per reason.
    """

    class_names: tuple[str, ...]
    dropped: dict[int, str]
    missing_va: float | None
    missing_au: float | None = None


#: The data-set conventions applied by ``--preset`` in the command line.
#: AffectNet (Mollahosseini et al. 2017, ``mollahosseini2017affectnet`` in docs/refs.bib):
#: codes 8-10 are None, Uncertain and No-Face, and valence/arousal -2 marks an image without
#: them. ABAW / Aff-Wild2 (Kollias et al. 2024, ``kollias2024abaw6``): in the challenges'
#: annotation files expression -1, valence/arousal -5 and AU -1 mark frames that are not
#: annotated (discarded from training and scoring); the expression classes are, in code
#: order, Neutral, Anger, Disgust, Fear, Happiness, Sadness, Surprise, Other. The command
#: line has no AU columns yet, so ``missing_au`` is recorded here for the AU tools.
_DATASETS: dict[str, _DatasetConventions] = {
    "affectnet": _DatasetConventions(
        AFFECTNET_CLASSES, {8: "None", 9: "Uncertain", 10: "No-Face"}, -2.0),
    "abaw": _DatasetConventions(
        ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other"),
        {-1: "not annotated"}, -5.0, -1.0),
}
