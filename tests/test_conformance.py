"""Every registered path reproduces the function on every edge case of the registry.

Rows live in ``tests/conformance/cases_*.py`` and paths in ``tests/conformance/paths_*.py``
(both imported here, whatever their number); see ``tests/conformance/registry.py``.
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings
from typing import Any

import numpy as np
import pytest
from conformance.registry import CASES, PATHS, Case, Path

import affectmetrics as am

for _module in sorted(info.name for info in pkgutil.iter_modules(
        [str(importlib.import_module("conformance").__path__[0])])):
    if _module.startswith(("cases_", "paths_")):
        importlib.import_module(f"conformance.{_module}")


class _Outcome:
    """What one call gave: a value or an exception class, and the metrics warned about."""

    def __init__(self, call: Any) -> None:
        self.value: Any = None
        self.error: type[BaseException] | None = None
        self.message = ""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.value = call()
            except (ValueError, TypeError) as exc:
                self.error, self.message = type(exc), str(exc)
        self.warned = {_warned_metric(w.message) for w in caught
                       if issubclass(w.category, am.UndefinedMetricWarning)}
        # A raw NumPy warning (overflow, invalid value...) is never part of the contract.
        self.raw = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                    for w in caught if issubclass(w.category, RuntimeWarning)]


def _warned_metric(message: Warning | str) -> str:
    """The metric a warning is about: the first word of its message ("pearson is ...")."""
    return str(message).split(" ", 1)[0].rstrip(":")


def _function(case: Case) -> Any:
    return getattr(am, case.metric)(case.y_true, case.y_pred, **case.kwargs)


def _assert_same_value(got: Any, want: Any, rtol: float, what: str) -> None:
    assert np.shape(got) == np.shape(want), f"{what}: shape {np.shape(got)} != {np.shape(want)}"
    assert isinstance(got, float) == isinstance(want, float), (
        f"{what}: returned {type(got).__name__}, the function {type(want).__name__}")
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                               np.asarray(want, dtype=np.float64), rtol=rtol, atol=0,
                               equal_nan=True, err_msg=what)


def _pairs() -> list[tuple[Case, Path]]:
    return [(case, spec) for case in CASES.values() for spec in PATHS.values()
            if spec.takes(case)]


PAIRS = _pairs()


def test_the_registry_is_not_empty_and_every_case_has_a_path():
    assert CASES and PATHS
    orphans = [case.id for case in CASES.values()
               if not any(spec.takes(case) for spec in PATHS.values())]
    assert not orphans


def test_every_metric_of_the_function_path_has_rows():
    covered = {case.metric for case in CASES.values()}
    assert sorted(spec.metric for spec in PATHS.values()
                  if spec.name == "function" and spec.metric not in covered) == []


def test_every_metric_with_a_path_is_a_public_function():
    names = {spec.metric for spec in PATHS.values()} | {case.metric for case in CASES.values()}
    assert sorted(name for name in names if not callable(getattr(am, name, None))) == []


@pytest.mark.parametrize("case", list(CASES.values()), ids=lambda case: case.id)
def test_the_function_warns_only_about_its_own_metric(case: Case):
    outcome = _Outcome(lambda: _function(case))
    assert outcome.warned <= {case.metric}
    assert outcome.raw == []


@pytest.mark.parametrize("case", [c for c in CASES.values() if c.expected is not None],
                         ids=lambda case: case.id)
def test_the_function_gives_the_expected_value(case: Case):
    outcome = _Outcome(lambda: _function(case))
    if isinstance(case.expected, type) and issubclass(case.expected, BaseException):
        assert outcome.error is case.expected, outcome.value
        return
    assert outcome.error is None, outcome.message
    _assert_same_value(outcome.value, case.expected, 1e-12, case.id)


@pytest.mark.parametrize(("case", "spec"), PAIRS,
                         ids=[f"{case.id}-{spec.name}" for case, spec in PAIRS])
def test_path_reproduces_the_function(case: Case, spec: Path):
    want = _Outcome(lambda: _function(case))
    got = _Outcome(lambda: spec.run(case))
    assert got.error is want.error, (
        f"path {spec.name!r} raised {got.error} ({got.message}); the function raised "
        f"{want.error} ({want.message})")
    if want.error is None:
        _assert_same_value(got.value, want.value, spec.rtol, f"{case.id} via {spec.name}")
    warned_want, warned_got = want.warned, got.warned
    if not spec.single_metric:
        warned_want, warned_got = warned_want & {case.metric}, warned_got & {case.metric}
    assert warned_got == warned_want, (
        f"path {spec.name!r} warned about {sorted(warned_got)}, the function about "
        f"{sorted(warned_want)}")
    assert got.raw == [], f"path {spec.name!r} let raw NumPy warnings through"

