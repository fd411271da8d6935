"""The credit bureau's rules: a deterministic score and attributes per resident id, and hard
inquiries counted once per inquiry key.

The score is 300 + (the first 8 bytes of SHA-256(resident id digits) mod 651), so 300-950 on
the 1-1000 scale Korean bureaus use; the grade is 1 (best) to 10; open loans and delinquencies
come from further bytes of the same hash, delinquencies only below a score of 600.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["BureauReport", "InquiryBook", "InquiryKeyConflict", "bureau_report"]

score_min = 300
score_span = 651
grade_cuts = (900, 850, 800, 750, 700, 650, 600, 550, 450)  # score >= cut[i] -> grade i + 1


@dataclass(frozen=True, slots=True)
class BureauReport:
    inquiry_key: str
    score: int
    grade: int
    open_loans: int
    delinquencies: int
    total_debt: int


def bureau_report(inquiry_key: str, resident_id: str) -> BureauReport:
    digest = hashlib.sha256(resident_id.replace("-", "").encode()).digest()
    score = score_min + int.from_bytes(digest[:8], "big") % score_span
    grade = next((i + 1 for i, cut in enumerate(grade_cuts) if score >= cut), 10)
    open_loans = digest[8] % 6
    delinquencies = digest[9] % 3 if score < 600 else 0
    total_debt = open_loans * (digest[10] % 50 + 1) * 1_000_000
    return BureauReport(inquiry_key, score, grade, open_loans, delinquencies, total_debt)


class InquiryKeyConflict(Exception):
    """The inquiry key was already used for another resident id."""


class InquiryBook:
    """Remembers answers by inquiry key (the oldest forgotten beyond ``inquiries_max``) and
    counts hard inquiries: one per distinct key, however often it is sent."""

    def __init__(self, inquiries_max: int) -> None:
        self._inquiries_max = inquiries_max
        self._answers: OrderedDict[str, tuple[str, BureauReport]] = OrderedDict()
        self.inquiries = 0
        self.distinct_inquiry_keys = 0

    def inquire(self, inquiry_key: str, resident_id: str) -> BureauReport:
        self.inquiries += 1
        known = self._answers.get(inquiry_key)
        if known is not None:
            if known[0] != resident_id:
                raise InquiryKeyConflict(inquiry_key)
            return known[1]
        report = bureau_report(inquiry_key, resident_id)
        self._answers[inquiry_key] = (resident_id, report)
        self.distinct_inquiry_keys += 1
        if len(self._answers) > self._inquiries_max:
            self._answers.popitem(last=False)
        return report
