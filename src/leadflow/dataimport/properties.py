"""Importing properties (imóveis), keyed by their reference code: a new reference is created; an existing one is
a duplicate (mode create) or is updated with the cells given (mode upsert; features are joined)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.dataimport.custom import custom_values
from leadflow.dataimport.lookups import user_by_email
from leadflow.dataimport.mapping import FieldSpec, synonym_table
from leadflow.dataimport.rows import ImportContext, MappedRow, RowErrors, RowInvalid, RowResult, errors_of
from leadflow.dataimport.values import (
    parse_area,
    parse_brl_cents,
    parse_choice,
    parse_count,
    parse_list,
)
from leadflow.kit.errors import Conflict, NotFound, ValidationFailed
from leadflow.kit.scope import Scope
from leadflow.models import ImportedRow, ListingPurpose, Property, PropertyStatus, PropertyType
from leadflow.models.dataimport import ImportMode
from leadflow.property.schemas import PropertyCreate, PropertyUpdate
from leadflow.property.service import create_property, delete_property, find_property_by_reference, update_property

ENTITY_TYPE = "property"
PROPERTY_FIELDS: dict[str, FieldSpec] = {
    "reference": FieldSpec("Reference code (required; the key of the upsert)"),
    "type": FieldSpec("apartamento, casa, casa em condomínio, cobertura, studio, terreno, sala comercial, …"),
    "purpose": FieldSpec("venda or locação (aluguel)"),
    "status": FieldSpec("disponível, reservado, vendido, alugado, inativo"),
    "title": FieldSpec("Title"),
    "description": FieldSpec("Description"),
    "price": FieldSpec("Price in reais: R$ 650.000,00"),
    "condo_fee": FieldSpec("Condo fee in reais"),
    "iptu": FieldSpec("IPTU in reais"),
    "private_area": FieldSpec("Private area in m²: 72,5"),
    "total_area": FieldSpec("Total area in m²"),
    "bedrooms": FieldSpec("Bedrooms"),
    "suites": FieldSpec("Suites"),
    "bathrooms": FieldSpec("Bathrooms"),
    "parking": FieldSpec("Parking spaces"),
    "cep": FieldSpec("CEP"),
    "street": FieldSpec("Street"),
    "number": FieldSpec("Number"),
    "complement": FieldSpec("Complement"),
    "neighbourhood": FieldSpec("Neighbourhood (bairro)"),
    "city": FieldSpec("City"),
    "uf": FieldSpec("State (UF): SP"),
    "features": FieldSpec("Features separated by , | or ;", many=True),
    "listing_broker": FieldSpec("E-mail of the listing broker (captador), a user of this account"),
}
PROPERTY_SYNONYMS = synonym_table(
    {
        "reference": ["referencia", "ref", "codigo", "cod", "codigo do imovel", "ref do imovel", "codigo referencia"],
        "type": ["tipo", "tipo do imovel", "tipo de imovel", "categoria"],
        "purpose": ["finalidade", "transacao", "negocio", "operacao"],
        "status": ["situacao", "disponibilidade"],
        "title": ["titulo", "anuncio", "titulo do anuncio"],
        "description": ["descricao", "detalhes"],
        "price": ["preco", "valor", "preco (r$)", "valor (r$)", "valor do imovel", "valor de venda", "valor venda"],
        "condo_fee": ["condominio", "valor do condominio", "taxa de condominio", "condominio (r$)"],
        "iptu": ["iptu (r$)", "valor do iptu"],
        "private_area": ["area", "area util", "area privativa", "area (m2)", "area m2", "area util (m2)", "area (m²)"],
        "total_area": ["area total", "area total (m2)", "area total (m²)"],
        "bedrooms": ["quartos", "dormitorios", "dorms", "qtd quartos"],
        "suites": ["suite"],
        "bathrooms": ["banheiros", "wc"],
        "parking": ["vagas", "garagem", "vagas de garagem", "vaga"],
        "cep": ["zip", "codigo postal"],
        "street": ["rua", "logradouro", "endereco"],
        "number": ["numero", "nro", "num"],
        "complement": ["complemento"],
        "neighbourhood": ["bairro", "neighborhood"],
        "city": ["cidade", "municipio"],
        "uf": ["estado", "state"],
        "features": ["caracteristicas", "diferenciais", "comodidades", "infraestrutura"],
        "listing_broker": ["captador", "corretor captador", "corretor", "email do captador"],
    }
)
TYPE_WORDS = {
    **{t.value: t.value for t in PropertyType},
    "apto": "apartamento",
    "ap": "apartamento",
    "flat": "apartamento",
    "casa_em_condominio": "casa_condominio",
    "casa_de_condominio": "casa_condominio",
    "sobrado_em_condominio": "casa_condominio",
    "sobrado": "casa",
    "estudio": "studio",
    "kitnet": "studio",
    "kitinete": "studio",
    "loft": "studio",
    "lote": "terreno",
    "sala": "sala_comercial",
    "conjunto_comercial": "sala_comercial",
    "escritorio": "sala_comercial",
    "ponto_comercial": "loja",
    "galpao": "galpao",
    "barracao": "galpao",
    "deposito": "galpao",
    "sitio": "chacara",
    "fazenda": "chacara",
}
PURPOSE_WORDS = {"venda": "venda", "vender": "venda", "sale": "venda", "locacao": "locacao", "aluguel": "locacao"}
PURPOSE_WORDS |= {"alugar": "locacao", "rent": "locacao"}
STATUS_WORDS = {**{s.value: s.value for s in PropertyStatus}, "ativo": "disponivel", "a_venda": "disponivel"}
CELL_READERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "type": ("type", lambda raw: PropertyType(parse_choice(raw, TYPE_WORDS, what="type"))),
    "purpose": ("purpose", lambda raw: ListingPurpose(parse_choice(raw, PURPOSE_WORDS, what="purpose"))),
    "status": ("status", lambda raw: PropertyStatus(parse_choice(raw, STATUS_WORDS, what="status"))),
    "price": ("price_cents", parse_brl_cents),
    "condo_fee": ("condo_fee_cents", parse_brl_cents),
    "iptu": ("iptu_cents", parse_brl_cents),
    "private_area": ("private_area", parse_area),
    "total_area": ("total_area", parse_area),
    "bedrooms": ("bedrooms", parse_count),
    "suites": ("suites", parse_count),
    "bathrooms": ("bathrooms", parse_count),
    "parking": ("parking", parse_count),
}
TEXT_FIELDS: tuple[str, ...] = ("reference", "title", "description", "cep", "street", "number", "complement")
TEXT_FIELDS += ("neighbourhood", "city", "uf")


async def read_property_values(ctx: ImportContext, row: MappedRow) -> tuple[dict[str, Any], dict[str, str]]:
    """The property's API values from a line, and the column each came from; RowInvalid naming bad columns."""
    errors = RowErrors()
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in TEXT_FIELDS:
        if (cell := row.first(name)) is not None:
            values[name], origins[name] = cell.value, cell.column
    for name, (target, parse) in CELL_READERS.items():
        if (cell := row.first(name)) is not None:
            origins[target] = cell.column
            if (value := errors.read(cell, parse)) is not None:
                values[target] = value
    if features := [f for cell in row.every("features") for f in parse_list(cell.value)]:
        values["features"] = list(dict.fromkeys(features))
        origins["features"] = row.column_for("features")
    if (broker := await user_by_email(ctx, row.first("listing_broker"), errors)) is not None:
        values["listing_broker_id"] = broker
        origins["listing_broker_id"] = row.column_for("listing_broker")
    custom, custom_origins = await custom_values(ctx, row, ENTITY_TYPE, errors)
    if custom:
        values["custom_fields"] = custom
    errors.raise_if_any()
    return values, {**origins, **custom_origins}


