"""`buzz source new`: the scaffolded connector, fixture and test pass as generated."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.sources.scaffold import new_main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway copy of the package (the scaffold writes into pipeline/sources/)."""
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "pipeline", copy / "pipeline", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "tests").mkdir()
    return copy


def test_scaffolded_connector_passes_its_generated_test(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new_main("town_forum", root=project) == 0
    out = capsys.readouterr().out
    for made in (
        "pipeline/sources/town_forum/__init__.py",
        "pipeline/sources/town_forum/source.py",
        "pipeline/sources/town_forum/client.py",
        "pipeline/sources/town_forum/mapping.py",
        "tests/fixtures/sources/town_forum/items.json",
        "tests/test_source_town_forum.py",
    ):
        assert (project / made).is_file() and f"created {made}" in out
    assert 'town_forum = "pipeline.sources.town_forum.source:TownForumSource"' in out
    assert '[project.entry-points."buzz.sources"]' in out and "pip install -e ." in out

    env = {k: v for k, v in os.environ.items() if not k.startswith("BUZZ_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_source_town_forum.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed, 1 skipped" in result.stdout  # the skip: not registered yet
    # It really ran the copy, not the repository's package.
    assert not (ROOT / "pipeline" / "sources" / "town_forum").exists()
    # As generated, it is the house style: ruff-clean and formatted.
    made = [str(project / "pipeline" / "sources" / "town_forum"), str(project / "tests")]
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run([*ruff, "check", "--no-cache", *made], cwd=ROOT, capture_output=True,
                          text=True, check=False)  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run([*ruff, "format", "--check", "--no-cache", *made], cwd=ROOT,
                         capture_output=True, text=True, check=False)  # fmt: skip
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize("name", ["Bad-Name", "x", "1abc", "class", "base", "demo", "a b"])
def test_invalid_names_are_refused(
    project: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new_main(name, root=project) == 2
    assert "invalid connector name" in capsys.readouterr().err
    assert not (project / "tests" / f"test_source_{name}.py").exists()


def test_existing_files_are_not_overwritten(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = project / "tests" / "test_source_town_forum.py"
    mine.write_text("# mine\n")
    assert new_main("town_forum", root=project) == 2
    assert "not overwriting what exists: tests/test_source_town_forum.py" in capsys.readouterr().err
    assert mine.read_text() == "# mine\n"
    assert not (project / "pipeline" / "sources" / "town_forum").exists()


def test_outside_a_project_it_says_where_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new_main("town_forum", root=tmp_path) == 2
    assert "project root" in capsys.readouterr().err
