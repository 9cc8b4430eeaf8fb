"""What Settings › Large model says about the large side in use: where it comes from, and where its API key is
kept. Each sentence is made from where the app really got the endpoint and the key (the command line, the
settings file, the system keyring, this session's memory, the environment), so it is never a guess.
"""

from __future__ import annotations

import os

from lmscales.core import secrets
from lmscales.core.endpoints import Endpoint, key_variables
from lmscales.core.settings import EndpointSettings


def _variable_holding(endpoint: Endpoint, key: str) -> str | None:
    """The environment variable this endpoint's key was read from, if one holds it."""
    return next((name for name in key_variables(endpoint.base_url) if os.environ.get(name, "").strip() == key),
                None)


def key_note(endpoint: Endpoint | None, from_command_line: bool) -> str:
    """One or two sentences: whether the large side in use has an API key, and where that key is kept."""
    if endpoint is None:
        return "No large model is set up."
    host = endpoint.host
    if not endpoint.api_key:
        if from_command_line:
            variables = " or ".join(key_variables(endpoint.base_url))
            return f"No API key is set for {host}: none was in {variables} when LM Scales started."
        return f"No API key is set for {host}."
    if not from_command_line:
        # The same order as the controller's endpoint(): this session or the keyring first, then the environment.
        found = secrets.find_key(endpoint.base_url)
        if found is not None and found.key == endpoint.api_key:
            if found.kept_in == "keyring":
                return f"The API key for {host} is kept in the system keyring ({found.detail}), never in settings."
            return (f"The API key for {host} is kept for this session only ({found.detail}): LM Scales forgets it "
                    "when it quits, and it is never in settings.")
    variable = _variable_holding(endpoint, endpoint.api_key)
    if variable is not None:
        return (f"The API key for {host} comes from the environment variable {variable}; LM Scales does not save "
                "it anywhere.")
    return f"The API key for {host} is kept for this session only; it is never in settings."


def describe_saved(saved: EndpointSettings) -> str:
    return f"{saved.preset} · {saved.to_endpoint().display_url} · {saved.model}"


def origin_note(session_endpoint: Endpoint | None, saved: EndpointSettings) -> str:
    """Where the large side in use comes from, when the fields below do not simply show what is saved."""
    if session_endpoint is not None:
        kept = (f"your saved large model ({describe_saved(saved)}) is unchanged" if saved.configured
                else "no large model is saved")
        return (f"In use: {session_endpoint.display_url} · {session_endpoint.model}, from the command line "
                f"(--base-url, --remote-model), this session only; {kept}. Change a field below to use and save "
                "another one.")
    if not saved.configured:
        return ("No large model is set up: the fields below are only the defaults. Change one, or use the button "
                "below, to set one up.")
    return ""
