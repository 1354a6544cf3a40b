"""Signed `has_registered_mobile_device` calls per second against the local emulator:

1. deviceauth, blocking client (one thread);
2. deviceauth, asyncio client with 100 calls in flight;
3. the official `activeconnect` 0.0.10 client (urllib, one thread), pointed at the
   emulator through `ACTIVE_CONNECT_SERVER`;
4. for reference, the official client's signing over one kept-alive `http.client`
   connection: the one-thread round-trip floor of this machine and emulator.

Prints a table; it is a measurement, not a test. Run it through bench.sh, which installs
what it needs (a release build of the extension and of the emulator).

    python bench_calls.py [--seconds 5] [--in-flight 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, List, Tuple

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def emulator_binary() -> Path:
    configured = os.environ.get("DEVICEAUTH_EMULATOR")
    if configured:
        return Path(configured)
    target = REPO_ROOT / os.environ.get("CARGO_TARGET_DIR", "target")
    for profile in ("release", "debug"):
        binary = target / profile / "deviceauth-emulator"
        if binary.exists():
            return binary
    sys.exit("build the emulator first: cargo build --release -p deviceauth-emulator")


def control(url: str, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with OPENER.open(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text.strip() else None


def measure(name: str, seconds: float, run: Callable[[float], int]) -> Tuple[str, int, float]:
    started = time.perf_counter()
    calls = run(started + seconds)
    elapsed = time.perf_counter() - started
    print(f"  {name}: {calls} calls in {elapsed:.2f} s", file=sys.stderr, flush=True)
    return name, calls, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measurement")
    parser.add_argument("--in-flight", type=int, default=100, help="concurrent asyncio calls")
    args = parser.parse_args()

    binary = emulator_binary()
    emulator = subprocess.Popen([str(binary), "--listen", "127.0.0.1:0", "--quiet"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        assert emulator.stdout is not None
        first = emulator.stdout.readline().decode()
        found = re.match(r"deviceauth-emulator listening on (http://\S+)", first)
        if not found:
            sys.exit(f"unexpected emulator output: {first!r}")
        url = found.group(1).rstrip("/")
        os.environ["NO_PROXY"] = "127.0.0.1,localhost"
        # The official client reads the server once, when it is imported.
        os.environ["ACTIVE_CONNECT_SERVER"] = url
        run_all(url, binary, args.seconds, args.in_flight)
    finally:
        emulator.kill()
        emulator.wait()


def run_all(url: str, binary: Path, seconds: float, in_flight: int) -> None:
    import deviceauth
    from deviceauth import activeconnect

    app = control(url, "POST", "/_emulator/apps", {})
    assert isinstance(app, dict)
    app_id, secret = app["application_id"], app["application_secret"]
    user = "bench-user"
    client = activeconnect.Client(app_id, secret, base_url=url)
    client.add_user(user)
    control(url, "POST", f"/_emulator/apps/{app_id}/users/{user}/device")
    assert client.has_registered_mobile_device(user) is True

    def sync_calls(deadline: float) -> int:
        calls = 0
        while time.perf_counter() < deadline:
            for _ in range(50):
                if client.has_registered_mobile_device(user) is not True:
                    raise AssertionError("wrong answer")
            calls += 50
        return calls

    def asyncio_calls(deadline: float) -> int:
        aclient = activeconnect.AsyncClient(app_id, secret, base_url=url)

        async def worker() -> int:
            calls = 0
            while time.perf_counter() < deadline:
                if await aclient.has_registered_mobile_device(user) is not True:
                    raise AssertionError("wrong answer")
                calls += 1
            return calls

        async def all_workers() -> int:
            return sum(await asyncio.gather(*[worker() for _ in range(in_flight)]))

        return asyncio.run(all_workers())

    def official_calls(deadline: float) -> int:
        from Activeconnect.management_api import ManagementAPI, ManagementAPIResult

        api = ManagementAPI(app_id, secret)
        calls = 0
        while time.perf_counter() < deadline:
            if api.has_registered_mobile_device(user) != ManagementAPIResult.has_mobile_device:
                raise AssertionError("the official client did not get the answer")
            calls += 1
        return calls

    def keepalive_calls(deadline: float) -> int:
        # Reference, not a client: the official signing over one kept-alive http.client
        # connection, reading the JSON answer. It shows the round-trip floor of this
        # machine and emulator for one thread.
        import http.client
        from urllib.parse import urlsplit

        from Activeconnect.hmac import make_authentication_headers

        parts = urlsplit(url)
        path = f"/management/has_registered_mobile_device/{app_id}/{user}"
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        calls = 0
        while time.perf_counter() < deadline:
            conn.request("GET", path, headers=make_authentication_headers(app_id, secret, url + path))
            answer = json.loads(conn.getresponse().read())
            if answer.get("device_registered") is not True:
                raise AssertionError("wrong answer")
            calls += 1
        conn.close()
        return calls

    print(f"emulator: {binary} at {url}; {seconds:.0f} s per measurement", file=sys.stderr)
    # Warm up each path once (connection pools, imports, the emulator's caches).
    sync_calls(time.perf_counter() + 0.5)
    asyncio_calls(time.perf_counter() + 0.5)
    official_calls(time.perf_counter() + 0.5)
    results: List[Tuple[str, int, float]] = [
        measure("deviceauth sync", seconds, sync_calls),
        measure(f"deviceauth asyncio ({in_flight} in flight)", seconds, asyncio_calls),
        measure("activeconnect 0.0.10 (official)", seconds, official_calls),
        measure("reference: http.client keep-alive", seconds, keepalive_calls),
    ]
    official_rate = results[2][1] / results[2][2]
    print()
    print(f"deviceauth {deviceauth.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, emulator {binary.parent.name} build")
    print(f"{'client':<36} {'calls':>8} {'seconds':>8} {'calls/s':>10} {'vs official':>12}")
    for name, calls, elapsed in results:
        rate = calls / elapsed
        print(f"{name:<36} {calls:>8} {elapsed:>8.2f} {rate:>10.0f} {rate / official_rate:>11.1f}x")


if __name__ == "__main__":
    main()
