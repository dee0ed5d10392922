"""Reading researchers' prediction files in chunks: CSV (any delimiter, quoting, a UTF-8
byte-order mark, gzip/bz2/zip by extension) and Parquet, on pyarrow.

A :class:`_Table` knows its header and yields the requested columns batch by batch as
pyarrow arrays, with the file line (CSV) or row (Parquet) of each batch's first row, so
that every error can name the place it comes from. Nothing is ever held as Python strings
per row.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._optional import _import_optional
from ._errors import _CliError

__all__: list[str] = []

#: CSV bytes read per block; a block is the unit of memory, whatever the file's size.
_BLOCK_BYTES = 1 << 24
_PARQUET_ROWS = 1 << 17
_SNIFF_BYTES = 1 << 16
_DELIMITERS = ",;\t|"
_PARQUET_SUFFIXES = (".parquet", ".pq")


def _pyarrow() -> Any:
    return _import_optional("pyarrow", "cli", purpose="reading prediction files")


def _check_readable(path: Path) -> None:
    """Refuse a path that is missing, a directory or unreadable, saying which."""
    if path.is_dir():
        raise _CliError(f"{path}: is a directory, not a predictions file")
    if not path.exists():
        raise _CliError(f"{path}: no such file")
    if not path.is_file():
        raise _CliError(f"{path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise _CliError(f"{path}: cannot be read (permission denied)")


def _zip_member(path: Path) -> tuple[zipfile.ZipFile, str]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _CliError(f"{path}: not a valid zip file") from None
    members = [m for m in archive.namelist() if not m.endswith("/")]
    if len(members) != 1:
        archive.close()
        raise _CliError(f"{path}: a zip file must hold exactly one CSV; it holds "
                        f"{len(members)} files")
    return archive, members[0]


def _open_binary(path: Path) -> Any:
    """A binary stream of the decompressed CSV bytes."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".zip":
        archive, member = _zip_member(path)
        return archive.open(member)
    return path.open("rb")


class _SlowPath(Exception):
    """pyarrow could not parse a numeric CSV column as float64: read it again as text."""


