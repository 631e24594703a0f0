"""``make chaos`` in small: a few whole lifecycles through HTTP while the worker, the API and the
Temporal dev server are killed with SIGKILL and PostgreSQL crashes, each at least once. Every
lifecycle ends as planned, no payment, refund or badge happens twice, no mail is lost (counted
from the database, the offline provider's refund ledger and the SMTP server's inbox), and a mail
goes twice only where a kill between its deliveries lost the news that it went."""

from __future__ import annotations

import pytest

from bench.chaos.run import KINDS, Options, run

pytestmark = pytest.mark.slow


async def test_lifecycles_survive_kills_and_nothing_happens_twice() -> None:
    report = await run(Options(lifecycles=3, concurrency=3, kill_every=(1.0, 2.5), downtime=(0.2, 1.0)))
    figures = report.as_dict()
    assert all(report.kills[kind] >= 1 for kind in KINDS), figures
    assert report.tally.completed == 3, figures
    assert report.tally.doubles == dict.fromkeys(report.tally.doubles, 0), figures
    assert report.tally.mails_expected > 0 and report.tally.mails_missing == 0, figures
    assert report.mails_twice_unexplained == 0, figures
    assert not report.exited_on_their_own, figures
    assert report.ok
