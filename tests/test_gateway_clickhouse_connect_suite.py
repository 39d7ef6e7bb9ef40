"""clickhouse-connect's own integration tests pass against the gateway (issue: >= 98%).

clickhouse-connect 1.7.2's tests/ lie in ../shared/corpora (never copied here); they run in their
own virtual environment (scripts/install-clickhouse-connect-suite.sh, which `make test` runs
first) against a fresh ``buzz warehouse`` on a free port. The failures that remain are the ones
docs/warehouse.md lists as not supported by the embedded warehouse; the assertion message names
every failing test, so a new one is seen at once.
"""

from __future__ import annotations

import os
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT, start_warehouse

CORPUS = ROOT.parent / "shared" / "corpora" / "clickhouse-connect-1.7.2"
SUITE_PYTHON = ROOT / ".venv" / "clickhouse-connect-suite" / "bin" / "python"
REQUIRED_PASS_RATE = 0.98
# The suite's fuzz tests run 250 random queries by default; 50 keep the run within minutes on a
# busy machine and still cover every column type.
FUZZ_RUNS = "50"
# A failed test is run once more: some assert timings (ten 0.1 s queries in under 0.5 s) that a
# busy machine misses now and then. A real failure fails twice.
RERUNS = "1"

pytestmark = [pytest.mark.stack, pytest.mark.timeout(2400)]


def test_clickhouse_connect_integration_suite_passes_against_the_gateway(tmp_path: Path) -> None:
    if not (CORPUS / "tests" / "integration_tests").is_dir():
        pytest.skip(f"clickhouse-connect's tests not found at {CORPUS} (../shared/corpora)")
    if not SUITE_PYTHON.exists():
        pytest.skip("its environment is missing: run scripts/install-clickhouse-connect-suite.sh")
    child, url = start_warehouse(tmp_path)
    report = tmp_path / "suite.xml"
    started = time.monotonic()
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BUZZ_", "PYTEST_"))},
            "CLICKHOUSE_CONNECT_TEST_HOST": "127.0.0.1",
            "CLICKHOUSE_CONNECT_TEST_PORT": url.rsplit(":", 1)[1],
            "CLICKHOUSE_CONNECT_TEST_FUZZ": FUZZ_RUNS,
            "PYTHONDONTWRITEBYTECODE": "1",  # the corpus folder is read-only in CI
        }
        proc = subprocess.run(
            [
                str(SUITE_PYTHON), "-m", "pytest", "tests/integration_tests",
                "-o", "addopts=", "-o", "log_cli=false", "-p", "no:cacheprovider",
                "--timeout", "300", "--reruns", RERUNS, "-q", f"--junitxml={report}",
            ],
            cwd=CORPUS, env=env, capture_output=True, text=True, timeout=2100,
        )  # fmt: skip
    finally:
        child.stop()
    assert report.exists(), f"the suite did not run:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    passed, failed = _results(report)
    total = len(passed) + len(failed)
    assert total > 700, f"only {total} tests ran:\n{proc.stdout[-3000:]}"
    rate = len(passed) / total
    listing = "\n".join(sorted(failed))
    # Shown with pytest -rP: the figure the docs quote.
    print(f"{len(passed)} of {total} passed ({rate:.1%}) in {time.monotonic() - started:.0f} s")
    assert rate >= REQUIRED_PASS_RATE, (
        f"{len(passed)} of {total} passed ({rate:.1%}); failing:\n{listing}"
    )


def _results(report: Path) -> tuple[list[str], list[str]]:
    """Names of the passed and of the failed (or erroring) test cases; skipped ones are neither.

    A retried test appears once per run in the report, its final run last: that one counts.
    """
    final: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        outcomes = {child.tag for child in case}
        if outcomes & {"failure", "error"}:
            final[name] = "failed"
        elif "skipped" in outcomes:
            final[name] = "skipped"
        else:
            final[name] = "passed"
    passed = [name for name, outcome in final.items() if outcome == "passed"]
    failed = [name for name, outcome in final.items() if outcome == "failed"]
    return passed, failed
