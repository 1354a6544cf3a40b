"""Run by test_exit_stress.py: leaves work in flight at interpreter exit, one way per mode
(argv: base URL, mode). Whatever is in flight, the process must exit 0 without a crash."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time

from deviceauth import RetryPolicy, activeconnect

url, mode = sys.argv[1], int(sys.argv[2])
RETRY = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_backoff=0.05, deadline=20.0)


def stored(i: int) -> str:
    token = f"tok-{i}"
    return json.dumps({"user": f"u{i}", "session_token": token, "session_secret": "s", "status": "active",
                       "status_url": f"{url}/authentication/session_status/{token}", "logout_url": f"{url}/authentication/logout/{token}"})


if mode % 2:
    # Log records from the runtime's threads while the interpreter exits.
    logging.basicConfig(level=logging.DEBUG, stream=open("/dev/null", "w"))

if mode == 0 or mode == 1:
    # asyncio: calls retrying (429 + Retry-After) or held, the loop left unclosed.
    client = activeconnect.AsyncClient("app", "secret", base_url=url, retry=RETRY)
    loop = asyncio.new_event_loop()
    futures = [asyncio.ensure_future(client.has_registered_mobile_device(f"u{i}"), loop=loop) for i in range(20)]
    loop.run_until_complete(asyncio.sleep(0.05))
elif mode == 2 or mode == 3:
    # asyncio.run returning with calls in flight (cancelled) and an AsyncMonitor polling.
    async def main() -> None:
        client = activeconnect.AsyncClient("app", "secret", base_url=url, retry=RETRY)
        monitor = activeconnect.AsyncMonitor(client, interval=0.01)
        for i in range(20):
            monitor.add(stored(i))
        for i in range(20):
            asyncio.ensure_future(client.resume(stored(i)).refresh())
        await asyncio.sleep(0.05)

    asyncio.run(main())
elif mode == 4 or mode == 5:
    # Daemon threads blocked in calls (and finishing them) while the main thread exits.
    client = activeconnect.Client("app", "secret", base_url=url, retry=RETRY)

    def calls() -> None:
        while True:
            try:
                client.has_registered_mobile_device("u1")
            except Exception:
                pass

    for _ in range(4):
        threading.Thread(target=calls, daemon=True).start()
    time.sleep(0.08)
else:
    # A Monitor running with a reader thread, plus async calls in flight.
    client = activeconnect.Client("app", "secret", base_url=url, retry=RETRY)
    monitor = activeconnect.Monitor(client, interval=0.01)
    for i in range(20):
        monitor.add(stored(i))
    threading.Thread(target=lambda: [None for _ in monitor], daemon=True).start()
    aclient = activeconnect.AsyncClient("app", "secret", base_url=url, retry=RETRY)
    loop = asyncio.new_event_loop()
    for i in range(10):
        asyncio.ensure_future(aclient.resume(stored(i)).refresh(), loop=loop)
    loop.run_until_complete(asyncio.sleep(0.05))
