"""Whatever JSON a CRM answers, reading it never crashes: a Salesforce error body always yields a message, an RD
Station search answer yields only contacts that hold exactly our id, or a retryable error (never "nobody")."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.integrations.rdstation.client import RdStationError, contacts_holding
from leadflow.integrations.salesforce.client import error_of

ID_FIELD = "64b7f0c2a1b2c3d4e5f60718"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
custom_fields = st.lists(
    st.fixed_dictionaries({"custom_field_id": st.sampled_from([ID_FIELD, "other"]), "value": json_values}),
    max_size=3,
)
contacts = st.lists(
    st.fixed_dictionaries(
        {"_id": st.text(alphabet="0123456789abcdef", min_size=1, max_size=24)},
        optional={"contact_custom_fields": custom_fields | json_values, "name": json_values},
    )
    | json_values,
    max_size=5,
)


class TestSalesforceErrorBodies:
    @given(json_values)
    def test_any_body_reads_as_a_code_and_a_message(self, payload: Any) -> None:
        code, message = error_of(payload)
        assert code is None or isinstance(code, str)
        assert isinstance(message, str)

    def test_the_first_error_of_the_array_is_the_one_shown(self) -> None:
        body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}, {"message": "x"}]
        assert error_of(body) == ("INVALID_SESSION_ID", "Session expired or invalid")


class TestRdStationSearchAnswers:
    @given(json_values)
    def test_an_answer_without_a_contact_list_is_a_retryable_error(self, payload: Any) -> None:
        if isinstance(payload, dict) and isinstance(payload.get("contacts"), list):
            assert isinstance(contacts_holding(payload, ID_FIELD, "p-1"), list)
            return
        with pytest.raises(RdStationError) as failed:
            contacts_holding(payload, ID_FIELD, "p-1")
        assert failed.value.retryable

    @given(contacts, st.text(max_size=8))
    def test_only_contacts_holding_exactly_our_id_are_found(self, listed: list[Any], value: str) -> None:
        found = contacts_holding({"contacts": listed}, ID_FIELD, value)
        holding = {
            str(c["_id"])
            for c in listed
            if isinstance(c, dict)
            and isinstance(c.get("contact_custom_fields"), list)
            and any(
                f.get("custom_field_id") == ID_FIELD and f.get("value") is not None and str(f["value"]) == value
                for f in c["contact_custom_fields"]
                if isinstance(f, dict)
            )
        }
        assert set(found) <= holding
