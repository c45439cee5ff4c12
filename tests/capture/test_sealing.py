"""What of an event is personal: a whitelist keeps routing facts in clear, everything else — an unknown field
included — goes to the sealed part, and putting the two back together gives the payload as received."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from leadflow.capture.sealing import FORM, SEGMENT, merge, split_personal
from leadflow.pipeline.enrich import marketing_url

PAGE = "https://aurora.exemplo.com.br/residencial-aurora"


class TestWhatStaysInClear:
    def test_traits_ip_and_unknown_fields_are_personal_the_campaign_is_not(self) -> None:
        event = {
            "type": "identify",
            "anonymousId": "trk-1",
            "userId": "joana@exemplo.com.br",
            "traits": {"email": "joana@exemplo.com.br"},
            "context": {"ip": "203.0.113.7", "campaign": {"source": "google"}, "page": {"url": PAGE}},
            "somethingNew": "Joana",
        }
        clear, personal = split_personal(event, SEGMENT)
        assert clear == {
            "type": "identify",
            "anonymousId": "trk-1",
            "context": {"campaign": {"source": "google"}, "page": {"url": PAGE}},
        }
        assert set(personal) == {"userId", "traits", "context", "somethingNew"}
        assert personal["context"] == {"ip": "203.0.113.7"}

    def test_a_forms_fields_are_personal_its_touches_are_not(self) -> None:
        form = {"form_key": "contato", "fields": {"name": "Joana"}, "first_touch": {"utm_source": "google"}}
        clear, personal = split_personal(form, FORM)
        assert clear == {"form_key": "contato", "first_touch": {"utm_source": "google"}}
        assert personal == {"fields": {"name": "Joana"}}

    def test_an_address_keeps_only_its_marketing_parameters_in_clear(self) -> None:
        url = f"{PAGE}?utm_source=google&email=joana%40exemplo.com.br&gclid=Cj0#form"
        assert marketing_url(url) == f"{PAGE}?utm_source=google&gclid=Cj0"
        clear, personal = split_personal({"properties": {"url": url}}, SEGMENT)
        assert clear == {"properties": {"url": f"{PAGE}?utm_source=google&gclid=Cj0"}}
        assert personal == {"properties": {"url": url}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
segment_keys = st.sampled_from(["type", "traits", "context", "properties", "userId", "campaign", "page", "url", "x"])


nested = st.dictionaries(segment_keys, json_values)
payloads = st.dictionaries(segment_keys | st.text(max_size=10), json_values | nested)


class TestNothingIsLost:
    @given(payloads)
    def test_clear_and_personal_parts_merge_back_to_the_payload(self, payload: dict[str, Any]) -> None:
        for spec in (SEGMENT, FORM):
            clear, personal = split_personal(payload, spec)
            assert merge(clear, personal) == payload
