"""The session's run history: one flat, frozen record per run, and its export to JSON, CSV or Markdown.

A record keeps what a report needs and nothing that must not leave the machine: the remote endpoint
is kept as a bare host (never a URL with credentials, never an API key), and anything in a text field
that looks like an API key, or is a key the app knows (`lmscales.core.secrets.redact`), is replaced by
"[redacted]" on export. Exports are written atomically (a temporary file, then `os.replace`), so a
crash never leaves half a file where a good one was.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from lmscales.core import metrics
from lmscales.core.events import EngineError, Finished, Provenance
from lmscales.core.files import write_atomically
from lmscales.core.pricing import Cost
from lmscales.core.secrets import redact
from lmscales.core.tasks import TASKS, TaskName

Side = Literal["local", "remote"]
RunStatus = Literal["done", "stopped", "length", "error", "incomplete"]

SCHEMA_VERSION = 1
_STATUS_BY_STOP_REASON: dict[str, RunStatus] = {"stop": "done", "length": "length", "cancelled": "stopped"}
# Spreadsheets run a cell that starts with one of these as a formula; a server's error text is not trusted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_ERROR_CHARS = 200


def endpoint_host(url_or_host: str) -> str:
    """The `host[:port]` of a base URL, without credentials, path or query."""
    text = url_or_host.strip()
    parts = urlsplit(text if "//" in text else f"//{text}")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port is not None and host else host


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunRecord:
    """One run of one task on one side. Figures are None where they do not exist (an error, no tokens)."""

    run_id: str
    started_at: str  # wall clock, ISO 8601
    task: TaskName
    side: Side
    model: str
    status: RunStatus
    endpoint_host: str | None = None  # remote only: host[:port], never a URL
    error_message: str | None = None
    time_to_first_token_s: float | None = None
    time_to_first_token_provenance: Provenance = "measured"
    decode_rate_tok_s: float | None = None
    decode_rate_provenance: Provenance = "measured"
    output_tokens: int | None = None
    output_tokens_provenance: Provenance = "measured"
    end_to_end_s: float | None = None
    end_to_end_provenance: Provenance = "measured"
    cost_usd: float | None = None  # None: unknown
    cost_provenance: Provenance = "measured"
    price_source: str | None = None
    cpu_seconds: float | None = None  # local only
    engine_peak_rss_bytes: int | None = None
    mean_cpu_percent: float | None = None
    energy_j: float | None = None
    energy_provenance: Provenance | None = None
    chunks: int = 1  # map-reduce summaries: how many parts the input was cut into

    def __post_init__(self) -> None:
        _check_choice("task", self.task, TASKS)
        _check_choice("side", self.side, get_args(Side))
        _check_choice("status", self.status, get_args(RunStatus))
        for name in ("time_to_first_token", "decode_rate", "output_tokens", "end_to_end", "cost"):
            _check_choice(f"{name}_provenance", getattr(self, f"{name}_provenance"), get_args(Provenance))
        if self.energy_provenance is not None:
            _check_choice("energy_provenance", self.energy_provenance, get_args(Provenance))
        if self.endpoint_host is not None:
            if self.side == "local":
                raise ValueError("a local run has no endpoint host")
            if "@" in self.endpoint_host or "/" in self.endpoint_host:
                raise ValueError("endpoint_host must be a bare host[:port], never a URL or credentials")
        if self.chunks < 1:
            raise ValueError("chunks must be at least 1")

    @classmethod
    def from_finished(
        cls,
        outcome: Finished | EngineError,
        *,
        task: TaskName,
        side: Side,
        model: str,
        endpoint: str | None = None,
        cost: Cost | None = None,
        cpu_seconds: float | None = None,
        chunks: int | None = None,
        run_id: str | None = None,
        started_at: datetime | str | None = None,
    ) -> RunRecord:
        """The record of a run that ended in `outcome`.

        `endpoint` is the remote base URL (or host); only its host[:port] is kept. `chunks` defaults to
        the `Finished` event's own. An `EngineError` gives status "incomplete" (the stream broke off) or
        "error", its message redacted, and no figures.
        """
        if chunks is None:
            chunks = outcome.chunks if isinstance(outcome, Finished) else 1
        if isinstance(started_at, datetime):
            started = started_at.isoformat(timespec="seconds")
        else:
            started = started_at or _now_iso()
        common: dict[str, Any] = {
            "run_id": run_id or uuid.uuid4().hex[:12],
            "started_at": started,
            "task": task,
            "side": side,
            "model": model,
            "endpoint_host": (endpoint_host(endpoint) or None) if endpoint else None,
            "cpu_seconds": cpu_seconds,
            "chunks": chunks,
        }
        if cost is not None:
            common["cost_usd"] = cost.usd
            common["cost_provenance"] = cost.provenance
            common["price_source"] = cost.price.source if cost.price else None
        if isinstance(outcome, EngineError):
            status: RunStatus = "incomplete" if outcome.kind == "incomplete" else "error"
            return cls(status=status, error_message=redact(outcome.message), **common)
        computed = metrics.compute(outcome)
        return cls(
            status=_STATUS_BY_STOP_REASON[outcome.stop_reason],
            time_to_first_token_s=computed.time_to_first_token.value,
            time_to_first_token_provenance=computed.time_to_first_token.provenance,
            decode_rate_tok_s=computed.decode_rate.value,
            decode_rate_provenance=computed.decode_rate.provenance,
            output_tokens=outcome.output_tokens,
            output_tokens_provenance=outcome.output_tokens_provenance,
            end_to_end_s=computed.end_to_end.value,
            end_to_end_provenance=computed.end_to_end.provenance,
            **common,
        )

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """A record from `as_dict()` output; keys this version does not know are ignored."""
        known = {field.name for field in dataclasses.fields(cls)}
        try:
            return cls(**{key: value for key, value in data.items() if key in known})
        except TypeError as error:
            raise ValueError(f"not a run record: {error}") from None


COLUMNS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(RunRecord))
"""CSV columns and JSON keys, in a stable order (the order of the fields)."""


def _check_choice(name: str, value: object, choices: Iterable[object]) -> None:
    allowed = tuple(choices)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}, not {value!r}")


def _exported(record: RunRecord) -> dict[str, Any]:
    """The record's fields as they may leave the machine: secrets redacted, no NaN or infinity."""
    out: dict[str, Any] = {}
    for name, value in record.as_dict().items():
        if isinstance(value, str):
            value = redact(value)
        elif isinstance(value, float) and not math.isfinite(value):
            value = None
        out[name] = value
    return out


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest exact form, never localized
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _markdown_cell(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<")
    return " ".join(escaped.split())  # newlines would end the table row


def _seconds(value: float | None, provenance: Provenance) -> str:
    return _marked(f"{value:.2f} s", provenance) if value is not None else "n/a"


def _marked(text: str, provenance: Provenance | None) -> str:
    return f"~{text}" if provenance == "estimated" else text


def _usd(record: RunRecord) -> str:
    if record.cost_usd is None:
        return "unknown"
    digits = 6 if record.cost_usd < 0.01 else 4
    return _marked(f"${record.cost_usd:.{digits}f}", record.cost_provenance)


def _error_text(message: str | None) -> str:
    if not message:
        return ""
    text = redact(message)
    return text if len(text) <= _MARKDOWN_ERROR_CHARS else text[: _MARKDOWN_ERROR_CHARS - 1] + "…"


_MARKDOWN_COLUMNS: tuple[tuple[str, Callable[[RunRecord], str]], ...] = (
    ("Started", lambda r: r.started_at),
    ("Task", lambda r: r.task),
    ("Side", lambda r: r.side),
    ("Model", lambda r: r.model),
    ("Endpoint", lambda r: r.endpoint_host or ""),
    ("Status", lambda r: r.status),
    ("TTFT", lambda r: _seconds(r.time_to_first_token_s, r.time_to_first_token_provenance)),
    (
        "Decode",
        lambda r: _marked(f"{r.decode_rate_tok_s:.1f} tok/s", r.decode_rate_provenance)
        if r.decode_rate_tok_s is not None
        else "n/a",
    ),
    (
        "Tokens out",
        lambda r: _marked(f"{r.output_tokens:,}", r.output_tokens_provenance) if r.output_tokens is not None else "n/a",
    ),
    ("E2E", lambda r: _seconds(r.end_to_end_s, r.end_to_end_provenance)),
    ("Cost", _usd),
    ("CPU time", lambda r: f"{r.cpu_seconds:.1f} CPU-s" if r.cpu_seconds is not None else ""),
    ("Chunks", lambda r: str(r.chunks)),
    ("Error", lambda r: _error_text(r.error_message)),
)
# Shown only when some run has them, so a session without resource sampling gets no empty columns.
_OPTIONAL_MARKDOWN_COLUMNS: tuple[tuple[str, str, Callable[[RunRecord], str]], ...] = (
    (
        "Peak RSS",
        "engine_peak_rss_bytes",
        lambda r: f"{r.engine_peak_rss_bytes / 2**20:,.0f} MiB" if r.engine_peak_rss_bytes is not None else "",
    ),
    ("CPU", "mean_cpu_percent", lambda r: f"{r.mean_cpu_percent:.0f} %" if r.mean_cpu_percent is not None else ""),
    (
        "Energy",
        "energy_j",
        lambda r: _marked(f"{r.energy_j:.1f} J", r.energy_provenance) if r.energy_j is not None else "",
    ),
)


class RunHistory:
    """The runs of this session, oldest first."""

    def __init__(self, records: Iterable[RunRecord] = ()) -> None:
        self._records = [*records]

    def append(self, record: RunRecord) -> None:
        self._records.append(record)

    def list(self) -> tuple[RunRecord, ...]:
        """A snapshot: later appends do not change it."""
        return tuple(self._records)

    def clear(self) -> None:
        self._records.clear()

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RunRecord]:
        return iter(tuple(self._records))

    def to_json(self) -> str:
        document = {
            "schema_version": SCHEMA_VERSION,
            "exported_at": _now_iso(),
            "runs": [_exported(record) for record in self._records],
        }
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RunHistory:
        """The history `to_json` wrote; a ValueError for anything else."""
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"not a run history with schema_version {SCHEMA_VERSION}")
        runs = document.get("runs")
        if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
            raise ValueError("a run history's 'runs' must be a list of objects")
        return cls(RunRecord.from_dict(run) for run in runs)

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # RFC 4180: quoted where needed, CRLF line ends
        writer.writerow(COLUMNS)
        for record in self._records:
            row = _exported(record)
            writer.writerow([_csv_cell(row[name]) for name in COLUMNS])
        return buffer.getvalue()

    def to_markdown(self) -> str:
        columns = [*_MARKDOWN_COLUMNS]
        for title, field_name, render in _OPTIONAL_MARKDOWN_COLUMNS:
            if any(getattr(record, field_name) is not None for record in self._records):
                columns.append((title, render))
        lines = [
            "| " + " | ".join(title for title, _ in columns) + " |",
            "|" + "|".join(" --- " for _ in columns) + "|",
        ]
        for record in self._records:
            cells = (_markdown_cell(redact(render(record))) for _, render in columns)
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", '"~" marks an estimated figure; "unknown" cost means no price is known for the model.']
        return "\n".join(lines) + "\n"

    def export(self, path: str | os.PathLike[str]) -> Path:
        """Write the history to `path`, in the format its suffix names (.json, .csv or .md)."""
        target = Path(path)
        renderers: dict[str, Callable[[], str]] = {
            ".json": self.to_json,
            ".csv": self.to_csv,
            ".md": self.to_markdown,
        }
        render = renderers.get(target.suffix.lower())
        if render is None:
            raise ValueError(
                f"Cannot export the run history to {target.name!r}: "
                "the file name must end in .json, .csv or .md to choose the format."
            )
        write_atomically(target, render().encode("utf-8"))
        return target
