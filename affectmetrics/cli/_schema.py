"""Which column is what, by name, and the file's values as the evaluation's numeric arrays.

Score columns are matched to class names by name, whatever their order in the file. Class
names come from ``--class-names``, else from the data set of an explicit ``--preset``, else
from the score columns themselves: a known data set's class names in any order and case
(AffectNet's eight or seven, ABAW's eight) are put in its code order, integer suffixes
(``score_0``...) in integer order, any other names stay in file order. Class names are
matched case-insensitively (``happy`` is ``Happy``), in score columns and in string labels
alike; two names that differ only in case are refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .._columns import _casefold_map, _order_is_the_tables, _score_order
from .._scores import _SUM_TOLERANCE
from ..presets import _DATASETS
from ._errors import _CliError, _CliNote
from ._reader import _open_table, _pyarrow, _SlowPath, _Table

__all__: list[str] = []

_T = TypeVar("_T")
_NUMBER = r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$"


@dataclass(frozen=True)
class _Columns:
    """The column options of one command line (each with the flag that sets it)."""

    expression: str = "expression"
    expression_pred: str = "expression_pred"
    score_prefix: str = "score_"
    va: tuple[str, ...] = ("valence", "arousal")
    va_pred: tuple[str, ...] = ("valence_pred", "arousal_pred")
    group: str | None = None
    class_names: tuple[str, ...] | None = None
    dataset: str | None = None
    nan_policy: str = "raise"
    delimiter: str | None = None
    scores: str = "auto"
    au: tuple[str, ...] = ()
    au_pred_suffix: str = "_pred"
    subgroups: tuple[str, ...] = ()


@dataclass
class _Predictions:
    """What one file holds, as :func:`affectmetrics.evaluate`'s keyword arguments."""

    path: Path
    kwargs: dict[str, Any]
    dropped: dict[str, int] = field(default_factory=dict)
    group_ids: np.ndarray | None = None  # the distinct group ids, indexed by the codes


@dataclass
class _Schema:
    """The resolved roles of a file's columns."""

    expression: str | None = None
    expression_pred: str | None = None
    scores: list[str] = field(default_factory=list)
    class_names: tuple[str, ...] | None = None
    va: list[str] = field(default_factory=list)
    va_pred: list[str] = field(default_factory=list)
    group: str | None = None
    output_names: list[str] = field(default_factory=list)  # the flags' names of ``va``
    au: list[str] = field(default_factory=list)
    au_pred: list[str] = field(default_factory=list)
    au_names: list[str] = field(default_factory=list)  # the flags' names of ``au``
    subgroups: list[str] = field(default_factory=list)
    subgroup_names: list[str] = field(default_factory=list)  # the flags' names
    #: The classes are the named score columns in the file's order (no names given).
    file_order: bool = False


_FLAGS = {"expression": "--expression-column", "expression_pred": "--expression-pred-column",
          "va": "--va-columns", "va_pred": "--va-pred-columns", "group": "--group-column",
          "au": "--au-columns", "au_pred": "--au-pred-suffix",
          "subgroups": "--subgroup-columns"}


def _in_file(table: _Table, name: str, flag: str) -> str:
    """The file's column for ``name``: itself, else the one column equal ignoring case.

    Parameters
    ----------
    table : _Table
        The file.
    name : str
        A column name as a flag (or its default) gives it.
    flag : str
        The flag, for the error when two columns match.

    Returns
    -------
    str
        The column's name in the file (``Valence`` for ``valence``), or ``name`` itself
        when the file has no such column.
    """
    if name in table.columns:
        return name
    matches = [c for c in table.columns if c.casefold() == name.casefold()]
    if len(matches) > 1:
        raise _CliError(f"{table.path}: the columns {', '.join(map(repr, matches))} all match "
                        f"{name!r} ({flag}) ignoring case; rename one, or give {flag} the "
                        "exact name")
    return matches[0] if matches else name


