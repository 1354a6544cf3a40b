"""The stubs are complete and accurate: `mypy --strict` accepts a typed use of every public
name, and mypy's stubtest finds no difference between `_native.pyi` and the module."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=HERE, capture_output=True, text=True, timeout=600)


def test_mypy_strict_accepts_the_typed_usage() -> None:
    result = run("mypy", "--strict", "--no-error-summary", str(HERE / "typing_usage.py"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_rejects_a_wrong_use(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_usage.py"
    wrong.write_text(
        "from deviceauth import activeconnect\n"
        "client = activeconnect.Client('a', 'b')\n"
        "count: int = client.add_users(['u'])\n"
        "client.authenticate_user('u', duration_seconds='ten')\n"
    )
    result = run("mypy", "--strict", "--no-error-summary", str(wrong))
    assert result.returncode == 1
    assert "wrong_usage.py:3" in result.stdout and "wrong_usage.py:4" in result.stdout


def test_stubs_match_the_extension_module() -> None:
    result = run(
        "mypy.stubtest", "deviceauth", "--allowlist", str(HERE / "stubtest_allowlist.txt"),
        "--mypy-config-file", str(HERE / "stubtest_mypy.ini"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_accepts_the_web_layer() -> None:
    result = run("mypy", "--strict", "--no-error-summary", "-p", "deviceauth.web")
    assert result.returncode == 0, result.stdout + result.stderr
