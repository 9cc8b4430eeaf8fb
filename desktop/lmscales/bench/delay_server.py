"""An OpenAI-compatible chat server on loopback that answers like an API across a network: a fixed wait before
the first token (`ttft_ms`), then a fixed pace per token (`token_ms`), any number of requests at once. It computes
nothing, so what it costs this computer is its HTTP handling only: the stand-in for a remote large side in
`lmscales bench eval`. Run in a process of its own (`python -m lmscales.bench.delay_server`), so its work is not
in the measured process; it prints `PORT <n>` once it listens."""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "delayed-remote"
WORDS = ("Le", " chat", " dort", " sur", " le", " canapé", " depuis", " ce", " matin", ".")


def make_handler(ttft_ms: float, token_ms: float, tokens: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send_json(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send_json({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "bench"}]})

        def _chunk(self, delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> None:
            body = {"id": "bench", "object": "chat.completion.chunk", "created": int(time.time()), "model": MODEL,
                    "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if usage:
                body["usage"] = usage
            data = f"data: {json.dumps(body)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            limit = int(request.get("max_tokens") or request.get("max_completion_tokens") or tokens)
            count = min(tokens, limit)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            time.sleep(ttft_ms / 1000)
            for index in range(count):
                if index:
                    time.sleep(token_ms / 1000)
                self._chunk({"role": "assistant", "content": WORDS[index % len(WORDS)]} if index == 0
                            else {"content": WORDS[index % len(WORDS)]})
            self._chunk({}, "length" if count == limit else "stop")
            if (request.get("stream_options") or {}).get("include_usage"):
                self._chunk({}, usage={"prompt_tokens": 20, "completion_tokens": count, "total_tokens": 20 + count})
            done = b"data: [DONE]\n\n"
            self.wfile.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
            self.wfile.flush()

    return Handler


class DelayServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=300.0)
    parser.add_argument("--token-ms", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    server = DelayServer(("127.0.0.1", args.port), make_handler(args.ttft_ms, args.token_ms, args.tokens))
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