def _resolve(table: _Table, cols: _Columns) -> _Schema:
    """Map the file's columns to their roles by name; refuse ambiguous or capturing flags.

    Column names are matched ignoring case, as class names are (``Valence`` is
    ``valence``: the report would otherwise silently lose the part a capitalised header
    holds); the report keeps the flags' names for the outputs."""
    output_names = list(cols.va)
    au_names, subgroup_names = list(cols.au), list(cols.subgroups)
    au_pred = tuple(_in_file(table, f"{c}{cols.au_pred_suffix}", "--au-pred-suffix")
                    for c in cols.au)
    cols = replace(
        cols, expression=_in_file(table, cols.expression, "--expression-column"),
        expression_pred=_in_file(table, cols.expression_pred, "--expression-pred-column"),
        va=tuple(_in_file(table, c, "--va-columns") for c in cols.va),
        va_pred=tuple(_in_file(table, c, "--va-pred-columns") for c in cols.va_pred),
        group=None if cols.group is None else _in_file(table, cols.group, "--group-column"),
        au=tuple(_in_file(table, c, "--au-columns") for c in cols.au),
        subgroups=tuple(_in_file(table, c, "--subgroup-columns") for c in cols.subgroups))
    header = table.columns
    roles: dict[str, str] = {}
    for key, names in (("expression", [cols.expression]),
                       ("expression_pred", [cols.expression_pred]), ("va", list(cols.va)),
                       ("va_pred", list(cols.va_pred)),
                       ("group", [cols.group] if cols.group else []),
                       ("au", list(cols.au)), ("au_pred", list(au_pred)),
                       ("subgroups", list(cols.subgroups))):
        for name in names:
            if name in roles and roles[name] != _FLAGS[key]:
                raise _CliError(f"{roles[name]} and {_FLAGS[key]} both name the column {name!r}")
            roles[name] = _FLAGS[key]
    if len(cols.va) != len(cols.va_pred):
        raise _CliError(f"--va-columns names {len(cols.va)} column(s) but --va-pred-columns "
                        f"{len(cols.va_pred)}")
    prefix = cols.score_prefix

    def is_score(column: str) -> bool:
        return column[:len(prefix)].casefold() == prefix.casefold() and len(column) > len(prefix)

    captured = [c for c in header if c in roles and is_score(c)]
    if captured:
        raise _CliError(
            f"--score-prefix {prefix!r} would read the column(s) "
            f"{', '.join(map(repr, captured))} as class scores; give the prefix the score "
            "columns share (e.g. score_)")
    schema = _Schema()
    names = cols.class_names
    source = "--class-names"
    if names is None and cols.dataset is not None:
        names, source = _DATASETS[cols.dataset].class_names, f"--preset {cols.dataset}"
    if cols.expression in header:
        schema.expression = cols.expression
        scores = [c for c in header if is_score(c)]
        if scores:
            schema.scores, schema.class_names = _score_order(str(table.path), scores, prefix,
                                                             names, source)
            schema.file_order = _order_is_the_tables(scores, prefix, names)
        elif cols.expression_pred in header:
            schema.expression_pred = cols.expression_pred
            schema.class_names = names
        else:
            raise _CliError(f"{table.path}: has {cols.expression!r} but no predictions: no "
                            f"{prefix}<class> columns and no {cols.expression_pred!r}")
        if schema.class_names is not None:
            _casefold_map(schema.class_names, "class names")
    if any(c in header for c in cols.va):
        missing = [c for c in (*cols.va, *cols.va_pred) if c not in header]
        if missing:
            raise _CliError(f"{table.path}: missing column(s) {', '.join(missing)}")
        schema.va, schema.va_pred = list(cols.va), list(cols.va_pred)
        schema.output_names = output_names
    if cols.au:
        missing = [c for c in (*cols.au, *au_pred) if c not in header]
        if missing:
            raise _CliError(f"{table.path}: missing column(s) {', '.join(missing)} "
                            "(--au-columns, --au-pred-suffix)")
        schema.au, schema.au_pred, schema.au_names = list(cols.au), list(au_pred), au_names
    if schema.expression is None and not schema.va and not schema.au:
        raise _CliError(
            f"{table.path}: found neither {cols.expression!r} nor {', '.join(cols.va)} among "
            f"the columns {', '.join(header)}; see --help for the expected columns")
    if cols.group is not None:
        if cols.group not in header:
            raise _CliError(f"{table.path}: no column {cols.group!r} (--group-column)")
        schema.group = cols.group
    missing = [c for c in cols.subgroups if c not in header]
    if missing:
        raise _CliError(f"{table.path}: no column(s) {', '.join(map(repr, missing))} "
                        "(--subgroup-columns)")
    schema.subgroups, schema.subgroup_names = list(cols.subgroups), subgroup_names
    return schema


