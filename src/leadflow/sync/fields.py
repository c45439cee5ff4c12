"""What we send about a person: our fields (one flat dict of text), mapped to the CRM's property names."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from leadflow.models import Lead, Person, Stage, User

FIELDS: tuple[str, ...] = (
    "person_id",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "lead_id",
    "lead_status",
    "stage",
    "owner_email",
    "owner_name",
    "source",
    "channel",
    "utm_campaign",
)


def our_fields(
    person: Person,
    *,
    email: str | None,
    phone: str | None,
    lead: Lead | None,
    stage: Stage | None,
    owner: User | None,
) -> dict[str, str]:
    first, _, last = person.name.strip().partition(" ")
    values: dict[str, str | None] = {
        "person_id": str(person.id),
        "name": person.name,
        "first_name": first,
        "last_name": last.strip(),
        "email": email,
        "phone": phone,
        "lead_id": str(lead.id) if lead else None,
        "lead_status": lead.status.value if lead else None,
        "stage": stage.name if stage else None,
        "owner_email": owner.email if owner else None,
        "owner_name": owner.name if owner else None,
        "source": lead.source if lead else None,
        "channel": lead.channel if lead else None,
        "utm_campaign": lead.utm_campaign if lead else None,
    }
    return {name: value for name, value in values.items() if value}


def mapped(values: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """Only the mapped fields, under the CRM's names."""
    return {remote: values[ours] for ours, remote in mapping.items() if ours in values}


def payload_hash(properties: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(properties, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def pipedrive_person(
    values: dict[str, str], *, id_field_key: str, entity_id: str, mapping: dict[str, str]
) -> dict[str, Any]:
    """A Pipedrive person body: name, e-mail and phone in Pipedrive's own fields, the rest in custom fields."""
    body: dict[str, Any] = {"name": values.get("name") or values.get("phone") or values.get("email") or entity_id}
    if "email" in values:
        body["emails"] = [{"value": values["email"], "primary": True, "label": "work"}]
    if "phone" in values:
        body["phones"] = [{"value": values["phone"], "primary": True, "label": "mobile"}]
    custom = {key: values[ours] for ours, key in mapping.items() if ours in values}
    body["custom_fields"] = {**custom, id_field_key: entity_id}
    return body


def salesforce_record(
    values: dict[str, str], *, sobject: str, mapping: dict[str, str], company: str, entity_id: str
) -> dict[str, Any]:
    """The mapped fields of a Salesforce record (our id travels in the upsert's URL, not here). Leads and Contacts
    require ``LastName`` and a Lead requires ``Company``: a one-word name (common on WhatsApp) or an unmapped
    company is filled in rather than refused."""
    body: dict[str, Any] = dict(mapped(values, mapping))
    if sobject in ("Lead", "Contact") and not body.get("LastName"):
        body["LastName"] = values.get("name") or values.get("phone") or values.get("email") or entity_id
        if body.get("FirstName") == body["LastName"]:
            del body["FirstName"]
    if sobject == "Lead" and not body.get("Company"):
        body["Company"] = company
    return body


def rdstation_contact(
    values: dict[str, str], *, id_field_id: str, entity_id: str, mapping: dict[str, str]
) -> dict[str, Any]:
    """An RD Station CRM contact (contracts §5.4, [M]): name, e-mail and phone in RD's own fields, the rest (our id
    first) in ``contact_custom_fields``."""
    body: dict[str, Any] = {"name": values.get("name") or values.get("phone") or values.get("email") or entity_id}
    if "email" in values:
        body["emails"] = [{"email": values["email"]}]
    if "phone" in values:
        body["phones"] = [{"phone": values["phone"]}]
    custom = {field_id: values[ours] for ours, field_id in mapping.items() if ours in values}
    custom[id_field_id] = entity_id
    body["contact_custom_fields"] = [{"custom_field_id": key, "value": value} for key, value in custom.items()]
    return body
