"""The words a pane shows about the model of its side: the card under its title, the placeholder of a large
side that is not set up."""

from __future__ import annotations

from html import escape

from lmscales.core.endpoints import Endpoint
from lmscales.core.engines.local import LoadedModel
from lmscales.core.engines.local_worker import NO_CHAT_TEMPLATE_NOTE
from lmscales.core.thread_counts import describe_threads

NO_ENDPOINT = (
    "No large model is set up yet.\n\nConnect an OpenAI-compatible API (OpenAI, OpenRouter, Groq, Together) or a "
    "server on this computer (Ollama, LM Studio, llama.cpp, vLLM) to compare. The small side works on its own."
)


def threads_text(model: LoadedModel) -> str:
    return model.threads_reason or describe_threads(model.n_threads)


def local_model_card(model: LoadedModel) -> str:
    info = model.info
    threads = threads_text(model)
    if model.n_threads_batch and model.n_threads_batch != model.n_threads:
        threads += f", {model.n_threads_batch} for prompts"
    warning = "" if info.has_chat_template else f"<br>⚠ {NO_CHAT_TEMPLATE_NOTE}"
    # The card is rich text; the name and licence come from the file's metadata: escaped, shown as written.
    return (
        f"<b>{escape(model.display_name)}</b> · {info.parameters_label} parameters · {escape(info.quantization)} · "
        f"{info.file_size / 1e6:.0f} MB · context {model.n_ctx:,} · {escape(info.license or 'licence unknown')} · "
        f"{escape(threads)}{warning}"
    )


def remote_model_card(endpoint: Endpoint) -> str:
    return f"<b>{escape(endpoint.model)}</b> · {escape(endpoint.host)} · {escape(endpoint.name)}"
