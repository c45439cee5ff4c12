"""AES-GCM sealing: what is sealed opens only with its key and context, and keys rotate without losing data."""

import pytest

from leadflow.kit.sealing import KeyRing, SealBroken, new_data_key, open_with, seal_with


def test_a_sealed_value_opens_to_the_same_bytes_and_does_not_contain_them() -> None:
    ring = KeyRing(["current secret"])
    sealed = ring.seal(b"+5511987654321", context=b"person:1")
    assert b"5511987654321" not in sealed
    assert ring.open(sealed, context=b"person:1") == b"+5511987654321"


def test_the_same_value_seals_differently_each_time() -> None:
    ring = KeyRing(["current secret"])
    assert ring.seal(b"same") != ring.seal(b"same")


def test_a_value_moved_to_another_context_does_not_open() -> None:
    ring = KeyRing(["current secret"])
    sealed = ring.seal(b"token", context=b"connection:a")
    with pytest.raises(SealBroken):
        ring.open(sealed, context=b"connection:b")


def test_a_flipped_byte_is_detected() -> None:
    ring = KeyRing(["current secret"])
    sealed = bytearray(ring.seal(b"token"))
    sealed[-1] ^= 1
    with pytest.raises(SealBroken):
        ring.open(bytes(sealed))


@pytest.mark.parametrize("garbage", [b"", b"\x01short", b"\x02" + b"x" * 64])
def test_garbage_is_refused_as_not_sealed(garbage: bytes) -> None:
    with pytest.raises(SealBroken):
        KeyRing(["current secret"]).open(garbage)


def test_after_a_rotation_old_values_still_open_and_report_that_they_need_resealing() -> None:
    old_ring = KeyRing(["old secret"])
    sealed = old_ring.seal_json({"token": "abc"})
    rotated = KeyRing(["new secret", "old secret"])
    assert rotated.open_json(sealed) == {"token": "abc"}
    assert rotated.needs_reseal(sealed)
    assert not rotated.needs_reseal(rotated.seal(b"x"))


def test_a_value_sealed_under_a_retired_key_no_longer_opens() -> None:
    sealed = KeyRing(["old secret"]).seal(b"x")
    with pytest.raises(SealBroken, match="no longer configured"):
        KeyRing(["new secret"]).open(sealed)


def test_a_destroyed_data_key_makes_its_values_unreadable_while_the_ring_still_unwraps_others() -> None:
    ring = KeyRing(["current secret"])
    ana_key, bia_key = new_data_key(), new_data_key()
    wrapped_ana = ring.wrap(ana_key, context=b"person:ana")
    sealed = seal_with(ana_key, b"Ana Souza", context=b"event:1")
    assert open_with(ring.unwrap(wrapped_ana, context=b"person:ana"), sealed, context=b"event:1") == b"Ana Souza"
    with pytest.raises(SealBroken):
        open_with(bia_key, sealed, context=b"event:1")
