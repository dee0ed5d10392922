"""The field's published evaluation protocols, as functions and report presets.

* ``"affectnet"``: the metrics of the AffectNet paper's tables (Mollahosseini et al. 2017):
  accuracy, F1, Cohen's kappa, Krippendorff's alpha, AUC and AUC-PR for the eight
  expressions; RMSE, CORR (Pearson), SAGR and CCC for valence and arousal. This is the
  default report.
* ``"abaw"``: the ABAW challenges' scores (Kollias et al.): the VA score is the mean of the
  valence and arousal CCC, the EXPR score the macro F1 over the eight expressions, and the
  multi-task score (VA and EXPR tracks) their sum. ABAW computes CCC over all frames pooled;
  AVEC-style protocols compute it per recording and average (:func:`ccc_per_group`), which
  gives a different number; say which one you report.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from ._moments import _ccc_from_moments, _moments
from ._validation import _check_continuous, _group_codes
from .classification import f1_score
from .continuous import ccc
from .exceptions import UndefinedMetricWarning, _warn_undefined

__all__ = ["PRESETS", "abaw_scores", "ccc_per_group"]

#: Names of the presets accepted by :func:`affectmetrics.evaluate` and the CLI.
PRESETS = ("affectnet", "abaw")


def abaw_scores(
    *,
    expression: Any = None,
    expression_pred: Any = None,
    va: Any = None,
    va_pred: Any = None,
    n_classes: int = 8,
) -> dict[str, float]:
    """The ABAW challenge scores.

    .. math::

        P_{VA} = \\tfrac{1}{2}(\\mathrm{CCC}_V + \\mathrm{CCC}_A), \\quad
        P_{EXPR} = F_1^{macro}, \\quad P_{MTL} = P_{VA} + P_{EXPR}

    Parameters
    ----------
    expression, expression_pred : array-like, optional
        Labels 0..7 and predicted labels or (n, 8) scores; F1 is averaged over all
        ``n_classes`` classes, present or not.
    va, va_pred : array-like of shape (n, 2), optional
        Valence (column 0) and arousal (column 1), CCC pooled over all frames.

    Returns
    -------
    dict
        ``abaw_va`` and/or ``abaw_expr``, and ``abaw_mtl`` when both are given.

    References
    ----------
    D. Kollias et al., "ABAW: Valence-Arousal Estimation, Expression Recognition, Action
    Unit Detection & Multi-Task Learning Challenges", CVPR Workshops, 2022.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # CCC: valence perfect (1), arousal constant prediction (0): VA score 0.5
    >>> am.abaw_scores(va=[[0.1, 0.2], [0.5, 0.4], [-0.3, 0.1]],
    ...                va_pred=[[0.1, 0.3], [0.5, 0.3], [-0.3, 0.3]])
    {'abaw_va': 0.5}
    """
    scores: dict[str, float] = {}
    if va is not None:
        values = np.atleast_1d(ccc(va, va_pred))
        if values.shape[0] != 2:
            raise ValueError(f"va must have two columns (valence, arousal); got {values.shape[0]}")
        scores["abaw_va"] = float(values.mean())
    if expression is not None:
        scores["abaw_expr"] = float(f1_score(expression, expression_pred,
                                             labels=np.arange(n_classes)))
    if len(scores) == 2:
        scores["abaw_mtl"] = scores["abaw_va"] + scores["abaw_expr"]
    if not scores:
        raise ValueError("give expression labels and predictions, valence/arousal, or both")
    return scores


def ccc_per_group(y_true: Any, y_pred: Any, groups: Any) -> float | np.ndarray:
    """CCC computed per recording (group), then averaged over recordings (AVEC-style).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
    groups : array-like of shape (n,)
        Recording (video, subject) id of each sample: any hashable ids (integers, strings,
        objects); None or NaN is refused.

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
    t, p, _ = _check_continuous(y_true, y_pred)
    was_1d = t.ndim == 1
    t, p = (t[:, None], p[:, None]) if was_1d else (t, p)
    ids, _ = _group_codes(groups, t.shape[0])
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    bounds = np.r_[starts, sorted_ids.shape[0]]
    per_group = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for lo, hi in itertools.pairwise(bounds):
            rows = order[lo:hi]
            per_group.append(_ccc_from_moments(_moments(t[rows], p[rows])))
    values = np.array(per_group)
    undefined = np.isnan(values)
    if undefined.any():
        _warn_undefined(f"ccc_per_group: CCC is undefined in {int(undefined.any(axis=1).sum())} "
                        "group(s) (both sides constant and equal); they are left out")
    counts = (~undefined).sum(axis=0)
    mean = np.where(counts > 0,
                    np.where(undefined, 0.0, values).sum(axis=0) / np.maximum(counts, 1), np.nan)
    return float(mean[0]) if was_1d else mean
