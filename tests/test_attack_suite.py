"""The adversarial suite's short profile (`bench/attack.py`) against a real `serve` process: it must pass and its
table must list every scenario."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = 15


@pytest.mark.timeout(420)
def test_short_attack_profile_passes_and_lists_every_scenario() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "attack.py"), "--profile", "short"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=360,
    )
    output = result.stdout + result.stderr
    table = output[output.rfind("### Attack suite") :]
    listed = {int(number) for number in re.findall(r"^\| (\d+) +\|", table, re.MULTILINE)}
    assert listed == set(range(1, SCENARIOS + 1)), output[-4000:]
    assert result.returncode == 0, output[-4000:]
