"""Reading an uploaded CSV so that no line is ever lost silently.

Every record of the file ends up in exactly one place: a :class:`CsvRow` to import, a :class:`CsvProblem` (a
report line with its line number and why it cannot be imported), or nowhere only when it holds no data at all
(a blank line). Problems with the file as a whole (no header, a duplicated column, too many rows, a quote never
closed) raise :class:`UnreadableCsv` and nothing is imported.

Encoding: UTF-8 with or without BOM (UTF-16 too when it carries its BOM, as Excel's "Unicode text" does). Bytes
that are not valid UTF-8 are read as Windows-1252 (what Excel on Windows writes; Latin-1 when even that fails),
and the table says so in its warnings, unless most accented lines are valid UTF-8: then the file is UTF-8 with a
few damaged lines, and each of those lines is reported as an error instead of being guessed at.

The delimiter is sniffed from the header line among ``,`` ``;`` (Excel pt-BR) and tab.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_ROWS = 50_000
MAX_COLUMNS = 200
MAX_HEADER_NAME = 200
DELIMITERS = (";", ",", "\t")  # order breaks ties: pt-BR Excel first
DELIMITER_NAMES = {";": "semicolon", ",": "comma", "\t": "tab"}
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# csv's own limit (131 072 characters) is far above any sane cell; reaching it means a quote was never closed.
FIELD_LIMIT = csv.field_size_limit()


class UnreadableCsv(ValueError):
    """The file as a whole cannot be imported; the message says why, in words a manager understands."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    """A record to import: ``line`` is the file line it starts on (the header is line 1 when it comes first)."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class CsvProblem:
    """A record that cannot be imported, and why."""

    line: int
    message: str


