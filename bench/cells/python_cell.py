"""The Python cell of the cross-language benchmark (bench/interleave.py).

`python python_cell.py URL APP_ID APP_SECRET USER` prints `ready`, then answers each
line `seq SECONDS` (blocking client, one call at a time) or `c100 SECONDS` (asyncio
client, 100 calls in flight) with one JSON line: calls, seconds, each call's latency in us.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from deviceauth import activeconnect


def main() -> None:
    url, app_id, app_secret, user = sys.argv[1:5]
    client = activeconnect.Client(app_id, app_secret, base_url=url)
    assert client.has_registered_mobile_device(user) is True
    aclient = activeconnect.AsyncClient(app_id, app_secret, base_url=url)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if len(words) != 2:
            continue
        mode, seconds = words[0], float(words[1])
        started = time.perf_counter()
        if mode == "c100":
            latencies = asyncio.run(concurrent(aclient, user, started + seconds, 100))
        else:
            latencies = sequential(client, user, started + seconds)
        elapsed = time.perf_counter() - started
        print(json.dumps({"calls": len(latencies), "seconds": elapsed, "lat_us": latencies}), flush=True)


def sequential(client: activeconnect.Client, user: str, deadline: float) -> list[int]:
    latencies = []
    clock = time.perf_counter
    call = client.has_registered_mobile_device
    while clock() < deadline:
        t = clock()
        if call(user) is not True:
            raise AssertionError("wrong answer")
        latencies.append(int((clock() - t) * 1e6))
    return latencies


async def concurrent(aclient: activeconnect.AsyncClient, user: str, deadline: float, in_flight: int) -> list[int]:
    latencies: list[int] = []
    clock = time.perf_counter

    async def loop() -> None:
        while clock() < deadline:
            t = clock()
            if await aclient.has_registered_mobile_device(user) is not True:
                raise AssertionError("wrong answer")
            latencies.append(int((clock() - t) * 1e6))

    await asyncio.gather(*(loop() for _ in range(in_flight)))
    return latencies


if __name__ == "__main__":
    main()
