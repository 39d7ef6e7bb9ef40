"""``buzz score comments``: every input row comes back with the substance the stream would give."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.score_cli import score_comments
from pipeline.scoring.conversation import substance_score

ROWS = [
    {"id": "1", "author": "ana", "comment": "Great post!"},
    {"id": "2", "author": "ben", "comment": "What is Kim's plan for rent? Costs rose 40%, why?"},
    {"id": "3", "author": "cat", "comment": ""},
]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_output_file_has_every_row_and_column_plus_substance(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write(src, ROWS)
    result = CliRunner().invoke(
        app, ["score", "comments", "--input", str(src), "--text-column", "comment",
              "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [{k: r[k] for k in ("id", "author", "comment")} for r in got] == ROWS
    assert [float(r["substance"]) for r in got] == [
        round(substance_score(r["comment"]), 6) for r in ROWS
    ]
    assert float(got[2]["substance"]) < float(got[0]["substance"]) < float(got[1]["substance"])


def test_scores_keep_six_decimals_so_short_comments_stay_ranked() -> None:
    # Short comments all score below 0.01: four decimals tied them in the file.
    texts = ["Thanks for sharing!", "Following.", "Has anyone asked the same question?"]
    out = io.StringIO()
    score_comments(io.StringIO("text\n" + "\n".join(texts) + "\n"), out, "text")
    written = [line.split(",")[1] for line in out.getvalue().splitlines()[1:]]
    assert written == [f"{substance_score(t):.6f}" for t in texts]
    assert len(set(written)) == 3 and max(float(w) for w in written) < 0.05


def test_stdout_when_no_output_and_existing_substance_column_is_replaced() -> None:
    src = io.StringIO("text,substance\nGo JK!,0.99\n")
    out = io.StringIO()
    assert score_comments(src, out, "text") == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == "text,substance"
    assert float(lines[1].split(",")[1]) < 0.05


def test_missing_column_names_it_and_the_columns(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    _write(src, ROWS)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["score", "comments", "--input", str(src), "--text-column", "body",
              "--output", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "column 'body' not found" in result.output and "id, author, comment" in result.output
    assert not out.exists()


def test_missing_file_is_one_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = CliRunner().invoke(
        app, ["score", "comments", "--input", str(missing), "--text-column", "c"]
    )
    assert result.exit_code == 2
    assert f"no such file: {missing}" in result.output
