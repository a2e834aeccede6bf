"""A failure that can be switched on and off: recording a report fails until it is fixed."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.reports import domain as reports_domain


@dataclass
class FailingReports:
    """Recording the named reports raises, for a number of tries or until fixed."""

    failures_left: dict[str, int] = field(default_factory=dict)
    tries: list[str] = field(default_factory=list)

    def fail(self, report_id: str, times: int = 10**6) -> list[str]:
        """Fail the next `times` tries of this report; returns the tries seen (all reports)."""
        self.failures_left[report_id] = times
        return self.tries

    def fix(self) -> None:
        """The cause is fixed: every try from now on succeeds."""
        self.failures_left.clear()


@pytest.fixture
def failing_reports(monkeypatch: pytest.MonkeyPatch) -> Iterator[FailingReports]:
    """Reports whose recording fails (the document store not answering, say)."""
    failing = FailingReports()
    original = reports_domain.Conference.submit_report

    def submit(self: Any, data: Any, env: Any) -> Any:
        if data.report_id in failing.failures_left:
            failing.tries.append(data.report_id)
            if failing.failures_left[data.report_id] > 0:
                failing.failures_left[data.report_id] -= 1
                raise RuntimeError("the document store did not answer")
        return original(self, data, env)

    monkeypatch.setattr(reports_domain.Conference, "submit_report", submit)
    yield failing
