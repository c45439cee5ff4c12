"""The content sniffer and the file-name helpers read outside input: they never crash, whatever the bytes."""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.activity import sniffing
from leadflow.activity.attachments import content_disposition, sanitize_filename

ACCEPTED = {
    sniffing.PDF,
    sniffing.PNG,
    sniffing.JPEG,
    sniffing.GIF,
    sniffing.WEBP,
    sniffing.HEIC,
    sniffing.HEIF,
    sniffing.MP3,
    sniffing.OGG,
    sniffing.M4A,
    sniffing.MP4,
    sniffing.TEXT,
    sniffing.DOCX,
    sniffing.XLSX,
}
MAGICS = [b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"OggS", b"ID3", b"PK\x03\x04", b"RIFF"]


def _ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x00\x00"


class TestKnownFormats:
    @pytest.mark.parametrize(
        ("head", "expected"),
        [
            (b"%PDF-1.4\n", sniffing.PDF),
            (b"\x89PNG\r\n\x1a\n\x00\x00", sniffing.PNG),
            (b"\xff\xd8\xff\xe0\x00\x10JFIF", sniffing.JPEG),
            (b"GIF87a\x01\x00", sniffing.GIF),
            (b"RIFF\x24\x00\x00\x00WEBPVP8 ", sniffing.WEBP),
            (_ftyp(b"heic"), sniffing.HEIC),
            (_ftyp(b"mif1"), sniffing.HEIF),
            (_ftyp(b"M4A "), sniffing.M4A),
            (_ftyp(b"isom"), sniffing.MP4),
            (b"ID3\x04\x00\x00", sniffing.MP3),
            (b"\xff\xfb\x90\x64\x00", sniffing.MP3),
            (b"OggS\x00\x02", sniffing.OGG),
            ("Olá, segue a lista de imóveis.\n".encode(), sniffing.TEXT),
            ("Olá;São Paulo\n".encode("cp1252"), sniffing.TEXT),
        ],
    )
    def test_a_format_is_told_by_its_first_bytes(self, head: bytes, expected: str) -> None:
        assert sniffing.sniff(head) == expected

    @pytest.mark.parametrize(
        "head",
        [b"\x00\x01\x02\x03binary", b"RIFF\x24\x00\x00\x00WAVEfmt ", _ftyp(b"qt  "), b"MZ\x90\x00\x03", b""],
    )
    def test_other_formats_are_not_accepted(self, head: bytes) -> None:
        assert sniffing.sniff(head) is None

    @pytest.mark.parametrize(
        ("inside", "expected"), [("word/document.xml", sniffing.DOCX), ("xl/workbook.xml", sniffing.XLSX)]
    )
    def test_an_office_zip_is_told_by_its_directory(self, inside: str, expected: str) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr(inside, "<xml/>")
        data = buffer.getvalue()
        assert sniffing.sniff(data[: sniffing.HEAD_BYTES], io.BytesIO(data)) == expected

    def test_a_zip_needs_the_whole_file_to_be_an_office_document(self) -> None:
        assert sniffing.sniff(b"PK\x03\x04") is None
        assert sniffing.sniff(b"PK\x03\x04garbage", io.BytesIO(b"PK\x03\x04garbage")) is None


class TestDeclaredTypes:
    @pytest.mark.parametrize(
        ("declared", "sniffed"),
        [
            (None, sniffing.PDF),
            ("application/octet-stream", sniffing.PNG),
            ("Application/PDF; name=x.pdf", sniffing.PDF),
            ("image/jpg", sniffing.JPEG),
            ("application/vnd.ms-excel", sniffing.TEXT),
            ("audio/x-m4a", sniffing.M4A),
            ("image/heif", sniffing.HEIC),
        ],
    )
    def test_equivalent_declarations_agree(self, declared: str | None, sniffed: str) -> None:
        assert sniffing.agrees(declared, sniffed)

    @pytest.mark.parametrize(
        ("declared", "sniffed"),
        [("application/pdf", sniffing.PNG), ("text/html", sniffing.TEXT), ("image/png", sniffing.TEXT)],
    )
    def test_contradicting_declarations_do_not(self, declared: str, sniffed: str) -> None:
        assert not sniffing.agrees(declared, sniffed)

    def test_text_named_or_declared_csv_is_csv(self) -> None:
        assert sniffing.refine_text(sniffing.TEXT, declared=None, filename="leads.CSV") == sniffing.CSV
        assert sniffing.refine_text(sniffing.TEXT, declared="text/csv", filename="x") == sniffing.CSV
        assert sniffing.refine_text(sniffing.TEXT, declared="text/plain", filename="notas.txt") == sniffing.TEXT


class TestNeverCrashes:
    @settings(max_examples=300)
    @given(st.binary(max_size=4096))
    def test_any_bytes_sniff_to_an_accepted_type_or_none(self, data: bytes) -> None:
        assert sniffing.sniff(data, io.BytesIO(data)) in ACCEPTED | {None}

    @settings(max_examples=300)
    @given(st.sampled_from(MAGICS), st.binary(max_size=2048))
    def test_bytes_behind_a_known_signature_never_crash(self, magic: bytes, rest: bytes) -> None:
        data = magic + rest
        assert sniffing.sniff(data, io.BytesIO(data)) in ACCEPTED | {None}

    @settings(max_examples=300)
    @given(st.text(), st.one_of(st.none(), st.text(max_size=100)))
    def test_any_declared_type_is_judged_without_crashing(self, declared: str, sniffed: str | None) -> None:
        assert sniffing.agrees(declared, sniffed or sniffing.PDF) in {True, False}


class TestFileNames:
    @pytest.mark.parametrize(
        ("raw", "clean"),
        [
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\ana\\proposta final.pdf", "proposta final.pdf"),
            (".htaccess", "htaccess"),
            ("   ", "arquivo"),
            (None, "arquivo"),
            ("contrato\u202egpj.exe", "contratogpj.exe"),
            ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ],
    )
    def test_a_name_is_made_safe(self, raw: str | None, clean: str) -> None:
        assert sanitize_filename(raw) == clean

    def test_a_long_name_keeps_its_extension(self) -> None:
        name = sanitize_filename("a" * 400 + ".pdf")
        assert (len(name), name[-4:]) == (255, ".pdf")

    @settings(max_examples=500)
    @given(st.one_of(st.none(), st.text()))
    def test_any_name_becomes_a_safe_one(self, raw: str | None) -> None:
        name = sanitize_filename(raw)
        assert 0 < len(name) <= 255
        assert "/" not in name
        assert "\\" not in name
        assert not name.startswith(".")
        assert not any(unicodedata.category(ch).startswith("C") for ch in name)

    @settings(max_examples=500)
    @given(st.text())
    def test_any_name_makes_a_latin1_header(self, raw: str) -> None:
        header = content_disposition(sanitize_filename(raw))
        header.encode("latin-1")
        assert "\n" not in header
        assert "\r" not in header
