"""The architecture checks of pyproject.toml, run as the tools themselves run them: import-linter's contracts and
mypy over the Qt-free packages (model/, server/, sources/ and project/, the `files` of [tool.mypy])."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's tools, next to the Python running the tests


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    # --no-cache: nothing written into the work tree.
    return run_tool(str(BIN / "lint-imports"), "--no-cache", "--no-logo", *args)


def test_import_contracts_hold():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_broken_contract_fails_the_check(tmp_path: Path):
    """The check can fail: `ui` does import `model`, so forbidding it must be reported."""
    config = tmp_path / "broken.toml"
    config.write_text(
        "\n".join(
            [
                "[tool.importlinter]",
                'root_package = "buildrunner_gui"',
                "[[tool.importlinter.contracts]]",
                'name = "ui without model"',
                'type = "forbidden"',
                'source_modules = ["buildrunner_gui.ui"]',
                'forbidden_modules = ["buildrunner_gui.model"]',
            ]
        )
    )
    result = lint_imports(str(config))
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout


def mypy(*paths: str) -> subprocess.CompletedProcess[str]:
    # The settings come from pyproject.toml; /dev/null as the cache: nothing written into the work tree.
    return run_tool(str(BIN / "mypy"), "--cache-dir", os.devnull, "--no-color-output", *paths)


def test_the_packages_type_check():
    result = mypy()
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_type_error_fails_the_check(tmp_path: Path):
    """The check can fail: the same settings report a plain type error."""
    bad = tmp_path / "bad.py"
    bad.write_text('count: int = "three"\n')
    result = mypy(str(bad))
    assert result.returncode != 0, result.stdout
    assert "Incompatible types in assignment" in result.stdout