def _clean(arr: Any) -> Any:
    """Strings trimmed, empty strings as nulls."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _first(mask: Any) -> int:
    import pyarrow.compute as pc

    return int(pc.index(mask, True).as_py())


def _numbers(table: _Table, first: int, name: str, arr: Any, hint: str = "") -> np.ndarray:
    """A column as float64 (empty cells NaN); a cell that is no number names its line."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        text = _clean(arr)
        try:
            arr = pc.cast(text, pa.float64())
        except pa.ArrowInvalid:
            ok = pc.match_substring_regex(text, _NUMBER, ignore_case=True)
            i = _first(pc.invert(pc.fill_null(ok, True)))
            raise _CliError(f"{table.where(first, i)}: column {name!r}: "
                            f"{text[i].as_py()!r} is not a number{hint}") from None
    elif pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type) or \
            pa.types.is_boolean(arr.type) or pa.types.is_decimal(arr.type):
        arr = pc.cast(arr, pa.float64())
    else:
        raise _CliError(f"{table.path}: column {name!r} holds {arr.type}, not numbers")
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _labels(table: _Table, first: int, name: str, arr: Any,
            names: tuple[str, ...] | None) -> np.ndarray:
    """Labels as float64 codes: numbers as they are, class names (any case) by position."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    if names is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        hint = "; give --class-names to read class names" if names is None else ""
        return _numbers(table, first, name, arr, hint)
    text = _clean(arr)
    is_number = pc.fill_null(pc.match_substring_regex(text, _NUMBER, ignore_case=True), False)
    numbers = pc.cast(pc.if_else(is_number, text, pa.scalar(None, pa.string())), pa.float64())
    folded = pa.array([n.casefold() for n in names])
    codes = pc.index_in(pc.utf8_lower(text), value_set=folded)
    unknown = pc.and_(pc.and_(pc.invert(is_number), pc.is_null(codes)), pc.is_valid(text))
    if pc.any(unknown).as_py():
        i = _first(unknown)
        raise _CliError(f"{table.where(first, i)}: column {name!r}: {text[i].as_py()!r} is "
                        f"neither a number nor a class name ({', '.join(names)})")
    values = pc.if_else(is_number, numbers, pc.cast(codes, pa.float64()))
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


def _check_codes(table: _Table, first: int, name: str, codes: np.ndarray, n_classes: int,
                 keep: np.ndarray) -> None:
    bad = keep & ~np.isnan(codes) & ((codes != np.round(codes)) | (codes < 0)
                                     | (codes >= n_classes))
    if bad.any():
        i = int(np.argmax(bad))
        raise _CliError(f"{table.where(first, i)}: column {name!r}: {codes[i]:g} is not a class "
                        f"code 0..{n_classes - 1}")


def _check_binary(table: _Table, first: int, name: str, values: np.ndarray,
                  keep: np.ndarray) -> None:
    """An AU truth cell that is neither 0 nor 1 (nor empty) names its line and column."""
    bad = keep & ~np.isnan(values) & (values != 0) & (values != 1)
    if bad.any():
        i = int(np.argmax(bad))
        raise _CliError(f"{table.where(first, i)}: column {name!r}: {f'{values[i]:g}'!r} is "
                        "not 0/1")


def _ids(table: _Table, first: int, name: str, ids: Any, keep: np.ndarray, flag: str) -> Any:
    """A batch's id column as trimmed text, kept rows only; an empty cell names its line.

    Parameters
    ----------
    table : _Table
        The file.
    first : int
        The batch's first line (CSV) or row (Parquet), for errors.
    name : str
        The column.
    ids : pyarrow.Array
        The batch's cells, as read.
    keep : ndarray of bool, shape (n,)
        The rows scored.
    flag : str
        The flag that names the column, for the error.

    Returns
    -------
    pyarrow.Array
        The kept rows' ids, as text.
    """
    pa = _pyarrow()
    import pyarrow.compute as pc

    if not pa.types.is_string(ids.type):
        ids = pc.cast(ids, pa.string())
    ids = _clean(ids).filter(pa.array(keep))
    if ids.null_count:
        i = int(np.flatnonzero(keep)[_first(pc.is_null(ids))])
        raise _CliError(f"{table.where(first, i)}: column {name!r} ({flag}) is empty")
    return ids


def _check_finite(table: _Table, first: int, columns: dict[str, np.ndarray],
                  keep: np.ndarray) -> None:
    """An infinite value is refused whatever the NaN policy, naming its line and column."""
    for name, values in columns.items():
        infinite = keep & np.isinf(values)
        if infinite.any():
            i = int(np.argmax(infinite))
            raise _CliError(f"{table.where(first, i)}: column {name!r}: {values[i]} is not a "
                            "finite number")


def _check_complete(table: _Table, first: int, columns: dict[str, np.ndarray],
                    keep: np.ndarray) -> None:
    """Policy "raise": the first empty (NaN) cell names its line, column and the flag."""
    for name, values in columns.items():
        empty = keep & np.isnan(values)
        if empty.any():
            i = int(np.argmax(empty))
            raise _CliError(f"{table.where(first, i)}: column {name!r} is empty (NaN); pass "
                            "--nan-policy omit to leave such rows out")


class _Scan:
    """A predictions file read batch by batch, as the evaluation's numeric arrays.

    Iterating yields one dict per batch with the keys ``expression`` (float64 codes),
    ``expression_pred`` ((n, C) scores in class order, or (n,) codes), ``va`` and
    ``va_pred`` ((n, k)), ``au`` and ``au_pred`` ((n, L)), ``groups`` and
    ``subgroup:<column>`` (pyarrow string arrays), whichever the file has.
    Only these arrays are made, never Python strings per row. With an explicit
    ``--preset``, rows carrying the data set's "not data" codes are left out and counted
    per reason in :attr:`dropped`; with ``--nan-policy raise`` the first empty cell stops
    the scan, naming its line and column.
    """

    def __init__(self, path: str | Path, cols: _Columns) -> None:
        self.cols = cols
        self.table = _open_table(path, cols.delimiter)
        self.schema = _resolve(self.table, cols)
        self.dropped: dict[str, int] = {}
        self.n_rows = 0
        self.n_kept = 0
        # --scores auto: scored rows, rows that look like (rounded) probabilities, and the
        # first of those that misses a sum of 1 by more than the rule's tolerance.
        self._n_scored = self._n_near = 0
        self._first_off: tuple[str, float] | None = None
        self._noted = False  # the file-order note is given once per file
        schema = self.schema
        self.n_classes = len(schema.scores) or (len(schema.class_names)
                                                if schema.class_names is not None else 0)
        self._wanted = [c for c in (schema.expression, schema.expression_pred, *schema.scores,
                                    *schema.va, *schema.va_pred, schema.group, *schema.au,
                                    *schema.au_pred, *schema.subgroups) if c is not None]
        # Parsed as float64 by pyarrow until a cell fails; then everything is read as text.
        # Labels too: class names in them fail the float parse and take the text path.
        self.numeric = frozenset(c for c in (schema.expression, schema.expression_pred,
                                             *schema.scores, *schema.va, *schema.va_pred,
                                             *schema.au, *schema.au_pred)
                                 if c is not None)

    def restart(self) -> None:
        """Forget the counts of a pass abandoned for the text path."""
        self.numeric = frozenset()
        self.dropped, self.n_rows, self.n_kept = {}, 0, 0
        self._n_scored = self._n_near = 0
        self._first_off = None

    def _drop(self, keep: np.ndarray, hit: np.ndarray, reason: str) -> None:
        hit = keep & hit
        if hit.any():
            self.dropped[reason] = self.dropped.get(reason, 0) + int(hit.sum())
            keep &= ~hit

    def _score_matrix(self, first: int, scores: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """The kept rows of a batch's scores under ``--scores``.

        ``auto`` keeps the scores for :func:`affectmetrics.evaluate`'s per-row rule (a
        probability vector is kept, any other row gets a softmax), but counts the rows that
        look like probabilities rounded to two decimals (in [0, 1], summing to 1 within
        0.005 per class): when every row does and some miss the rule's tolerance (``%.2f``
        of eight classes), the scan refuses the file at its end, since the rule would
        treat its rows two ways. ``probabilities`` divides each row by its sum, ``logits`` applies
        the softmax; either way every row is then a probability vector.

        Parameters
        ----------
        first : int
            The batch's first line (CSV) or row (Parquet), for errors.
        scores : ndarray, shape (n, C)
            The batch's scores in class order, every row.
        keep : ndarray of bool, shape (n,)
            The rows scored (a data set's markers left out).

        Returns
        -------
        ndarray, shape (kept, C)
        """
        kind, table = self.cols.scores, self.table
        finite = np.isfinite(scores).all(axis=1) & keep
        unit = finite & ((scores >= 0) & (scores <= 1)).all(axis=1)
        sums = np.where(finite, scores.sum(axis=1), np.nan)
        if kind == "probabilities":
            bad = finite & (~unit | (sums <= 0))
            if bad.any():
                i = int(np.argmax(bad))
                raise _CliError(f"{table.where(first, i)}: the scores are not probabilities "
                                "(a value outside [0, 1], or all 0); --scores probabilities "
                                "needs them")
            with np.errstate(invalid="ignore", divide="ignore"):
                return (scores / sums[:, None])[keep]
        if kind == "logits":
            shifted = scores - np.max(scores, axis=1, keepdims=True)
            exp = np.exp(shifted)
            return (exp / exp.sum(axis=1, keepdims=True))[keep]
        # A row of probabilities rounded to two decimals misses 1 by at most 0.005 per class.
        near = unit & (np.abs(sums - 1.0) <= max(_SUM_TOLERANCE, 0.005 * scores.shape[1]))
        off = near & (np.abs(sums - 1.0) > _SUM_TOLERANCE)
        self._n_scored += int(finite.sum())
        self._n_near += int(near.sum())
        if off.any() and self._first_off is None:
            i = int(np.argmax(off))
            self._first_off = (table.where(first, i), float(sums[i]))
        return scores[keep]

    def _note_codes(self, truth: Any) -> None:
        """Say once that integer labels were read as positions in the file's column order.

        Parameters
        ----------
        truth : pyarrow.Array
            A batch of the truth column, as read.
        """
        pa = _pyarrow()
        import pyarrow.compute as pc

        if pa.types.is_string(truth.type) or pa.types.is_large_string(truth.type):
            numeric = pc.any(pc.match_substring_regex(_clean(truth), _NUMBER,
                                                      ignore_case=True)).as_py()
        else:
            numeric = truth.null_count < len(truth)
        if numeric:
            self._noted = True
            names = self.schema.class_names or ()
            warnings.warn(
                f"{self.table.path}: the labels are codes and the classes come from the score "
                f"columns in file order ({', '.join(f'{i} = {n}' for i, n in enumerate(names))}"
                "); if the codes follow another order, give --class-names in code order",
                _CliNote, stacklevel=2)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        table, schema, cols = self.table, self.schema, self.cols
        conventions = _DATASETS[cols.dataset] if cols.dataset is not None else None
        for first, batch in table.batches(self._wanted, self.numeric):
            rows = len(next(iter(batch.values())))
            self.n_rows += rows
            values: dict[str, np.ndarray] = {}
            for role in ("expression", "expression_pred"):
                name = getattr(schema, role)
                if name is not None:
                    values[name] = _labels(table, first, name, batch[name], schema.class_names)
            if schema.file_order and not self._noted and schema.expression is not None:
                self._note_codes(batch[schema.expression])
            for name in (*schema.scores, *schema.va, *schema.va_pred, *schema.au,
                         *schema.au_pred):
                values[name] = _numbers(table, first, name, batch[name])
            keep = np.ones(rows, dtype=bool)
            if conventions is not None:
                if schema.expression is not None:
                    for code, meaning in conventions.dropped.items():
                        self._drop(keep, values[schema.expression] == code,
                                   f"expression code {code} ({meaning})")
                if schema.va and conventions.missing_va is not None:
                    self._drop(keep, np.any(np.column_stack([values[c] for c in schema.va])
                                            == conventions.missing_va, axis=1),
                               f"valence/arousal {conventions.missing_va:g} (not annotated)")
                if schema.au and conventions.missing_au is not None:
                    self._drop(keep, np.any(np.column_stack([values[c] for c in schema.au])
                                            == conventions.missing_au, axis=1),
                               f"AU {conventions.missing_au:g} (not annotated)")
            _check_finite(table, first, values, keep)
            if cols.nan_policy == "raise":
                _check_complete(table, first, values, keep)
            if self.n_classes:
                for role in ("expression", "expression_pred"):
                    name = getattr(schema, role)
                    if name is not None:
                        _check_codes(table, first, name, values[name], self.n_classes, keep)
            for name in schema.au:
                _check_binary(table, first, name, values[name], keep)
            out: dict[str, Any] = {}
            if schema.expression is not None:
                out["expression"] = values[schema.expression][keep]
                out["expression_pred"] = (
                    self._score_matrix(first, np.column_stack([values[c] for c in
                                                               schema.scores]), keep)
                    if schema.scores else values[schema.expression_pred][keep])
            if schema.va:
                out["va"] = np.column_stack([values[c][keep] for c in schema.va])
                out["va_pred"] = np.column_stack([values[c][keep] for c in schema.va_pred])
            if schema.au:
                out["au"] = np.column_stack([values[c][keep] for c in schema.au])
                out["au_pred"] = np.column_stack([values[c][keep] for c in schema.au_pred])
            if schema.group is not None:
                out["groups"] = _ids(table, first, schema.group, batch[schema.group], keep,
                                     "--group-column")
            for name in schema.subgroups:
                out[f"subgroup:{name}"] = _ids(table, first, name, batch[name], keep,
                                               "--subgroup-columns")
            self.n_kept += int(keep.sum())
            yield out
        if self._first_off is not None and self._n_near == self._n_scored:
            where, total = self._first_off
            raise _CliError(
                f"{where}: the scores sum to {total:.6g}, not 1 within {_SUM_TOLERANCE}, "
                "though every row looks like probabilities: rounded ones? The default rule "
                "(--scores auto) would apply a softmax to such rows and keep the others; pass "
                "--scores probabilities (or --scores logits) to read every row alike")
        if self.n_rows == 0:
            raise _CliError(f"{table.path}: the file has a header but no rows")
        if self.n_kept == 0:
            raise _CliError(f"{table.path}: every row was left out ("
                            + ", ".join(f"{n} {r}" for r, n in self.dropped.items()) + ")")

    def evaluate_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`affectmetrics.evaluate` that are not arrays."""
        kwargs: dict[str, Any] = {}
        if self.schema.class_names is not None:
            kwargs["class_names"] = self.schema.class_names
        if self.schema.va:
            kwargs["output_names"] = tuple(self.schema.output_names)
        if self.schema.au:
            kwargs["au_names"] = tuple(self.schema.au_names)
        return kwargs


def _read(path: str | Path, cols: _Columns) -> _Predictions:
    """Read a whole predictions file into :func:`affectmetrics.evaluate`'s keyword
    arguments (float64 arrays, group ids as integer codes)."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    scan = _Scan(path, cols)
    parts = _retrying(scan, _collect)
    kwargs: dict[str, Any] = scan.evaluate_kwargs()
    for key in ("expression", "expression_pred", "va", "va_pred", "au", "au_pred"):
        if key in parts:
            kwargs[key] = np.concatenate(parts[key])
    if "expression" in kwargs and not scan.schema.scores and "class_names" not in kwargs:
        _integer_labels(kwargs)
    group_ids = None
    if "groups" in parts:
        ids = pa.chunked_array(parts["groups"], type=pa.string())
        distinct = _sorted_ids(pc.unique(ids))
        kwargs["groups"] = np.asarray(pc.index_in(ids, value_set=distinct)
                                      .to_numpy(zero_copy_only=False), dtype=np.int64)
        group_ids = np.asarray(distinct.to_numpy(zero_copy_only=False), dtype=object)
    if scan.schema.subgroups:
        kwargs["subgroups"] = {
            label: _subgroup_ids(pa.chunked_array(parts[f"subgroup:{name}"], type=pa.string()))
            for name, label in zip(scan.schema.subgroups, scan.schema.subgroup_names,
                                   strict=True)}
    return _Predictions(scan.table.path, kwargs, scan.dropped, group_ids)


def _subgroup_ids(ids: Any) -> np.ndarray:
    """A subgroup column's ids as :func:`affectmetrics.evaluate` takes them.

    Parameters
    ----------
    ids : pyarrow.ChunkedArray
        The ids, as text.

    Returns
    -------
    ndarray of shape (n,)
        Integers when every id is a whole number (``1``, ``-2``), else the text.
    """
    pa = _pyarrow()
    import pyarrow.compute as pc

    if len(ids) and pc.all(pc.match_substring_regex(ids, r"^[+-]?\d+$")).as_py():
        return np.asarray(pc.cast(ids, pa.int64()).to_numpy(), dtype=np.int64)
    return np.asarray(ids.to_numpy(), dtype=object)


def _sorted_ids(distinct: Any) -> Any:
    """The distinct group ids in the order :func:`affectmetrics.evaluate` codes them.

    The API numbers group ids in sorted order, and the grouped bootstrap draws groups by
    their codes: ids coded in another order give other intervals for the same seed. Ids
    that are all numbers (as pandas would read them) sort by value, others as text.

    Parameters
    ----------
    distinct : pyarrow.Array
        The distinct ids, as text.

    Returns
    -------
    pyarrow.Array
        The same ids, sorted.
    """
    pa = _pyarrow()
    import pyarrow.compute as pc

    numeric = pc.match_substring_regex(distinct, _NUMBER, ignore_case=True)
    if len(distinct) and pc.all(numeric).as_py():
        values = pc.cast(distinct, pa.float64())
        return distinct.take(pc.sort_indices(pa.table({"v": values, "t": distinct}),
                                             sort_keys=[("v", "ascending"),
                                                        ("t", "ascending")]))
    return distinct.take(pc.sort_indices(distinct))


def _collect(scan: _Scan) -> dict[str, list[Any]]:
    parts: dict[str, list[Any]] = {}
    for batch in scan:
        for key, values in batch.items():
            parts.setdefault(key, []).append(values)
    return parts


def _retrying(scan: _Scan, consume: Callable[[_Scan], _T]) -> _T:
    """``consume(scan)``, again on the text path if pyarrow's float parser gave up, and
    again with careful block cuts if a block cut by quote parity did not parse (each
    fallback is taken at most once, so this ends)."""
    for _ in range(2):
        try:
            return consume(scan)
        except _SlowPath:
            scan.restart()
    return consume(scan)


def _integer_labels(kwargs: dict[str, Any]) -> None:
    """Whole-number labels as integers, so that classes print as 0, 1, ... (not 0.0)."""
    for key in ("expression", "expression_pred"):
        values = kwargs[key]
        if np.isnan(values).any() or (values != np.round(values)).any():
            return
    for key in ("expression", "expression_pred"):
        kwargs[key] = kwargs[key].astype(np.int64)
