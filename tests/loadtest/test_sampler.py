"""The once-a-second sampler against the fake bank (and its agency simulator) on a socket."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from neobank.agencies import create_simulator_app
from neobank.loadtest.sampler import FinishedCounter, Sampler
from tests.loadtest.conftest import served
from tests.loadtest.fake_bank import OPS_TOKEN, create_fake_bank


def test_finished_counter_counts_whole_lines_only(tmp_path: Path) -> None:
    count = FinishedCounter(tmp_path)
    assert count() == 0
    first = tmp_path / "records-1.jsonl"
    first.write_text('{"a": 1}\n{"a": 2}\n{"a"')  # the third is being written
    (tmp_path / "other.txt").write_text("x\n")
    assert count() == 2
    with first.open("a") as handle:
        handle.write(": 3}\n")
    (tmp_path / "records-2.jsonl").write_text('{"b": 1}\n')
    assert count() == 4 and count() == 4


def test_samples_read_the_queue_and_the_agencies(tmp_path: Path) -> None:
    with (
        served(create_fake_bank()) as bank_url,
        served(create_simulator_app()) as agencies_url,
        httpx.Client(base_url=bank_url) as bank,
        httpx.Client(base_url=agencies_url) as agencies,
    ):
        sampler = Sampler(bank, agencies, OPS_TOKEN, FinishedCounter(tmp_path))
        before = sampler.sample_once()
        bank.post("/v1/waiting-room/tickets", json={"flow": "signup"})
        agencies.post(
            "/identity/verifications",
            json={"name": "Kim", "resident_id": "900101-1234568", "issue_date": "2015-05-01"},
        )
        sampler.start()
        time.sleep(1.2)
        sampler.stop()
        wrong = Sampler(bank, agencies, "not-the-token", FinishedCounter(tmp_path))
        refused = wrong.sample_once()
    assert before.room is not None and before.room["tickets_total"] == 0
    assert before.agencies is not None and before.agencies["identity"]["requests"] == 0
    after = sampler.samples[-1]
    assert after.room is not None and after.room["tickets_total"] == 1
    assert after.agencies is not None and after.agencies["identity"]["ok"] == 1
    assert 3 <= len(sampler.samples) <= 5  # before, ~2 from the thread, the last on stop
    assert sampler.failed_reads == 0
    assert refused.room is None and wrong.failed_reads == 1
