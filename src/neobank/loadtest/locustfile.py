"""Locust's side of `neobank loadtest launch-day`: people arrive on schedule and sign up.

Only the Locust subprocess imports this module (``python -m locust -f <this file>``): Locust
and gevent monkey-patch the standard library, which the bank and the CLI must never see.

An open model: one ``Crowd`` user per Locust process spawns one greenlet per person at each
planned arrival time, whether or not earlier people are still waiting, each person with its
own connection. Every person's record is appended to ``records-<pid>.jsonl`` as it finishes;
people still unfinished at the drain timeout are killed and recorded ``unfinished``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import date
from typing import Any, TextIO

import gevent  # type: ignore[import-untyped]
from gevent.pool import Group  # type: ignore[import-untyped]
from locust import User, task
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment

from neobank.loadtest.person import Person, PersonPlan, Reply
from neobank.loadtest.plan import SurgePlan, arrival_offsets
from neobank.loadtest.records import PersonRecord, write_record

network_timeout_s = 60.0
connection_timeout_s = 10.0
kill_timeout_s = 10.0


class LocustHttp:
    """One person's connection (a FastHttpSession: Locust counts its requests), answering
    the person's small HTTP protocol."""

    def __init__(self, environment: Environment, base_url: str) -> None:
        self.session = FastHttpSession(
            base_url,
            environment.events.request,
            user=None,
            network_timeout=network_timeout_s,
            connection_timeout=connection_timeout_s,
            max_retries=0,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        response = self.session.request(
            method, url, name=name, json=json, headers=dict(headers or {})
        )
        status = response.status_code or 0
        body: Any = None
        if status and response.content:
            try:
                body = response.json()
            except ValueError:
                body = None
        answered: Mapping[str, Any] = response.headers or {}
        return Reply(status, body, {str(k).lower(): str(v) for k, v in answered.items()})

    def close(self) -> None:
        self.session.client.clientpool.close()


def _sign_up(environment: Environment, plan: PersonPlan, index: int, handle: TextIO) -> None:
    http = LocustHttp(environment, plan.bank_url)

    def emit(record: PersonRecord) -> None:
        write_record(handle, record)

    try:
        Person(plan, index, http, sleep=gevent.sleep).run(emit)
    finally:
        http.close()


class Crowd(User):
    """Not a person: the arrival schedule. Run exactly one per Locust process (-u 1)."""

    @task
    def surge(self) -> None:
        surge = SurgePlan.from_env(os.environ)
        assert self.host, "run Locust with --host <bank url>"
        plan = PersonPlan(
            bank_url=self.host.rstrip("/"),
            agencies_url=surge.agencies_url.rstrip("/"),
            run_salt=surge.run_salt,
            today=date.today(),
        )
        offsets = arrival_offsets(
            surge.arrival_rate_per_s, surge.duration_s, poisson=surge.poisson, seed=surge.seed
        )
        surge.records_dir.mkdir(parents=True, exist_ok=True)
        people = Group()
        with (surge.records_dir / f"records-{os.getpid()}.jsonl").open("a") as handle:
            start = time.monotonic()
            try:
                for index, offset in enumerate(offsets):
                    gevent.sleep(max(0.0, start + offset - time.monotonic()))
                    people.spawn(_sign_up, self.environment, plan, index, handle)
                people.join(timeout=surge.drain_timeout_s)
            finally:
                # Killed people write their record (unfinished) before the file closes.
                people.kill(block=True, timeout=kill_timeout_s)
        runner = self.environment.runner
        assert runner is not None
        runner.quit()
