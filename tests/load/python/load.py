"""Load test of deviceauth.activeconnect.AsyncMonitor against the emulator (a command, not
a pytest test). Standard library plus deviceauth only.

1. starts `deviceauth-emulator --approve-after 1000` (phones approve every sign-in after 1 s);
2. registers N users and their phones (control API, bounded concurrency);
3. signs them all in with AsyncClient.authenticate_user (bounded concurrency) and waits for
   each session to be active;
4. adds every session to one AsyncMonitor(interval=1.0) and monitors for --seconds, while
   flipping 10% of the sessions to walkaway and another 10% to remote-logout through the
   control API, spread over the first half of the window;
5. reports sign-ins, errors, changes made vs seen (each flipped session exactly one
   change: missing and duplicated counted apart), client peak RSS, client CPU and the
   emulator's request count; exits 1 when a change was lost or duplicated.

    tests/load/python/run.sh --users 10000 --seconds 60 --json /tmp/load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from deviceauth import activeconnect
from deviceauth.activeconnect import Status

os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

APP_ID = "LOADTESTAPP"
APP_SECRET = "load-test-secret-" + os.urandom(8).hex()


def quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


class Control:
    """The emulator's control API over urllib, run in a thread pool from asyncio."""

    def __init__(self, url: str, threads: int) -> None:
        self.url = url
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="control")
        self.limit = asyncio.Semaphore(threads)

    def call_blocking(self, method: str, path: str) -> Tuple[int, Any]:
        request = urllib.request.Request(self.url + path, data=b"" if method == "POST" else None, method=method)
        try:
            with _OPENER.open(request, timeout=30) as response:
                text = response.read()
                return response.status, (json.loads(text) if text.strip() else None)
        except urllib.error.HTTPError as error:
            return error.code, None

    async def call(self, method: str, path: str) -> Tuple[int, Any]:
        async with self.limit:
            return await asyncio.get_running_loop().run_in_executor(self.pool, self.call_blocking, method, path)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def start_emulator(binary: str) -> Tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--approve-after", "1000", "--quiet", "--app", f"{APP_ID}:{APP_SECRET}"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    first = process.stdout.readline().decode()
    listening = re.match(r"deviceauth-emulator listening on (http://\S+)", first)
    if not listening:
        process.kill()
        raise SystemExit(f"unexpected first line from the emulator: {first!r}")
    return process, listening.group(1).rstrip("/")


async def emulator_requests(control: Control) -> Optional[int]:
    """`requests_total` of `GET /_emulator/stats`, or None when the emulator has no stats."""
    try:
        status, body = await control.call("GET", "/_emulator/stats")
    except Exception:  # noqa: BLE001 - an older emulator, or none at all
        return None
    if status == 200 and isinstance(body, dict) and isinstance(body.get("requests_total"), int):
        return int(body["requests_total"])
    return None


async def run(args: argparse.Namespace) -> Dict[str, Any]:
    process, url = start_emulator(args.emulator)
    control = Control(url, args.control_threads)
    try:
        return await measure(args, url, control)
    finally:
        process.kill()
        process.wait(timeout=10)
        control.pool.shutdown(wait=False, cancel_futures=True)


