"""A loopback HTTP server whose every byte the test writes (for test_hostile.py and the
exit stress program): each connection reads one request, records it, sends the scripted
answer and closes."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Callable, List, Optional, Union

Answer = Union[bytes, Callable[[bytes], Optional[bytes]], None]


def http(status: int = 200, body: Union[bytes, str, object] = b"", *headers: str, reason: str = "X") -> bytes:
    """A whole HTTP/1.1 answer; a non-bytes, non-str body is sent as JSON."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        headers = ("Content-Type: application/json", *headers)
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(data)}", "Connection: close", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + data


class RawServer:
    """Answers every request with the next scripted answer (the last one repeats): bytes are
    sent as they are, a callable is asked with the request, `None` closes without a word."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = f"127.0.0.1:{self.port}"
        self.answers: List[Answer] = [http(200, {})]
        self.requests: List[bytes] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def script(self, *answers: Answer) -> "RawServer":
        with self.lock:
            self.answers = list(answers)
        return self

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                request = _read_request(conn)
            except OSError:
                return
            if not request:
                return
            with self.lock:
                self.requests.append(request)
                answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if callable(answer):
                answer = answer(request)
            if answer:
                try:
                    conn.sendall(answer)
                    conn.shutdown(socket.SHUT_WR)
                    time.sleep(0.01)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def session_json(url: str, status: str = "pending", token: str = "tok-1", secret: str = "session-secret-XYZ") -> str:
    """Stored session data whose status and logout URLs are on `url`."""
    return json.dumps({
        "user": "u1",
        "session_token": token,
        "session_secret": secret,
        "status_url": f"{url}/authentication/session_status/{token}",
        "logout_url": f"{url}/authentication/logout/{token}",
        "status": status,
    })
