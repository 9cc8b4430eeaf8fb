"""A TCP relay on loopback that passes every byte between a client and a real server unchanged and keeps a copy
of both directions: what the server received is what the client wrote, byte for byte, so a test can compare it
with what LM Scales says it sent. It only relays; the server behind it (llama-cpp-python's) is the real part."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit


class Connection:
    def __init__(self) -> None:
        self.from_client = bytearray()  # what the server received
        self.from_server = bytearray()  # what the client received


class RecordingProxy:
    """`with RecordingProxy("http://127.0.0.1:8080/v1") as proxy:` then send to `proxy.base_url`."""

    def __init__(self, upstream_base_url: str) -> None:
        parts = urlsplit(upstream_base_url)
        assert parts.hostname in ("127.0.0.1", "localhost"), "the relay only reaches loopback"
        self._upstream = (parts.hostname, parts.port or 80)
        self._path = parts.path
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.connections: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}{self._path}"

    def received(self) -> bytes:
        """Everything the server received, over all connections."""
        with self._lock:
            return b"".join(bytes(c.from_client) for c in self.connections)

    def sent_back(self) -> bytes:
        with self._lock:
            return b"".join(bytes(c.from_server) for c in self.connections)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every relayed connection has closed both ways (the counts are complete)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def __enter__(self) -> RecordingProxy:
        threading.Thread(target=self._accept, daemon=True, name="recording-proxy").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            record = Connection()
            with self._lock:
                self.connections.append(record)
            for source, target, into in ((client, server, record.from_client), (server, client, record.from_server)):
                thread = threading.Thread(target=self._pipe, args=(source, target, into), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pipe(self, source: socket.socket, target: socket.socket, into: bytearray) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._lock:
                    into.extend(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # the other direction's pipe ends too
