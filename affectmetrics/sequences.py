"""Time-continuous valence/arousal: CCC over sequences, annotation delay and lag search.

AVEC and ABAW score continuous affect predicted frame by frame over recordings
(sequences). Two numbers are reported under the name "CCC" and they differ:

* the **concatenated** CCC pools every frame of every sequence (ABAW; :func:`affectmetrics.ccc`);
* the **mean of sequences** CCC scores each sequence on its own and averages them (AVEC
  2016-2019 style; :func:`affectmetrics.ccc_per_group`).

Human annotators react late, so the truth at frame ``i + d`` belongs with the prediction at
frame ``i``; :func:`apply_delay` pairs them within each sequence, and :func:`lag_search`
reports the CCC for every delay tried. Frames are taken in the order they appear in the
arrays within each sequence; sequences may be interleaved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import _check_continuous_keeping_nan, _group_codes
from .bootstrap import BootstrapResult, bootstrap_ci
from .continuous import ccc
from .presets import _ccc_by_group, _mean_over_groups, ccc_per_group

__all__ = ["LagSearch", "SequenceScores", "apply_delay", "lag_search", "sequence_ccc"]

_POOLINGS = ("concatenated", "mean_of_sequences")


def _check_sequences(y_true: Any, y_pred: Any, sequences: Any, nan_policy: str = "raise"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Validated (n, k) float arrays, (n,) sequence ids and their codes 0..S-1 (the core's
    one encoding of group ids); whether the input was 1-D.

    Under ``nan_policy="omit"`` the NaN frames stay (every check but NaN's is made): they
    hold their sequence positions, so that dropping them cannot shift the later frames;
    :func:`_pairs` drops the pairs they are in once truth and prediction are paired.
    """
    t, p, _ = _check_continuous_keeping_nan(y_true, y_pred, nan_policy)
    was_1d = t.ndim == 1
    t, p = (t[:, None], p[:, None]) if was_1d else (t, p)
    codes, _ = _group_codes(sequences, t.shape[0], "sequences")
    ids = sequences if isinstance(sequences, np.ndarray) else np.asarray(sequences)
    return t.astype(np.float64), p.astype(np.float64), ids, codes, was_1d


