"""What one simulated person did, as one JSON line: written by the Locust process as each person
finishes, read back by the runner for the analysis. Plain data, no Locust here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

__all__ = [
    "AGENCY_ENDPOINTS",
    "Outcome",
    "PersonRecord",
    "RequestRecord",
    "epoch_of",
    "read_records",
    "write_record",
]

Outcome = Literal["completed", "failed", "unfinished"]
# Requests a person sends to the agencies (reading the 1 KRW memo at "their other bank"):
# measured, but not the bank's answers.
AGENCY_ENDPOINTS = frozenset({"GET /_sim/clearing/credits"})


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP exchange. ``status`` 0: no answer (connection error or timeout)."""

    endpoint: str
    started_at: float
    status: int
    latency_ms: float
    code: str | None = None

    def as_row(self) -> list[Any]:
        return [self.endpoint, self.started_at, self.status, self.latency_ms, self.code]

    @classmethod
    def of_row(cls, row: list[Any]) -> RequestRecord:
        return cls(str(row[0]), float(row[1]), int(row[2]), float(row[3]), row[4])


@dataclass(slots=True)
class PersonRecord:
    """Times are Unix epoch seconds. ``issued_at`` and ``admitted_at`` are the waiting room's
    own (from the ticket); ``admitted_seen_at`` is when the person's poll saw the admission."""

    person: int
    arrived_at: float
    outcome: Outcome = "unfinished"
    failure: str | None = None
    ticket_id: str | None = None
    issued_at: float | None = None
    first_position: int | None = None
    first_eta_s: float | None = None
    admitted_at: float | None = None
    admitted_seen_at: float | None = None
    onboarding_id: str | None = None
    completed_at: float | None = None
    steps: dict[str, float] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)

    def to_json(self) -> str:
        document = asdict(self)
        document["requests"] = [r.as_row() for r in self.requests]
        return json.dumps(document, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> PersonRecord:
        document = json.loads(line)
        document["requests"] = [RequestRecord.of_row(r) for r in document["requests"]]
        return cls(**document)

    @property
    def wait_s(self) -> float | None:
        """The wait in the queue: issue to admission, by the waiting room's clock when it gave
        both times, else by the person's (arrival to the poll that saw it)."""
        if self.issued_at is not None and self.admitted_at is not None:
            return max(0.0, self.admitted_at - self.issued_at)
        if self.admitted_seen_at is not None:
            return max(0.0, self.admitted_seen_at - self.arrived_at)
        return None


def epoch_of(value: object) -> float | None:
    """A server timestamp (ISO 8601 text or epoch seconds) as epoch seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def write_record(handle: IO[str], record: PersonRecord) -> None:
    """One line, one write call, flushed: a crash loses at most the person being written."""
    handle.write(record.to_json() + "\n")
    handle.flush()


def _lines(paths: Iterable[Path]) -> Iterator[str]:
    for path in sorted(paths):
        with path.open() as handle:
            yield from (line for line in handle if line.strip())


def read_records(paths: Iterable[Path]) -> list[PersonRecord]:
    """Every person in the files, ordered by arrival. A torn last line (the writer killed
    mid-write) is skipped."""
    records: list[PersonRecord] = []
    for line in _lines(paths):
        try:
            records.append(PersonRecord.from_json(line))
        except (json.JSONDecodeError, TypeError, KeyError):
            continue
    records.sort(key=lambda r: (r.arrived_at, r.person))
    return records
