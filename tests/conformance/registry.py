"""The conformance registry: edge cases (rows) and the paths that must reproduce them.

A *case* is one call of a public metric function ``am.<metric>(y_true, y_pred, **kwargs)``.
A *path* is another way to compute the same metric (an accumulator, the bootstrap estimate,
a report, the CLI, Dask, an adapter): a function ``run(case)`` returning the value in the
function's shape. ``tests/test_conformance.py`` runs every case through every path that
accepts it and asserts the same value (nan == nan, ``rtol``), or the same exception class,
and the same :class:`~affectmetrics.UndefinedMetricWarning` (compared by the metric name each
message starts with).

Adding a metric or a path adds rows here, not a test file::

    # tests/conformance/cases_continuous.py
    add_cases(Case("pearson/constant-pred", "pearson", [1, 2, 3], [5, 5, 5], expected=nan))

    # tests/conformance/paths_core.py
    @path("accumulator", ["ccc", "pearson", "rmse", "sagr"], single_metric=False)
    def run(case): ...

The same path name may be registered for different metrics from different files: the
registry is keyed by ``(path, metric)``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CASES", "PATHS", "Case", "Path", "add_cases", "case_seed", "path"]


@dataclass(frozen=True)
class Case:
    """One edge case: a call of ``am.<metric>(y_true, y_pred, **kwargs)``.

    Attributes
    ----------
    id : str
        Unique, ``"<metric>/<what>"``, e.g. ``"pearson/constant-pred-col0-2d"``.
    metric : str
        The public function's name in ``affectmetrics``.
    y_true, y_pred : Any
        Labels, predictions or scores, as the function takes them.
    kwargs : dict
        The function's keyword options (``labels=``, ``nan_policy=``, ``average=``...).
    expected : Any
        The hand-checked right value where known (a float, an array, or an exception class
        the function must raise); checked against the function itself.
    """

    id: str
    metric: str
    y_true: Any
    y_pred: Any
    kwargs: dict = field(default_factory=dict)
    expected: Any = None

    def __post_init__(self) -> None:
        if not self.id.startswith(f"{self.metric}/"):
            raise ValueError(f"case id {self.id!r} must start with {self.metric + '/'!r}")


@dataclass(frozen=True)
class Path:
    """One way to compute ``metric``, registered by :func:`path`."""

    name: str
    metric: str
    run: Callable[[Case], Any]
    accepts: Callable[[Case], bool] | None = None
    rtol: float = 1e-12
    single_metric: bool = True

    def takes(self, case: Case) -> bool:
        return case.metric == self.metric and (self.accepts is None or self.accepts(case))


#: Every case, by id, in registration order.
CASES: dict[str, Case] = {}
#: Every path, by (path name, metric).
PATHS: dict[tuple[str, str], Path] = {}


def add_cases(*cases: Case) -> None:
    """Register rows; ids must be unique across all ``cases_*`` files."""
    for case in cases:
        if not isinstance(case, Case):
            raise TypeError(f"add_cases takes Case objects, got {type(case).__name__}")
        if case.id in CASES:
            raise ValueError(f"duplicate case id {case.id!r}")
        CASES[case.id] = case


def path(
    name: str,
    metrics: Iterable[str],
    *,
    accepts: Callable[[Case], bool] | None = None,
    rtol: float = 1e-12,
    single_metric: bool = True,
) -> Callable[[Callable[[Case], Any]], Callable[[Case], Any]]:
    """Register ``run(case) -> value`` as path ``name`` for each of ``metrics``.

    Parameters
    ----------
    name : str
        The path's name (``"function"``, ``"accumulator"``, ``"torch"``...).
    metrics : iterable of str
        The metrics the path computes.
    accepts : callable, optional
        ``accepts(case)`` is False only where the path cannot express the case at all (say
        why in a comment at the definition), never to hide a disagreement.
    rtol : float, default 1e-12
        Relative tolerance of the value comparison.
    single_metric : bool, default True
        False for paths that compute several metrics at once (an accumulator's
        ``compute()``): only warnings naming ``case.metric`` are compared.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)

    def register(run: Callable[[Case], Any]) -> Callable[[Case], Any]:
        for metric in metrics:
            key = (name, metric)
            if key in PATHS:
                raise ValueError(f"path {name!r} is registered twice for metric {metric!r}")
            PATHS[key] = Path(name, metric, run, accepts, rtol, single_metric)
        return run

    return register


def case_seed(case: Case, salt: str = "") -> int:
    """A stable seed per case (and path), for paths that split or shuffle the data."""
    return zlib.crc32(f"{case.id}|{salt}".encode())

