"""The check before sending: inputs that must trigger it (each kind, in its usual written forms) and inputs that
must not (plain numbers, years, dates, prices, versions, hashes, a card or IBAN that fails its checksum); only
masked samples are ever said; the workspace holds a send only for a side beyond this computer, and remembers
"send anyway" for the session."""

from __future__ import annotations

import pytest

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.factory import EndpointSpec
from lmscales.core.events import EngineInfo
from lmscales.core.send_guard import SendGuard
from lmscales.core.sensitive import iban_valid, luhn_valid, scan
from lmscales.core.trial import TaskInput
from lmscales.core.workspace import Workspace

MUST = [
    ("write to jane.doe@example.com today", "email", "j•••@e•••.com"),
    ("call +33 6 12 34 56 78", "phone", "+•• • •• •• •• 78"),
    ("call +1 (415) 555-2671", "phone", "+• (•••) •••-••71"),
    ("mobile 06 12 34 56 78", "phone", "•• •• •• •• 78"),
    ("call (415) 555-2671 now", "phone", "(•••) •••-••71"),
    ("ring 020 7946 0958", "phone", "••• •••• ••58"),
    ("+44 20 7946 0958", "phone", "+•• •• •••• ••58"),
    ("IBAN GB82 WEST 1234 5698 7654 32", "iban", "•••• •••• •••• •••• ••54 32"),
    ("DE89370400440532013000", "iban", "••••••••••••••••••3000"),
    ("card 4111 1111 1111 1111", "card", "•••• •••• •••• 1111"),
    ("card 5500-0000-0000-0004", "card", "••••-••••-••••-0004"),
    ("amex 378282246310005", "card", "•••••••••••0005"),
    ("key sk" "-proj-abcDEF1234567890abcdefXYZ", "api_key", "sk-proj-… (33 characters)"),
    ("AKIA" "IOSFODNN7EXAMPLE", "api_key", "AKIA… (20 characters)"),
    ("ghp_" "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "api_key", "ghp_… (40 characters)"),
    ("token Zx9Qm2Lp8Rt4Vw6Yb1Nc3Kd5Hf7Gj0Ss2Aa", "api_key", "… (35 characters)"),
]
MUST_NOT = [
    "In 1999 the price was $1,234.56",
    "on 2024-01-15, 15.01.2024 and 12/05/2023",
    "order 1234567890123456",  # 16 digits, not Luhn-valid
    "it costs 1 234 567 €",
    "population 67,750,000",
    "pi is 3.14159265358979",
    "version 1.2.3 of 2024",
    "sha256 9f86d081884c7d659a2feaf0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "IBAN GB82 WEST 1234 5698 7654 33",  # one digit off: mod 97 fails
    "card 4111 1111 1111 1112",  # one digit off: Luhn fails
    "ISBN 978-3-16-148410-0",
    "room 101, 2 pm, call me at 5",
    "1,000,000 tokens",
    "a_very_long_identifier_name_that_is_not_a_secret_at_all",
    "Between 1990 and 2020, 45% rose; tel 12345",
    "Meet at the café at 10:30 on 3 March.",
]


@pytest.mark.parametrize(("text", "kind", "masked"), MUST)
def test_what_must_be_found_is_found_and_only_a_masked_sample_is_kept(text: str, kind: str, masked: str) -> None:
    found = scan(text)
    assert [(f.kind, f.masked) for f in found] == [(kind, masked)]
    value = text[found[0].start:found[0].end]
    assert value not in found[0].masked


@pytest.mark.parametrize("text", MUST_NOT)
def test_what_must_not_be_found_is_not(text: str) -> None:
    assert scan(text) == ()


def test_the_checksums() -> None:
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert iban_valid("FR14 2004 1010 0505 0001 3M02 606") and not iban_valid("FR14 2004 1010 0505 0001 3M02 607")


REMOTE = EngineInfo(kind="remote", model="m", context_tokens=8192, host="api.example.invalid", loopback=False)
LOOPBACK = EngineInfo(kind="remote", model="m", context_tokens=8192, host="127.0.0.1:8080", loopback=True)
SMALL = EngineInfo(kind="local", model="s", context_tokens=2048)


def test_a_send_is_held_only_for_a_side_beyond_this_computer_and_send_anyway_is_remembered() -> None:
    guard = SendGuard()
    text = "Mail jane.doe@example.com the card 4111 1111 1111 1111"
    assert guard.check({"small": SMALL, "large": LOOPBACK}, text) is None
    hold = guard.check({"small": SMALL, "large": REMOTE}, text)
    assert hold is not None and hold.sides == ("large",) and hold.hosts == ("api.example.invalid",)
    assert hold.message == ("The input holds an e-mail address (j•••@e•••.com) and a card number "
                            "(•••• •••• •••• 1111). Sending it gives it to api.example.invalid, beyond this computer.")
    assert "jane.doe" not in hold.message
    assert guard.check({"large": REMOTE}, "Nothing to hide here.") is None
    guard.remember(hold)
    assert guard.check({"large": REMOTE}, text) is None
    assert guard.check({"large": REMOTE}, "call +33 6 12 34 56 78") is not None  # another kind: asked again


def test_the_workspace_holds_for_an_unreachable_name_and_not_for_loopback() -> None:
    workspace = Workspace()
    workspace.set_slot("large", EndpointSpec(Endpoint(base_url="https://api.example.invalid/v1", model="m")))
    hold = workspace.check_before_sending(("small", "large"), "reply to jane.doe@example.com")
    assert hold is not None and hold.hosts == ("api.example.invalid",)
    workspace.never_remote = True
    assert workspace.remote_refused(("large",)) == (
        'Not sent: the large side would send the input to api.example.invalid, beyond this computer, and "Never send '
        'to a remote side" is on (Settings, or --no-remote on the command line). Turn it off to send, or use a model '
        "on this computer.")
    # Whatever front end submits (the presenter's steps too), the session refuses the side, before any connection.
    trial = workspace.session.run(TaskInput("chat", "Hello."), sides=("large",))
    assert trial.sides[0].skipped == workspace.remote_refused(("large",)) and trial.sides[0].egress is None
    workspace.set_slot("large", EndpointSpec(Endpoint(base_url="http://127.0.0.1:9/v1", model="m")))
    assert workspace.check_before_sending(("large",), "reply to jane.doe@example.com") is None
    assert workspace.remote_refused(("large",)) is None
    workspace.close()
