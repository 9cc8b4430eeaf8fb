"""An evaluation's journal: its plan and every finished trial, on disk as they finish, so a stopped evaluation
(Ctrl+C, a closed laptop lid, a crash) resumes with what is missing instead of starting again, and so its
report is built from the file rather than from every trial held in memory.

One JSON Lines file per evaluation, `<data folder>/evaluations/<id>.jsonl` (the app's data folder, or
LMSCALES_DATA_DIR): first the plan (the set's name, source and the hash of its items, the sides and their
models, the generation parameters, the item-order seed, repeats), then one record per finished trial (the
trial's own JSON, as the history keeps it), per judge verdict and per person's blind vote, and a note each time
it is resumed.

Writing: each record is one whole line, written with one call and flushed to the operating system at once,
so a process that is killed or crashes loses at most the trial it was running (what the OS holds reaches the
disk without us). `os.fsync` follows at most once a second and when the journal closes: a power cut may cost
the last second's trials, which a resume runs again. A line cut short by a crash is skipped when reading and
never glued to the next one.

Resuming checks the plan first and refuses, with the reason, when the set's items, the parameters, the
repeats, the seed or a side's model changed: the result would no longer be one evaluation's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from lmscales.core.json_limits import JsonLimitError
from lmscales.core.json_limits import loads as limited_loads
from lmscales.core.quality.judge import OrderResult, Verdict
from lmscales.core.quality.sets import EvalSet
from lmscales.core.storage import data_dir
from lmscales.core.trial import Trial, TrialFormatError, now_iso
from lmscales.core.votes import Vote, VoteFormatError

log = logging.getLogger(__name__)

JOURNAL_FOLDER = "evaluations"
JOURNAL_VERSION = 1
FSYNC_SECONDS = 1.0


class JournalError(Exception):
    """An evaluation cannot be resumed (or its journal written); the message says why, for the user."""


def journal_folder() -> Path:
    """Where evaluations keep their journals: `evaluations/` in the app's data folder."""
    return data_dir() / JOURNAL_FOLDER


