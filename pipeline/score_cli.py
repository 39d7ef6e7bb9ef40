"""``buzz score comments``: the comment substance scorer on an analyst's own CSV.

Reads the CSV, scores the text column with ``scoring.conversation.substance`` (the same function
the stream uses) and writes every input row unchanged plus a ``substance`` column in [0, 1], six
decimals (replacing one of that name if the input has it). Failure policy: a missing file, an
unreadable CSV or a missing column stops with one message naming it and exit status 2; nothing is
written.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TextIO

from pipeline.scoring.conversation import substance_score

SUBSTANCE_COLUMN = "substance"


class ScoreError(Exception):
    """Bad input: the message names the file or the column."""


def score_comments(source: TextIO, out: TextIO, text_column: str, name: str = "input") -> int:
    """Copy ``source`` to ``out`` with a substance column; return the number of rows scored."""
    reader = csv.DictReader(source)
    columns = list(reader.fieldnames or [])
    if not columns:
        raise ScoreError(f"{name} is empty (no header row)")
    if text_column not in columns:
        raise ScoreError(
            f"column {text_column!r} not found in {name}; columns are: {', '.join(columns)}"
        )
    rows = list(reader)  # read everything first: a bad file must not leave half an output
    out_columns = [*(c for c in columns if c != SUBSTANCE_COLUMN), SUBSTANCE_COLUMN]
    writer = csv.DictWriter(out, fieldnames=out_columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        # Six decimals, as the stream stores it: fewer would tie many short comments, which all
        # score below 0.01, and spoil any ranking made from the file.
        row[SUBSTANCE_COLUMN] = f"{substance_score(row.get(text_column) or ''):.6f}"
        writer.writerow(row)
    return len(rows)


def main(input_path: Path, text_column: str, output: Path | None = None) -> int:
    try:
        with open(input_path, encoding="utf-8-sig", newline="") as src:
            if output is None:
                n = score_comments(src, sys.stdout, text_column, str(input_path))
            else:
                tmp = output.with_name(output.name + ".part")
                with open(tmp, "w", encoding="utf-8", newline="") as dst:
                    n = score_comments(src, dst, text_column, str(input_path))
                tmp.replace(output)
    except FileNotFoundError:
        print(f"buzz score comments: no such file: {input_path}", file=sys.stderr)
        return 2
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"buzz score comments: cannot read {input_path}: {exc}", file=sys.stderr)
        return 2
    except ScoreError as exc:
        print(f"buzz score comments: {exc}", file=sys.stderr)
        return 2
    if output is not None:
        print(f"scored {n} comments -> {output}", file=sys.stderr)
    return 0
