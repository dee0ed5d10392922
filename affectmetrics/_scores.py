"""What a score matrix is: the one rule that every path applies before ranking scores.

One-vs-rest ROC AUC and average precision rank each class's column across samples. Raw
logits do not rank like the probabilities they stand for, because the softmax divides every
row by its own normaliser: with logits ``[2, 0]`` and ``[3, 2]`` class 0 ranks the second
sample first (3 > 2), with their probabilities ``[0.881, 0.119]`` and ``[0.731, 0.269]`` it
ranks the first sample first. So that one model gets one AUC whether it is logged as logits
or as probabilities, and whatever the batches, each row of an ``(n, C)`` score matrix is
turned into a probability vector by a rule that looks at that row alone
(``scores="auto"``, the default):

* a row whose entries all lie in [0, 1] and sum to 1 within ``_SUM_TOLERANCE`` (0.01, which
  admits probabilities rounded to 3 decimals for up to 20 classes) is a probability vector
  and is kept as it is (scikit-learn's ``roc_auc_score`` and ``average_precision_score`` on
  probabilities);
* any other row is a row of logits and is replaced by its softmax (torchmetrics' multiclass
  AUROC and average precision on logits).

``scores="probabilities"`` requires every row to be a probability vector (else a
``ValueError`` naming the row), ``scores="logits"`` applies the softmax to every row, and
``scores="raw"`` ranks the columns as given (scores of another kind, such as an SVM's
decision values, or independent per-class sigmoid outputs).

A 1-D score of the positive class (two classes) is ranked as given under ``"auto"``,
``"logits"`` and ``"raw"``: the sigmoid is strictly increasing, so a logit ranks exactly as
its probability does. (Applying the sigmoid in floating point would not: every logit above
about 37 becomes 1.0, and logits 40 and 50 would tie.) ``"probabilities"`` requires values
in [0, 1]. Only the functions take 1-D scores; the accumulators, which may bin, take
``(n, C)`` matrices.

The arithmetic below is written against the Python array API standard: ``xp`` is the
array namespace (``numpy``, or ``array_api_compat.array_namespace(tensor)`` for torch, CuPy,
JAX), and nothing synchronises with the host, so the rule can run on a device; pass float64
arrays, since the row sums decide and must be judged alike everywhere. The NumPy entry point
:func:`_apply_score_rule` (used by every path, the torch adapter included, which reads its
batches on the CPU) judges in float64 whatever the input dtype. The softmax is shifted by
the row maximum (no overflow for any finite logit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__: list[str] = []

#: The values of the ``scores=`` keyword.
_SCORE_KINDS = ("auto", "probabilities", "logits", "raw")
#: A row is a probability vector when its entries lie in [0, 1] and |sum - 1| <= this.
_SUM_TOLERANCE = 0.01


def _check_score_kind(kind: Any) -> str:
    """The ``scores=`` keyword, checked: one of :data:`_SCORE_KINDS`."""
    if not isinstance(kind, str) or kind not in _SCORE_KINDS:
        raise ValueError(f"scores must be one of {_SCORE_KINDS}, got {kind!r}")
    return kind


def _softmax(xp: Any, x: Any) -> Any:
    """Row-wise softmax of an (n, C) array, shifted by each row's maximum."""
    e = xp.exp(x - xp.max(x, axis=1, keepdims=True))
    return e / xp.sum(e, axis=1, keepdims=True)


def _probability_rows(xp: Any, x: Any) -> Any:
    """Boolean (n,): which rows of an (n, C) array are probability vectors.

    The sum is taken in ``x``'s dtype: pass float64 (as :func:`_apply_score_rule` does), so
    that a float16 or float32 row near the tolerance is judged alike in every batch.
    """
    inside = xp.all((x >= 0) & (x <= 1), axis=1)
    return inside & (xp.abs(xp.sum(x, axis=1) - 1.0) <= _SUM_TOLERANCE)


def _normalised_scores(xp: Any, scores: Any, kind: str) -> Any:
    """The scores to rank under the rule ``kind`` (array API; no host synchronisation).

    Parameters
    ----------
    xp : namespace
        The array namespace of ``scores``.
    scores : array of shape (n, C) or (n,)
        Finite scores in a floating dtype (the caller chooses float64 where it can).
    kind : {"auto", "probabilities", "logits", "raw"}

    Returns
    -------
    array of the shape of ``scores``
        For ``"probabilities"`` the scores as given: check them with
        :func:`_probability_rows` first.

    Examples
    --------
    >>> import numpy as np
    >>> # logits [0, ln 3] become [1/4, 3/4]; the probability row [0.1, 0.9] is kept
    >>> rows = np.array([[0.0, np.log(3.0)], [0.1, 0.9]])
    >>> _normalised_scores(np, rows, "auto").round(12).tolist()
    [[0.25, 0.75], [0.1, 0.9]]
    """
    if kind in ("raw", "probabilities"):
        return scores
    if scores.ndim == 1:
        return scores  # a logit ranks as its probability; see the module docstring
    if kind == "logits":
        return _softmax(xp, scores)
    keep = _probability_rows(xp, scores)
    return xp.where(keep[:, None], scores, _softmax(xp, scores))


def _apply_score_rule(scores: np.ndarray, kind: str, name: str = "y_score",
                      rows: np.ndarray | None = None) -> np.ndarray:
    """NumPy entry point: :func:`_normalised_scores` in float64, with checks and fast paths.

    ``rows`` (the caller's row number of each row of ``scores`` when rows were omitted, or
    None) is used only to name the caller's row in an error.

    Raises
    ------
    ValueError
        Under ``kind="probabilities"``, naming ``name`` and the first row that is not a
        probability vector (or, for 1-D scores, the first value outside [0, 1]).
    """
    if kind == "raw" or scores.shape[0] == 0:
        return scores
    # Every decision is taken on the float64 values, whatever the input dtype: a float16 or
    # float32 row whose sum lies near 1 +- _SUM_TOLERANCE must be judged alike in the fast
    # path (a batch of probabilities) and in the per-row path (a mixed batch), else its
    # treatment, and the AUC, would depend on the other rows of its batch.
    if kind == "probabilities":
        if scores.ndim == 1:
            bad = (scores < 0) | (scores > 1)
            if bad.any():
                i = int(np.argmax(bad))
                where = i if rows is None else int(rows[i])
                raise ValueError(
                    f"{name} has the value {float(scores[i])!r} at position {where}, outside "
                    "[0, 1]; "
                    "scores='probabilities' needs probabilities (pass scores='logits' or "
                    "'auto' for logits)"
                )
            return scores
        bad = ~_probability_rows(np, scores.astype(np.float64, copy=False))
        if bad.any():
            i = int(np.argmax(bad))
            where = i if rows is None else int(rows[i])
            raise ValueError(
                f"{name} row {where} is not a probability vector (entries in [0, 1] summing to 1 "
                f"within {_SUM_TOLERANCE}; its sum is {float(np.sum(scores[i])):.6g}); "
                "scores='probabilities' needs one per row (pass scores='logits' or 'auto' "
                "for logits)"
            )
        return scores
    if scores.ndim == 1:
        return scores
    if kind == "auto" and scores.min() >= 0 and scores.max() <= 1 and bool(
            np.all(np.abs(scores.sum(axis=1, dtype=np.float64) - 1.0) <= _SUM_TOLERANCE)):
        return scores  # every row is already a probability vector: rank as given
    with np.errstate(over="ignore", under="ignore"):
        return _normalised_scores(np, scores.astype(np.float64, copy=False), kind)
