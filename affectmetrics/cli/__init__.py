"""The ``affectmetrics`` command line: evaluate a predictions file, or compare two models.

``affectmetrics evaluate predictions.csv`` prints the report (the study's tables, per-class
detail, diagnostics; intervals with ``--ci``) and with ``--output DIR`` writes
``report.md``, ``report.json``, ``report.csv`` and the plots there.
``affectmetrics compare a.csv b.csv`` adds the paired-bootstrap comparison of two models
scored on the same test set (``comparison.json`` and ``comparison.csv`` with ``--output``).
With no command, the report of the shipped example is printed.

Files are CSV (any delimiter, quoting, a byte-order mark; ``.gz``, ``.bz2``, ``.zip``) or
Parquet, read in chunks with pyarrow (the ``cli`` extra). Bad files or flags give one line on
standard error (``path:line: column 'valence': 'abc' is not a number``) and exit status 2,
never a traceback.
"""

from __future__ import annotations

from ._main import build_parser, main, read_predictions

__all__ = ["build_parser", "main", "read_predictions"]
