"""Warnings and errors raised by affectmetrics."""

from __future__ import annotations

__all__ = ["UndefinedMetricWarning"]


class UndefinedMetricWarning(UserWarning):
    """A metric is mathematically undefined on the given data.

    The metric is returned as ``nan`` and this warning says why (for example a
    constant input for Pearson's r, or a class without positive samples for ROC AUC).
    It is never raised as an error by affectmetrics itself; turn it into one with
    ``warnings.simplefilter("error", UndefinedMetricWarning)`` if you prefer.
    """