@dataclass
class _Table:
    """A predictions file: its header and its columns batch by batch."""

    path: Path
    columns: tuple[str, ...]
    kind: str  # "csv" or "parquet"
    delimiter: str = ","
    _raw: dict[str, str] | None = None  # stripped header name -> name as in the file
    #: Cut blocks with the csv module's record rules, not quote parity: set when a block
    #: cut by parity did not parse (a quote inside an unquoted field, e.g. ``5" screen``).
    careful: bool = False

    def where(self, first: int, index: int) -> str:
        """``path:line`` (CSV) or ``path: row N`` (Parquet) of row ``index`` of a batch.

        ``first`` counts records (line 2 is the first data row); a CSV record's line in the
        file is found again only here, for an error: blank lines (which pyarrow skips) and
        line ends inside quoted fields (one record on several lines) shift it."""
        if self.kind == "csv":
            return f"{self.path}:{self._line_of_record(first + index - 2)}"
        return f"{self.path}: row {first + index}"

    def _line_of_record(self, record: int) -> int:
        """The file line on which data record ``record`` (0-based) starts.

        Parameters
        ----------
        record : int
            Position of the record among the file's non-blank data records.

        Returns
        -------
        int
            The 1-based line number, counting every line of the file (header, blank lines,
            and each line of a quoted field that holds line ends).
        """
        with _open_binary(self.path) as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace",
                                    newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            next(reader, None)  # the header
            start, seen = reader.line_num + 1, 0
            for row in reader:
                if row:  # a blank line is no record (pyarrow skips it too)
                    if seen == record:
                        return start
                    seen += 1
                start = reader.line_num + 1
        return record + 2  # not reached for a record pyarrow read

    def _ragged_line(self) -> tuple[int, int] | None:
        """The first line whose record has more or fewer fields than the header, and its
        number of fields (None if every record matches)."""
        with _open_binary(self.path) as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace",
                                    newline="")
            reader = csv.reader(text, delimiter=self.delimiter)
            next(reader, None)  # the header
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != len(self.columns):
                    return start, len(row)
                start = reader.line_num + 1
        return None

    def batches(self, names: list[str], numeric: frozenset[str] = frozenset()
                ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(first line or row, {name: pyarrow array})`` for the named columns.

        CSV columns in ``numeric`` are parsed as float64 by pyarrow itself (the fast path);
        a cell it cannot parse raises :class:`_SlowPath`, and the caller reads the file
        again with every column as text (which trims spaces and names the bad cell)."""
        pa = _pyarrow()
        raw = self._raw or {n: n for n in self.columns}
        wanted = list(dict.fromkeys(names))
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            first = 1
            with pq.ParquetFile(self.path) as handle:
                for batch in handle.iter_batches(batch_size=_PARQUET_ROWS,
                                                 columns=[raw[n] for n in wanted]):
                    yield first, {n: _decoded(batch.column(raw[n])) for n in wanted}
                    first += batch.num_rows
            return
        import pyarrow.csv as pcsv

        parse = pcsv.ParseOptions(delimiter=self.delimiter)
        convert = pcsv.ConvertOptions(
            include_columns=[raw[n] for n in wanted],
            column_types={raw[n]: pa.float64() if n in numeric else pa.string()
                          for n in wanted}, strings_can_be_null=True)
        first = 2  # line 1 is the header
        try:
            for chunk in _chunks(self.path, self.delimiter if self.careful else None,
                                 self.delimiter):
                # Each chunk is parsed alone, the header prepended: pyarrow's own streaming
                # reader reads the whole input ahead of the consumer (memory grows with the
                # file), a chunk at a time keeps it to one block.
                table = pcsv.read_csv(io.BytesIO(chunk), parse_options=parse,
                                      convert_options=convert)
                for batch in table.to_batches():
                    yield first, {n: batch.column(raw[n]) for n in wanted}
                    first += batch.num_rows
        except pa.ArrowInvalid as exc:
            if numeric and "conversion error" in str(exc):
                raise _SlowPath(str(exc)) from None
            if not self.careful:
                self.careful = True
                raise _SlowPath(str(exc)) from None
            ragged = self._ragged_line()
            if ragged is not None:
                line, got = ragged
                raise _CliError(f"{self.path}:{line}: {got} field(s) where the header has "
                                f"{len(self.columns)} (delimiter {self.delimiter!r})") from None
            raise _CliError(f"{self.path}: not a valid CSV file after line {first - 1} "
                            f"({str(exc).splitlines()[0]})") from None


def _decoded(arr: Any) -> Any:
    """A dictionary-encoded Parquet column (pandas' ``category``) as its plain values.

    Parameters
    ----------
    arr : pyarrow.Array
        One column of a batch.

    Returns
    -------
    pyarrow.Array
        ``arr`` itself, or its values when it is dictionary-encoded.
    """
    pa = _pyarrow()
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def _chunks(path: Path, careful: str | None = None, delimiter: str = ",") -> Iterator[bytes]:
    """The file's bytes in blocks of about ``_BLOCK_BYTES``, each ending at a line end
    outside quotes and starting with the header line (the first with its byte-order mark).

    Blocks are cut where an even number of quote characters precede a line end; with
    ``careful`` (the delimiter), at a record end as the csv module reads records, which
    also holds for a quote inside an unquoted field (slower: the fallback). A last block
    with an odd number of quotes is checked for a quoted field never closed."""
    with _open_binary(path) as handle:
        data = handle.read(_BLOCK_BYTES)
        end = _line_end(data, 0)
        header = data[:end].removeprefix(b"\xef\xbb\xbf")
        rest = data[end:]
        while True:
            more = handle.read(_BLOCK_BYTES)
            data = rest + more
            if not more:
                if data.count(b'"') % 2:
                    _check_quotes_closed(path, delimiter)
                if data.strip():
                    yield header + data if data.endswith(b"\n") else header + data + b"\n"
                return
            cut = _last_line_end(data) if careful is None else _last_record_end(data, careful)
            if cut > 0:
                yield header + data[:cut]
                rest = data[cut:]
            else:
                rest = data  # one line longer than a block: read on


def _check_quotes_closed(path: Path, delimiter: str) -> None:
    """Refuse a file whose last quoted field is never closed.

    pyarrow (like the csv module by default) reads an unclosed quote as a field running to
    the end of the file, and every row after it would silently become part of one cell.
    Called only when the file's last block holds an odd number of quote characters; a
    quote inside an unquoted field (``5" screen``) is no error, which the csv module's
    strict reading tells apart.

    Parameters
    ----------
    path : Path
        The file.
    delimiter : str
        Its delimiter.
    """
    with _open_binary(path) as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        start = 1
        try:
            for _ in reader:
                start = reader.line_num + 1
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                raise _CliError(f"{path}:{start}: a quoted field opened on this line is never "
                                "closed; every line after it would be read as part of one "
                                "cell") from None


def _line_end(data: bytes, start: int) -> int:
    """The index after the first line end at or after ``start`` outside quotes."""
    quoted = False
    i = start
    while True:
        newline = data.find(b"\n", i)
        if newline < 0:
            return len(data)
        quoted ^= data.count(b'"', i, newline) % 2 == 1
        if not quoted:
            return newline + 1
        i = newline + 1


def _last_line_end(data: bytes) -> int:
    """The index after the last line end outside quotes (0 if there is none); ``data``
    starts outside quotes, so a line end is outside when an even number of quote
    characters precede it."""
    pos = data.rfind(b"\n")
    while pos >= 0 and data.count(b'"', 0, pos) % 2:
        pos = data.rfind(b"\n", 0, pos)
    return pos + 1


def _last_record_end(data: bytes, delimiter: str) -> int:
    """The index after the last complete record of ``data`` (0 if there is none), records
    read by the csv module's rules (quotes open a field only at its start); ``data``
    starts at a record's start. The last record read may be cut by the block's end, so the
    cut is at the end of the one before it."""
    lines = data.splitlines(keepends=True)
    ends: list[int] = []
    offset = 0

    def feed() -> Iterator[str]:
        nonlocal offset
        for line in lines:
            offset += len(line)
            yield line.decode("utf-8", errors="replace")

    reader = csv.reader(feed(), delimiter=delimiter)
    try:
        for _ in reader:
            ends.append(offset)
    except csv.Error:
        pass
    return ends[-2] if len(ends) >= 2 else 0


def _header(path: Path, delimiter: str | None) -> tuple[list[str], str]:
    """The header's names (quotes and a byte-order mark removed) and the delimiter."""
    try:
        with _open_binary(path) as handle:
            sample = handle.read(_SNIFF_BYTES)
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise _CliError(f"{path}: cannot be read ({exc})") from None
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _CliError(f"{path}: a UTF-16 text file (Excel's 'Unicode Text'); save it as "
                        "'CSV UTF-8' or convert it to UTF-8")
    try:
        text = sample.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not merely a character cut at the sample's end
            raise _CliError(f"{path}: not a UTF-8 text file (byte {exc.start + 1})") from None
        text = sample[:exc.start].decode("utf-8-sig")
    if not text.strip():
        raise _CliError(f"{path}: the file is empty")
    if delimiter is None:
        try:
            lines = text[:text.rfind("\n")] if "\n" in text else text
            delimiter = csv.Sniffer().sniff(lines, delimiters=_DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    return header, delimiter


def _open_table(path: str | Path, delimiter: str | None = None) -> _Table:
    """Open a predictions file (CSV, compressed CSV or Parquet) and read its header."""
    path = Path(path)
    _check_readable(path)
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        _pyarrow()
        import pyarrow.parquet as pq

        try:
            names = list(pq.read_schema(path).names)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError variants
            raise _CliError(f"{path}: not a valid Parquet file ({exc})") from None
        kind, delimiter = "parquet", ","
    else:
        # What a shell passes for a tab typed as \t, or named.
        delimiter = "\t" if delimiter in ("\\t", "tab", "TAB") else delimiter
        if delimiter is not None and len(delimiter) != 1:
            raise _CliError(f"--delimiter must be one character (or \\t, tab), got "
                            f"{delimiter!r}")
        names, delimiter = _header(path, delimiter)
        kind = "csv"
    raw = {name.strip(): name for name in names}
    stripped = [name.strip() for name in names]
    repeated = sorted({n for n in stripped if stripped.count(n) > 1})
    if repeated:
        raise _CliError(f"{path}: the header names column(s) {', '.join(map(repr, repeated))} "
                        "more than once")
    return _Table(path, tuple(stripped), kind, delimiter, raw)
