"""What left this computer: per side of a trial, the host a request went to, the bytes sent and received, and
the exact request body as sent (key redacted), with how each figure was found; and the session's totals.

The large side's figures are counted on its HTTP connections (`engines/remote/transport.py`): `bytes_sent` is
every byte the HTTP client wrote to them (request line, headers and body of each request made for the side,
retries included; with TLS, the HTTP bytes inside it, not the handshake), `bytes_received` every byte it read.
The small side's are measured too, not assumed: its engine process is checked for network connections at the
run's start and end (`psutil`); none means nothing left that process over the network, so 0 bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lmscales.core.offline import is_loopback
from lmscales.core.secrets import redact

EgressProvenance = Literal["measured", "recorded", "unknown"]


@dataclass(frozen=True)
class Egress:
    """One side's traffic in one trial. `request_body` is the last request's JSON body exactly as sent, with any
    key redacted (None where nothing was sent); headers are never kept. `bytes_sent` None: unknown."""

    host: str | None
    bytes_sent: int | None
    bytes_received: int | None
    requests: int = 0
    request_body: str | None = None
    provenance: EgressProvenance = "measured"
    how: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The `egress` object of a trial's JSON: `request` is the body as sent (absent where none was)."""
        out: dict[str, Any] = {"host": self.host, "bytes_sent": self.bytes_sent,
                               "bytes_received": self.bytes_received, "requests": self.requests,
                               "provenance": self.provenance, "how": self.how}
        if self.request_body is not None:
            out["request"] = redact(self.request_body)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Egress:
        def count(name: str) -> int | None:
            value = data.get(name)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"egress.{name} must be a count of bytes, not {value!r}")
            return value

        provenance = data.get("provenance")
        body = data.get("request")
        return cls(
            host=str(data["host"]) if data.get("host") is not None else None,
            bytes_sent=count("bytes_sent"), bytes_received=count("bytes_received"),
            requests=count("requests") or 0,
            request_body=str(body) if body is not None else None,
            provenance=provenance if provenance in ("measured", "recorded", "unknown") else "unknown",
            how=str(data.get("how", "")),
        )

    def as_recorded(self) -> Egress:
        """The same figures, played back from a recording: nothing left this computer now."""
        return dataclasses.replace(self, provenance="recorded",
                                   how="recorded: what this side sent when the recording was made")


def remote_egress(host: str | None, sent: int, received: int, requests: int, body: bytes) -> Egress:
    """A remote side's traffic from its transport's counts; the body as sent, decoded and redacted."""
    text = redact(body.decode("utf-8", errors="replace")) if requests else None
    return Egress(host=host, bytes_sent=sent, bytes_received=received, requests=requests, request_body=text,
                  how="measured: every byte written to and read from the HTTP connections (request line, headers "
                      "and body; inside TLS where there is TLS)")


def add(first: Egress | None, second: Egress) -> Egress:
    """Two stretches of one side's traffic (a map-reduce's several requests): summed, the last body kept."""
    if first is None:
        return second

    def total(a: int | None, b: int | None) -> int | None:
        return None if a is None or b is None else a + b

    return dataclasses.replace(second, bytes_sent=total(first.bytes_sent, second.bytes_sent),
                               bytes_received=total(first.bytes_received, second.bytes_received),
                               requests=first.requests + second.requests,
                               request_body=second.request_body or first.request_body)


def inet_connections(pid: int) -> int | None:
    """How many internet (TCP/UDP over IPv4/IPv6) sockets process `pid` holds now; None: cannot be known here."""
    try:
        import psutil

        process = psutil.Process(pid)
        reader = getattr(process, "net_connections", None) or process.connections
        return len(reader(kind="inet"))
    except Exception:  # gone, not allowed (some systems hide other processes' sockets), or unsupported
        return None


def local_egress(pid: int | None, at_start: int | None, at_end: int | None) -> Egress:
    """The small side's traffic from the connection counts of its engine process at the run's start and end."""
    if pid is None or at_start is None or at_end is None:
        return Egress(None, None, None, provenance="unknown",
                      how="unknown: the engine process's network connections could not be read on this system")
    if at_start or at_end:
        return Egress(None, None, None, provenance="unknown",
                      how=f"unknown: the engine process (pid {pid}) held {max(at_start, at_end)} network "
                          "connection(s) during the run, whose bytes are not counted")
    return Egress(None, 0, 0, how=f"measured: no network connection from the engine process (pid {pid}) at the "
                                  "run's start or end; it talks to this app over a pipe")


# -- the session's totals ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HostTotal:
    host: str
    bytes_sent: int
    bytes_received: int
    requests: int


@dataclass(frozen=True)
class EgressTotal:
    """What this session's trials sent, per host (live runs only: a replay sends nothing), and whether a side on
    this CPU ran and was measured to send nothing."""

    hosts: tuple[HostTotal, ...]
    small_side_ran: bool
    small_side_silent: bool  # every run of a side on this CPU measured 0 bytes sent

    @property
    def bytes_sent(self) -> int:
        return sum(host.bytes_sent for host in self.hosts)


def session_total(sides: Iterable[tuple[Egress | None, bool, bool]]) -> EgressTotal:
    """Totals over (egress, ran on this CPU, replayed) of every side of this session's trials."""
    hosts: dict[str, HostTotal] = {}
    small_ran, small_silent = False, True
    for egress, on_this_cpu, replayed in sides:
        if replayed or egress is None:
            continue
        if on_this_cpu:
            small_ran = True
            small_silent = small_silent and egress.bytes_sent == 0
            continue
        if egress.host is None or egress.bytes_sent is None:
            continue
        old = hosts.get(egress.host, HostTotal(egress.host, 0, 0, 0))
        hosts[egress.host] = HostTotal(egress.host, old.bytes_sent + egress.bytes_sent,
                                       old.bytes_received + (egress.bytes_received or 0),
                                       old.requests + egress.requests)
    return EgressTotal(tuple(hosts.values()), small_ran, small_ran and small_silent)


def host_name(host: str) -> str:
    """A host as a sentence names it: a server on this computer says so (nothing it got left the computer)."""
    name = host  # "host:port", "[::1]:port" or a bare host
    if host.startswith("[") and "]" in host:
        name = host[1:host.index("]")]
    elif host.count(":") == 1:
        name = host.split(":")[0]
    return f"{host} (this computer)" if is_loopback(name) else host


def format_bytes(count: int) -> str:
    if count < 1000:
        return f"{count} B"
    if count < 1_000_000:
        return f"{count / 1000:.1f} KB"
    return f"{count / 1_000_000:.1f} MB"


def total_sentence(total: EgressTotal, subject: str = "This session") -> str:
    """ "This session sent 14.2 KB to api.openai.com; the small side sent nothing (measured)." """
    if total.hosts:
        sent = ", ".join(f"{format_bytes(host.bytes_sent)} to {host_name(host.host)}" for host in total.hosts)
        first = f"{subject} sent {sent}"
    else:
        first = f"{subject} sent nothing to a large side"
    if not total.small_side_ran:
        return first + "."
    small = "the small side sent nothing (measured)" if total.small_side_silent else \
        "the small side's traffic is unknown"
    return f"{first}; {small}."
