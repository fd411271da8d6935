"""The onboarding token: its onboarding while it lasts, nothing once expired (even after it
was checked and remembered), nothing if forged or meant for something else."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from neobank.customers.errors import Unauthorized
from neobank.onboarding.tokens import issue_onboarding_token, onboarding_of_token

KEY = "k" * 32


def test_a_token_names_its_onboarding_until_it_expires() -> None:
    onboarding_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + timedelta(minutes=5)
    token = issue_onboarding_token(KEY, onboarding_id, expires_at)
    assert onboarding_of_token(KEY, token) == onboarding_id
    assert onboarding_of_token(KEY, token) == onboarding_id  # remembered: the same answer
    with pytest.raises(Unauthorized):
        onboarding_of_token(KEY, token, now=expires_at.timestamp() + 1)
    with pytest.raises(Unauthorized):
        onboarding_of_token(KEY, token, now=int(expires_at.timestamp()))


def test_an_expired_token_is_refused() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Unauthorized):
        onboarding_of_token(KEY, issue_onboarding_token(KEY, uuid.uuid4(), past))


@pytest.mark.parametrize(
    "claims_key",
    [
        ({"sub": "not-a-uuid", "aud": "neobank:onboarding"}, KEY),
        ({"sub": str(uuid.uuid4()), "aud": "neobank:admission"}, KEY),
        ({"sub": str(uuid.uuid4()), "aud": "neobank:onboarding"}, "another key" * 4),
        ({"aud": "neobank:onboarding"}, KEY),
    ],
)
def test_forged_or_foreign_tokens_are_refused(claims_key: tuple[dict[str, str], str]) -> None:
    claims, key = claims_key
    token = jwt.encode({**claims, "exp": int(time.time()) + 300}, key, algorithm="HS256")
    for _ in range(2):  # a refusal is not remembered as a pass
        with pytest.raises(Unauthorized):
            onboarding_of_token(KEY, token)
    with pytest.raises(Unauthorized):
        onboarding_of_token(KEY, "not.a.token")
