"""``buzz bench`` end to end at a small size: two workers, every figure printed.

Times are not asserted (they depend on the machine); what is: the command succeeds, every row
of its table is there with a figure that parses and is positive, the backlog was drained by the
two workers, and the ratios are the quotients of the figures printed.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import ROOT, buzz_cmd, clean_env, table_cells

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]
RATE = re.compile(r"^([\d,]+) mentions/s$")


def rate(value: str) -> float:
    m = RATE.match(value)
    assert m, value
    return float(m.group(1).replace(",", ""))


def test_bench_prints_every_figure_with_two_workers() -> None:
    done = subprocess.run(
        buzz_cmd("bench", "-n", "3000", "--backlog", "3000", "--seconds", "2", "--no-peer",
                 "--workers", "2"),
        capture_output=True, text=True, env=clean_env() | {"COLUMNS": "200"}, cwd=ROOT, timeout=540,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    got = dict(table_cells(done.stdout, 2, "figure"))
    e2e = rate(got["(a) end to end, every score on, 2 workers"])
    pure = rate(got["(c) pure work, one core, no I/O"])
    ceiling = rate(got["(d) plain aiokafka decode loop"])
    assert min(e2e, pure, ceiling) > 0
    assert got["(b) Quix Streams app, same work"] == "skipped"
    assert "peer skipped" in done.stdout
    for r in ("500", "2,000"):
        p50, p95, p99 = re.findall(r"[\d,]+", got[f"(e) latency at {r}/s p50 / p95 / p99"])[:3]
        assert 0 <= int(p50.replace(",", "")) <= int(p95.replace(",", ""))
        assert int(p95.replace(",", "")) <= int(p99.replace(",", ""))
    backlog = got["(f) 3,000 backlog drained"]
    assert re.match(r"^[\d,]+ s \([\d,]+/s\), worker peak [\d,]+ MB \(the largest\)$", backlog)
    assert int(re.findall(r"peak ([\d,]+) MB", backlog)[0].replace(",", "")) > 50
    assert got["a/b"] == "-"
    assert float(got["a/c"]) == pytest.approx(e2e / pure, abs=0.01)
    assert float(got["a/d"]) == pytest.approx(e2e / ceiling, abs=0.001)
