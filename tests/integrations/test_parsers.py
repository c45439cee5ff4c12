"""Parsers of outside input never crash and never lose what they were given (STYLE: property-based tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.integrations.base import Refused
from leadflow.integrations.chatwoot.inbound import event_key, read_chat_event
from leadflow.integrations.delivery_keys import MAX_KEY, delivery_key
from leadflow.integrations.instagram.provider import read_direct_messages
from leadflow.integrations.jsonbody import json_body
from leadflow.integrations.meta_leads.provider import read_ad_lead, read_leadgen
from leadflow.integrations.metahooks import handshake_answer, signature_of, verify_signature
from leadflow.integrations.whatsapp.parsing import is_later_status, notification_key, read_notification
from leadflow.integrations.zap.provider import read_portal_lead

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)
# Bodies shaped like the vendors' (the right keys, anything inside), so the parsers' inner paths are exercised.
shaped = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["whatsapp_business_account", "page", "instagram", "x"]),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {"field": st.sampled_from(["messages", "leadgen"]), "value": json_values}
                        ),
                        max_size=3,
                    ),
                    "messaging": st.lists(json_values, max_size=3),
                }
            ),
            max_size=3,
        ),
    }
)


class TestParsersNeverCrash:
    @settings(max_examples=150, deadline=None)
    @given(body=json_values | shaped)
    def test_meta_parsers_read_any_json(self, body: Any) -> None:
        read_notification(body)
        read_direct_messages(body)
        if isinstance(body, dict):
            read_leadgen(body)
            read_ad_lead(body)
            read_chat_event(body)
            assert event_key(body).startswith("cw:")
        key = notification_key(body, json.dumps(body).encode())
        assert 0 < len(key) <= MAX_KEY + 16

    @settings(max_examples=150, deadline=None)
    @given(body=json_values)
    def test_the_portal_reader_reads_or_refuses_but_never_crashes(self, body: Any) -> None:
        try:
            lead = read_portal_lead(body)
        except Refused as refused:
            status = refused.status
        else:
            status = 200
            assert lead.origin_lead_id
            assert lead.listing_reference
        assert status in (200, 400)

    @settings(max_examples=100, deadline=None)
    @given(raw=st.binary(max_size=200))
    def test_any_bytes_are_json_or_refused_as_malformed(self, raw: bytes) -> None:
        kind = "json"
        try:
            json_body(raw)
        except Refused as refused:
            kind = refused.kind
        assert kind in ("json", "malformed_json")

    @settings(max_examples=100, deadline=None)
    @given(ids=st.lists(st.text(min_size=1, max_size=300), max_size=5), raw=st.binary(max_size=50))
    def test_delivery_keys_fit_the_log_column(self, ids: list[str], raw: bytes) -> None:
        assert len(delivery_key("wa", ids, raw)) <= MAX_KEY


class TestSignatures:
    @settings(max_examples=100, deadline=None)
    @given(raw=st.binary(max_size=300), secret=st.text(min_size=1, max_size=40))
    def test_a_signature_verifies_only_the_exact_bytes(self, raw: bytes, secret: str) -> None:
        header = {"x-hub-signature-256": signature_of(secret, raw)}
        assert verify_signature(secret, header, raw) is None
        assert verify_signature(secret, header, raw + b"x") is not None
        assert verify_signature(secret + "x", header, raw) is not None

    def test_the_handshake_needs_subscribe_and_the_token(self) -> None:
        query = {"hub.mode": "subscribe", "hub.verify_token": "t", "hub.challenge": "c"}
        assert handshake_answer("t", query) == "c"
        assert handshake_answer("t", {**query, "hub.mode": "unsubscribe"}) is None
        assert handshake_answer("u", query) is None


class TestStatusOrder:
    @pytest.mark.parametrize(
        ("current", "new", "moves"),
        [
            (None, "sent", True),
            ("sent", "delivered", True),
            ("read", "delivered", False),
            ("delivered", "delivered", False),
            ("sent", "failed", True),
            ("read", "failed", False),
            ("failed", "read", True),
            ("failed", "sent", False),
        ],
    )
    def test_statuses_only_move_forward(self, current: str | None, new: str, moves: bool) -> None:
        assert is_later_status(current, new) is moves
