"""The history of comparisons: a JSON Lines file of trials that outlives the app, and its exports.

One line per `Trial` (its `to_dict`), appended whole or not at all and flushed to disk: a short write (a full
disk) is continued, a failed one (no space, a read-only folder) is cut back off the file, and the trial is
named in the message `append` returns and in `not_kept`, so a front end can say which comparisons were not
kept. Only a crash in the middle of a write can leave the last line short. Loading skips any line that cannot
be read (corrupt, truncated, from a newer version, numbers out of range, nested too deeply) with a note saying
which, and keeps every other: one bad line never costs the whole history, and a file that cannot be read at
all (a folder, no permission) opens as an empty history with a note.

Exports (JSON, CSV, Markdown) carry the input, every side's answer and the shared trial id, with the
figures. Nothing in a trial is a key (see `lmscales.core.trial`), and every text is passed through
`secrets.redact` again on the way out. Exports are written atomically.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lmscales.core.comparison_report import render_comparisons
from lmscales.core.json_limits import JsonLimitError
from lmscales.core.json_limits import loads as limited_loads
from lmscales.core.jsonl_file import append_line as _append_line
from lmscales.core.method_card import method_markdown
from lmscales.core.method_card_trials import card_for_trials
from lmscales.core.secrets import redact
from lmscales.core.storage import data_dir, write_atomically
from lmscales.core.trial import SCHEMA_VERSION, SideResult, Trial, TrialFormatError, now_iso
from lmscales.core.votes import blind_words, tally_votes, voted

log = logging.getLogger(__name__)

HISTORY_FILE = "history.jsonl"
NOTES_NAMED = 5  # damaged lines named one by one in the note the user sees; the rest are counted (all are logged)
# Spreadsheets run a cell that starts with one of these as a formula; answers and server errors are not trusted.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def default_history_path() -> Path:
    """history.jsonl in the platform's data folder (LMSCALES_DATA_DIR overrides it)."""
    return data_dir() / HISTORY_FILE


@dataclass(frozen=True)
class LoadNote:
    """A line that was skipped on load, and why (for the log and the history view); line 0: the whole file
    could not be read."""

    line: int
    reason: str


@dataclass(frozen=True)
class NotKept:
    """A comparison that is in this session's memory but could not be written to the history file."""

    trial_id: str
    task: str
    created_at: str
    reason: str  # the system's words: "No space left on device", "Read-only file system"


def describe_notes(notes: Iterable[LoadNote], path: Path | None) -> str | None:
    """One sentence for the user about what loading skipped, naming the lines (None when nothing was)."""
    notes = tuple(notes)
    if not notes:
        return None
    where = str(path) if path is not None else "the history file"
    whole = next((note for note in notes if note.line == 0), None)
    if whole is not None:
        return (f"The history file {where} could not be read ({whole.reason}): earlier comparisons are not shown, "
                "and new ones may not be kept.")
    named = "; ".join(f"line {note.line} ({note.reason})" for note in notes[:NOTES_NAMED])
    more = f"; and {len(notes) - NOTES_NAMED} more (see the log)" if len(notes) > NOTES_NAMED else ""
    lines = "1 damaged line was" if len(notes) == 1 else f"{len(notes)} damaged lines were"
    return f"{lines} skipped in the history file {where}, every other comparison is kept: {named}{more}."


def describe_not_kept(lost: Iterable[NotKept], path: Path | None) -> str | None:
    """One sentence for the user naming the comparisons that were not kept, and why (None when all were)."""
    lost = tuple(lost)
    if not lost:
        return None
    reasons = "; ".join(dict.fromkeys(item.reason for item in lost))
    named = ", ".join(f"{item.trial_id} ({item.task}, {item.created_at})" for item in lost)
    count = "1 comparison was" if len(lost) == 1 else f"{len(lost)} comparisons were"
    return f"{count} not kept in the history file {path} ({reasons}): {named}."


