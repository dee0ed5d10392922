"""CSV text that a spreadsheet shows, never runs: one writer for reports and the CLI.

A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is run as a formula by
Excel, LibreOffice and Google Sheets (CSV injection, OWASP); such cells are prefixed with
``'``. Plain decimal numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import csv
import io
import re

__all__: list[str] = []

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal literal (or Python's inf/nan), the only text starting with + or - that is
# data; a spreadsheet runs nothing in it.
_DECIMAL = re.compile(r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|nan)")


def _is_number(text: str) -> bool:
    return _DECIMAL.fullmatch(text) is not None


def _escape_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs (numbers stay numbers)."""
    if text.startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _csv_text(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_escape_cell("" if v is None else str(v)) for v in row])
    return buffer.getvalue()
