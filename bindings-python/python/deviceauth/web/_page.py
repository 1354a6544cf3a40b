"""The browser side of the waiting page: the script that follows a sign-in (SSE, with a
JSON fallback) and the HTML snippet that hosts it."""

from __future__ import annotations

from html import escape
from pathlib import Path

#: Where the waiting page's script lies (serve it as ``application/javascript``).
WAIT_SCRIPT_PATH = Path(__file__).with_name("static") / "deviceauth-wait.js"


def wait_script() -> str:
    """The waiting page's script: it listens to the SSE endpoint (falling back to polling
    the JSON endpoint every second), shows each message, and when the sign-in is done goes
    to ``data-next`` (approved) or ``data-ended?state=...``."""
    return WAIT_SCRIPT_PATH.read_text(encoding="utf-8")


def waiting_html(events_url: str, status_url: str, next_url: str, ended_url: str, script_url: str) -> str:
    """The waiting page's snippet: the message element the script updates, and the script."""
    attrs = {"events": events_url, "status": status_url, "next": next_url, "ended": ended_url}
    data = " ".join(f'data-{name}="{escape(value)}"' for name, value in attrs.items())
    return (
        f'<div id="deviceauth-wait" {data} data-state="pending" aria-live="polite">\n'
        '  <p data-deviceauth-message>Check your phone: approve the sign-in request.</p>\n'
        "</div>\n"
        f'<script src="{escape(script_url)}" defer></script>\n'
    )
