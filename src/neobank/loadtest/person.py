"""One person signing up on launch day, as the phone app would: take a ticket, wait for
admission, start the onboarding, send the ID card and the other bank's account, read the 1 KRW
memo, type the code back, complete. Every request is recorded, failures included.

Plain blocking code over a small HTTP protocol, so the same person runs in a Locust greenlet
(``locustfile.py``) and in a unit test over ``httpx``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, Protocol

from neobank.api.limits import LONG_POLL_MS_MAX
from neobank.loadtest.identities import Applicant, applicant, device_public_key
from neobank.loadtest.records import PersonRecord, RequestRecord, epoch_of
from neobank.loadtest.steps import next_action

__all__ = ["Http", "Person", "PersonFailed", "PersonPlan", "Reply"]

poll_default_ms = 500
poll_min_ms = 100
poll_max_ms = 30_000
retry_attempts_max = 8
retry_backoff_first_s = 0.5
retry_backoff_max_s = 10.0
same_action_repeats_max = 3
credit_reads_max = 20
credit_read_wait_s = 0.5
person_timeout_s = 3600.0
# In the queue the app long-polls its ticket (the bank answers once it is admitted), and while
# an agency check runs, its onboarding (answered as soon as the check moves); well under the
# locustfile's 60 s network timeout: the longest the bank allows, since each answer to a
# long poll that timed out is a request more per waiting person.
long_poll_ms = LONG_POLL_MS_MAX
_memo_code = re.compile(r"^NEOBANK (\d{4})$")
_retry_codes = frozenset({"idempotency_key_in_use"})
# Each onboarding step: its path under /v1/onboarding/{id} and the statuses that mean done.
_step_paths: dict[str, tuple[str, tuple[int, ...]]] = {
    "id_verification": ("/id-verification", (200, 202)),
    "account_verification": ("/account-verification", (200, 202)),
    "confirm": ("/account-verification/confirm", (200,)),
    "complete": ("/complete", (200, 201)),
}


class Reply(NamedTuple):
    status: int  # 0: no answer
    body: Any
    headers: Mapping[str, str]


class Http(Protocol):
    def request(
        self,
        method: str,
        url: str,
        *,
        name: str,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply: ...


@dataclass(frozen=True)
class PersonPlan:
    bank_url: str
    agencies_url: str
    run_salt: int
    today: date


class PersonFailed(Exception):
    def __init__(self, step: str, reply: Reply | None = None, detail: str = "") -> None:
        code = _code_of(reply.body) if reply else None
        status = f" {reply.status}" if reply else ""
        super().__init__(
            f"{step}:{status}{f' {code}' if code else ''}{f' {detail}' if detail else ''}"
        )


def _code_of(body: Any) -> str | None:
    return str(body["code"]) if isinstance(body, dict) and "code" in body else None


def _retryable(reply: Reply) -> bool:
    return reply.status in (0, 429) or reply.status >= 500 or _code_of(reply.body) in _retry_codes


class Person:
    def __init__(
        self,
        plan: PersonPlan,
        index: int,
        http: Http,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self.http = http
        self.sleep = sleep
        self.clock = clock
        self.who: Applicant = applicant(plan.run_salt, index, today=plan.today)
        self.record = PersonRecord(person=index, arrived_at=clock())
        self._deadline = self.record.arrived_at + person_timeout_s

    def run(self, emit: Callable[[PersonRecord], None]) -> PersonRecord:
        """Sign up; the record goes to ``emit`` whatever happens (killed: ``unfinished``)."""
        record = self.record
        try:
            self._sign_up()
            record.outcome = "completed"
        except PersonFailed as failed:
            record.outcome, record.failure = "failed", str(failed)
        except Exception as error:  # a bug or an unreadable answer: recorded, not hidden
            record.outcome, record.failure = "failed", f"error: {error!r}"
        except BaseException as stopped:  # killed (the drain timeout): recorded, then re-raised
            record.outcome, record.failure = "unfinished", type(stopped).__name__
            raise
        finally:
            emit(record)
        return record

    def _mark(self, step: str) -> None:
        self.record.steps[step] = self.clock()

    def _call(
        self,
        method: str,
        url: str,
        name: str,
        *,
        expect: tuple[int, ...],
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """One request, retried (same body and Idempotency-Key) on no answer, 429, 5xx and
        ``idempotency_key_in_use``, honouring Retry-After; anything else unexpected fails."""
        for attempt in range(retry_attempts_max):
            if self.clock() > self._deadline:
                raise PersonFailed(name, detail="person timeout")
            started = self.clock()
            t0 = time.perf_counter()
            reply = self.http.request(method, url, name=name, json=json, headers=headers)
            latency_ms = (time.perf_counter() - t0) * 1000
            code = _code_of(reply.body) if reply.status >= 400 else None
            self.record.requests.append(
                RequestRecord(name, started, reply.status, latency_ms, code)
            )
            if reply.status in expect:
                return reply
            if not _retryable(reply) or attempt == retry_attempts_max - 1:
                raise PersonFailed(name, reply)
            self.sleep(self._backoff_s(reply, attempt))
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff_s(reply: Reply, attempt: int) -> float:
        retry_after = reply.headers.get("retry-after") or reply.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            return min(float(retry_after), retry_backoff_max_s)
        return min(retry_backoff_first_s * 2.0**attempt, retry_backoff_max_s)

    def _wait(self, body: Any) -> None:
        given = body.get("poll_after_ms") if isinstance(body, dict) else None
        poll_ms = float(given) if isinstance(given, int | float) else float(poll_default_ms)
        self.sleep(min(max(poll_ms, poll_min_ms), poll_max_ms) / 1000)

    def _sign_up(self) -> None:
        token = self._queue()
        document = self._start(token)
        self._onboard(document)

    def _queue(self) -> str:
        """The ticket, then polls until admitted; returns the admission token."""
        bank = self.plan.bank_url
        record = self.record
        ticket = self._call(
            "POST",
            f"{bank}/v1/waiting-room/tickets",
            "POST /v1/waiting-room/tickets",
            expect=(200, 201),
            json={"flow": "signup"},
        ).body
        self._mark("ticket")
        record.ticket_id = str(ticket["ticket_id"])
        record.issued_at = epoch_of(ticket.get("issued_at"))
        record.first_position = ticket.get("position")
        record.first_eta_s = ticket.get("eta_seconds")
        answered_early = False
        while ticket.get("status") != "admitted":
            if self.clock() > self._deadline:
                raise PersonFailed("waiting room", detail="person timeout")
            if answered_early:
                self._wait(ticket)
            # A long poll: the bank answers when the ticket is admitted, or after long_poll_ms
            # with the fresh position; a much earlier "waiting" answer was a plain poll (the
            # bank's long polls were full), so the next ask waits for poll_after_ms first.
            asked_at = self.clock()
            ticket = self._call(
                "GET",
                f"{bank}/v1/waiting-room/tickets/{record.ticket_id}?wait_ms={long_poll_ms}",
                "GET /v1/waiting-room/tickets/{id}",
                expect=(200,),
            ).body
            answered_early = self.clock() - asked_at < long_poll_ms / 2000
        self._mark("admitted")
        record.admitted_seen_at = self.record.steps["admitted"]
        record.admitted_at = epoch_of(ticket.get("admitted_at"))
        return str(ticket["admission_token"])

    def _start(self, admission_token: str) -> dict[str, Any]:
        who = self.who
        reply = self._call(
            "POST",
            f"{self.plan.bank_url}/v1/onboarding",
            "POST /v1/onboarding",
            expect=(200, 201),
            json={
                "name": who.name,
                "birth_date": who.birth_date.isoformat(),
                "phone": who.phone,
                "resident_id": who.resident_id,
                "device_public_key": device_public_key(),
            },
            headers={"X-Admission-Token": admission_token, "Idempotency-Key": _key()},
        )
        self._mark("started")
        document: dict[str, Any] = reply.body
        self.record.onboarding_id = str(document["id"])
        self._auth = {"Authorization": f"Bearer {document['onboarding_token']}"}
        return document

    def _onboard(self, document: dict[str, Any]) -> None:
        """Follow the onboarding's step statuses until it is completed."""
        base = f"{self.plan.bank_url}/v1/onboarding/{self.record.onboarding_id}"
        done: dict[str, int] = {}
        keys = {"account_verification": _key(), "complete": _key()}
        while True:
            if self.clock() > self._deadline:
                raise PersonFailed("onboarding", detail="person timeout")
            action = next_action(document)
            if action == "done":
                return
            if action.startswith("failed"):
                raise PersonFailed("onboarding", detail=action)
            if action == "wait":
                document = self._get(base, wait_ms=long_poll_ms)
                continue
            done[action] = done.get(action, 0) + 1
            if done[action] > same_action_repeats_max:
                raise PersonFailed(action, detail="the onboarding did not move on")
            document = self._act(action, base, keys) or self._get(base)

    def _get(self, base: str, wait_ms: int = 0) -> dict[str, Any]:
        url = f"{base}?wait_ms={wait_ms}" if wait_ms else base
        reply = self._call("GET", url, "GET /v1/onboarding/{id}", expect=(200,), headers=self._auth)
        body: dict[str, Any] = reply.body
        return body

    def _act(self, action: str, base: str, keys: dict[str, str]) -> dict[str, Any] | None:
        """Do one step; the onboarding as answered, or None when the answer is not it."""
        who, headers = self.who, dict(self._auth)
        body: dict[str, Any] | None = None
        if action == "id_verification":
            body = {"id_card_issue_date": who.id_card_issue_date.isoformat()}
        elif action == "account_verification":
            body = {"bank_code": who.bank_code, "account_number": who.account_number}
        elif action == "confirm":
            self._mark("checks_passed")
            body = {"code": self._read_code()}
        if action in keys:
            headers["Idempotency-Key"] = keys[action]
        path, expect = _step_paths[action]
        reply = self._call(
            "POST", base + path, f"POST /v1/onboarding/{{id}}{path}", expect=expect,
            json=body, headers=headers,
        )  # fmt: skip
        self._mark(action)
        if action == "complete":
            self.record.completed_at = self.record.steps["complete"]
            return {"status": "completed"}
        answer = reply.body
        return answer if isinstance(answer, dict) and "steps" in answer else None

    def _read_code(self) -> str:
        """The 4 digits in the newest 1 KRW credit's memo, as the person's other bank shows it."""
        account = self.who.account_number
        url = f"{self.plan.agencies_url}/_sim/clearing/credits?account_number={account}"
        for _ in range(credit_reads_max):
            reply = self._call("GET", url, "GET /_sim/clearing/credits", expect=(200,))
            for credit in reversed(reply.body.get("items", [])):
                found = _memo_code.match(str(credit.get("memo", "")))
                if found:
                    return found.group(1)
            self.sleep(credit_read_wait_s)
        raise PersonFailed("GET /_sim/clearing/credits", detail="no 1 KRW credit arrived")


def _key() -> str:
    return uuid.uuid4().hex
