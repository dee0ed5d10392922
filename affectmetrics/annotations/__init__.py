"""Annotator agreement on a ratings matrix (n_items, n_raters), NaN for a missing rating.

Dataset papers report how well their annotators agree before anyone trains on the labels:
Krippendorff's alpha (any number of raters, missing ratings, four levels of measurement),
the intraclass correlations of Shrout & Fleiss (1979), Fleiss' kappa, and, for continuous
dimensions, a gold standard built with the evaluator weighted estimator (Grimm & Kroschel
2005). Every function takes items in rows and raters in columns, validated by one path
(``_validation._check_ratings``); :func:`bootstrap_agreement` gives intervals over items.

The two-coder alpha of a model against the truth, :func:`affectmetrics.krippendorff_alpha`,
and :func:`krippendorff_alpha` here share the difference functions and the last line
(``_alpha_from_sums``), so they agree on two complete columns.
"""

from .alpha import krippendorff_alpha
from .fleiss import fleiss_kappa, rating_counts
from .gold_standard import evaluator_weighted_estimator
from .icc import ICC_FORMS, ICCResult, icc, icc_table
from .intervals import bootstrap_agreement

__all__ = [
    "ICC_FORMS",
    "ICCResult",
    "bootstrap_agreement",
    "evaluator_weighted_estimator",
    "fleiss_kappa",
    "icc",
    "icc_table",
    "krippendorff_alpha",
    "rating_counts",
]