class PropertiesImporter:
    fields = PROPERTY_FIELDS
    synonyms = PROPERTY_SYNONYMS
    custom_field_entity = ENTITY_TYPE

    async def import_row(self, ctx: ImportContext, row: MappedRow) -> RowResult:
        if row.first("reference") is None:
            raise RowInvalid([{"field": row.column_for("reference"), "message": "empty: the reference is required"}])
        values, origins = await read_property_values(ctx, row)
        existing = await find_property_by_reference(ctx.session, ctx.scope, reference=values["reference"])
        if existing is None:
            return await self._create(ctx, row, values, origins)
        if ctx.mode is ImportMode.CREATE:
            return RowResult.duplicate(existing.id)
        before = await _update(ctx, existing, values, origins)
        return (
            RowResult.duplicate(existing.id) if before is None else RowResult.updated(ENTITY_TYPE, existing.id, before)
        )

    async def _create(
        self, ctx: ImportContext, row: MappedRow, values: dict[str, Any], origins: dict[str, str]
    ) -> RowResult:
        missing = [name for name in ("type", "purpose") if name not in values]
        if missing:
            message = "empty: a new property needs its type and purpose"
            raise RowInvalid([{"field": row.column_for(name), "message": message} for name in missing])
        try:
            prop = await create_property(ctx.session, ctx.scope, data=PropertyCreate.model_validate(values))
        except (ValidationError, ValidationFailed, NotFound, Conflict) as exc:
            raise RowInvalid(errors_of(exc, origins)) from exc
        return RowResult.created(ENTITY_TYPE, prop.id)


async def _update(
    ctx: ImportContext, prop: Property, values: dict[str, Any], origins: dict[str, str]
) -> dict[str, Any] | None:
    """Apply the line's values that differ; returns the values before (for a revert), or None if none differ."""
    try:
        wanted = PropertyUpdate.model_validate({k: v for k, v in values.items() if k != "reference"})
        changes = _differences(prop, wanted.model_dump(exclude_unset=True))
        if not changes:
            return None
        before = {name: getattr(prop, name) for name in changes if name != "custom_fields"}
        if "custom_fields" in changes:
            before["custom_fields"] = {key: prop.custom_fields.get(key) for key in changes["custom_fields"]}
        data = PropertyUpdate.model_validate(changes)
        await update_property(ctx.session, ctx.scope, property_id=prop.id, data=data)
    except (ValidationError, ValidationFailed, NotFound, Conflict) as exc:
        raise RowInvalid(errors_of(exc, origins)) from exc
    return before


def _differences(prop: Property, wanted: dict[str, Any]) -> dict[str, Any]:
    changes = {name: value for name, value in wanted.items() if getattr(prop, name) != value}
    if "features" in changes:  # features are joined, never dropped by an import
        changes["features"] = list(dict.fromkeys([*prop.features, *changes["features"]]))
    if "custom_fields" in changes:
        changes["custom_fields"] = {k: v for k, v in changes["custom_fields"].items() if prop.custom_fields.get(k) != v}
    return {name: value for name, value in changes.items() if value != getattr(prop, name) and value != {}}


async def revert_property(session: AsyncSession, scope: Scope, imported: ImportedRow) -> None:
    """Soft-delete a property the import created, or put back the values it overwrote."""
    if imported.action == "created":
        await delete_property(session, scope, property_id=imported.entity_id)
        return
    data = PropertyUpdate.model_validate(imported.before)
    await update_property(session, scope, property_id=imported.entity_id, data=data)