def _pairs(t: np.ndarray, p: np.ndarray, rows: tuple[np.ndarray, np.ndarray], delay: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``(truth rows, prediction rows)`` without the pairs that have a NaN (only
    present under ``nan_policy="omit"``); refused when no pair is left."""
    rows_t, rows_p = rows
    with np.errstate(invalid="ignore"):
        complete = ~(np.isnan(t[rows_t]).any(axis=1) | np.isnan(p[rows_p]).any(axis=1))
    if not complete.all():
        if not complete.any():
            raise ValueError(f"every pair of frames left by delay={delay} has a NaN; nothing "
                             "is left to score after nan_policy='omit'")
        rows_t, rows_p = rows_t[complete], rows_p[complete]
    return rows_t, rows_p


def _check_delay(delay: Any) -> int:
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)):
        raise TypeError(f"delay must be an integer number of frames, got {delay!r}")
    return int(delay)


class _Frames:
    """Each frame's sequence position, sorted once; pairs frames for any delay."""

    def __init__(self, codes: np.ndarray) -> None:
        self.order = np.argsort(codes, kind="stable")  # each sequence's frames in time order
        ordered = codes[self.order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        lengths = np.diff(np.r_[starts, self.order.shape[0]])
        self.position = np.arange(self.order.shape[0]) - np.repeat(starts, lengths)
        self.length = np.repeat(lengths, lengths)

    def rows(self, delay: int) -> tuple[np.ndarray, np.ndarray]:
        """Row indices (truth rows, prediction rows) pairing truth i + delay with prediction
        i; refused when no frame is left."""
        # no sequence is longer than n frames: a larger shift (up to any Python int) acts
        # as n, and stays comparable with the int64 positions
        shift = min(abs(delay), self.order.shape[0])
        late = self.order[self.position >= shift]  # frames with a partner `shift` earlier
        early = self.order[self.position < self.length - shift]
        if late.shape[0] == 0:
            raise ValueError(f"delay={delay} leaves no frame: the longest sequence has "
                             f"{int(self.length.max())} frames")
        return (late, early) if delay >= 0 else (early, late)


def apply_delay(y_true: Any, y_pred: Any, sequences: Any, delay: int, *,
                nan_policy: str = "raise") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair the truth at frame ``i + delay`` with the prediction at frame ``i`` per sequence.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Frame-wise truth and predictions.
    sequences : array-like of shape (n,)
        The sequence (recording, video) id of each frame; within a sequence, frames are in
        time order.
    delay : int
        Annotation delay in frames. With ``delay = d > 0`` each sequence loses its **first
        d truth frames and last d prediction frames** (the annotation lags the signal, so
        the prediction at frame i is compared with the truth at frame i + d). A negative
        delay drops the last |d| truth frames and the first |d| prediction frames. A
        sequence of at most |d| frames drops out.
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops every aligned pair with a NaN in its truth or its prediction
        frame, after the pairing (dropping the NaN frames before it would pair frames that
        are not ``delay`` apart).

    Returns
    -------
    y_true, y_pred, sequences : ndarray
        The aligned pairs, sequences in sorted id order, frames in time order.

    Raises
    ------
    ValueError
        Mismatched lengths, a delay that leaves no frame, or NaN under
        ``nan_policy="raise"`` (or in every pair under ``"omit"``).

    Examples
    --------
    >>> import affectmetrics as am
    >>> t, p, s = am.apply_delay([0, 1, 2, 3], [10, 11, 12, 13], [7, 7, 7, 7], 1)
    >>> # truth frames 1..3 with prediction frames 0..2
    >>> t.tolist(), p.tolist()
    ([1.0, 2.0, 3.0], [10.0, 11.0, 12.0])
    """
    delay = _check_delay(delay)
    t, p, ids, codes, was_1d = _check_sequences(y_true, y_pred, sequences, nan_policy)
    rows_t, rows_p = _pairs(t, p, _Frames(codes).rows(delay), delay)
    t, p = t[rows_t], p[rows_p]
    return (t[:, 0] if was_1d else t), (p[:, 0] if was_1d else p), ids[rows_t]


@dataclass(frozen=True)
class SequenceScores:
    """Concatenated and mean-of-sequences CCC side by side.

    Attributes
    ----------
    concatenated : float or ndarray of shape (k,)
        CCC over every frame pooled (ABAW).
    mean_of_sequences : float or ndarray of shape (k,)
        Mean over sequences of each sequence's CCC (AVEC); sequences where it is undefined
        are left out.
    per_sequence : ndarray of shape (S,) or (S, k)
        Each sequence's CCC, in the order of :attr:`sequences`.
    sequences : ndarray of shape (S,)
        The sequence ids (sorted).
    delay : int
    n_frames : int
        Frames scored after the delay.
    intervals : BootstrapResult, optional
        With ``ci``: intervals of the concatenated CCC (key ``ccc``, or ``ccc_0``, ``ccc_1``,
        ... for several columns) from resampling whole sequences.
    """

    concatenated: float | np.ndarray
    mean_of_sequences: float | np.ndarray
    per_sequence: np.ndarray
    sequences: np.ndarray
    delay: int
    n_frames: int
    intervals: BootstrapResult | None = None


def sequence_ccc(
    y_true: Any,
    y_pred: Any,
    sequences: Any,
    *,
    delay: int = 0,
    ci: float | None = None,
    n_resamples: int = 1000,
    seed: Any = 0,
    nan_policy: str = "raise",
) -> SequenceScores:
    """Concatenated and mean-of-sequences CCC, after an optional annotation delay.

    .. math::

        \\mathrm{CCC}_{concat} = \\mathrm{CCC}\\big(\\cup_s (x^{(s)}, y^{(s)})\\big), \\qquad
        \\mathrm{CCC}_{mean} = \\frac{1}{S} \\sum_{s=1}^{S} \\mathrm{CCC}(x^{(s)}, y^{(s)})

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
        Frame-wise truth and predictions (e.g. valence and arousal columns).
    sequences : array-like of shape (n,)
        Sequence id of each frame.
    delay : int, default 0
        Annotation delay in frames, applied as in :func:`apply_delay`.
    ci : float, optional
        Confidence level of bootstrap intervals for the concatenated CCC, resampling whole
        sequences (frames of one recording are not independent).
    n_resamples : int, default 1000
    seed : int, optional
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops the aligned pairs with a NaN, as in :func:`apply_delay`.

    Returns
    -------
    SequenceScores

    Warns
    -----
    UndefinedMetricWarning
        From :func:`affectmetrics.ccc` (pooled CCC undefined) and
        :func:`affectmetrics.ccc_per_group` (sequences left out of the mean).

    Notes
    -----
    The two numbers answer different questions: a model that tracks each recording's mean
    level but none of its dynamics scores well concatenated and near 0 per sequence.
    Short sequences make the per-sequence CCC noisy; papers should say which one they
    report (AVEC 2016-2019 averaged per sequence in places, ABAW pools all frames).

    References
    ----------
    F. Ringeval et al., "AVEC 2019 workshop and challenge: state-of-mind, detecting
    depression with AI, and cross-cultural affect recognition", ACM AVEC Workshop, 2019.
    D. Kollias, "ABAW: Valence-Arousal Estimation, Expression Recognition, Action Unit
    Detection & Multi-Task Learning Challenges", CVPR Workshops, 2022.

    Examples
    --------
    >>> import affectmetrics as am
    >>> # each sequence's level is right but its dynamics are reversed
    >>> truth = [0, 1, 2, 10, 11, 12]
    >>> pred = [2, 1, 0, 12, 11, 10]
    >>> scores = am.sequence_ccc(truth, pred, [1, 1, 1, 2, 2, 2])
    >>> # pooled: s_xy = 25 - 2/3 (of s_x^2 = 25 + 2/3): CCC = 73/77; per sequence: -1
    >>> round(scores.concatenated, 6), scores.mean_of_sequences
    (0.948052, -1.0)
    """
    t, p, ids = apply_delay(y_true, y_pred, sequences, delay, nan_policy=nan_policy)
    concatenated = ccc(t, p)
    t2, p2 = (t[:, None], p[:, None]) if t.ndim == 1 else (t, p)
    codes, n_sequences = _group_codes(ids, t2.shape[0], "sequences")
    names = ids[np.unique(codes, return_index=True)[1]]
    # ccc_per_group's two steps, once (the per-sequence values are returned too)
    per_sequence = _ccc_by_group(t2, p2, codes)
    mean = _mean_over_groups(per_sequence)
    mean = float(mean[0]) if t.ndim == 1 else mean
    intervals = None
    if ci is not None:
        if n_sequences < 2:
            raise ValueError(f"ci resamples whole sequences and needs at least two; after "
                             f"delay={delay} there is {n_sequences}")
        output_names = ("",) if t.ndim == 1 else tuple(str(j) for j in range(t2.shape[1]))
        intervals = bootstrap_ci(va=t, va_pred=p, output_names=output_names,
                                 confidence_level=ci, n_resamples=n_resamples, seed=seed,
                                 groups=ids)
    return SequenceScores(concatenated, mean,
                          per_sequence[:, 0] if t.ndim == 1 else per_sequence, names,
                          _check_delay(delay), int(t.shape[0]), intervals)


@dataclass(frozen=True)
class LagSearch:
    """CCC for each annotation delay tried.

    Attributes
    ----------
    delays : ndarray of shape (D,)
    ccc : ndarray of shape (D,) or (D, k)
        The CCC (pooled as asked) at each delay.
    best_delay : int or ndarray of shape (k,)
        The delay with the highest CCC (the first on ties), per column.
    best_ccc : float or ndarray of shape (k,)
    pooling : str
    """

    delays: np.ndarray
    ccc: np.ndarray
    best_delay: int | np.ndarray
    best_ccc: float | np.ndarray
    pooling: str


def lag_search(
    y_true: Any,
    y_pred: Any,
    sequences: Any,
    delays: Any = range(0, 101, 5),
    *,
    pooling: str = "concatenated",
    nan_policy: str = "raise",
) -> LagSearch:
    """The CCC for every annotation delay in ``delays`` (frames), and the best one.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,) or (n, k)
    sequences : array-like of shape (n,)
    delays : iterable of int, default ``range(0, 101, 5)``
        Delays to try, as in :func:`apply_delay` (AVEC papers report 2-4 s, i.e. tens of
        frames at 25-50 Hz).
    pooling : {"concatenated", "mean_of_sequences"}, default "concatenated"
    nan_policy : {"raise", "omit"}, default "raise"
        ``"omit"`` drops, at each delay, the aligned pairs with a NaN (:func:`apply_delay`).

    Returns
    -------
    LagSearch

    Notes
    -----
    Choosing the delay on the test set is optimistic: pick it on development data and
    report the test CCC at that delay.

    Examples
    --------
    >>> import numpy as np
    >>> import affectmetrics as am
    >>> signal = np.sin(np.arange(200) / 7.0)
    >>> truth = np.r_[np.zeros(3), signal[:-3]]  # annotations 3 frames late
    >>> result = am.lag_search(truth, signal, np.zeros(200), delays=range(6))
    >>> int(result.best_delay), round(float(result.best_ccc), 6)
    (3, 1.0)
    """
    if pooling not in _POOLINGS:
        raise ValueError(f"pooling must be one of {_POOLINGS}, got {pooling!r}")
    if isinstance(delays, (str, bytes)) or not isinstance(delays, Iterable) or (
            isinstance(delays, np.ndarray) and delays.ndim != 1):
        raise TypeError(f"delays must be a sequence of integer delays (frames), such as "
                        f"range(0, 51, 5), got {delays!r}")
    tried = [_check_delay(d) for d in delays]
    if not tried:
        raise ValueError("delays is empty; give at least one delay")
    t, p, ids, codes, was_1d = _check_sequences(y_true, y_pred, sequences, nan_policy)
    final = ccc if pooling == "concatenated" else ccc_per_group
    frames = _Frames(codes)
    values = []
    for delay in tried:
        rows_t, rows_p = _pairs(t, p, frames.rows(delay), delay)
        args = (t[rows_t], p[rows_p]) + ((ids[rows_t],) if final is ccc_per_group else ())
        values.append(np.atleast_1d(final(*args)))
    table = np.stack(values)
    filled = np.where(np.isnan(table), -np.inf, table)
    best = np.argmax(filled, axis=0)
    tried = np.array(tried, dtype=np.int64)  # each left frames, so each is below n
    best_delay = tried[best]
    best_ccc = table[best, np.arange(table.shape[1])]
    if was_1d:
        return LagSearch(tried, table[:, 0], int(best_delay[0]), float(best_ccc[0]), pooling)
    return LagSearch(tried, table, best_delay, best_ccc, pooling)