async def measure(args: argparse.Namespace, url: str, control: Control) -> Dict[str, Any]:
    n = args.users
    client = activeconnect.AsyncClient(APP_ID, APP_SECRET, base_url=url, timeout=30.0)
    users = [f"load-{i:06d}" for i in range(n)]
    errors: Counter[str] = Counter()
    phase_times: Dict[str, float] = {}

    # 1. users and phones
    started = time.monotonic()
    for i in range(0, n, 500):
        await client.add_users(users[i : i + 500])
    registered = await asyncio.gather(
        *(control.call("POST", f"/_emulator/apps/{quote(APP_ID)}/users/{quote(u)}/device") for u in users)
    )
    failed = sum(1 for status, _ in registered if status != 200)
    if failed:
        errors["register_device"] += failed
    phase_times["register_s"] = time.monotonic() - started
    log(f"registered {n} users and phones in {phase_times['register_s']:.1f} s")

    # 2. sign-ins, each waited for until active
    started = time.monotonic()
    limit = asyncio.Semaphore(args.sign_in_concurrency)
    sessions: List[activeconnect.AsyncSession] = []

    async def sign_in(user: str) -> None:
        async with limit:
            try:
                session = await client.authenticate_user(user)
                status = await session.wait(timeout=120.0, interval=1.0)
            except Exception as error:  # noqa: BLE001 - counted and reported
                errors[f"sign_in:{type(error).__name__}"] += 1
                return
            if status is Status.ACTIVE:
                sessions.append(session)
            else:
                errors[f"sign_in:{status}"] += 1

    await asyncio.gather(*(sign_in(u) for u in users))
    phase_times["sign_in_s"] = time.monotonic() - started
    log(f"{len(sessions)} sign-ins active in {phase_times['sign_in_s']:.1f} s")

    # 3. monitoring window with flips
    monitor = activeconnect.AsyncMonitor(client, interval=args.interval, max_in_flight=args.max_in_flight)
    tokens: Dict[str, activeconnect.AsyncSession] = {}
    for session in sessions:
        token = str(json.loads(session.to_json())["session_token"])
        tokens[token] = session
        if not monitor.add(session):
            errors["monitor_add"] += 1
    order = list(tokens)
    random.Random(6).shuffle(order)
    tenth = len(order) // 10
    flips = [(t, "walkaway", Status.WALKAWAY) for t in order[:tenth]]
    flips += [(t, "remote-logout", Status.CLOSED) for t in order[tenth : 2 * tenth]]
    random.Random(7).shuffle(flips)
    expected = {token: status for token, _, status in flips}
    made: Dict[str, bool] = {}

    requests_before = await emulator_requests(control)
    cpu_before, wall_before = cpu_seconds(), time.monotonic()
    window = float(args.seconds)
    spread = window / 2

    async def flip(token: str, action: str, at: float) -> None:
        await asyncio.sleep(max(0.0, wall_before + at - time.monotonic()))
        status, _ = await control.call("POST", f"/_emulator/sessions/{quote(token)}/{action}")
        made[token] = status == 200
        if status != 200:
            errors[f"flip:{action}:{status}"] += 1

    flipping = [
        asyncio.ensure_future(flip(token, action, spread * i / max(1, len(flips))))
        for i, (token, action, _) in enumerate(flips)
    ]
    seen: Dict[str, List[Tuple[Status, Status]]] = {}
    unexpected: List[Tuple[str, Any, Any]] = []
    unreachable: Counter[str] = Counter()

    def record(event: activeconnect.MonitorEvent) -> None:
        if event.kind == "unreachable":
            unreachable[type(event.error).__name__] += 1
            return
        assert event.previous is not None and event.status is not None
        if event.session_token in expected:
            seen.setdefault(event.session_token, []).append((event.previous, event.status))
        else:
            unexpected.append((event.user, str(event.previous), str(event.status)))

    while (left := wall_before + window - time.monotonic()) > 0:
        for event in await monitor.poll(timeout=min(left, 1.0)):
            record(event)
    cpu_window = cpu_seconds() - cpu_before
    wall_window = time.monotonic() - wall_before
    requests_after = await emulator_requests(control)
    for event in await monitor.poll(timeout=0):
        record(event)
    await asyncio.gather(*flipping)
    watched_at_end = len(monitor)
    monitor.close()

    flipped = [t for t, ok in made.items() if ok]
    correct = sum(1 for t in flipped if seen.get(t) == [(Status.ACTIVE, expected[t])])
    missing = sum(1 for t in flipped if t not in seen)
    duplicated = sum(1 for t in flipped if len(seen.get(t, [])) > 1)
    wrong = sum(1 for t in flipped if len(seen.get(t, [])) == 1 and seen[t] != [(Status.ACTIVE, expected[t])])
    if requests_before is not None and requests_after is not None:
        emulator_count: Dict[str, Any] = {"source": "/_emulator/stats", "requests": requests_after - requests_before}
    else:
        emulator_count = {
            "source": "expected polls (the emulator has no /_emulator/stats)",
            "requests": int(len(tokens) * wall_window / args.interval),
        }
    emulator_count["per_second"] = round(emulator_count["requests"] / wall_window, 1)
    return {
        "users": n,
        "seconds": args.seconds,
        "interval": args.interval,
        "max_in_flight": args.max_in_flight,
        "sign_ins_completed": len(sessions),
        "errors": dict(errors),
        "changes_made": len(flipped),
        "changes_seen": sum(len(v) for v in seen.values()),
        "changes_correct": correct,
        "changes_missing": missing,
        "changes_duplicated": duplicated,
        "changes_wrong": wrong,
        "unexpected_changes": len(unexpected),
        "unexpected_examples": unexpected[:5],
        "unreachable": dict(unreachable),
        "watched_at_end": watched_at_end,
        "client_peak_rss_mb": round(peak_rss_mb(), 1),
        "client_cpu_s_window": round(cpu_window, 2),
        "client_avg_cores_window": round(cpu_window / wall_window, 3),
        "window_s": round(wall_window, 2),
        "emulator_requests_window": emulator_count,
        **{k: round(v, 1) for k, v in phase_times.items()},
    }


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def table(result: Dict[str, Any]) -> str:
    rows = [
        ("users", result["users"]),
        ("sign-ins completed", result["sign_ins_completed"]),
        ("errors", sum(result["errors"].values()) or 0),
        ("changes made", result["changes_made"]),
        ("changes seen", result["changes_seen"]),
        ("  missing", result["changes_missing"]),
        ("  duplicated", result["changes_duplicated"]),
        ("  wrong status", result["changes_wrong"]),
        ("unexpected changes", result["unexpected_changes"]),
        ("unreachable", sum(result["unreachable"].values()) or 0),
        ("client peak RSS (MB)", result["client_peak_rss_mb"]),
        ("client CPU in window (s)", result["client_cpu_s_window"]),
        ("client avg cores in window", result["client_avg_cores_window"]),
        ("window (s)", result["window_s"]),
        ("emulator requests in window", result["emulator_requests_window"]["requests"]),
        ("  per second", result["emulator_requests_window"]["per_second"]),
        ("register / sign-in phases (s)", f"{result['register_s']} / {result['sign_in_s']}"),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="monitoring window")
    parser.add_argument("--interval", type=float, default=1.0, help="monitor poll interval (s)")
    parser.add_argument("--max-in-flight", type=int, default=100, help="monitor polls in flight")
    parser.add_argument("--sign-in-concurrency", type=int, default=500)
    parser.add_argument("--control-threads", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the result here")
    default_binary = Path(__file__).resolve().parents[3] / "target" / "release" / "deviceauth-emulator"
    parser.add_argument("--emulator", default=str(default_binary))
    args = parser.parse_args()

    result = asyncio.run(run(args))
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    ok = result["changes_missing"] == 0 and result["changes_duplicated"] == 0 and result["changes_wrong"] == 0
    if not ok:
        print("FAIL: changes were lost, duplicated or wrong", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