class TrialHistory:
    """The trials, oldest first, kept in a JSON Lines file when a path is given (in memory otherwise).

    `keep=False` keeps trials for this session only and writes nothing. Thread-safe: a session's worker
    thread appends while the GUI reads."""

    def __init__(self, path: Path | None = None, keep: bool = True, remember: bool = True) -> None:
        self.path = path
        self.keep = keep
        self.remember = remember  # False: appended to the file only, not held (a long headless evaluation)
        self._trials: list[Trial] = []
        self._lock = threading.Lock()
        self.notes: tuple[LoadNote, ...] = ()
        self._not_kept: list[NotKept] = []
        self._listeners: list[Callable[[Trial | None], None]] = []

    # -- reading ---------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | None, keep: bool = True) -> TrialHistory:
        history = cls(path, keep)
        if path is not None and path.exists():
            history._load()
        return history

    def _load(self) -> None:
        assert self.path is not None
        try:
            data = self.path.read_bytes()
        except OSError as error:  # a folder in its place, no permission: the app still starts, and says so
            self.notes = (LoadNote(0, error.strerror or str(error)),)
        else:
            trials, notes = read_trials(data)
            with self._lock:
                self._trials = trials
            self.notes = tuple(notes)
        for note in self.notes:
            log.warning("history %s, %s skipped: %s", self.path, f"line {note.line}" if note.line else "the file",
                        note.reason)

    def load_problem(self) -> str | None:
        """What loading skipped, as a sentence naming the lines (None when every line was read)."""
        return describe_notes(self.notes, self.path)

    @property
    def not_kept(self) -> tuple[NotKept, ...]:
        """The comparisons of this session that could not be written to the file, oldest first."""
        with self._lock:
            return tuple(self._not_kept)

    def not_kept_problem(self) -> str | None:
        """The comparisons not kept in the file, named in one sentence (None when every one was kept)."""
        return describe_not_kept(self.not_kept, self.path)

    # -- writing ---------------------------------------------------------------------------------------
    def append(self, trial: Trial) -> str | None:
        """Add a trial; written to the file when keeping is on. Returns a message for the user if the write
        failed (the trial is still in memory for this session)."""
        if self.remember:
            with self._lock:
                self._trials.append(trial)
        problem = self._write(trial)
        for listener in tuple(self._listeners):
            listener(trial)
        return problem

    def _write(self, trial: Trial) -> str | None:
        problem = None
        if self.keep and self.path is not None:
            try:
                _append_line(self.path, json.dumps(trial.to_dict(), ensure_ascii=False, allow_nan=False))
            except (OSError, ValueError) as error:  # ValueError: a figure JSON cannot hold (a bug, but a loss)
                reason = (error.strerror or str(error)) if isinstance(error, OSError) else str(error)
                with self._lock:
                    self._not_kept.append(NotKept(trial.id, trial.task, trial.created_at, reason))
                problem = (f"Could not keep the comparison {trial.id} ({trial.task}, {trial.created_at}) in "
                           f"{self.path}: {reason}. It is kept for this session only.")
                log.error("%s", problem)
        return problem

    def replace(self, trial: Trial) -> str | None:
        """Keep `trial` in place of the kept trial of its id (a vote cast after the trial ended). The file is
        append-only: the new version is appended, and the loader keeps the last line of an id in its first
        line's place, so the older line is never lost. Listeners get `None` (reload)."""
        with self._lock:
            places = [i for i, kept in enumerate(self._trials) if kept.id == trial.id]
            if places:
                self._trials[places[0]] = trial
            elif self.remember:
                self._trials.append(trial)
        problem = self._write(trial)
        for listener in tuple(self._listeners):
            listener(None)
        return problem

    def clear(self) -> str | None:
        """Forget every trial, and delete the file. Returns a message for the user if the file could not be
        deleted (a folder in its place, a read-only folder)."""
        problem = None
        with self._lock:
            self._trials.clear()
            self._not_kept.clear()
        if self.path is not None:
            try:
                self.path.unlink(missing_ok=True)
                self.notes = ()  # the damaged lines went with the file
            except OSError as error:
                problem = f"Could not delete the history file {self.path}: {error.strerror or error}."
        for listener in tuple(self._listeners):
            listener(None)
        return problem

    def subscribe(self, listener: Callable[[Trial | None], None]) -> Callable[[], None]:
        """`listener(trial)` after each append, `listener(None)` after clear (on the appending thread)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- access ------------------------------------------------------------------------------------------
    def list(self) -> tuple[Trial, ...]:
        with self._lock:
            return tuple(self._trials)

    def get(self, trial_id: str) -> Trial | None:
        with self._lock:
            return next((t for t in self._trials if t.id == trial_id), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.list())

    def export(self, path: str | os.PathLike[str], trials: Iterable[Trial] | None = None) -> Path:
        return export_trials(self.list() if trials is None else tuple(trials), path)


def read_trials(data: bytes) -> tuple[list[Trial], list[LoadNote]]:
    """Every trial that can be read from JSON Lines `data`, and a note for each line that cannot."""
    trials: list[Trial] = []
    notes: list[LoadNote] = []
    places: dict[str, int] = {}  # a trial's id -> its place: a later line of the same id (a vote) replaces it
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            trial = Trial.from_dict(limited_loads(raw.decode("utf-8")))
            if trial.id in places:
                trials[places[trial.id]] = trial
            else:
                places[trial.id] = len(trials)
                trials.append(trial)
        except UnicodeDecodeError:
            notes.append(LoadNote(number, "not UTF-8 text"))
        except json.JSONDecodeError as error:
            notes.append(LoadNote(number, f"not complete JSON ({error.msg})"))
        except (TrialFormatError, JsonLimitError) as error:
            notes.append(LoadNote(number, str(error)))
        except RecursionError:
            notes.append(LoadNote(number, "nested too deeply"))
        except Exception as error:  # anything else a damaged line provokes costs that line, never the file
            notes.append(LoadNote(number, f"cannot be read ({type(error).__name__}: {error})"))
    return trials, notes


# -- exports ------------------------------------------------------------------------------------------------
def to_json(trials: Iterable[Trial]) -> str:
    trials = tuple(trials)
    document = {
        "schema_version": SCHEMA_VERSION,
        "exported_at": now_iso(),
        "trials": [trial.to_dict() for trial in trials],
        "method": dataclasses.asdict(card_for_trials(trials)),  # how they were measured (`method_card`)
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def from_json(text: str) -> list[Trial]:
    """The trials a JSON export holds; ValueError for anything else."""
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("trials"), list):
        raise ValueError("not an LM Scales history export (no 'trials' list)")
    return [Trial.from_dict(item) for item in document["trials"]]


def _figure(result: SideResult, name: str) -> float | None:
    computed = result.metrics
    if computed is None:
        return None
    value = getattr(computed, name).value
    return float(value) if value is not None else None


def _provenance(result: SideResult, name: str) -> str:
    computed = result.metrics
    return getattr(computed, name).provenance if computed is not None else ""


CSV_COLUMNS: tuple[tuple[str, Callable[[Trial, SideResult], Any]], ...] = (
    ("trial_id", lambda t, r: t.id),
    ("created_at", lambda t, r: t.created_at),
    ("task", lambda t, r: t.task),
    ("input", lambda t, r: t.input.text),
    ("target_lang", lambda t, r: t.input.target_lang),
    ("summary_length", lambda t, r: t.input.summary_length),
    ("side", lambda t, r: r.side),
    ("label", lambda t, r: r.label),
    ("engine_kind", lambda t, r: r.engine.kind if r.engine else None),
    ("model", lambda t, r: r.model),
    ("endpoint_host", lambda t, r: r.engine.host if r.engine else None),
    ("status", lambda t, r: r.status),
    ("answer", lambda t, r: r.text),
    ("error", lambda t, r: r.error.message if r.error else r.skipped),
    ("time_to_first_token_s", lambda t, r: _figure(r, "time_to_first_token")),
    ("decode_rate_tok_s", lambda t, r: _figure(r, "decode_rate")),
    ("decode_rate_provenance", lambda t, r: _provenance(r, "decode_rate")),
    ("output_tokens", lambda t, r: r.finished.output_tokens if r.finished else None),
    ("output_tokens_provenance", lambda t, r: r.finished.output_tokens_provenance if r.finished else None),
    ("end_to_end_s", lambda t, r: _figure(r, "end_to_end")),
    ("cost_usd", lambda t, r: r.cost.usd if r.cost else None),
    ("cost_provenance", lambda t, r: r.cost.provenance if r.cost else None),
    ("price_source", lambda t, r: r.cost.price.source if r.cost and r.cost.price else None),
    ("cpu_seconds", lambda t, r: r.cpu_seconds),
    ("engine_peak_rss_bytes", lambda t, r: r.resources.engine_peak_rss.value if r.resources else None),
    ("mean_cpu_percent", lambda t, r: r.resources.engine_mean_cpu.value if r.resources else None),
    ("energy_j", lambda t, r: r.energy_j),
    ("energy_provenance", lambda t, r: r.resources.energy.provenance if r.resources else None),
    ("chunks", lambda t, r: r.finished.chunks if r.finished else None),
    ("max_tokens", lambda t, r: t.params.max_tokens),
    ("temperature", lambda t, r: t.params.temperature),
    ("top_p", lambda t, r: t.params.top_p),
    ("seed", lambda t, r: t.params.seed),
    ("recorded", lambda t, r: r.recorded),
    # a model that thinks; parameters the model did not take; where the rate and the price come from
    ("time_to_first_any_s", lambda t, r: _optional_figure(r, "time_to_first_any")),
    ("reasoning_tokens", lambda t, r: r.finished.reasoning_tokens if r.finished else None),
    ("reasoning_tokens_provenance", lambda t, r: r.finished.reasoning_tokens_provenance if r.finished else None),
    ("thinking", lambda t, r: r.finished.reasoning_text if r.finished else None),
    ("reasoning_effort", lambda t, r: t.params.reasoning_effort),
    ("ignored_parameters", lambda t, r: " ".join(r.finished.ignored_parameters) if r.finished else None),
    ("cached_prompt_tokens", lambda t, r: r.finished.cached_prompt_tokens if r.finished else None),
    ("threads_used", lambda t, r: r.finished.threads if r.finished else None),
    ("decode_rate_basis", lambda t, r: r.metrics.decode_rate.how if r.metrics else None),
    ("decode_rate_missing_because", lambda t, r: r.metrics.decode_rate.reason or None if r.metrics else None),
    ("price_taken", lambda t, r: r.cost.price.taken if r.cost and r.cost.price else None),
)


def _optional_figure(result: SideResult, name: str) -> float | None:
    computed = result.metrics
    figure = getattr(computed, name) if computed is not None else None
    return float(figure.value) if figure is not None and figure.value is not None else None


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest exact form, never localized
    text = redact(str(value))
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def to_csv(trials: Iterable[Trial]) -> str:
    """One row per side of each trial; the rows of one trial share its `trial_id`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: quoted where needed, CRLF line ends
    writer.writerow([name for name, _ in CSV_COLUMNS])
    for trial in trials:
        for result in trial.sides:
            writer.writerow([_csv_cell(get(trial, result)) for _, get in CSV_COLUMNS])
    return buffer.getvalue()


