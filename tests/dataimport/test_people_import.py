"""Importing people: a dry run reports every line and writes nothing, the real run creates, bad lines are error
lines with their reasons while good lines are imported, duplicates are found by e-mail, phone and CPF."""

from __future__ import annotations

import httpx
import pytest

from leadflow.dataimport import service
from leadflow.kit.db import Database
from leadflow.models import ImportedRow, Person, Tenant
from tests import factories
from tests.dataimport.factories import (
    CPF_A,
    CPF_B,
    CPF_INVALID,
    count_rows,
    csv_bytes,
    errors_at,
    imported,
    outcomes,
    upload,
)

HEADER = ["Nome", "E-mail", "Celular", "CPF"]


class TestDryRun:
    async def test_it_reports_created_duplicate_and_error_per_line_and_writes_nothing(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        existing = await factories.make_person(db, tenant, name="Já Cliente", email="ja@cliente.com")
        data = csv_bytes(
            [
                HEADER,
                ["Maria Silva", "maria@gmail.com", "(11) 98765-4321", CPF_A],
                ["Outra", "JA@cliente.com", "", ""],
                ["Sem Telefone", "", "(11) 1234", ""],
                ["Maria S.", "", "11 98765-4321", ""],
            ]
        )
        before = await count_rows(db, tenant, Person)
        job = await imported(as_manager, data)
        assert job["dry_run"] is True
        assert job["status"] == "done"
        assert outcomes(job) == [(2, "created"), (3, "duplicate"), (4, "error"), (5, "duplicate")]
        assert job["report"][0]["entity_id"] is None  # nothing was created
        assert job["report"][1]["entity_id"] == str(existing.id)
        assert job["summary"] == {"created": 1, "updated": 0, "duplicate": 2, "error": 1}
        assert (job["processed_rows"], job["total_rows"]) == (4, 4)
        assert await count_rows(db, tenant, Person) == before
        assert await count_rows(db, tenant, ImportedRow) == 0

    async def test_the_report_can_be_read_again_and_filtered_by_outcome(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([HEADER, ["Ana", "", "", ""], ["", "x@y.com", "", ""]]))
        errors = (await as_manager.get(f"/v1/imports/{job['id']}", params={"outcome": "error"})).json()
        assert outcomes(errors) == [(3, "error")]
        assert errors["summary"]["created"] == 1
        assert errors_at(errors, 3) == [{"field": "Nome", "message": "empty: a new person needs a name"}]


class TestRealRun:
    async def test_running_a_dry_run_creates_what_it_reported(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        data = csv_bytes([HEADER, ["Maria Silva", "maria@gmail.com", "(11) 98765-4321", CPF_A]])
        dry = await imported(as_manager, data)
        response = await as_manager.post(f"/v1/imports/{dry['id']}/run")
        assert response.status_code == 201, response.text
        run = response.json()
        assert (run["dry_run"], run["source_job_id"], run["mapping"]) == (False, dry["id"], dry["mapping"])
        assert outcomes(run) == [(2, "created")]
        read = as_manager.get(f"/v1/people/{run['report'][0]['entity_id']}", params={"reveal": "cpf"})  # CPF unmasked
        person = (await read).json()
        assert (person["name"], person["emails"], person["phones"], person["cpf_cnpj"]) == (
            "Maria Silva",
            ["maria@gmail.com"],
            ["+5511987654321"],
            "52998224725",
        )
        assert await count_rows(db, tenant, ImportedRow) == 1

    async def test_a_dry_run_runs_for_real_once(self, as_manager: httpx.AsyncClient) -> None:
        dry = await imported(as_manager, csv_bytes([HEADER, ["Ana", "", "", ""]]))
        run = (await as_manager.post(f"/v1/imports/{dry['id']}/run")).json()
        again = await as_manager.post(f"/v1/imports/{dry['id']}/run")
        assert again.status_code == 409
        assert run["id"] in again.json()["detail"]
        assert (await as_manager.post(f"/v1/imports/{run['id']}/run")).status_code == 409

    async def test_lines_repeating_an_earlier_line_are_duplicates_in_the_dry_run_as_in_the_real_run(
        self, as_manager: httpx.AsyncClient
    ) -> None:
        data = csv_bytes([HEADER, ["Maria", "maria@gmail.com", "", ""], ["Maria Silva", "Maria@Gmail.com", "", ""]])
        dry = await imported(as_manager, data)
        run = (await as_manager.post(f"/v1/imports/{dry['id']}/run")).json()
        assert outcomes(dry) == outcomes(run) == [(2, "created"), (3, "duplicate")]
        assert run["report"][1]["entity_id"] == run["report"][0]["entity_id"]


class TestBrokenRows:
    async def test_bad_lines_are_errors_with_reasons_and_good_lines_are_imported(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        data = csv_bytes([HEADER, ["Boa Um", "um@x.com", "", ""]]) + b"So;dois;campos\r\n"
        data += csv_bytes(
            [
                ["Telefone Ruim", "", "(11) 1234", ""],
                ["CPF Ruim", "", "", CPF_INVALID],
                ["Email Ruim", "nao-e-email", "", ""],
                ["Boa Dois", "", "(19) 99876-5432", CPF_B],
            ]
        )
        before = await count_rows(db, tenant, Person)
        job = await imported(as_manager, data, dry_run=False)
        assert outcomes(job) == [(2, "created"), (3, "error"), (4, "error"), (5, "error"), (6, "error"), (7, "created")]
        assert errors_at(job, 3) == [{"field": None, "message": "expected 4 fields (as many as the header), found 3"}]
        assert errors_at(job, 4)[0]["field"] == "Celular"
        assert "not a valid phone number" in str(errors_at(job, 4)[0]["message"])
        assert errors_at(job, 5) == [{"field": "CPF", "message": "CPF check digits do not match"}]
        assert errors_at(job, 6)[0]["field"] == "E-mail"
        assert await count_rows(db, tenant, Person) == before + 2

    async def test_every_bad_cell_of_a_line_is_named(self, as_manager: httpx.AsyncClient) -> None:
        data = csv_bytes([["Nome", "Celular", "CPF", "Nascimento"], ["X", "123", "000", "31/02/1990"]])
        job = await imported(as_manager, data)
        assert [e["field"] for e in errors_at(job, 2)] == ["Celular", "CPF", "Nascimento"]

    async def test_a_birth_date_in_the_future_names_its_column(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([["Nome", "Data de nascimento"], ["X", "01/01/2999"]]))
        assert errors_at(job, 2)[0]["field"] == "Data de nascimento"


class TestEncodingsAndDelimiters:
    async def test_a_cp1252_file_is_imported_with_its_accents_and_the_job_says_so(
        self, as_manager: httpx.AsyncClient
    ) -> None:
        data = csv_bytes([["Nome", "Cidade natal"], ["José da Conceição", "Ribeirão"]], encoding="cp1252")
        job = await imported(as_manager, data, dry_run=False, mapping={"Cidade natal": None})
        assert job["encoding"] == "cp1252"
        assert any("cp1252" in warning for warning in job["warnings"])
        person = (await as_manager.get(f"/v1/people/{job['report'][0]['entity_id']}")).json()
        assert person["name"] == "José da Conceição"

    async def test_utf8_with_bom_comma_separated_is_read(self, as_manager: httpx.AsyncClient) -> None:
        data = "\ufeff".encode() + csv_bytes([["nome", "email"], ["Ana Lúcia", "ana@x.com"]], delimiter=",")
        job = await imported(as_manager, data, dry_run=False)
        assert (job["encoding"], job["delimiter"], outcomes(job)) == ("utf-8-sig", ",", [(2, "created")])

    async def test_semicolon_files_from_excel_pt_br_are_read(self, as_manager: httpx.AsyncClient) -> None:
        data = b"Nome;Telefone;Tags\r\nMaria;(11) 98765-4321;investidor, vip\r\n"
        job = await imported(as_manager, data, dry_run=False)
        assert job["delimiter"] == ";"
        person = (await as_manager.get(f"/v1/people/{job['report'][0]['entity_id']}")).json()
        assert person["tags"] == ["investidor", "vip"]

    async def test_columns_no_field_takes_are_named_in_the_warnings(self, as_manager: httpx.AsyncClient) -> None:
        job = await imported(as_manager, csv_bytes([["Nome", "Data de cadastro"], ["Ana", "01/01/2020"]]))
        assert job["mapping"] == {"Nome": "name"}
        assert "columns not imported (no field mapped): Data de cadastro" in job["warnings"]


class TestUpsert:
    async def test_a_matching_person_is_updated_and_new_phones_are_added(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        person = await factories.make_person(db, tenant, name="Maria", email="maria@gmail.com")
        data = csv_bytes([HEADER, ["Maria Silva", "maria@gmail.com", "(11) 98765-4321", CPF_A]])
        job = await imported(as_manager, data, dry_run=False, mode="upsert")
        assert outcomes(job) == [(2, "updated")]
        assert job["report"][0]["entity_id"] == str(person.id)
        read = (await as_manager.get(f"/v1/people/{person.id}", params={"reveal": "cpf"})).json()  # CPF unmasked
        assert (read["name"], read["phones"], read["cpf_cnpj"]) == ("Maria Silva", ["+5511987654321"], "52998224725")

    async def test_a_line_changing_nothing_is_a_duplicate(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_person(db, tenant, name="Maria", email="maria@gmail.com")
        job = await imported(as_manager, csv_bytes([["Nome", "E-mail"], ["Maria", "maria@gmail.com"]]), mode="upsert")
        assert outcomes(job) == [(2, "duplicate")]

    async def test_a_line_matching_two_people_is_an_error(
        self, as_manager: httpx.AsyncClient, db: Database, tenant: Tenant
    ) -> None:
        await factories.make_person(db, tenant, name="A", email="a@x.com")
        await factories.make_person(db, tenant, name="B", phone="(11) 98765-4321")
        data = csv_bytes([HEADER, ["A B", "a@x.com", "(11) 98765-4321", ""]])
        job = await imported(as_manager, data, mode="upsert")
        assert "matches 2 different people" in str(errors_at(job, 2)[0]["message"])


class TestWholeFileRefusals:
    @pytest.mark.parametrize(
        ("data", "reason"),
        [
            (b"", "empty"),
            (b"Nome;nome\nA;B\n", "twice"),
            (b"Maria Silva;11987654321\nJoao;11987654322\n", "header"),
        ],
    )
    async def test_an_unreadable_file_is_a_422_and_creates_no_job(
        self, as_manager: httpx.AsyncClient, data: bytes, reason: str
    ) -> None:
        response = await upload(as_manager, data)
        assert response.status_code == 422, response.text
        assert reason in response.text
        assert (await as_manager.get("/v1/imports")).json()["items"] == []

    async def test_a_file_over_the_limit_is_a_413(
        self, as_manager: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(service, "MAX_CSV_BYTES", 64)
        response = await upload(as_manager, csv_bytes([HEADER, *[["Nome", "", "", ""]] * 10]))
        assert response.status_code == 413

    async def test_an_unknown_target_field_is_a_422_naming_it(self, as_manager: httpx.AsyncClient) -> None:
        response = await upload(as_manager, csv_bytes([HEADER, ["A", "", "", ""]]), mapping={"Nome": "apelido"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "mapping.Nome"
        assert "apelido" in response.json()["errors"][0]["message"]

    async def test_a_mapping_that_is_not_json_is_a_422(self, as_manager: httpx.AsyncClient) -> None:
        response = await upload(as_manager, csv_bytes([HEADER, ["A", "", "", ""]]), mapping="{nome: name")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "mapping"

    async def test_an_unknown_custom_field_is_a_422(self, as_manager: httpx.AsyncClient) -> None:
        response = await upload(as_manager, csv_bytes([HEADER, ["A", "", "", ""]]), mapping={"CPF": "custom_fields.x"})
        assert response.status_code == 422
        assert "no custom field" in response.text


class TestCustomFields:
    async def test_custom_field_cells_are_typed_by_their_definition(self, as_manager: httpx.AsyncClient) -> None:
        for definition in (
            {"entity": "person", "key": "renda", "label": "Renda", "type": "number"},
            {"entity": "person", "key": "vip", "label": "VIP", "type": "boolean"},
        ):
            assert (await as_manager.post("/v1/custom-fields", json=definition)).status_code == 201
        data = csv_bytes([["Nome", "Renda", "VIP"], ["Ana", "1.500,50", "sim"], ["Bia", "muito", "talvez"]])
        mapping = {"Renda": "custom_fields.renda", "VIP": "custom_fields.vip"}
        job = await imported(as_manager, data, dry_run=False, mapping=mapping)
        assert outcomes(job) == [(2, "created"), (3, "error")]
        assert [e["field"] for e in errors_at(job, 3)] == ["Renda", "VIP"]
        person = (await as_manager.get(f"/v1/people/{job['report'][0]['entity_id']}")).json()
        assert person["custom_fields"] == {"renda": 1500.5, "vip": True}


class TestWhoMayImport:
    async def test_brokers_and_viewers_may_not(
        self, as_broker: httpx.AsyncClient, as_viewer: httpx.AsyncClient
    ) -> None:
        data = csv_bytes([HEADER, ["A", "", "", ""]])
        assert (await upload(as_broker, data)).status_code == 403
        assert (await upload(as_viewer, data)).status_code == 403
        assert (await as_broker.get("/v1/imports")).status_code == 403
