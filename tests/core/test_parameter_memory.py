"""One memory of refused parameters, owned by whoever builds the engines (the window, a CLI run), never a
module-global one that every engine shares; and the knowledge of models loads without the HTTP engine.

The fault server plays a model that refuses `temperature` (400 `unsupported_value`): an engine that does not
know it yet sends it, is refused and asks again without it (two POSTs and a notice); one that knows it asks
right the first time (one POST, no notice)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

from lmscales.core import tasks
from lmscales.core.endpoints import Endpoint
from lmscales.core.engines import remote
from lmscales.core.engines.remote import ParameterMemory, RemoteEngine, RemoteOptions
from lmscales.core.events import GenerationRequest, Notice
from tests.support.drive import run_to_end
from tests.support.fault_server import FaultServer

OPTIONS = RemoteOptions(connect_timeout=5.0, read_timeout=10.0)
REFUSED = "does not take 'temperature'"


def posts(server: FaultServer) -> int:
    return sum(1 for r in server.requests if r[0] == "notemp" and r[1] == "POST")


def ask(server: FaultServer, engine: RemoteEngine) -> tuple[int, list[str], tuple[str, ...]]:
    """POSTs the run took, the notices it showed, and the parameters it left out."""
    before = posts(server)
    notices: list[str] = []
    result = run_to_end(engine, GenerationRequest(tasks.chat_messages([], "Say hello."), max_tokens=16,
                                                  temperature=0.0),
                        lambda event: notices.append(event.message) if isinstance(event, Notice) else None)
    assert result.ok and result.finished is not None, result.error
    return posts(server) - before, notices, result.finished.ignored_parameters


def endpoint(server: FaultServer) -> Endpoint:
    return Endpoint(server.url("notemp"), "fault-model")


def test_a_refusal_is_remembered_by_the_memory_its_owner_hands_each_engine(fault_server: FaultServer) -> None:
    owned = ParameterMemory()
    sent, notices, ignored = ask(fault_server, RemoteEngine(endpoint(fault_server), OPTIONS, owned))
    assert sent == 2 and any(REFUSED in notice for notice in notices) and ignored == ("temperature",)
    assert owned.refused(endpoint(fault_server).host, "fault-model") == {"temperature": None}
    # A new engine on the owner's memory (the window after an endpoint swap, a CLI run's judge) knows it.
    sent, notices, ignored = ask(fault_server, RemoteEngine(endpoint(fault_server), OPTIONS, owned))
    assert sent == 1 and not any(REFUSED in notice for notice in notices) and ignored == ("temperature",)
    # A fresh memory (another window, another CLI run) does not see it: it is refused again.
    sent, notices, _ = ask(fault_server, RemoteEngine(endpoint(fault_server), OPTIONS, ParameterMemory()))
    assert sent == 2 and any(REFUSED in notice for notice in notices)


def test_engines_built_without_a_memory_do_not_share_a_hidden_one(fault_server: FaultServer) -> None:
    first = RemoteEngine(endpoint(fault_server), OPTIONS)
    sent, notices, _ = ask(fault_server, first)
    assert sent == 2 and any(REFUSED in notice for notice in notices)
    # The engine keeps what it learned for its own next run ...
    assert ask(fault_server, first)[0] == 1
    # ... but a second engine without a memory is not handed the first one's (no module-global memory).
    second = RemoteEngine(endpoint(fault_server), OPTIONS)
    assert second.memory is not first.memory
    sent, notices, _ = ask(fault_server, second)
    assert sent == 2 and any(REFUSED in notice for notice in notices)


def test_no_module_of_the_remote_engine_holds_a_memory() -> None:
    """A memory is made by an owner, never at import time (a `SESSION_MEMORY = ParameterMemory()` again)."""
    for module_info in pkgutil.iter_modules(remote.__path__, remote.__name__ + "."):
        module = importlib.import_module(module_info.name)
        held = [name for name, value in vars(module).items() if isinstance(value, ParameterMemory)]
        assert held == [], f"{module_info.name} holds {held}"


def test_the_model_knowledge_loads_without_the_http_engine() -> None:
    """The generation panel asks whether a model thinks; that must not import the SDK or the HTTP stack."""
    code = ("import sys\n"
            "from lmscales.core.engines.remote.capabilities import takes_reasoning_effort\n"
            "from lmscales.core.engines.remote import ParameterMemory, RemoteOptions\n"
            "assert takes_reasoning_effort('openai/gpt-oss-120b')\n"
            "print(sorted(name for name in ('openai', 'httpx2', 'lmscales.core.engines.remote.engine') "
            "if name in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
