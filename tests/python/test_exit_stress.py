"""Clean exit (issue 10): 200 runs of a program that exits with calls in flight, retries
sleeping, daemon threads blocked in calls, a Monitor running and log records on the way,
4 at a time; every run must exit 0 with nothing on stderr about a crash."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator, Optional

import pytest

from hostile import RawServer, http

HERE = Path(__file__).resolve().parent
RUNS = int(os.environ.get("DEVICEAUTH_EXIT_RUNS", "200"))


def answer(request: bytes) -> Optional[bytes]:
    path = request.split(b" ", 2)[1].decode()
    roll = random.random()
    if roll < 0.3:
        return http(429, "slow down", "Retry-After: 1")
    if roll < 0.5:
        time.sleep(0.2)
    if "/session_status/" in path:
        return http(200, {"session_status": random.choice(["active", "walkaway", "active"])})
    return http(200, {"status": True, "device_registered": True})


@pytest.fixture
def server() -> Iterator[RawServer]:
    raw = RawServer().script(answer)
    yield raw
    raw.close()


def test_exit_with_work_in_flight_never_crashes(server: RawServer) -> None:
    def run(index: int) -> tuple[int, int, str]:
        done = subprocess.run(
            [sys.executable, str(HERE / "exit_program.py"), server.url, str(index % 8)],
            capture_output=True, text=True, timeout=60,
        )
        return index, done.returncode, done.stderr

    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(RUNS)))
    elapsed = time.monotonic() - started
    failed = [(i, code, err[-800:]) for i, code, err in results if code != 0 or "panick" in err or "Fatal" in err]
    summary = {"runs": RUNS, "exit_0": RUNS - len(failed), "seconds": round(elapsed, 1)}
    print("exit stress:", json.dumps(summary))
    assert not failed, f"{len(failed)} of {RUNS} runs failed; first: {failed[:3]}"
