"""What outside systems send about leads is parsed without surprises: attribution touches and stage requirements
either validate into plain, storable JSON or are refused as a validation error, never anything else."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leadflow.lead.rules import REQUIRABLE_FIELDS, is_requirable
from leadflow.lead.schemas import StageCreate, Touch

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
touch_like = st.dictionaries(
    st.one_of(st.sampled_from(["utm_source", "utm_campaign", "gclid", "at", "referrer"]), st.text(max_size=70)),
    json_values,
    max_size=8,
)


def _plain(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | int | str)


class TestTouchParsing:
    @settings(max_examples=200, deadline=None)
    @given(body=touch_like)
    def test_a_touch_is_storable_json_or_a_validation_error(self, body: dict[str, Any]) -> None:
        try:
            touch = Touch.model_validate(body)
        except ValidationError:
            return
        stored = touch.model_dump(mode="json", exclude_none=True)
        assert all(_plain(v) for v in stored.values())
        assert all("\x00" not in k and len(k) <= 60 for k in stored)
        assert json.loads(json.dumps(stored, allow_nan=False)) == stored

    def test_the_named_fields_and_extra_keys_are_kept(self) -> None:
        touch = Touch.model_validate({"utm_source": "meta", "utm_id": "120210", "gad_source": 1})
        assert touch.model_dump(exclude_none=True) == {"utm_source": "meta", "utm_id": "120210", "gad_source": 1}

    @pytest.mark.parametrize("value", [{"nested": 1}, ["a"], float("inf"), "x\x00y", "x" * 2001])
    def test_an_extra_key_with_a_value_json_columns_cannot_hold_is_refused(self, value: Any) -> None:
        with pytest.raises(ValidationError):
            Touch.model_validate({"utm_id": value})


class TestRequiredFieldParsing:
    @settings(max_examples=200, deadline=None)
    @given(names=st.lists(st.one_of(st.sampled_from(sorted(REQUIRABLE_FIELDS)), st.text(max_size=30)), max_size=5))
    def test_a_stage_accepts_exactly_the_requirable_names(self, names: list[str]) -> None:
        try:
            stage = StageCreate(name="Proposta", required_fields=names)
        except ValidationError:
            assert not all(is_requirable(n) for n in names)
            return
        assert all(is_requirable(n) for n in stage.required_fields)
        assert stage.required_fields == list(dict.fromkeys(names))

    @pytest.mark.parametrize("name", ["custom_fields.banco", "value_cents", "property_id"])
    def test_lead_columns_and_custom_fields_are_requirable(self, name: str) -> None:
        assert is_requirable(name)

    @pytest.mark.parametrize("name", ["tenant_id", "deleted_at", "custom_fields.", "custom_fields.Banco X"])
    def test_bookkeeping_columns_and_malformed_keys_are_not(self, name: str) -> None:
        assert not is_requirable(name)
