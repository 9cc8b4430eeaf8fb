"""Whether an input may go to a side beyond this computer: the check before sending (`lmscales.core.sensitive`),
the user's "send anyway, and remember it for this session", and the fail-closed refusal of every remote side.

The rules are here, with no Qt; the window, the presenter and the command line only ask and show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lmscales.core.events import EngineInfo
from lmscales.core.sensitive import Finding, describe, scan

NEVER_REMOTE_SETTING = "Never send to a remote side"


@dataclass(frozen=True)
class Hold:
    """A send held before anything left: the sides beyond this computer it would reach, their hosts, and what the
    input holds (kinds and masked samples only)."""

    sides: tuple[str, ...]
    hosts: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(finding.kind for finding in self.findings))

    @property
    def what(self) -> str:
        """What was found, masked: "an e-mail address (j•••@e•••.com)"."""
        return describe(self.findings)

    @property
    def message(self) -> str:
        return (f"The input holds {self.what}. Sending it gives it to {' and '.join(self.hosts)}, beyond this "
                "computer.")


class SendGuard:
    """This session's memory of "send anyway": a host allowed a kind of finding is not asked about it again."""

    def __init__(self) -> None:
        self._allowed: set[tuple[str, str]] = set()

    def check(self, infos: Mapping[str, EngineInfo | None], text: str) -> Hold | None:
        """A `Hold` when `text` holds something sensitive and a side in `infos` runs beyond this computer (and
        the user has not allowed that kind for its host in this session); None: send."""
        remote = {side: info for side, info in infos.items() if info is not None and not info.on_this_computer}
        if not remote or not text:
            return None
        findings = scan(text)
        if not findings:
            return None
        hosts = tuple(dict.fromkeys(info.host or "a server" for info in remote.values()))
        asking = tuple(finding for finding in findings
                       if any((host, finding.kind) not in self._allowed for host in hosts))
        if not asking:
            return None
        return Hold(tuple(remote), hosts, asking)

    def remember(self, hold: Hold) -> None:
        """"Send anyway" for the rest of this session: these kinds to these hosts."""
        self._allowed.update((host, kind) for host in hold.hosts for kind in hold.kinds)


def remote_refusal(info: EngineInfo, label: str) -> str:
    """Why a side beyond this computer did not run while the fail-closed setting (or `--no-remote`) is on."""
    return (f"Not sent: the {label.lower()} side would send the input to {info.host or 'a server'}, beyond this "
            f"computer, and \"{NEVER_REMOTE_SETTING}\" is on (Settings, or --no-remote on the command line). "
            "Turn it off to send, or use a model on this computer.")
