"""The cross-language benchmark: the Rust core, Python and Node cells interleaved in one run.

One release emulator; one long-lived process per language (bench/rust `bench-cell`,
bench/cells/python_cell.py, bench/cells/node_cell.mjs), each holding a warm client. The
driver asks each cell in turn for `seq` (one call in flight; the Rust cell runs it in
`block_on` on its main thread as `#[tokio::main]` does, the Python cell uses the blocking
client) and `c100` (100 in flight; the Python cell uses asyncio) of signed
`has_registered_mobile_device` calls, round after round in rotating order, so background
load hits every column alike. It prints calls/s, p50/p99 per call and each binding's ratio
to the core, and replaces the marked section of BENCHMARKS.md with the table.

    python bench/interleave.py --emulator PATH --rust-cell PATH [--python PY] [--seconds 2] [--rounds 5]
                               [--out DIR] [--markdown BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_ID, APP_SECRET, USER = "bench-app", "bench-secret-0123456789abcdef", "bench-user"
START, END = "<!-- interleaved:start -->", "<!-- interleaved:end -->"
# (language, mode): the binding's target as a share of the core's calls/s in that mode
TARGETS = {("python", "seq"): 0.95, ("python", "c100"): 0.9, ("node", "seq"): 0.8, ("node", "c100"): 0.9}
LABELS = {
    ("rust", "seq"): "Rust core, 1 in flight",
    ("python", "seq"): "Python sync, 1 in flight",
    ("node", "seq"): "Node, 1 in flight",
    ("rust", "c100"): "Rust core, 100 in flight",
    ("python", "c100"): "Python asyncio, 100 in flight",
    ("node", "c100"): "Node, 100 in flight",
}


class Cell:
    """One language's benchmark process, driven line by line."""

    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self._line()
        if line.strip() != "ready":
            raise SystemExit(f"{name} cell did not start: {line!r}")

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name} cell exited (code {self.process.wait()})")
        return line

    def run(self, mode: str, seconds: float) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{mode} {seconds}\n")
        self.process.stdin.flush()
        return json.loads(self._line())

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def percentile(sorted_values: list[int], p: float) -> float:
    if not sorted_values:
        return 0.0
    return float(sorted_values[round((len(sorted_values) - 1) * p)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--rust-cell", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--node", default="node")
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one cell")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    emulator = subprocess.Popen(
        [args.emulator, "--listen", "127.0.0.1:0", "--quiet", "--app", f"{APP_ID}:{APP_SECRET}"],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )
    cells: dict[str, Cell] = {}
    try:
        assert emulator.stdout is not None
        found = re.match(r"deviceauth-emulator listening on (\S+)", emulator.stdout.readline())
        if not found:
            raise SystemExit("the emulator did not start")
        url = found.group(1).rstrip("/")
        common = [url, APP_ID, APP_SECRET, USER]
        env = dict(os.environ, NO_PROXY="127.0.0.1,localhost")
        os.environ.update(env)
        cells["rust"] = Cell("rust", [args.rust_cell, *common])  # first: it registers the user's phone
        cells["python"] = Cell("python", [args.python, str(HERE / "cells" / "python_cell.py"), *common])
        cells["node"] = Cell("node", [args.node, str(HERE / "cells" / "node_cell.mjs"), *common])
        results = measure(cells, args.seconds, args.rounds)
    finally:
        for cell in cells.values():
            cell.close()
        emulator.kill()
        emulator.wait()
    table = render(results, args.seconds, args.rounds)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        summary = {f"{lang}/{mode}": {k: v for k, v in r.items() if k != "lat"} for (lang, mode), r in results.items()}
        (args.out / "interleaved.json").write_text(json.dumps(summary, indent=2))
    if args.markdown:
        update_markdown(args.markdown, table)


def measure(cells: dict[str, Cell], seconds: float, rounds: int) -> dict:
    order = [(lang, mode) for mode in ("seq", "c100") for lang in ("rust", "python", "node")]
    for lang, mode in order:  # warm-up: connection pools, JITs, caches
        cells[lang].run(mode, 0.5)
    totals = {key: {"calls": 0, "seconds": 0.0, "lat": []} for key in order}
    for r in range(rounds):
        rotated = order[r % len(order):] + order[: r % len(order)]
        for lang, mode in rotated:
            got = cells[lang].run(mode, seconds)
            totals[(lang, mode)]["calls"] += got["calls"]
            totals[(lang, mode)]["seconds"] += got["seconds"]
            totals[(lang, mode)]["lat"].extend(got["lat_us"])
        print(f"  round {r + 1}/{rounds} done", file=sys.stderr, flush=True)
    for total in totals.values():
        total["lat"].sort()
        total["rate"] = total["calls"] / total["seconds"] if total["seconds"] else 0.0
        total["p50_us"] = percentile(total["lat"], 0.5)
        total["p99_us"] = percentile(total["lat"], 0.99)
    return totals


def render(results: dict, seconds: float, rounds: int) -> str:
    lines = [
        f"Signed `has_registered_mobile_device` against the release emulator; {rounds} rounds of "
        f"{seconds:g} s per cell, cells interleaved in rotating order. Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}.",
        "",
        "| cell | calls/s | p50 per call | p99 per call | vs Rust core (calls/s) | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for mode in ("seq", "c100"):
        core = results[("rust", mode)]["rate"]
        for lang in ("rust", "python", "node"):
            r = results[(lang, mode)]
            ratio = r["rate"] / core if core else 0.0
            target = TARGETS.get((lang, mode))
            lines.append(
                f"| {LABELS[(lang, mode)]} | {r['rate']:.0f} | {r['p50_us']:.0f} us | {r['p99_us']:.0f} us | "
                f"{ratio:.2f}x | {f'>= {target}x' if target else '(reference)'} | "
                f"{'' if target is None else ('yes' if ratio >= target else 'NO')} |"
            )
    return "\n".join(lines)


def update_markdown(path: Path, table: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{START}\n## Bindings against the core, interleaved (`bench/run.sh`, `bench/interleave.py`)\n\n{table}\n{END}"
    if START in text and END in text:
        text = text[: text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
