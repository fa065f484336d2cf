"""The double-clickable app: build the PyInstaller bundle from build_app.spec and run the built binary.

A bundle that builds can still fail to start, so the binary itself must pass `--self-test` and read a real
project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pyinstaller = Path(sys.executable).with_name("pyinstaller")
    if not pyinstaller.exists():
        pytest.fail("PyInstaller is not installed (scripts/setup --dev installs it)")
    out = tmp_path_factory.mktemp("bundle")
    subprocess.run(
        [
            str(pyinstaller),
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(out / "dist"),
            "--workpath",
            str(out / "build"),
            "build_app.spec",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    binary = out / "dist" / "buildrunner-gui" / "buildrunner-gui"
    assert binary.exists()
    return binary


@pytest.mark.timeout(900)
def test_the_built_binary_passes_its_self_test(bundle: Path):
    result = subprocess.run([str(bundle), "--self-test"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("self-test ok: parse, watch, serve, page, stream, window")


@pytest.mark.timeout(900)
def test_the_built_binary_reads_a_real_project(bundle: Path, sample_project: Path):
    result = subprocess.run(
        [str(bundle), "status", str(sample_project), "--json"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["feature_stats"]["total"] == 17


@pytest.mark.timeout(900)
def test_the_built_binary_plays_the_demo_build_as_a_child_process(bundle: Path, tmp_path: Path):
    """The demo's build command in the bundle is the app itself with the hidden flag (no `python -m` there)."""
    folder = tmp_path / "demo"
    result = subprocess.run(
        [str(bundle), "--demo-build", str(folder), "--duration", "0.5"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "simulated build finished" in result.stdout
    phases = [json.loads(p.read_text())["phase"] for p in (folder / ".buildrunner" / "checkpoints").glob("*.json")]
    assert "build_complete" in phases
