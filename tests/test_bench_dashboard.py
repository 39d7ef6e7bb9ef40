"""``buzz bench dashboard`` end to end: a small seed, every page query timed and printed.

Times are not asserted (they depend on the machine); what is: the command succeeds and its
table has exactly one row per query of the plan (page, query, parameters), each with two times,
the rows returned and the verdict against the target.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from pipeline.bench_dashboard.plan import page_queries
from pipeline.campaign import load_campaign
from tests.conftest import ROOT, buzz_cmd, clean_env, table_cells

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]
NUMBER = re.compile(r"^\d[\d,]*$")


def test_bench_dashboard_prints_a_row_for_every_page_query() -> None:
    done = subprocess.run(
        buzz_cmd("bench", "dashboard", "--mentions", "20000", "--runs", "2"),
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
        timeout=840,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = table_cells(done.stdout, 7, "page")
    printed = [(page, query, params) for page, query, params, *_ in rows]
    planned = [(q.page, q.query, q.params) for q in page_queries(load_campaign())]
    assert printed == planned
    for _page, _query, _params, p50, p95, returned, verdict in rows:
        assert NUMBER.match(p50) and NUMBER.match(p95) and NUMBER.match(returned)
        assert verdict in ("yes", "MISS")
    assert "target: every query p95 <= 300 ms" in done.stdout
    assert f"of {len(planned)} meet it" in done.stdout
    assert "machine: " in done.stdout and "load average" in done.stdout
