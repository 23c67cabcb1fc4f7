from __future__ import annotations

import pytest

from api.config import Settings
from api.services.sealing import SealBroken, seal, unseal

A = Settings(env="test", secret_key="a" * 40)
B = Settings(env="test", secret_key="b" * 40)


def test_seal_roundtrip_hides_the_value_and_differs_each_time() -> None:
    one, two = seal(A, "contact", "微信 wx13900000000"), seal(A, "contact", "微信 wx13900000000")
    assert one != two and "13900000000" not in one
    assert unseal(A, "contact", one) == unseal(A, "contact", two) == "微信 wx13900000000"


def test_another_secret_another_purpose_or_tampering_is_refused() -> None:
    token = seal(A, "contact", "13900000000")
    with pytest.raises(SealBroken):
        unseal(B, "contact", token)
    with pytest.raises(SealBroken):
        unseal(A, "other", token)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(SealBroken):
        unseal(A, "contact", flipped)
    with pytest.raises(SealBroken):
        unseal(A, "contact", "13900000000")


def test_garbage_after_the_prefix_is_a_broken_seal_not_a_crash() -> None:
    for token in ("v1.%%%not-base64", "v1.AAAA", "v1."):
        with pytest.raises(SealBroken):
            unseal(A, "contact", token)