def _md_cell(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<")
    return " ".join(escaped.split())


def _quote(text: str) -> str:
    lines = redact(text).replace("<", "&lt;").splitlines() or [""]
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def _marked(figure_text: str, provenance: str | None) -> str:
    return f"~{figure_text}" if provenance == "estimated" else figure_text


def _side_figures(result: SideResult) -> list[tuple[str, str]]:
    computed = result.metrics
    rows: list[tuple[str, str]] = [("Status", result.status)]
    if computed is not None:
        rate = computed.decode_rate
        rows += [
            ("TTFT", computed.time_to_first_token.format(3)),
            ("Decode", rate.format(1) if rate.value is not None or not rate.reason else f"n/a ({rate.reason})"),
            ("Tokens out", computed.output_tokens.format(0)),
            ("End to end", computed.end_to_end.format(2)),
        ]
        if computed.reasoning_tokens is not None:
            rows.append(("Thinking tokens", computed.reasoning_tokens.format(0)))
        if computed.time_to_first_any is not None:
            rows.append(("First token (any kind)", computed.time_to_first_any.format(3)))
    if result.finished is not None and result.finished.ignored_parameters:
        rows.append(("Ignored (ran at its default)", ", ".join(result.finished.ignored_parameters)))
    if result.cost is not None:
        rows.append(("Cost", result.cost.format()))
    if result.cpu_seconds is not None:
        rows.append(("CPU time", f"{result.cpu_seconds:.2f} CPU-s"))
    if result.resources is not None:
        energy = result.resources.energy
        if energy.value is not None:
            rows.append(("Energy", _marked(f"{energy.value:.1f} J", energy.provenance)))
        peak = result.resources.engine_peak_rss.value
        if peak is not None:
            rows.append(("Peak RSS", f"{peak / 2**20:,.0f} MiB"))
    if result.error is not None:
        rows.append(("Error", result.error.message))
    if result.skipped is not None:
        rows.append(("Skipped", result.skipped))
    return rows


def to_markdown(trials: Iterable[Trial]) -> str:
    """Each comparison as a section: the input, each side's answer, and a table of figures side by side; then the
    method card."""
    trials = tuple(trials)
    out = ["# LM Scales comparisons", ""]
    for trial in trials:
        options = [f"task {trial.task}"]
        if trial.input.target_lang:
            options.append(f"into {trial.input.target_lang}")
        if trial.input.summary_length:
            options.append(trial.input.summary_length)
        options.append(f"max {trial.params.max_tokens} tokens, temperature {trial.params.temperature:g}")
        out += [f"## {trial.created_at} · {trial.task} · trial `{trial.id}`", "", "; ".join(options) + ".", "",
                "**Input**", "", _quote(trial.input.text), ""]
        for result in trial.sides:
            mark = " (recorded)" if result.recorded else ""
            out += [f"**{result.label}: {_md_cell(result.model)}**{mark}", "", _quote(result.text or "(no answer)"),
                    ""]
        labels = [f"{r.label}: {r.model}" for r in trial.sides]
        figures = [dict(_side_figures(r)) for r in trial.sides]
        names: list[str] = []
        for rows in figures:
            names += [name for name in rows if name not in names]
        out.append("| | " + " | ".join(_md_cell(label) for label in labels) + " |")
        out.append("| --- |" + " --- |" * len(labels))
        for name in names:
            out.append(f"| {name} | " + " | ".join(_md_cell(redact(rows.get(name, ""))) for rows in figures) + " |")
        out.append("")
        if trial.blind is not None:
            out += [f"**Blind comparison**: {blind_words(trial)}", ""]
    out += [f"- {tally.sentence('You', f'the {tally.side} model ({tally.model})')} Task {tally.task}, against "
            f"{tally.other_model}." for tally in tally_votes(trials)] + ([""] if voted(trials) else [])
    out.append('"~" marks an estimated figure; "unknown" cost means no price is known for the model.')
    return "\n".join(out) + "\n\n" + method_markdown(card_for_trials(trials))


def to_html(trials: Iterable[Trial]) -> str:
    return render_comparisons(tuple(trials), "LM Scales comparisons")


def export_trials(trials: Iterable[Trial], path: str | os.PathLike[str]) -> Path:
    """Write `trials` to `path` in the format its suffix names (.json, .csv, .md or .html)."""
    target = Path(path)
    renderers: dict[str, Callable[[Iterable[Trial]], str]] = {
        ".json": to_json, ".csv": to_csv, ".md": to_markdown, ".html": to_html, ".htm": to_html}
    render = renderers.get(target.suffix.lower())
    if render is None:
        raise ValueError(
            f"Cannot export the history to {target.name!r}: "
            "the file name must end in .json, .csv, .md or .html to choose the format."
        )
    write_atomically(target, render(tuple(trials)).encode("utf-8"))
    return target
