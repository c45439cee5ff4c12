"""What a file really is, told from its first bytes (never from its name or the type a client declares).

Only the formats a real-estate team exchanges are accepted: documents (PDF, DOCX, XLSX, plain text and CSV),
photos (PNG, JPEG, GIF, WebP, HEIC/HEIF), voice notes (MP3, Ogg, M4A) and videos (MP4). Anything else, or a
declared type that contradicts the bytes, is refused by the caller with 415.
"""

from __future__ import annotations

import zipfile
from typing import BinaryIO

HEAD_BYTES = 8192

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
HEIC = "image/heic"
HEIF = "image/heif"
MP3 = "audio/mpeg"
OGG = "audio/ogg"
M4A = "audio/mp4"
MP4 = "video/mp4"
TEXT = "text/plain"
CSV = "text/csv"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP = "application/zip"  # only an intermediate answer: a zip must turn out to be DOCX or XLSX

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"OggS", OGG),
    (b"ID3", MP3),
    (b"PK\x03\x04", ZIP),
)
_FTYP_BRANDS: dict[bytes, str] = {
    **dict.fromkeys((b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"), HEIC),
    **dict.fromkeys((b"mif1", b"msf1", b"heif"), HEIF),
    **dict.fromkeys((b"M4A ", b"M4B "), M4A),
    **dict.fromkeys((b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"MSNV"), MP4),
}
# Equivalent names clients send for the same format (browsers on Windows label .csv as an Excel file).
_ALIASES: dict[str, frozenset[str]] = {
    PDF: frozenset({"application/x-pdf"}),
    JPEG: frozenset({"image/jpg", "image/pjpeg"}),
    HEIC: frozenset({HEIF, "image/heic-sequence", "image/heif-sequence"}),
    HEIF: frozenset({HEIC, "image/heic-sequence", "image/heif-sequence"}),
    MP3: frozenset({"audio/mp3", "audio/mpeg3", "audio/x-mpeg-3", "audio/x-mp3"}),
    OGG: frozenset({"application/ogg", "audio/opus", "audio/vorbis", "audio/x-ogg"}),
    M4A: frozenset({"audio/m4a", "audio/x-m4a", "audio/aac", MP4}),
    MP4: frozenset({M4A, "audio/m4a", "audio/x-m4a", "application/mp4"}),
    TEXT: frozenset({CSV, "application/csv", "application/vnd.ms-excel", "text/comma-separated-values"}),
}
_CSV_NAMES = frozenset({CSV, "application/csv", "application/vnd.ms-excel", "text/comma-separated-values"})
UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-unknown"})


def sniff(head: bytes, whole: BinaryIO | None = None) -> str | None:
    """The media type of a file from its first bytes, or None for anything not accepted.

    ``whole`` (the complete file, seekable) lets a zip be told apart as DOCX or XLSX; without it a zip is None.
    Never raises, whatever the bytes.
    """
    kind = _by_signature(head)
    if kind == ZIP:
        return _office_kind(whole) if whole is not None else None
    if kind is not None:
        return kind
    return TEXT if looks_like_text(head) else None


def _by_signature(head: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12])
    if _is_mp3_frame(head):
        return MP3
    return None


def _is_mp3_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, a known version, layer III, a bitrate that is not "bad".
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer, bitrate = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11, head[2] >> 4
    return version != 0b01 and layer == 0b01 and bitrate != 0b1111


def _office_kind(whole: BinaryIO) -> str | None:
    try:
        whole.seek(0)
        with zipfile.ZipFile(whole) as archive:
            names = set(archive.namelist())
    except Exception:  # a hostile archive can fail in many ways; any failure means "not an office file"
        return None
    finally:
        whole.seek(0)
    if "[Content_Types].xml" not in names:
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None


def looks_like_text(head: bytes) -> bool:
    """Text in UTF-8 or a single-byte encoding (Windows-1252 exports are common): no NUL, few control bytes."""
    if not head or b"\x00" in head:
        return False
    controls = sum(1 for b in head if (b < 0x20 and b not in b"\t\n\r\f") or b == 0x7F)
    return controls * 100 <= len(head)


def media_type_of(declared: str | None) -> str:
    """``"Text/CSV; charset=utf-8"`` -> ``"text/csv"``."""
    return (declared or "").split(";", 1)[0].strip().lower()


def agrees(declared: str | None, sniffed: str) -> bool:
    """Whether a client's declared type is compatible with what the bytes are (no declaration agrees)."""
    media = media_type_of(declared)
    return media in UNDECLARED or media == sniffed or media in _ALIASES.get(sniffed, frozenset())


def refine_text(sniffed: str, *, declared: str | None, filename: str) -> str:
    """Text declared or named as CSV is stored as ``text/csv``; other text as ``text/plain``."""
    if sniffed != TEXT:
        return sniffed
    is_csv = media_type_of(declared) in _CSV_NAMES or filename.lower().endswith(".csv")
    return CSV if is_csv else TEXT
