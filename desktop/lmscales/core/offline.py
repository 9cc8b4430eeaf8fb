"""The offline promise, enforced: with the guard on, this process opens no connection except to loopback.

Offline mode turns the large side off unless it is a server on this computer; this guard is the second
line: any code (ours or a library's) that tries to resolve or reach another host gets an `OSError` that
names the host, and the attempt is recorded. Loopback (127.0.0.0/8, ::1, localhost) stays allowed: a
local Ollama or LM Studio server is part of "this machine".
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}
attempts: list[str] = []  # every refused destination, for the user's log and for tests


class OfflineError(OSError):
    """A connection beyond this computer, refused because offline mode is on."""


def is_loopback(host: str) -> bool:
    name = host.strip("[]").split("%")[0]
    if name.lower() in {"localhost", "localhost.localdomain", "ip6-localhost"}:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _refuse(host: str) -> OfflineError:
    with _lock:
        attempts.append(host)
    return OfflineError(f"Offline mode: a connection to {host} was blocked (only this computer may be reached).")


def _check_address(family: int, address: Any) -> None:
    if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not is_loopback(
        str(address[0])
    ):
        raise _refuse(str(address[0]))


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _check_address(self.family, address)
    _originals["connect"](self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _check_address(self.family, address)
    result: int = _originals["connect_ex"](self, address)
    return result


def _guarded_sendto(self: socket.socket, data: Any, *args: Any) -> int:
    _check_address(self.family, args[-1] if args else None)  # sendto(data[, flags], address)
    result: int = _originals["sendto"](self, data, *args)
    return result


def _guarded_sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
    if len(args) >= 3:  # sendmsg(buffers[, ancdata[, flags[, address]]])
        _check_address(self.family, args[2])
    result: int = _originals["sendmsg"](self, buffers, *args)
    return result


def _guarded_by_name(name: str) -> Callable[..., Any]:
    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_loopback(host.decode() if isinstance(host, bytes) else str(host)):
            raise _refuse(str(host))
        return _originals[name](host, *args, **kwargs)

    return lookup


_LOOKUPS = ("gethostbyname", "gethostbyname_ex", "gethostbyaddr")


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if host is not None and not is_loopback(host.decode() if isinstance(host, bytes) else str(host)):
        raise _refuse(str(host))  # no DNS query either: a lookup is traffic too
    return _originals["getaddrinfo"](host, *args, **kwargs)


def enable() -> None:
    """Install the guard (idempotent)."""
    with _lock:
        if _originals:
            return
        _originals["connect"] = socket.socket.connect
        _originals["connect_ex"] = socket.socket.connect_ex
        _originals["getaddrinfo"] = socket.getaddrinfo
        _originals["sendto"] = socket.socket.sendto
        _originals["sendmsg"] = socket.socket.sendmsg
        socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign,assignment]
        socket.socket.sendto = _guarded_sendto  # type: ignore[method-assign,assignment]
        socket.socket.sendmsg = _guarded_sendmsg  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = _guarded_getaddrinfo
        for name in _LOOKUPS:
            _originals[name] = getattr(socket, name)
            setattr(socket, name, _guarded_by_name(name))


def disable() -> None:
    with _lock:
        if not _originals:
            return
        socket.socket.connect = _originals.pop("connect")  # type: ignore[method-assign]
        socket.socket.connect_ex = _originals.pop("connect_ex")  # type: ignore[method-assign]
        socket.getaddrinfo = _originals.pop("getaddrinfo")
        socket.socket.sendto = _originals.pop("sendto")  # type: ignore[method-assign]
        socket.socket.sendmsg = _originals.pop("sendmsg")  # type: ignore[method-assign]
        for name in _LOOKUPS:
            setattr(socket, name, _originals.pop(name))
        _originals.clear()


def enabled() -> bool:
    return bool(_originals)
