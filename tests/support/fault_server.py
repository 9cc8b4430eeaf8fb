"""A small OpenAI-style server on loopback for what a real server will not do on demand.

The first path segment picks the behaviour: `http://127.0.0.1:PORT/<mode>/v1/...`. Used only for faults
(401, 404, 429, 500, stalls, cut streams, malformed chunks), for a stream with `usage`, and for "scripted":
each chat completion streams the next reply a test put in `server.scripted_replies` (a judge answering fixed
verdicts); everything else is tested against llama-cpp-python's real server.

"raw" is for fuzzing: each chat completion answers 200 with an event-stream body made of exactly the pieces
of the next list in `server.raw_bodies`, each sent as its own HTTP chunk (so the test picks both the bytes and
where they are cut).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORDS = ["Hello", " from", " the", " fault", " server", "."]


def _chunk(content: str | None, finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    choices = [] if usage is not None else [
        {"index": 0, "delta": {} if content is None else {"content": content}, "finish_reason": finish}
    ]
    body: dict[str, Any] = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fault",
                            "choices": choices}
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultServer

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": "test", "code": status}}, headers)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        self.server.requests.append((mode, "GET", self.path, dict(self.headers)))
        if mode == "openrouter" and self.path.endswith("/models"):
            return self._json(200, OPENROUTER_MODELS)
        if self.path.endswith("/models"):
            if mode == "401":
                self._error(401, "bad key")
            else:
                self._json(200, {"object": "list", "data": [{"id": "fault-model", "object": "model"},
                                                            {"id": "gpt-4o-mini", "object": "model"}]})
        else:
            self._error(404, "no such route")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        mode = self.path.strip("/").split("/")[0]
        self.server.requests.append((mode, "POST", self.path, dict(self.headers), body))
        if mode in MODERN_MODES:
            return self._modern(mode, body)
        if mode == "401":
            return self._error(401, "Incorrect API key provided: sk-sec***ret")
        if mode == "403":
            return self._error(403, "This key may not use this model")
        if mode == "404":
            return self._error(404, f"The model `{body.get('model')}` does not exist")
        if mode == "400":
            return self._error(400, "max_tokens is too large")
        if mode.startswith("429"):  # "429" always; "429once": only the first request
            attempts = sum(1 for r in self.server.requests if r[0] == mode and r[1] == "POST")
            if mode == "429" or attempts == 1:
                return self._error(429, "Rate limit reached", {"Retry-After": self.server.retry_after})
        if mode == "500":
            return self._error(500, "The server had an error while processing your request")
        if mode == "503":
            return self._error(503, "Service unavailable")
        if mode == "stall":
            time.sleep(self.server.stall_seconds)
            return self._error(500, "too late")
        if mode == "slowstart":
            time.sleep(0.6)
        if mode == "raw":
            return self._raw_body()
        if mode == "scripted":
            if not self.server.scripted_replies:
                return self._error(500, "the test scripted no reply for this request")
            reply = self.server.scripted_replies.popleft()
            words = [reply[i:i + 7] for i in range(0, len(reply), 7)] or [""]
        else:
            words = WORDS
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, word in enumerate(words):
            if mode == "stallmid" and index == 2:
                time.sleep(self.server.stall_seconds)
            if mode == "cut" and index == 3:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # no final chunk: the body is incomplete
                return None
            if mode == "malformed" and index == 3:
                self._write_chunk(b"data: {this is not json\n\n")
                continue
            self._write_chunk(_chunk(word))
            if mode == "slow":
                time.sleep(0.05)
        self._write_chunk(_chunk(None, "stop"))
        include_usage = (body.get("stream_options") or {}).get("include_usage")
        if mode in {"usage", "slow", "429once"} and include_usage:
            self._write_chunk(_chunk(None, usage={"prompt_tokens": 21, "completion_tokens": len(words),
                                                  "total_tokens": 21 + len(words)}))
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return None

    def _raw_body(self) -> None:
        if not self.server.raw_bodies:
            return self._error(500, "the test gave no raw body for this request")
        pieces = self.server.raw_bodies.popleft()
        self._start_stream()
        for piece in pieces:
            if piece:  # an empty HTTP chunk would end the body
                self._write_chunk(piece)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        return None

    # -- today's models and a real network's faults (issue 11) -------------------------------------------
    def _openai_error(self, status: int, message: str, code: str, param: str | None = None,
                      headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error", "param": param,
                                      "code": code}}, headers)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _end_stream(self) -> None:
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _modern(self, mode: str, body: dict[str, Any]) -> None:
        if mode == "nomaxtokens" and "max_tokens" in body:
            return self._openai_error(
                400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.", "unsupported_parameter", "max_tokens")
        if mode == "notemp" and "temperature" in body:
            return self._openai_error(
                400, f"Unsupported value: 'temperature' does not support {body['temperature']} with this model. "
                "Only the default (1) value is supported.", "unsupported_value", "temperature")
        if mode == "quota":
            return self._json(429, {"error": {"message": "You exceeded your current quota, please check your plan "
                                              "and billing details.", "type": "insufficient_quota", "param": None,
                                              "code": "insufficient_quota"}})
        if mode == "429ms" and sum(1 for r in self.server.requests if r[0] == mode and r[1] == "POST") == 1:
            return self._error(429, "Rate limit reached", {"retry-after-ms": "150", "Retry-After": "20"})
        if mode == "context":
            return self._openai_error(
                400, "This model's maximum context length is 8192 tokens. However, your messages resulted in 9500 "
                "tokens. Please reduce the length of the messages.", "context_length_exceeded", "messages")
        if mode == "html":
            page = (b"<!DOCTYPE html><html><head><title>Hotel Wi-Fi - Please log in</title></head><body>"
                    b"<form>Room number <input name=room></form></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return None
        if mode == "stallheaders":
            self._start_stream()
            self.wfile.flush()
            time.sleep(self.server.stall_seconds)
            return None
        self._start_stream()
        if mode == "burst":  # the whole answer in one write: no rate can be seen in it
            self._write_chunk(b"".join(_chunk(word) for word in WORDS) + _chunk(None, "stop"))
            return self._end_stream()
        if mode in ("reasoning", "reasoningfield"):
            field = "reasoning_content" if mode == "reasoning" else "reasoning"
            for thought in THOUGHTS:
                self._write_chunk(_thought(thought, field))
                time.sleep(0.02)
        for word in WORDS:
            self._write_chunk(_chunk(word))
            time.sleep(0.02)
        self._write_chunk(_chunk(None, "stop"))
        if mode == "reasoning":
            self._write_chunk(_chunk(None, usage={"prompt_tokens": 21, "completion_tokens": 46, "total_tokens": 67,
                                                  "completion_tokens_details": {"reasoning_tokens": 40}}))
        elif mode == "hiddenreasoning":  # thinks without showing it: only usage says so
            self._write_chunk(_chunk(None, usage={"prompt_tokens": 21, "completion_tokens": 500, "total_tokens": 521,
                                                  "completion_tokens_details": {"reasoning_tokens": 494}}))
        elif mode in ("nomaxtokens", "notemp"):
            self._write_chunk(_chunk(None, usage={"prompt_tokens": 21, "completion_tokens": len(WORDS),
                                                  "total_tokens": 21 + len(WORDS)}))
        if mode == "finishreset":  # the answer is whole; the connection dies before [DONE]
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        return self._end_stream()


MODERN_MODES = {"nomaxtokens", "notemp", "quota", "429ms", "context", "html", "stallheaders", "burst", "reasoning",
                "reasoningfield", "hiddenreasoning", "finishreset"}
THOUGHTS = ["The user", " wants", " a greeting", ".", " Keep it", " short", "."]
OPENROUTER_MODELS: dict[str, Any] = {"data": [
    {"id": "openai/gpt-5-mini", "name": "OpenAI: GPT-5 Mini",
     "pricing": {"prompt": "0.00000025", "completion": "0.000002", "request": "0", "image": "0"}},
    {"id": "deepseek/deepseek-r1", "name": "DeepSeek: R1",
     "pricing": {"prompt": "0.0000004", "completion": "0.000002", "request": "0", "image": "0"}},
    {"id": "openrouter/auto", "name": "Auto Router", "pricing": {"prompt": "-1", "completion": "-1"}},
]}


def _thought(text: str, field: str) -> bytes:
    body = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fault",
            "choices": [{"index": 0, "delta": {field: text}, "finish_reason": None}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.requests: list[tuple[Any, ...]] = []
        self.retry_after = "1"
        self.stall_seconds = 3.0
        self.scripted_replies: deque[str] = deque()  # mode "scripted": the replies, in order
        self.raw_bodies: deque[list[bytes]] = deque()  # mode "raw": each body's pieces, in order
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up on purpose (timeouts, cancel) is not an error here

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{mode}/v1"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
