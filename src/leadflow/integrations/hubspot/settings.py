"""A tenant's HubSpot settings: the private app's access token (a secret) and how our fields map to properties."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from leadflow.integrations.hubspot.client import DEFAULT_ID_PROPERTY

# Our field -> HubSpot contact property. ``leadflow_*`` properties are custom ones the tenant creates in HubSpot
# (``leadflow_id`` with "unique values", so the batch upsert can key on it).
DEFAULT_FIELD_MAPPING: dict[str, str] = {
    "first_name": "firstname",
    "last_name": "lastname",
    "email": "email",
    "phone": "phone",
    "lead_id": "leadflow_lead_id",
    "lead_status": "leadflow_lead_status",
    "stage": "leadflow_stage",
    "owner_email": "leadflow_owner_email",
    "source": "leadflow_source",
    "channel": "leadflow_channel",
}


class HubSpotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr = Field(min_length=8, description="Private app access token (crm.objects.contacts.write)")
    id_property: str = Field(
        default=DEFAULT_ID_PROPERTY, pattern=r"^[a-z][a-z0-9_]{0,99}$", description="Unique contact property"
    )
    field_mapping: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELD_MAPPING))
