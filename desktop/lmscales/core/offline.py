"""The offline promise, enforced: with the guard on, this process opens no connection except to loopback.

Offline mode turns the large side off unless it is a server on this computer; this guard is the second
line: any code (ours or a library's) that tries to resolve or reach another host gets an `OSError` that
names the host, and the attempt is recorded.

What counts as this computer: numeric loopback addresses (127.0.0.0/8, ::1) and the literal name
`localhost`, answered here without asking the resolver. Nothing else is looked up, not even names that
usually mean loopback (`localhost.localdomain`, `ip6-localhost`): their meaning comes from /etc/hosts or
DNS, and asking is already traffic.

The guard patches the `socket` module's functions and `socket.socket`'s methods that exist on this
platform (`sendmsg` does not on Windows). Installing is all or nothing: either every patch is in place
and `enabled()` says so, or none is.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}  # name -> what the guard replaced, while it is on
_installed: list[tuple[object, str, Any]] = []  # (owner, attribute, original), in the order patched
attempts: list[str] = []  # every refused destination, for the user's log and for tests

LOOPBACK_NAME = "localhost"


class OfflineError(OSError):
    """A connection beyond this computer, refused because offline mode is on."""


def _host_text(host: Any) -> str:
    return host.decode(errors="replace") if isinstance(host, (bytes, bytearray)) else str(host)


def is_loopback_address(host: str) -> bool:
    """A numeric loopback address, e.g. "127.0.0.1", "::1", "[::1]", "fe80::1%lo" is not."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """A numeric loopback address or the literal name `localhost`: what offline mode lets through."""
    return host.lower() == LOOPBACK_NAME or is_loopback_address(host)


def _refuse(host: str) -> OfflineError:
    with _lock:
        attempts.append(host)
    return OfflineError(f"Offline mode: a connection to {host} was blocked (only this computer may be reached).")


def _check_address(family: int, address: Any) -> None:
    if family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not is_loopback(
        _host_text(address[0])
    ):
        raise _refuse(_host_text(address[0]))


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


def _numeric_host(host: Any) -> str:
    """The address to hand the real function: `localhost` becomes 127.0.0.1 (so the resolver is not asked),
    a numeric loopback address stays; anything else is refused."""
    text = _host_text(host)
    if text.lower() == LOOPBACK_NAME:
        return "127.0.0.1"
    if is_loopback_address(text):
        return text.strip("[]")
    raise _refuse(text)


def _guarded_getaddrinfo(host: Any, port: Any, family: int = 0, *args: Any, **kwargs: Any) -> Any:
    if host is None:  # the wildcard or loopback address for a port: no lookup
        return _originals["getaddrinfo"](host, port, family, *args, **kwargs)
    text = _host_text(host)
    if text.lower() != LOOPBACK_NAME:
        return _originals["getaddrinfo"](_numeric_host(host), port, family, *args, **kwargs)
    # `localhost` answered here, IPv4 first (what local servers bind by default), then IPv6.
    wanted = ["127.0.0.1"] if family == socket.AF_INET else ["::1"] if family == socket.AF_INET6 else [
        "127.0.0.1", "::1"]
    results: list[Any] = []
    for address in wanted:
        try:
            results += _originals["getaddrinfo"](address, port, family, *args, **kwargs)
        except socket.gaierror:  # e.g. ::1 on a machine without IPv6
            continue
    if not results:
        raise socket.gaierror(socket.EAI_NONAME, f"{text}: no loopback address for this family")
    return results


def _guarded_gethostbyname(host: Any) -> str:
    result: str = _originals["gethostbyname"](_numeric_host(host))  # a numeric address: no lookup
    return result


def _guarded_gethostbyname_ex(host: Any) -> tuple[str, list[str], list[str]]:
    result: tuple[str, list[str], list[str]] = _originals["gethostbyname_ex"](_numeric_host(host))
    return result


def _guarded_gethostbyaddr(host: Any) -> tuple[str, list[str], list[str]]:
    return (LOOPBACK_NAME, [], [_numeric_host(host)])  # no reverse lookup: loopback is localhost


def _guarded_getnameinfo(sockaddr: Any, flags: int) -> tuple[str, str]:
    if not isinstance(sockaddr, tuple) or not sockaddr:
        raise _refuse(str(sockaddr))
    host = _numeric_host(sockaddr[0])
    # NI_NUMERICHOST: the address itself, not a reverse lookup of it.
    result: tuple[str, str] = _originals["getnameinfo"]((host, *sockaddr[1:]), flags | socket.NI_NUMERICHOST)
    return result


_SOCKET_METHODS: dict[str, Callable[..., Any]] = {
    "connect": _guarded_connect,
    "connect_ex": _guarded_connect_ex,
    "sendto": _guarded_sendto,
    "sendmsg": _guarded_sendmsg,  # Unix only: CPython has no socket.sendmsg on Windows
}
_MODULE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "getaddrinfo": _guarded_getaddrinfo,
    "gethostbyname": _guarded_gethostbyname,
    "gethostbyname_ex": _guarded_gethostbyname_ex,
    "gethostbyaddr": _guarded_gethostbyaddr,
    "getnameinfo": _guarded_getnameinfo,
}


def _plan() -> list[tuple[object, str, Any, Callable[..., Any]]]:
    """Every patch this platform allows: (owner, attribute, original, replacement)."""
    plan: list[tuple[object, str, Any, Callable[..., Any]]] = []
    for owner, replacements in ((socket.socket, _SOCKET_METHODS), (socket, _MODULE_FUNCTIONS)):
        for name, replacement in replacements.items():
            original = getattr(owner, name, None)
            if original is not None:
                plan.append((owner, name, original, replacement))
    return plan


def _undo() -> None:
    while _installed:
        owner, name, original = _installed.pop()
        setattr(owner, name, original)
    _originals.clear()


def enable() -> None:
    """Install the guard (idempotent). All patches or none: a failure half-way puts everything back."""
    with _lock:
        if _installed:
            return
        plan = _plan()  # read every original before anything is patched
        try:
            for owner, name, original, replacement in plan:
                _originals[name] = original
                setattr(owner, name, replacement)
                _installed.append((owner, name, original))
        except BaseException:
            _undo()
            raise


def disable() -> None:
    """Take the guard off (idempotent): exactly what was patched is restored."""
    with _lock:
        _undo()


def enabled() -> bool:
    return bool(_installed)
