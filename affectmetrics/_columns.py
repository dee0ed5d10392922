"""Which score column belongs to which class, by name: one rule for every table reader.

The command line (:mod:`affectmetrics.cli`) and :func:`affectmetrics.dask.evaluate_table`
both read prediction tables with one ``<prefix><class>`` score column per class. Column order
in a file means nothing (pandas, dicts and spreadsheets reorder columns), so the score columns
are put in class order by name:

* integer suffixes (``score_0`` ...) in integer order; they must be ``0 .. C-1``;
* otherwise the suffixes are class names, matched case-insensitively to the given class names
  (two names that differ only in case are refused); without class names, the names of a
  known data set's classes in any order and case are put in its code order (AffectNet's
  eight, AffectNet's seven-class protocol without Contempt, ABAW's eight), and any other
  names keep the table's order (the class codes of the labels are then positions in that
  order).
"""

from __future__ import annotations

from collections.abc import Sequence

from .examples import AFFECTNET_CLASSES
from .presets import _DATASETS

__all__: list[str] = []

#: Class lists put in their own code order when a table's score columns carry exactly their
#: names: AffectNet's eight and its seven-class protocol (no Contempt; Mollahosseini et al.
#: 2017), and ABAW's eight (Kollias et al. 2024). Their name sets are distinct.
_KNOWN_ORDERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (AFFECTNET_CLASSES, "AffectNet's classes"),
    (AFFECTNET_CLASSES[:7], "AffectNet's seven classes"),
    (_DATASETS["abaw"].class_names, "ABAW's classes"),
)


def _casefold_map(names: Sequence[str], what: str) -> dict[str, int]:
    """Position of each case-folded name; names that differ only in case are refused."""
    folded = [n.casefold() for n in names]
    clash = sorted({n for n in names if folded.count(n.casefold()) > 1})
    if clash:
        raise ValueError(f"{what} differ only in case: {', '.join(clash)}")
    return {n: i for i, n in enumerate(folded)}


def _order_is_the_tables(scores: list[str], prefix: str, names: tuple[str, ...] | None
                          ) -> bool:
    """Whether :func:`_score_order` takes the classes in the table's column order.

    True for named score columns (not ``<prefix>0 ...``, not a known data set's names)
    when no class names are given: integer labels are then read as positions in the
    table's column order, which may not be their code order.
    """
    if names is not None:
        return False
    suffixes = [c[len(prefix):] for c in scores]
    if all(s.strip().lstrip("+-").isdigit() for s in suffixes):
        return False
    folded = {s.casefold() for s in suffixes}
    return not any(folded == {n.casefold() for n in order} for order, _ in _KNOWN_ORDERS)


def _score_order(where: str, scores: list[str], prefix: str, names: tuple[str, ...] | None,
                 source: str) -> tuple[list[str], tuple[str, ...] | None]:
    """The score columns in class order, and the class names (None: evaluate's default).

    ``where`` names the table in errors (a path, or "the table"); ``source`` says where
    ``names`` came from (a flag or an argument), for the error when they do not match.
    """
    suffixes = [c[len(prefix):] for c in scores]
    if all(s.strip().lstrip("+-").isdigit() for s in suffixes):
        values = [int(s) for s in suffixes]
        if sorted(values) != list(range(len(values))):
            raise ValueError(f"{where}: numbered score columns must be {prefix}0 .. "
                             f"{prefix}{len(values) - 1}; found {', '.join(scores)}")
        ordered = [scores[values.index(i)] for i in range(len(values))]
        if names is not None and len(names) != len(values):
            raise ValueError(f"{where}: {len(values)} score columns but {len(names)} class "
                             f"names ({source})")
        return ordered, names
    if names is None:
        folded = _casefold_map(suffixes, f"{where}: score columns")
        known = [(order, what) for order, what in _KNOWN_ORDERS
                 if set(folded) == {n.casefold() for n in order}]
        if not known:
            return scores, tuple(suffixes)
        names, source = known[0]
    by_name = _casefold_map(suffixes, f"{where}: score columns")
    wanted = _casefold_map(names, "class names")
    if set(by_name) != set(wanted):
        raise ValueError(f"{where}: the score columns ({', '.join(suffixes)}) are not the "
                         f"class names ({', '.join(names)}, from {source})")
    return [scores[by_name[n.casefold()]] for n in names], tuple(names)
