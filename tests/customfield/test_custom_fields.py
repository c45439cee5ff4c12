"""Custom fields: managers define them per entity; values are validated by type, options and requiredness."""

from __future__ import annotations

import httpx
import pytest

from leadflow.customfield.schemas import CustomFieldCreate
from leadflow.customfield.service import create_field, validate_custom_fields
from leadflow.kit.db import Database
from leadflow.kit.errors import ValidationFailed
from leadflow.models import CustomFieldType, Tenant
from tests.factories import owner_scope


async def _define(db: Database, tenant: Tenant, **fields: object) -> None:
    async with db.session(owner_scope(tenant)) as session:
        await create_field(session, owner_scope(tenant), data=CustomFieldCreate.model_validate(fields))


async def _validate(db: Database, tenant: Tenant, values: dict[str, object]) -> dict[str, object]:
    async with db.session(owner_scope(tenant)) as session:
        return await validate_custom_fields(session, owner_scope(tenant), entity="lead", values=values)


class TestValidation:
    async def test_values_of_each_type_are_accepted_and_normalised(self, db: Database, tenant: Tenant) -> None:
        await _define(
            db,
            tenant,
            entity="lead",
            key="pagamento",
            label="Pagamento",
            type="select",
            options=["À vista", "Financiamento"],
        )
        await _define(
            db,
            tenant,
            entity="lead",
            key="bancos",
            label="Bancos",
            type="multiselect",
            options=["Caixa", "Itaú", "Santander"],
        )
        await _define(db, tenant, entity="lead", key="renda", label="Renda", type="number")
        await _define(db, tenant, entity="lead", key="mudanca", label="Mudança", type="date")
        await _define(db, tenant, entity="lead", key="tem_pet", label="Pet", type="boolean")
        clean = await _validate(
            db,
            tenant,
            {
                "pagamento": "Financiamento",
                "bancos": ["Santander", "Caixa", "Caixa"],
                "renda": 12000,
                "mudanca": "2027-03-01",
                "tem_pet": True,
            },
        )
        assert clean["bancos"] == ["Caixa", "Santander"]
        assert clean["mudanca"] == "2027-03-01"

    @pytest.mark.parametrize(
        ("field_type", "options", "value"),
        [
            ("select", ["A", "B"], "C"),
            ("number", [], "12"),
            ("boolean", [], "sim"),
            ("date", [], "01/03/2027"),
            ("text", [], 5),
        ],
    )
    async def test_a_wrong_value_is_refused_naming_the_field(
        self, db: Database, tenant: Tenant, field_type: str, options: list[str], value: object
    ) -> None:
        await _define(db, tenant, entity="lead", key="campo", label="Campo", type=field_type, options=options)
        with pytest.raises(ValidationFailed) as caught:
            await _validate(db, tenant, {"campo": value})
        assert caught.value.errors == [{"field": "custom_fields.campo", "message": caught.value.errors[0]["message"]}]

    async def test_unknown_and_missing_required_fields_are_both_reported(self, db: Database, tenant: Tenant) -> None:
        await _define(
            db, tenant, entity="lead", key="origem_indicacao", label="Quem indicou", type="text", required=True
        )
        with pytest.raises(ValidationFailed) as caught:
            await _validate(db, tenant, {"inexistente": 1})
        fields = {e["field"] for e in caught.value.errors or []}
        assert fields == {"custom_fields.inexistente", "custom_fields.origem_indicacao"}

    async def test_definitions_of_another_tenant_do_not_apply(
        self, db: Database, tenant: Tenant, other_tenant: Tenant
    ) -> None:
        await _define(db, other_tenant, entity="lead", key="so_deles", label="Só deles", type="text")
        with pytest.raises(ValidationFailed):
            await _validate(db, tenant, {"so_deles": "x"})


class TestDefinitionsApi:
    async def test_a_manager_defines_edits_and_removes_a_field(self, as_manager: httpx.AsyncClient) -> None:
        created = await as_manager.post(
            "/v1/custom-fields",
            json={"entity": "lead", "key": "pagamento", "label": "Pagamento", "type": "select", "options": ["À vista"]},
        )
        assert created.status_code == 201, created.text
        field_id = created.json()["id"]
        edited = await as_manager.patch(f"/v1/custom-fields/{field_id}", json={"options": ["À vista", "FGTS"]})
        assert edited.json()["options"] == ["À vista", "FGTS"]
        listed = (await as_manager.get("/v1/custom-fields", params={"entity": "lead"})).json()["items"]
        assert [f["key"] for f in listed] == ["pagamento"]
        assert (await as_manager.delete(f"/v1/custom-fields/{field_id}")).status_code == 204

    async def test_a_select_without_options_is_refused(self, as_manager: httpx.AsyncClient) -> None:
        response = await as_manager.post(
            "/v1/custom-fields", json={"entity": "lead", "key": "x", "label": "X", "type": "select"}
        )
        assert response.status_code == 422

    async def test_a_broker_cannot_define_fields(self, as_broker: httpx.AsyncClient) -> None:
        response = await as_broker.post(
            "/v1/custom-fields", json={"entity": "lead", "key": "x", "label": "X", "type": "text"}
        )
        assert response.status_code == 403

    async def test_type_is_one_of_the_known_ones(self) -> None:
        assert {t.value for t in CustomFieldType} >= {"text", "number", "select"}
