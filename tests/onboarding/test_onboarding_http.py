"""The onboarding flow end to end over HTTP, with the agency jobs running in the background."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from tests.customers.helpers import b64url, bearer
from tests.onboarding.people import SIM, Person


async def test_a_person_signs_up_and_logs_in_with_the_device_key(
    http: httpx.AsyncClient, ops: dict[str, str], db: asyncpg.Connection
) -> None:
    person = Person(http)
    done = await person.sign_up()
    account = done["account"]
    assert account["customer_id"] == done["customer_id"]
    assert account["product"] == "demand_deposit" and account["balance"] == 0
    # The device key sent at the start now logs the customer in.
    challenge = (
        await http.post("/v1/auth/challenge", json={"device_id": done["device_id"]})
    ).json()
    signature = b64url(person.key.sign(base64url_decode(challenge["challenge"])))
    token = await http.post(
        "/v1/auth/token",
        json={
            "device_id": done["device_id"],
            "challenge": challenge["challenge"],
            "signature": signature,
        },
    )
    assert token.status_code == 200, token.text
    mine = await http.get(
        f"/v1/accounts/{account['id']}", headers=bearer(token.json()["access_token"])
    )
    assert mine.status_code == 200
    # Reduced limits for an account opened without a visit.
    limit = await db.fetchval(
        "SELECT daily_debit_limit FROM ledger_accounts WHERE id = $1", uuid.UUID(account["id"])
    )
    assert limit == 1_000_000
    status = await person.status()
    assert status["status"] == "completed" and status["next_step"] is None
    # The 1 KRW left the bank's books through settlement, and the ledger still balances.
    check = (await http.get("/v1/ledger/check", headers=ops)).json()
    assert check["balanced"] is True


def base64url_decode(text: str) -> bytes:
    from tests.customers.helpers import unb64url

    return unb64url(text)


async def test_the_resident_id_is_sealed_at_rest_and_masked_everywhere(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    person = Person(http)
    reply = await person.start()
    assert reply.status_code == 201
    digits = person.resident_id.replace("-", "")
    assert digits not in reply.text and person.resident_id not in reply.text
    assert reply.json()["resident_id_masked"] == f"{digits[:6]}-{digits[6]}******"
    row = await db.fetchrow(
        "SELECT * FROM onboardings WHERE id = $1", uuid.UUID(person.onboarding["id"])
    )
    assert row is not None
    for value in row.values():
        assert digits not in str(value) and digits.encode() not in (
            value if isinstance(value, bytes) else b""
        )
    events = await db.fetch(
        "SELECT payload::text AS p FROM events WHERE aggregate_type = 'onboarding'"
    )
    assert events and all(digits not in e["p"] for e in events)


async def test_a_wrong_resident_id_or_birth_date_is_refused(http: httpx.AsyncClient) -> None:
    person = Person(http, resident_id="900101-1234560")
    reply = await person.start()
    if reply.status_code != 422 or reply.json()["code"] != "invalid_resident_id":
        # 1 in 10 chance the made-up number has a right check digit: change the last digit.
        person.resident_id = person.resident_id[:-1] + str((int(person.resident_id[-1]) + 1) % 10)
        reply = await person.start()
    assert reply.status_code == 422 and reply.json()["code"] == "invalid_resident_id"
    assert "1234560" not in reply.text
    other = Person(http)
    other.born = other.born.replace(year=1991)
    reply = await other.start()
    assert reply.status_code == 422 and reply.json()["code"] == "birth_date_mismatch"


async def test_an_admission_token_starts_one_onboarding(http: httpx.AsyncClient) -> None:
    person = Person(http)
    token = await person.admission_token()
    first = await person.start(token, key="k1")
    assert first.status_code == 201
    replay = await person.start(token, key="k1")
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    again = await Person(http).start(token, key="k2")
    assert again.status_code == 409 and again.json()["code"] == "admission_token_used"


async def test_no_or_a_forged_admission_token_is_refused(http: httpx.AsyncClient) -> None:
    person = Person(http)
    missing = await http.post(
        "/v1/onboarding", json=person.start_body(), headers={"Idempotency-Key": "a"}
    )
    assert missing.status_code == 422
    forged = await person.start("eyJhbGciOiJIUzI1NiJ9.e30.forged", key="b")
    assert forged.status_code == 401 and forged.json()["code"] == "admission_token_invalid"


async def test_five_wrong_codes_fail_the_account_check(http: httpx.AsyncClient) -> None:
    person = Person(http)
    assert (await person.start()).status_code == 201
    code = await person.verify_account()
    wrong = f"{(int(code) + 1) % 10_000:04d}"
    for tries_left in (4, 3, 2, 1):
        reply = await person.post("account-verification/confirm", {"code": wrong})
        assert reply.status_code == 422, reply.text
        assert reply.json()["code"] == "verification_code_mismatch"
        assert reply.json()["tries_left"] == tries_left
    last = await person.post("account-verification/confirm", {"code": wrong})
    assert last.json()["code"] == "verification_failed"
    # Even the right code is too late now, and nothing can be opened.
    late = await person.post("account-verification/confirm", {"code": code})
    assert late.status_code == 409 and late.json()["code"] == "onboarding_closed"
    assert (await person.post("complete")).status_code == 409
    assert (await person.status())["status"] == "failed"


async def test_complete_before_the_checks_is_refused_and_a_second_complete_replays(
    http: httpx.AsyncClient,
) -> None:
    person = Person(http)
    assert (await person.start()).status_code == 201
    early = await person.post("complete")
    assert early.status_code == 409 and early.json()["code"] == "step_not_ready"
    assert (await person.verify_identity())["steps"]["id_verification"]["status"] == "passed"
    code = await person.verify_account()
    confirmed = await person.post("account-verification/confirm", {"code": code})
    assert confirmed.status_code == 200
    # The answer is built before its update is written: it must be what was stored.
    assert confirmed.json() == await person.status()
    assert confirmed.json()["status"] == "ready"
    first = await person.post("complete", **{"Idempotency-Key": "done-1"})
    assert first.status_code == 201
    replay = await person.post("complete", **{"Idempotency-Key": "done-1"})
    assert replay.json() == first.json()
    other_key = await person.post("complete")
    assert (
        other_key.status_code == 201
        and other_key.json()["customer_id"] == first.json()["customer_id"]
    )


async def test_one_person_cannot_become_two_customers(http: httpx.AsyncClient) -> None:
    first = Person(http)
    await first.sign_up()
    again = Person(http, resident_id=first.resident_id)
    reply = await again.start()
    assert reply.status_code == 409 and reply.json()["code"] == "already_customer"


async def test_a_device_key_of_a_customer_cannot_start_another_onboarding(
    http: httpx.AsyncClient,
) -> None:
    first = Person(http)
    await first.sign_up()
    reply = await Person(http, key=first.key).start()
    assert reply.status_code == 409 and reply.json()["code"] == "device_key_in_use"


async def test_a_stolen_card_fails_and_a_mistyped_issue_date_may_be_fixed(
    http: httpx.AsyncClient,
) -> None:
    person = Person(http)
    assert (await person.start()).status_code == 201
    too_early = await person.post("id-verification", {"id_card_issue_date": "1995-01-01"})
    assert too_early.status_code == 202
    out = await person.wait_for("id_verification", "passed", "failed")
    assert out["steps"]["id_verification"] == {"status": "failed", "reason": "invalid_issue_date"}
    assert out["next_step"] == "id_verification"
    assert (await person.verify_identity())["steps"]["id_verification"]["status"] == "passed"


async def test_the_identity_agency_down_makes_people_wait_not_fail(
    http: httpx.AsyncClient, ops: dict[str, str]
) -> None:
    down = await http.put(f"{SIM}/config", json={"identity": {"error_rate": 1.0}})
    assert down.status_code == 200, down.text
    person = Person(http)
    assert (await person.start()).status_code == 201
    assert (
        await person.post("id-verification", {"id_card_issue_date": "2015-06-01"})
    ).status_code == 202
    await asyncio.sleep(1.5)
    waiting = await person.status()
    assert waiting["steps"]["id_verification"]["status"] == "pending"
    assert waiting["status"] == "in_progress"
    stats = (await http.get(f"{SIM}/stats")).json()
    assert stats["identity"]["errors"] >= 1
    up = await http.put(f"{SIM}/config", json={"identity": {"error_rate": 0.0}})
    assert up.status_code == 200
    done = await person.wait_for("id_verification", "passed", "failed")
    assert done["steps"]["id_verification"]["status"] == "passed"


async def test_another_onboardings_token_sees_nothing(http: httpx.AsyncClient) -> None:
    one, two = Person(http), Person(http)
    assert (await one.start()).status_code == 201
    assert (await two.start()).status_code == 201
    reply = await http.get(one.path, headers=two.auth)
    assert reply.status_code == 404 and reply.json()["code"] == "onboarding_not_found"
    anonymous = await http.get(one.path)
    assert anonymous.status_code == 401


async def test_a_long_poll_answers_when_the_check_is_decided(http: httpx.AsyncClient) -> None:
    # The identity agency is slow: a long poll started right after the request returns once
    # the job records the answer (a NOTIFY), well before its own 10 s timeout.
    await http.put(f"{SIM}/config", json={"identity": {"latency_ms": 800.0, "error_rate": 0.0}})
    person = Person(http)
    assert (await person.start()).status_code == 201
    asked = await person.post("id-verification", {"id_card_issue_date": "2015-06-01"})
    assert asked.status_code == 202
    assert asked.json()["steps"]["id_verification"]["status"] == "pending"
    loop = asyncio.get_running_loop()
    began = loop.time()
    reply = await http.get(person.path, params={"wait_ms": 10_000}, headers=person.auth)
    waited_s = loop.time() - began
    assert reply.status_code == 200, reply.text
    assert reply.json()["steps"]["id_verification"]["status"] == "passed"
    assert waited_s < 8.0  # the lognormal latency's tail is far below this
    # Nothing to wait for: the answer comes at once, whatever wait_ms says.
    began = loop.time()
    at_once = await http.get(person.path, params={"wait_ms": 10_000}, headers=person.auth)
    assert at_once.json()["steps"]["account_verification"]["status"] == "not_started"
    assert loop.time() - began < 2.0


async def test_a_long_poll_times_out_with_the_state_unchanged(http: httpx.AsyncClient) -> None:
    await http.put(f"{SIM}/config", json={"identity": {"error_rate": 1.0}})
    person = Person(http)
    assert (await person.start()).status_code == 201
    await person.post("id-verification", {"id_card_issue_date": "2015-06-01"})
    loop = asyncio.get_running_loop()
    began = loop.time()
    reply = await http.get(person.path, params={"wait_ms": 700}, headers=person.auth)
    assert 0.6 < loop.time() - began < 5.0
    assert reply.json()["steps"]["id_verification"]["status"] == "pending"
    too_long = await http.get(person.path, params={"wait_ms": 60_000}, headers=person.auth)
    assert too_long.status_code == 422
