"""Loaded by every Python process started with this folder on PYTHONPATH (the app, its engine child):
any connection or DNS lookup beyond loopback is written to $LMSCALES_GUARD_LOG and refused, loudly."""

import ipaddress
import os
import socket

_LOG = os.environ.get("LMSCALES_GUARD_LOG")


def _loopback(host):
    name = str(host).strip("[]").split("%")[0]
    if name.lower() == "localhost":  # other names mean loopback only once a resolver says so
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _record(what, host):
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {what} {host}\n")
    raise OSError(f"outside guard: {what} {host} refused")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _guard(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not _loopback(address[0]):
        _record("connect", address[0])


def connect(self, address):
    _guard(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _guard(self, address)
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _loopback(host.decode() if isinstance(host, bytes) else host):
        _record("lookup", host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.getaddrinfo = getaddrinfo
