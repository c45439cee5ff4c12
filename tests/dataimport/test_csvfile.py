"""Reading uploaded CSVs: every record becomes a row, a problem with its line, or (blank) nothing; never lost."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.dataimport.csvfile import CsvProblem, CsvRow, UnreadableCsv, read_csv


def rows_of(data: bytes) -> list[CsvRow]:
    return [r for r in read_csv(data).records if isinstance(r, CsvRow)]


def problems_of(data: bytes) -> list[CsvProblem]:
    return [r for r in read_csv(data).records if isinstance(r, CsvProblem)]


class TestEncodings:
    def test_utf8_with_a_bom_is_read_without_the_bom_in_the_first_column(self) -> None:
        table = read_csv("\ufeffNome;Cidade\nJoão;São Paulo\n".encode())
        assert table.encoding == "utf-8-sig"
        assert table.header == ["Nome", "Cidade"]
        assert rows_of("\ufeffNome;Cidade\nJoão;São Paulo\n".encode())[0].values == {
            "Nome": "João",
            "Cidade": "São Paulo",
        }
        assert table.warnings == []

    def test_a_cp1252_file_is_read_as_cp1252_and_says_so(self) -> None:
        table = read_csv("Nome;Cidade\nJosé Conceição;Ribeirão Preto\n".encode("cp1252"))
        assert table.encoding == "cp1252"
        assert isinstance(table.records[0], CsvRow)
        assert table.records[0].values == {"Nome": "José Conceição", "Cidade": "Ribeirão Preto"}
        assert any("not valid UTF-8" in w and "cp1252" in w for w in table.warnings)

    def test_bytes_undefined_in_cp1252_fall_back_to_latin1(self) -> None:
        table = read_csv(b"Nome\nA\x81\xe9\n")
        assert table.encoding == "latin-1"
        assert table.records[0] == CsvRow(2, {"Nome": "A\x81é"})

    def test_a_utf8_file_with_one_damaged_line_reports_that_line_and_keeps_the_others(self) -> None:
        data = "Nome;Cidade\nJoão;São Paulo\nMaria;Jundiaí\n".encode() + b"Jos\xe9;Campinas\n" + "Ana;Itú\n".encode()
        table = read_csv(data)
        assert table.encoding == "utf-8"
        assert [r.line for r in rows_of(data)] == [2, 3, 5]
        [problem] = problems_of(data)
        assert problem.line == 4
        assert "not valid UTF-8" in problem.message

    def test_utf16_with_its_bom_is_read(self) -> None:
        table = read_csv("Nome\tE-mail\r\nJoão\tjoao@x.com\r\n".encode("utf-16"))
        assert table.encoding == "utf-16"
        assert table.delimiter == "\t"
        assert table.records == [CsvRow(2, {"Nome": "João", "E-mail": "joao@x.com"})]


class TestDelimiters:
    @pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), (",", "comma"), ("\t", "tab")])
    def test_the_delimiter_is_sniffed_from_the_header(self, delimiter: str, name: str) -> None:
        data = f"Nome{delimiter}Valor\nMaria{delimiter}R$ 10\n".encode()
        table = read_csv(data)
        assert table.delimiter == delimiter, name
        assert table.records == [CsvRow(2, {"Nome": "Maria", "Valor": "R$ 10"})]

    def test_a_comma_inside_a_semicolon_file_is_data(self) -> None:
        table = read_csv(b"Nome;Valor (R$)\nMaria;1.234,56\n")
        assert table.delimiter == ";"

    def test_quoted_fields_keep_delimiters_and_newlines(self) -> None:
        data = b'Nome;Obs\n"Silva; Maria";"linha 1\nlinha 2"\nAna;ok\n'
        assert read_csv(data).records == [
            CsvRow(2, {"Nome": "Silva; Maria", "Obs": "linha 1\nlinha 2"}),
            CsvRow(4, {"Nome": "Ana", "Obs": "ok"}),
        ]


class TestBrokenRows:
    def test_a_row_with_the_wrong_number_of_fields_is_a_problem_with_its_line(self) -> None:
        data = b"Nome;Email;Telefone\nMaria;m@x.com;11999999999\nJoao;j@x.com\nAna;a@x.com;1;extra\n"
        assert [r.line for r in rows_of(data)] == [2]
        assert [(p.line, p.message) for p in problems_of(data)] == [
            (3, "expected 3 fields (as many as the header), found 2"),
            (4, "expected 3 fields (as many as the header), found 4"),
        ]

    def test_a_quote_never_closed_names_the_lines_it_swallowed(self) -> None:
        data = b'Nome;Obs\nMaria;"sem fim\nAna;ok\nJoana;ok\n'
        [problem] = problems_of(data)
        assert problem.line == 2
        assert "lines 2 to 4" in problem.message
        assert rows_of(data) == []

    def test_a_nul_character_makes_the_line_a_problem(self) -> None:
        [problem] = problems_of(b"Nome;Obs\nMa\x00ria;x\n")
        assert "NUL" in problem.message

    def test_a_value_under_a_column_without_a_name_is_a_problem(self) -> None:
        data = b"Nome;;Cidade\nMaria;;Campinas\nAna;perdido;Campinas\n"
        assert rows_of(data) == [CsvRow(2, {"Nome": "Maria", "Cidade": "Campinas"})]
        assert problems_of(data)[0].message == "column 2 has no name in the header but holds a value"

    def test_blank_lines_are_skipped_and_counted(self) -> None:
        table = read_csv(b"Nome;Cidade\n\nMaria;Campinas\n;\n\n")
        assert table.records == [CsvRow(3, {"Nome": "Maria", "Cidade": "Campinas"})]
        assert table.warnings == ["3 blank line(s) skipped"]


class TestWholeFileProblems:
    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (b"", "empty"),
            (b"\n\n  \n", "empty"),
            (b"Nome;nome\nA;B\n", "twice"),
            (b"Nome;Em\x01ail\nA;B\n", "not a readable name"),
        ],
    )
    def test_the_file_is_refused_with_the_reason(self, data: bytes, reason: str) -> None:
        with pytest.raises(UnreadableCsv, match=reason):
            read_csv(data)

    def test_more_rows_than_the_limit_are_refused(self) -> None:
        with pytest.raises(UnreadableCsv, match="more than 3 rows"):
            read_csv(b"Nome\nA\nB\nC\nD\n", max_rows=3)


class TestNothingIsEverLost:
    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=400))
    def test_arbitrary_bytes_give_a_table_or_a_reason(self, data: bytes) -> None:
        try:
            table = read_csv(data)
        except UnreadableCsv as exc:
            reason = str(exc)
            assert reason
            return
        assert all(r.line >= 1 for r in table.records)
        assert all(p.message for p in table.records if isinstance(p, CsvProblem))

    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(
            st.lists(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12), min_size=3, max_size=3),
            max_size=15,
        ),
        st.sampled_from([";", ",", "\t"]),
        st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    )
    def test_every_non_blank_written_row_comes_back_as_a_row(
        self, cells: list[list[str]], delimiter: str, encoding: str
    ) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        writer.writerows([["Nome", "Email", "Cidade"], *cells])
        try:
            data = buffer.getvalue().encode(encoding)
        except UnicodeEncodeError:
            data = buffer.getvalue().encode("utf-8")
        expected = [row for row in cells if any(c.strip() for c in row)]
        got = [list(r.values.values()) for r in read_csv(data).records if isinstance(r, CsvRow)]
        assert got == expected
