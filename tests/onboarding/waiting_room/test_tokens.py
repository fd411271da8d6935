"""Admission tokens: what verifies, and what is refused as invalid or expired."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import jwt
import pytest

from neobank.customers.auth import TokenIssuer
from neobank.customers.errors import Unauthorized
from neobank.onboarding.waiting_room import AdmissionTokenExpired, AdmissionTokenInvalid
from neobank.onboarding.waiting_room.tokens import (
    ADMISSION_AUDIENCE,
    ADMISSION_TOKEN_TTL_S,
    AdmissionSigner,
)
from tests.onboarding.waiting_room.conftest import SIGNING_KEY, FakeClock, RoomFactory

ADMITTED_AT = 1_800_000_000.0
OTHER_KEY = "another-bank-s-signing-key-0123456789"


def signed(**claims: object) -> str:
    payload: dict[str, object] = {
        "iss": "neobank",
        "aud": ADMISSION_AUDIENCE,
        "sub": "ticket-0123456789abcdef",
        "jti": "jti-1",
        "flow": "signup",
        "iat": int(ADMITTED_AT),
        "exp": int(ADMITTED_AT) + ADMISSION_TOKEN_TTL_S,
    }
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, SIGNING_KEY, "HS256")


def test_a_token_verifies_until_it_expires() -> None:
    signer = AdmissionSigner(SIGNING_KEY)
    token = signer.sign(ticket_id="t-1", jti="j-1", flow="signup", admitted_at=ADMITTED_AT)
    admission = signer.verify(token, ADMITTED_AT + ADMISSION_TOKEN_TTL_S - 1)
    assert admission.ticket_id == "t-1" and admission.flow == "signup"
    assert admission.expires_at == datetime.fromtimestamp(ADMITTED_AT + 15 * 60, UTC)
    claims = jwt.decode(
        token,
        SIGNING_KEY,
        ["HS256"],
        audience=ADMISSION_AUDIENCE,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["aud"] == "neobank:admission" and claims["sub"] == "t-1"
    assert claims["jti"] == "j-1" and claims["exp"] - claims["iat"] == 900
    with pytest.raises(AdmissionTokenExpired) as raised:
        signer.verify(token, ADMITTED_AT + ADMISSION_TOKEN_TTL_S)
    assert (raised.value.status, raised.value.code) == (401, "admission_token_expired")


@pytest.mark.parametrize(
    "token",
    [
        signed(aud="neobank:other"),
        signed(aud=None),
        signed(jti=None),
        signed(sub=None),
        signed(iss="someone-else"),
        signed(sub=12345),
        signed(exp="tomorrow"),
        jwt.encode({"aud": ADMISSION_AUDIENCE, "sub": "t", "jti": "j"}, OTHER_KEY, "HS256"),
        jwt.encode({"aud": ADMISSION_AUDIENCE, "sub": "t", "jti": "j"}, "", "none"),
        "",
        "not.a.token",
    ],
    ids=[
        "wrong-audience",
        "no-audience",
        "no-jti",
        "no-subject",
        "wrong-issuer",
        "subject-not-text",
        "exp-not-a-time",
        "other-key",
        "alg-none",
        "empty",
        "garbage",
    ],
)
def test_tokens_the_room_did_not_sign_as_such_are_invalid(token: str) -> None:
    with pytest.raises(AdmissionTokenInvalid) as raised:
        AdmissionSigner(SIGNING_KEY).verify(token, ADMITTED_AT)
    assert (raised.value.status, raised.value.code) == (401, "admission_token_invalid")


def test_a_tampered_token_is_invalid() -> None:
    token = signed()
    header, payload, signature = token.split(".")
    forged = jwt.encode({"sub": "someone-else"}, OTHER_KEY, "HS256").split(".")[1]
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for bad in (f"{header}.{forged}.{signature}", f"{header}.{payload}.{flipped}"):
        with pytest.raises(AdmissionTokenInvalid):
            AdmissionSigner(SIGNING_KEY).verify(bad, ADMITTED_AT)


def test_admission_and_customer_tokens_do_not_stand_in_for_each_other() -> None:
    customer_token = TokenIssuer(SIGNING_KEY).issue(uuid.uuid4(), uuid.uuid4(), datetime.now(UTC))
    with pytest.raises(AdmissionTokenInvalid):
        AdmissionSigner(SIGNING_KEY).verify(customer_token, time.time())
    admission = AdmissionSigner(SIGNING_KEY).sign(
        ticket_id="t", jti="j", flow="signup", admitted_at=time.time()
    )
    with pytest.raises(Unauthorized):
        TokenIssuer(SIGNING_KEY).verify(admission)


async def test_the_room_verifies_its_own_tokens_on_its_clock(
    make_room: RoomFactory, clock: FakeClock
) -> None:
    room = make_room(limit=1)
    ticket = await room.take_ticket("signup")
    assert ticket.admission_token is not None
    admission = room.verify_admission(ticket.admission_token)
    assert admission.ticket_id == ticket.ticket_id and admission.flow == "signup"
    other_room = AdmissionSigner(OTHER_KEY)
    foreign = other_room.sign(ticket_id="t", jti="j", flow="signup", admitted_at=clock.now)
    with pytest.raises(AdmissionTokenInvalid):
        room.verify_admission(foreign)
    clock.advance(ADMISSION_TOKEN_TTL_S)
    with pytest.raises(AdmissionTokenExpired):
        room.verify_admission(ticket.admission_token)
