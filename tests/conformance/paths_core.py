"""The core's paths: the function itself, accumulators, bootstrap, paired comparison,
report and Dask, each run on every row it can express."""

from __future__ import annotations

from typing import Any

import affectmetrics as am

from .registry import Case, path

CONTINUOUS = ("ccc", "pearson", "rmse", "sagr")
CLASSIFICATION = ("accuracy", "f1_score", "cohen_kappa", "krippendorff_alpha")
RANKING = ("roc_auc", "pr_auc")
ALL_METRICS = CONTINUOUS + CLASSIFICATION + RANKING


@path("function", ALL_METRICS)
def function(case: Case) -> Any:
    """The public function itself: the baseline every other path is compared with."""
    return getattr(am, case.metric)(case.y_true, case.y_pred, **case.kwargs)
