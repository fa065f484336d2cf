"""A registry file nested too deep, or otherwise malformed: one readable line, never a traceback, never rewritten.

The files are real, in a tmp HOME; the CLI runs as a real process with HOME pointing there.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from buildrunner_gui.model.jsonbytes import MAX_DEPTH
from buildrunner_gui.project import initializer, registry

REPO = Path(__file__).resolve().parents[2]
DEEP = 100_000

MALFORMED: dict[str, bytes] = {
    "deep-object": (('{"a":' * DEEP) + "1" + ("}" * DEEP)).encode(),
    "deep-list": (("[" * DEEP) + ("]" * DEEP)).encode(),
    # json.loads reads this one; every later step that recurses (re-dumping it, say) must not see it
    "past-max-depth": ('{"x": ' + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "}").encode(),
    "not-utf8": b'{"a": "\xff"}',
    "truncated": b'{"a": {"path": "/a"',
    "a-list": b"[1, 2]",
}


def put(home: Path, name: str, data: bytes) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / name).write_bytes(data)
    return home / name


def one_line(text: str) -> bool:
    return bool(text) and "\n" not in text.strip() and "Traceback" not in text


# ------------------------------------------------------------------------------------------------ in process


@pytest.mark.parametrize("name", [registry.PROJECTS_FILE, registry.ALIASES_FILE])
@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_strict_operations_report_one_line_and_leave_the_file_alone(br_home: Path, name: str, kind: str):
    path = put(br_home, name, MALFORMED[kind])
    for operation in (
        registry.list_aliases,
        lambda: registry.register("new", "/p/new"),
        lambda: registry.unregister("a"),
        lambda: registry.lookup("new"),
    ):
        with pytest.raises(registry.CorruptRegistryError) as caught:
            operation()
        assert one_line(str(caught.value)) and name in str(caught.value)
    assert path.read_bytes() == MALFORMED[kind]  # never rewritten
    assert isinstance(registry.read_snapshot().error, registry.CorruptRegistryError)


@pytest.mark.parametrize("kind", ["deep-object", "deep-list", "past-max-depth"])
def test_too_deep_says_so(br_home: Path, kind: str):
    put(br_home, registry.PROJECTS_FILE, MALFORMED[kind])
    with pytest.raises(registry.CorruptRegistryError, match=f"deeper than {MAX_DEPTH}"):
        registry.list_aliases()


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_monitoring_reads_skip_an_unreadable_file_with_a_notice(
    br_home: Path, tmp_path: Path, kind: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger=registry.__name__)
    folder = tmp_path / "app"
    folder.mkdir()
    put(br_home, registry.PROJECTS_FILE, MALFORMED[kind])
    put(br_home, registry.ALIASES_FILE, json.dumps({"app": str(folder)}).encode())
    assert registry.registered_aliases() == {"app": str(folder)}  # what could be read still resolves
    assert registry.resolve_project("app") == (folder.resolve(), "app")
    notices = [record.getMessage() for record in caplog.records]
    assert notices and all(one_line(notice) and "projects.json" in notice for notice in notices)
    # An alias that only the unreadable file could know: the error names the file, not "unknown alias".
    with pytest.raises(registry.UnknownProjectError) as caught:
        registry.resolve_project("elsewhere")
    assert isinstance(caught.value, registry.RegistryError)
    assert one_line(str(caught.value)) and "projects.json" in str(caught.value)
    assert (br_home / registry.PROJECTS_FILE).read_bytes() == MALFORMED[kind]


def test_initializer_validation_and_run_report_the_registry(br_home: Path, tmp_path: Path):
    put(br_home, registry.PROJECTS_FILE, MALFORMED["deep-object"])
    request = initializer.ProjectRequest(alias="new", path=tmp_path / "new")
    errors = initializer.validation_errors(request)
    assert set(errors) == {"registry"} and one_line(errors["registry"])
    with pytest.raises(initializer.InitError) as caught:
        initializer.ProjectInitializer(request).run()
    assert caught.value.step == "validate" and "registry" in caught.value.fields
    assert one_line(caught.value.message) and f"deeper than {MAX_DEPTH}" in caught.value.message
    assert not (tmp_path / "new").exists()
    assert (br_home / registry.PROJECTS_FILE).read_bytes() == MALFORMED["deep-object"]


@pytest.mark.parametrize("kind", ["deep-object", "deep-list", "past-max-depth"])
def test_a_prd_nested_too_deep_is_a_one_line_error(tmp_path: Path, kind: str):
    prd = tmp_path / "prd.json"
    prd.write_bytes(MALFORMED[kind])
    with pytest.raises(initializer.PRDError, match=f"deeper than {MAX_DEPTH}") as caught:
        initializer.load_prd(prd)
    assert one_line(str(caught.value))


# ------------------------------------------------------------------------------------------------ the real CLI


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in a tmp folder and no BUILDRUNNER_HOME: the registry is found where users have it."""
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.delenv("BUILDRUNNER_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    return home


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={key: value for key, value in os.environ.items() if key != "BUILDRUNNER_HOME"},
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str], mentions: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)  # a runtime failure (cli.md)
    assert one_line(result.stderr), result.stderr
    assert mentions in result.stderr, result.stderr
    assert "RecursionError" not in result.stderr


@pytest.mark.parametrize("name", [registry.PROJECTS_FILE, registry.ALIASES_FILE])
@pytest.mark.parametrize(
    "args",
    [("status", "app"), ("aliases", "list"), ("aliases", "remove", "app"), ("serve", "app", "--port", "0")],
    ids=["status", "aliases-list", "aliases-remove", "serve"],
)
def test_cli_with_a_deeply_nested_registry(user_home: Path, name: str, args: tuple[str, ...]):
    path = put(user_home / ".buildrunner", name, MALFORMED["deep-object"])
    result = cli(*args)
    assert_one_line_failure(result, name)
    assert path.read_bytes() == MALFORMED["deep-object"]


def test_cli_init_with_a_deeply_nested_registry(user_home: Path, tmp_path: Path):
    path = put(user_home / ".buildrunner", registry.PROJECTS_FILE, MALFORMED["deep-list"])
    result = cli("init", "app", str(tmp_path / "app"))
    assert result.returncode == 1, result.stderr
    assert_one_line_failure(result, "projects.json")
    assert f"deeper than {MAX_DEPTH}" in result.stderr
    assert not (tmp_path / "app").exists()
    assert path.read_bytes() == MALFORMED["deep-list"]


def test_cli_status_of_a_folder_still_works_with_a_notice(user_home: Path, sample_project: Path):
    path = put(user_home / ".buildrunner", registry.PROJECTS_FILE, MALFORMED["deep-object"])
    result = cli("status", str(sample_project), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["project"]["path"]
    assert one_line(result.stderr) and "projects.json" in result.stderr, result.stderr
    assert path.read_bytes() == MALFORMED["deep-object"]
