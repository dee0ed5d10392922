"""affectmetrics.annotations as paths: a ratings matrix of the two coders must reproduce the
two-coder krippendorff_alpha (one final step), directly and as a bootstrap estimate."""

from __future__ import annotations

from typing import Any

import numpy as np

import affectmetrics as am
from affectmetrics import annotations

from .registry import Case, path


def _two_coders(case: Case) -> bool:
    # A ratings matrix cannot express: a score matrix as the second coder (the function's
    # arg-max input); labels= (the class set: a ratings matrix takes the values it holds);
    # nan_policy="raise" on data with NaN (NaN is a missing rating by definition there).
    pred = np.asarray(case.y_pred)
    if pred.ndim != 1 or "labels" in case.kwargs:
        return False
    has_nan = any(np.asarray(a).dtype.kind == "f" and np.isnan(np.asarray(a, float)).any()
                  for a in (case.y_true, case.y_pred))
    return not has_nan or case.kwargs.get("nan_policy") == "omit"


def _matrix(case: Case) -> np.ndarray:
    return np.column_stack([np.asarray(case.y_true), np.asarray(case.y_pred)])


@path("annotations-matrix", ["krippendorff_alpha"], accepts=_two_coders)
def ratings_matrix(case: Case) -> Any:
    return annotations.krippendorff_alpha(_matrix(case), level=case.kwargs.get("level",
                                                                               "nominal"))


@path("annotations-bootstrap", ["krippendorff_alpha"], accepts=_two_coders)
def bootstrap_estimate(case: Case) -> Any:
    result = annotations.bootstrap_agreement(
        _matrix(case), level=case.kwargs.get("level", "nominal"), n_resamples=2, seed=0)
    return result.estimate["krippendorff_alpha"]


def _two_raters(case: Case) -> bool:
    # am.icc on 2-D input scores each column separately; a ratings matrix of two raters
    # expresses the 1-D cases only.
    return np.ndim(case.y_true) == 1 and np.ndim(case.y_pred) == 1


def _icc_options(case: Case) -> dict:
    return {"form": case.kwargs.get("form", "3,1"),
            "nan_policy": case.kwargs.get("nan_policy", "raise")}


# am.icc (truth against prediction, from streaming moments) comes from branch "protocols";
# where it exists, the ANOVA on the (n, 2) ratings matrix must give its value and warnings.
if callable(getattr(am, "icc", None)):

    @path("annotations-matrix", ["icc"], accepts=_two_raters, rtol=1e-9)
    def icc_ratings_matrix(case: Case) -> Any:
        return annotations.icc(_matrix(case), **_icc_options(case)).value

    @path("annotations-bootstrap", ["icc"], accepts=_two_raters, rtol=1e-9)
    def icc_bootstrap_estimate(case: Case) -> Any:
        result = annotations.bootstrap_agreement(_matrix(case), metric="icc", n_resamples=2,
                                                 seed=0, **_icc_options(case))
        return result.estimate["icc"]