def new_evaluation_id() -> str:
    """Short enough to type, sortable by time: 20251204-101530-a3f9."""
    return f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def set_hash(evaluation_set: EvalSet) -> str:
    """SHA-256 of the set's items as the sides see and score them (where an item sits in its file is not part
    of it), in order: a changed input, reference, language or id changes it."""
    digest = hashlib.sha256()
    for item in evaluation_set.items:
        fields = dataclasses.asdict(item)
        fields.pop("line", None)
        digest.update(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class JournalPlan:
    """What an evaluation is: everything that must be the same for a resumed run to continue it."""

    evaluation_id: str
    created: str
    set_name: str
    set_source: str
    set_hash: str
    items: int
    sides: tuple[str, ...]
    models: Mapping[str, str]  # slot -> "model (where)"
    params: Mapping[str, Any]  # GenerationParams.as_dict()
    repeats: int
    seed: int  # the order of items on each repeat
    judge: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["sides"] = list(self.sides)
        out["models"] = dict(self.models)
        out["params"] = dict(self.params)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JournalPlan:
        return cls(
            evaluation_id=str(data["evaluation_id"]), created=str(data["created"]), set_name=str(data["set_name"]),
            set_source=str(data["set_source"]), set_hash=str(data["set_hash"]), items=int(data["items"]),
            sides=tuple(str(side) for side in data["sides"]),
            models={str(k): str(v) for k, v in dict(data["models"]).items()},
            params=dict(data["params"]), repeats=int(data["repeats"]), seed=int(data["seed"]),
            judge=None if data.get("judge") is None else str(data["judge"]))

    def differences(self, now: JournalPlan) -> list[str]:
        """What `now` changes from this plan, one phrase each (empty: it continues this evaluation)."""
        changes = []
        if (self.set_hash, self.items) != (now.set_hash, now.items):
            changes.append(f"the set {now.set_name!r} changed since it started ({self.items} items, hash "
                           f"{self.set_hash[:12]}; now {now.items} items, hash {now.set_hash[:12]})")
        if self.sides != now.sides:
            changes.append(f"the sides were {' and '.join(self.sides)}, now {' and '.join(now.sides)}")
        for slot in sorted(set(self.models) | set(now.models)):
            before, after = self.models.get(slot), now.models.get(slot)
            if before != after:
                changes.append(f"the {slot} side was {before or 'not set up'}, now {after or 'not set up'}")
        for name in sorted(set(self.params) | set(now.params)):
            before, after = self.params.get(name), now.params.get(name)
            if before != after:
                changes.append(f"{name.replace('_', ' ')} was {before}, now {after}")
        if self.repeats != now.repeats:
            changes.append(f"repeats were {self.repeats}, now {now.repeats}")
        if self.seed != now.seed:
            changes.append(f"the item order's seed was {self.seed}, now {now.seed}")
        if self.judge != now.judge:
            changes.append(f"the judge was {self.judge or 'none'}, now {now.judge or 'none'}")
        return changes


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    return dataclasses.asdict(verdict)


def verdict_from_dict(data: Mapping[str, Any]) -> Verdict:
    orders = tuple(OrderResult(order["first_shown"], order.get("verdict"), str(order.get("raw", "")),
                               order.get("error")) for order in data.get("orders") or ())
    return Verdict(data["outcome"], orders, str(data["judge_model"]), str(data["prompt_version"]),
                   bool(data["judge_is_contestant"]), str(data.get("detail", "")))


class EvalJournal:
    """One evaluation's journal file. `append_*` may be called from one thread at a time (a lock guards them)."""

    def __init__(self, path: Path, plan: JournalPlan, resumes: int = 0) -> None:
        self.path = path
        self.plan = plan
        self.resumes = resumes
        self._lock = threading.Lock()
        self._handle: Any = None
        self._synced_at = time.monotonic()

    @property
    def evaluation_id(self) -> str:
        return self.plan.evaluation_id

    # -- starting and resuming ---------------------------------------------------------------------------
    @classmethod
    def create(cls, plan: JournalPlan, folder: Path | None = None) -> EvalJournal:
        """A new journal with `plan` as its first line. `JournalError` when the folder cannot be written."""
        path = (folder or journal_folder()) / f"{plan.evaluation_id}.jsonl"
        journal = cls(path, plan)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as handle:  # "x": never overwrite another evaluation's
                handle.write(json.dumps({"record": "plan", "version": JOURNAL_VERSION, **plan.as_dict()},
                                        ensure_ascii=False) + "\n")
        except OSError as error:
            raise JournalError(f"Could not start the evaluation's journal in {path.parent}: "
                               f"{error.strerror or error}. Nothing was run.") from None
        return journal

    @classmethod
    def open(cls, evaluation_id: str, folder: Path | None = None) -> EvalJournal:
        """The journal of `evaluation_id`; `JournalError` naming the folder (and the ids it holds) when there is
        none, or saying what is wrong with it."""
        where = folder or journal_folder()
        name = evaluation_id.strip()
        path = where / f"{name}.jsonl"
        if not name or os.sep in name or "/" in name or name.startswith(".") or not path.is_file():
            known = known_ids(where)
            listed = (f" The evaluations kept there, newest first: {', '.join(known[:5])}." if known
                      else " None is kept there.")
            raise JournalError(f"There is no evaluation {evaluation_id!r} to resume in {where}.{listed}")
        try:
            with open(path, "rb") as handle:
                first = handle.readline()
            record = limited_loads(first.decode("utf-8"))
            if not isinstance(record, dict) or record.get("record") != "plan":
                raise ValueError("its first line is not a plan")
            if int(record.get("version", 0)) > JOURNAL_VERSION:
                raise ValueError("it was written by a newer LM Scales")
            plan = JournalPlan.from_dict(record)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, JsonLimitError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise JournalError(f"The evaluation {evaluation_id!r} cannot be resumed: its journal {path} cannot "
                               f"be read ({reason}).") from None
        resumes = sum(1 for record in _records(path) if record.get("record") == "resumed")
        return cls(path, plan, resumes)

    def check_resume(self, now: JournalPlan) -> None:
        """`JournalError` with every difference when `now` would not continue this evaluation."""
        changes = self.plan.differences(now)
        if changes:
            raise JournalError(f"Cannot resume the evaluation {self.evaluation_id}: {'; '.join(changes)}. Run it "
                               "with the same set and options, or start a new evaluation (without --resume).")

    def mark_resumed(self) -> None:
        self.resumes += 1
        self._append({"record": "resumed", "at": now_iso()})

    # -- writing -----------------------------------------------------------------------------------------
    def append_trial(self, trial: Trial) -> None:
        self._append({"record": "trial", "trial": trial.to_dict()})

    def append_verdict(self, item_id: str, verdict: Verdict) -> None:
        self._append({"record": "verdict", "item_id": item_id, "verdict": verdict_to_dict(verdict)})

    def append_vote(self, trial_id: str, item_id: str, vote: Vote) -> None:
        """A person's blind vote on a kept trial (`eval --judge human`): `trials()` yields the trial with it."""
        self._append({"record": "vote", "trial_id": trial_id, "item_id": item_id, "vote": vote.to_dict()})

    def _append(self, record: Mapping[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")
        with self._lock:
            try:
                if self._handle is None:
                    self._handle = open(self.path, "ab")  # noqa: SIM115 - kept open for the run, closed in close()
                    if self._handle.tell() and not _ends_with_newline(self.path):
                        data = b"\n" + data  # a line cut short by a crash must not swallow this one
                self._handle.write(data)
                self._handle.flush()
                if time.monotonic() - self._synced_at >= FSYNC_SECONDS:
                    os.fsync(self._handle.fileno())
                    self._synced_at = time.monotonic()
            except OSError as error:
                raise JournalError(f"Could not write to the evaluation's journal {self.path}: "
                                   f"{error.strerror or error}.") from None

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                with contextlib.suppress(OSError):
                    self._handle.flush()
                    os.fsync(self._handle.fileno())
                self._handle.close()
                self._handle = None

    # -- reading -----------------------------------------------------------------------------------------
    def trials(self) -> Iterator[Trial]:
        """The finished trials, in the order they finished, read one line at a time (a damaged line skipped),
        each with the vote a person cast on it later (`append_vote`), if any."""
        votes = self.votes()
        for record in _records(self.path):
            if record.get("record") == "trial":
                try:
                    trial = Trial.from_dict(record["trial"])
                    vote = votes.get(trial.id)
                    yield trial if vote is None else dataclasses.replace(trial, blind=vote.order, vote=vote)
                except (TrialFormatError, KeyError) as error:
                    log.warning("evaluation journal %s: a trial skipped (%s)", self.path, error)

    def votes(self) -> dict[str, Vote]:
        """trial id -> the last vote cast on it."""
        found: dict[str, Vote] = {}
        for record in _records(self.path):
            if record.get("record") == "vote":
                try:
                    found[str(record["trial_id"])] = Vote.from_dict(record["vote"])
                except (KeyError, VoteFormatError) as error:
                    log.warning("evaluation journal %s: a vote skipped (%s)", self.path, error)
        return found

    def verdicts(self) -> dict[str, Verdict]:
        found: dict[str, Verdict] = {}
        for record in _records(self.path):
            if record.get("record") == "verdict":
                try:
                    found[str(record["item_id"])] = verdict_from_dict(record["verdict"])
                except (KeyError, TypeError, ValueError) as error:
                    log.warning("evaluation journal %s: a verdict skipped (%s)", self.path, error)
        return found


def known_ids(folder: Path | None = None) -> list[str]:
    """The evaluations kept in `folder`, newest first."""
    try:
        return sorted((path.stem for path in (folder or journal_folder()).glob("*.jsonl")), reverse=True)
    except OSError:
        return []


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """Each readable record of the file after the plan; a damaged line (a crash mid-write) is skipped."""
    with open(path, "rb") as handle:
        handle.readline()  # the plan
        for number, raw in enumerate(handle, start=2):
            if not raw.strip():
                continue
            try:
                record = limited_loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, JsonLimitError, RecursionError) as error:
                log.warning("evaluation journal %s line %d skipped: %s", path, number, error)
                continue
            if isinstance(record, dict):
                yield record