@dataclass
class CsvTable:
    encoding: str
    delimiter: str
    header: list[str]
    records: list[CsvRow | CsvProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The named columns, in file order."""
        return [name for name in self.header if name]


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    bad_lines: frozenset[int]  # physical lines (1-based) that are not valid in ``encoding``
    warnings: tuple[str, ...] = ()


def read_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> CsvTable:
    """Decode, sniff and split ``data`` into rows and problems. Raises :class:`UnreadableCsv`."""
    decoded = decode(data)
    lines = physical_lines(decoded.text)
    delimiter = sniff_delimiter(lines)
    records = _records(lines, delimiter)
    header_line, header_cells = _header(records, decoded.bad_lines)
    table = CsvTable(decoded.encoding, delimiter, _header_names(header_cells), warnings=list(decoded.warnings))
    blank = 0
    for start, end, cells in records:
        if not any(cell.strip() for cell in cells):
            blank += 1
            continue
        if len(table.records) >= max_rows:
            raise UnreadableCsv(f"the file has more than {max_rows} rows; split it into smaller files")
        if end == len(lines) and end > start and _quote_left_open(lines[start - 1 : end]):
            table.records.append(CsvProblem(start, _unclosed(start, end)))
            continue
        table.records.append(_record(table.header, start, end, cells, decoded.bad_lines))
    if blank:
        table.warnings.append(f"{blank} blank line(s) skipped")
    if not table.records:
        table.warnings.append(f"the file has a header (line {header_line}) but no rows")
    return table


# Decoding


def decode(data: bytes) -> Decoded:
    if data.startswith(UTF16_BOMS):
        return _decode_utf16(data)
    has_bom = data.startswith(UTF8_BOM)
    body = data[len(UTF8_BOM) :] if has_bom else data
    try:
        return Decoded(body.decode("utf-8"), "utf-8-sig" if has_bom else "utf-8", frozenset())
    except UnicodeDecodeError:
        pass
    raw_lines = _split_bytes(body)
    utf8_lines, bad = _classify_lines(raw_lines)
    if has_bom or utf8_lines > len(bad):
        text = "\n".join(line.decode("utf-8", errors="replace") for line in raw_lines)
        note = f"{len(bad)} line(s) are not valid UTF-8 and were not imported (see the report)"
        return Decoded(text, "utf-8-sig" if has_bom else "utf-8", frozenset(bad), (note,))
    return _decode_legacy(body)


def _decode_utf16(data: bytes) -> Decoded:
    try:
        return Decoded(data.decode("utf-16"), "utf-16", frozenset())
    except UnicodeDecodeError as exc:
        raise UnreadableCsv(f"the file starts as UTF-16 but is not valid UTF-16 (byte {exc.start})") from exc


def _decode_legacy(body: bytes) -> Decoded:
    try:
        text, encoding = body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = body.decode("latin-1"), "latin-1"
    name = "Windows-1252 (cp1252)" if encoding == "cp1252" else "Latin-1 (ISO-8859-1)"
    note = f"the file is not valid UTF-8: it was read as {name}; check that accented letters look right"
    return Decoded(_unify_newlines(text), encoding, frozenset(), (note,))


def _split_bytes(body: bytes) -> list[bytes]:
    if b"\n" not in body and b"\r" in body:  # classic Mac line endings
        return body.split(b"\r")
    return body.split(b"\n")


def _classify_lines(raw_lines: list[bytes]) -> tuple[int, list[int]]:
    """How many lines with accents are valid UTF-8, and which lines (1-based) are not."""
    valid_accented = 0
    bad: list[int] = []
    for number, line in enumerate(raw_lines, 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            valid_accented += 1
        except UnicodeDecodeError:
            bad.append(number)
    return valid_accented, bad


def _unify_newlines(text: str) -> str:
    return text.replace("\r", "\n") if "\n" not in text and "\r" in text else text


def physical_lines(text: str) -> list[str]:
    """The file's lines with their ``\\n`` kept, split on ``\\n`` only (``str.splitlines`` would also split on
    form feeds and Unicode separators, and line numbers would drift from what an editor shows)."""
    text = _unify_newlines(text)
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# Structure


def sniff_delimiter(lines: list[str]) -> str:
    """The candidate occurring most often outside quotes in the header (the first non-blank line)."""
    header = next((line for line in lines if line.strip()), "")
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


Record = tuple[int, int, list[str]]  # first line, last line, cells


def _records(lines: list[str], delimiter: str) -> Iterator[Record]:
    reader = csv.reader(iter(lines), delimiter=delimiter, strict=False)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableCsv(
                f"line {start}: {exc} (is a quote opened and never closed? the file was not imported)"
            ) from exc
        yield start, reader.line_num, cells


def _header(records: Iterator[Record], bad_lines: frozenset[int]) -> tuple[int, list[str]]:
    for start, end, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        if any(start <= n <= end for n in bad_lines):
            raise UnreadableCsv(f"the header row (line {start}) is not valid UTF-8")
        return start, cells
    raise UnreadableCsv("the file is empty: the first line must be a header naming the columns")


def _header_names(cells: list[str]) -> list[str]:
    if len(cells) > MAX_COLUMNS:
        raise UnreadableCsv(f"the header has {len(cells)} columns; at most {MAX_COLUMNS} are accepted")
    names = [cell.strip().lstrip("\ufeff").strip() for cell in cells]
    seen: set[str] = set()
    for position, name in enumerate(names, 1):
        if not is_printable(name) or len(name) > MAX_HEADER_NAME:
            raise UnreadableCsv(f"header column {position} is not a readable name")
        if name and name.casefold() in seen:
            raise UnreadableCsv(f"the header names the column {name!r} twice")
        seen.add(name.casefold())
    if not seen:
        raise UnreadableCsv("the header row names no column")
    return names


def is_printable(text: str) -> bool:
    """No control characters (NUL, escapes, …): such text can be neither shown nor stored safely."""
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in text)


def _record(
    header: list[str], start: int, end: int, cells: list[str], bad_lines: frozenset[int]
) -> CsvRow | CsvProblem:
    broken = sorted(n for n in bad_lines if start <= n <= end)
    if broken:
        lines = ", ".join(str(n) for n in broken)
        return CsvProblem(start, f"line {lines} is not valid UTF-8 (damaged bytes): fix the file and import again")
    if len(cells) != len(header):
        return CsvProblem(start, _wrong_count(len(header), len(cells), start, end))
    if any("\x00" in cell for cell in cells):
        return CsvProblem(start, "the line contains a NUL character (a binary file?)")
    unnamed = [i for i, (name, cell) in enumerate(zip(header, cells, strict=True), 1) if not name and cell.strip()]
    if unnamed:
        return CsvProblem(start, f"column {unnamed[0]} has no name in the header but holds a value")
    return CsvRow(start, {name: cell for name, cell in zip(header, cells, strict=True) if name})


def _quote_left_open(lines: list[str]) -> bool:
    """A record running over several lines to the end of the file with an odd number of quotes: a quote was
    opened and never closed, and every line after it was read into one value."""
    return sum(line.count('"') for line in lines) % 2 == 1


def _unclosed(start: int, end: int) -> str:
    return f'a quote (") opened on line {start} is never closed: lines {start} to {end} were read as one value'


def _wrong_count(expected: int, found: int, start: int, end: int) -> str:
    message = f"expected {expected} fields (as many as the header), found {found}"
    if end > start:
        message += f"; the record runs from line {start} to line {end} (a quote not closed?)"
    return message
