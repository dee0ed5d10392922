"""Warnings and errors raised by affectmetrics."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["DiagnosticWarning", "UndefinedMetricWarning"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class UndefinedMetricWarning(UserWarning):
    """A metric is mathematically undefined on the given data.

    The metric is returned as ``nan`` and this warning says why (for example a
    constant input for Pearson's r, or a class without positive samples for ROC AUC).
    It is never raised as an error by affectmetrics itself; turn it into one with
    ``warnings.simplefilter("error", UndefinedMetricWarning)`` if you prefer.
    """


def _warn_undefined(message: str) -> None:
    """Issue an UndefinedMetricWarning attributed to the first caller outside affectmetrics."""
    # stacklevel 1 is this function; walk out of the package from its caller (level 2).
    frame = sys._getframe(1)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    warnings.warn(message, UndefinedMetricWarning, stacklevel=level)


class DiagnosticWarning(UserWarning):
    """A report found something suspicious about a model's predictions.

    For example constant predictions, a classifier that predicts only a few of the classes,
    or predictions outside the range of the truth. The same sentence is in the report's
    ``diagnostics``.
    """
