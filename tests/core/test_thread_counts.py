"""Threads chosen by measurement and adjusted to load (`core/thread_counts.py`), and the decode loop's pure parts
(`llama_loop.DeltaBatcher`, `common_prefix`): synthetic figures, no model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmscales.core.engines.llama_loop import DeltaBatcher, common_prefix
from lmscales.core.engines.local_worker import ENGINE_NICE, lower_priority
from lmscales.core.thread_counts import (
    LoadProbe,
    ThreadRow,
    ThreadStore,
    ThreadTable,
    _cgroup_quota,
    counts_to_measure,
    model_key,
    smallest_within,
    threads_for_run,
    usable_cores,
)


def row(threads: int, decode: float, prefill: float, cpu: float | None = None) -> ThreadRow:
    return ThreadRow(threads, decode, prefill, decode_cpu_per_100=cpu if cpu is not None else 0.7 * threads,
                     prefill_cpu_per_100=0.4 * threads)


# -- usable cores --------------------------------------------------------------------------------------------------
def test_usable_cores_is_the_smallest_of_physical_affinity_and_quota() -> None:
    assert usable_cores(physical=8, logical=16, affinity=16, quota=None) == 8  # hyper-threads add nothing
    assert usable_cores(physical=8, logical=16, affinity=4, quota=None) == 2  # 4 logical CPUs: 2 cores
    assert usable_cores(physical=64, logical=64, affinity=64, quota=2.0) == 2  # a container given 2 CPUs
    assert usable_cores(physical=4, logical=4, affinity=4, quota=0.3) == 1  # never below one
    assert usable_cores(physical=4, logical=4, affinity=1, quota=None) == 1


def test_usable_cores_on_this_machine_is_within_reason() -> None:
    import os

    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


@pytest.mark.parametrize(("files", "expected"), [
    ({"cpu.max": "200000 100000\n"}, 2.0),
    ({"cpu.max": "max 100000\n"}, None),
    ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    ({"cpu.max": "garbage"}, None),
    ({}, None),
])
def test_cgroup_quota_v1_and_v2(tmp_path: Path, files: dict[str, str], expected: float | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _cgroup_quota(tmp_path) == expected


def test_counts_to_measure_thin_out_on_big_machines() -> None:
    assert counts_to_measure(1) == [1]
    assert counts_to_measure(2) == [1, 2]
    big = counts_to_measure(32)
    assert big[:8] == list(range(1, 9)) and big[-1] == 32 and len(big) < 16


# -- the choice ------------------------------------------------------------------------------------------------------
def test_fastest_is_the_fewest_threads_within_three_percent() -> None:
    table = ThreadTable((row(1, 142.0, 250.0), row(2, 144.0, 450.0), row(3, 146.0, 600.0), row(4, 139.0, 610.0)))
    choice = table.choose("fastest")
    assert (choice.threads, choice.threads_batch) == (1, 3)  # 142 >= 0.97 * 146; 600 >= 0.97 * 610
    assert choice.reason == "1 thread (measured fastest)"
    assert smallest_within(table.rows, lambda r: r.decode_rate, within=0.0) == 3


def test_a_real_gain_is_taken() -> None:
    table = ThreadTable((row(1, 120.0, 250.0), row(2, 160.0, 450.0)))
    assert table.choose("fastest").threads == 2  # +33 %: worth a second core


def test_efficient_is_the_fewest_cpu_seconds_per_token() -> None:
    table = ThreadTable((row(1, 140.0, 250.0, cpu=0.71), row(2, 165.0, 450.0, cpu=1.21)))
    choice = table.choose("efficient")
    assert (choice.threads, choice.threads_batch) == (1, 1)
    assert "most efficient" in choice.reason
    with pytest.raises(ValueError):
        ThreadTable(()).choose()


def test_the_better_of_two_measurements_per_phase() -> None:
    a, b = row(2, 140.0, 460.0), row(2, 150.0, 430.0)
    best = a.better_of(b)
    assert (best.decode_rate, best.prefill_rate) == (150.0, 460.0)


def test_a_row_from_the_engines_raw_figures() -> None:
    figures = {"threads": 2, "prompt_tokens": 128, "prefill_seconds": 0.5, "prefill_cpu_seconds": 0.9,
               "decode_tokens": 48, "decode_seconds": 0.4, "decode_cpu_seconds": 0.8}
    made = ThreadRow.from_figures(figures, decode_joules=4.8, prefill_joules=None)
    assert made.decode_rate == pytest.approx(120.0) and made.prefill_rate == pytest.approx(256.0)
    assert made.decode_cpu_per_100 == pytest.approx(100 * 0.8 / 48)
    assert made.decode_joules_per_100 == pytest.approx(10.0) and made.prefill_joules_per_100 is None


# -- kept per model file ---------------------------------------------------------------------------------------------
def test_the_store_keeps_a_table_per_model_file_and_cores(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x" * 10)
    store = ThreadStore(tmp_path / "threads.json")
    key = model_key(model, 2)
    assert store.get(key) is None
    table = ThreadTable((row(1, 140.0, 250.0), row(2, 150.0, 450.0)), "2026-11-28T10:00:00", "m", 2)
    store.put(key, table)
    assert ThreadStore(tmp_path / "threads.json").get(key) == table
    assert store.get(model_key(model, 4)) is None  # other usable cores: measured again
    model.write_bytes(b"y" * 20)  # a new file under the same name
    assert store.get(model_key(model, 2)) is None


@pytest.mark.parametrize("content", ["{not json", json.dumps({"version": 99, "tables": {}}), json.dumps([1, 2]),
                                     json.dumps({"version": 1, "tables": {"k": {"rows": [{"bad": 1}]}}})])
def test_a_damaged_store_reads_as_empty_and_is_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "threads.json"
    path.write_text(content)
    store = ThreadStore(path)
    assert store.get("k") is None
    table = ThreadTable((row(1, 140.0, 250.0),))
    store.put("k", table)
    assert store.get("k") == table


# -- load --------------------------------------------------------------------------------------------------------------
def test_threads_for_run_leave_the_busy_cores_alone() -> None:
    assert threads_for_run(2, 2, None) == 2  # unknown load: as chosen
    assert threads_for_run(2, 2, 0.2) == 2
    assert threads_for_run(2, 2, 1.0) == 1  # one busy process: one thread
    assert threads_for_run(2, 2, 2.0) == 1  # never fewer than one
    assert threads_for_run(1, 8, 0.0) == 1  # never more than chosen
    assert threads_for_run(6, 8, 3.4) == 5


def test_the_load_probe_subtracts_the_engines_own_time() -> None:
    now = [0.0]
    busy = [100.0]
    probe = LoadProbe(lambda: None, clock=lambda: now[0], machine_busy=lambda: busy[0])
    probe.read_once()
    assert probe.busy_elsewhere() is None  # one reading says nothing
    now[0], busy[0] = 2.0, 103.0  # 1.5 cores busy over 2 s, and no engine
    probe.read_once()
    assert probe.busy_elsewhere() == pytest.approx(1.5)
    engine_cpu = [10.0]
    probe._engine_cpu = lambda: engine_cpu[0]  # type: ignore[method-assign]
    probe2 = LoadProbe(lambda: 1, clock=lambda: now[0], machine_busy=lambda: busy[0])
    probe2._engine_cpu = lambda: engine_cpu[0]  # type: ignore[method-assign]
    probe2.read_once()
    now[0], busy[0], engine_cpu[0] = 4.0, 107.0, 12.0  # 2 cores busy, 1 of them the engine
    probe2.read_once()
    assert probe2.busy_elsewhere() == pytest.approx(1.0)


def test_the_load_probe_on_this_machine_reads_a_figure() -> None:
    probe = LoadProbe(lambda: None, interval=0.05)
    probe.start()
    try:
        probe.read_once()
        figure = probe.busy_elsewhere()
        assert figure is not None and figure >= 0.0
    finally:
        probe.stop()


# -- the decode loop's pure parts ---------------------------------------------------------------------------------
def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([1, 2], [1, 2, 3]) == 2


def test_deltas_leave_at_once_then_in_batches_by_count_or_time() -> None:
    sent: list[list[tuple[float, str]]] = []
    batcher = DeltaBatcher(sent.append, seconds=0.010, tokens=4)
    batcher.add(1.000, "a")  # the first piece: at once, for the time to first token
    assert sent == [[(1.000, "a")]]
    for index, stamp in enumerate((1.001, 1.002, 1.003)):
        batcher.add(stamp, str(index))
    assert len(sent) == 1  # three waiting, 3 ms: not yet
    batcher.add(1.004, "x")  # the fourth: a batch by count
    assert sent[-1] == [(1.001, "0"), (1.002, "1"), (1.003, "2"), (1.004, "x")]
    batcher.add(1.005, "y")
    batcher.add(1.020, "z")  # 16 ms since the last send: a batch by time
    assert sent[-1] == [(1.005, "y"), (1.020, "z")]
    batcher.add(1.021, "tail")
    batcher.flush()
    assert sent[-1] == [(1.021, "tail")]
    assert [text for batch in sent for _, text in batch] == ["a", "0", "1", "2", "x", "y", "z", "tail"]


# -- priority -------------------------------------------------------------------------------------------------------
class _FakeProcess:
    def __init__(self, value: int) -> None:
        self.value = value
        self.calls: list[int] = []

    def nice(self, value: int | None = None) -> int:
        if value is not None:
            self.calls.append(value)
            self.value = value
        return self.value


def test_the_engine_runs_below_the_gui_on_posix_and_windows() -> None:
    posix = _FakeProcess(0)
    lower_priority(posix, windows=False)
    assert posix.calls == [ENGINE_NICE]
    already = _FakeProcess(17)
    lower_priority(already, windows=False)
    assert already.calls == [19]  # the scale ends at 19
    windows = _FakeProcess(0x20)  # NORMAL_PRIORITY_CLASS
    lower_priority(windows, windows=True)
    assert windows.calls == [0x4000]  # BELOW_NORMAL_PRIORITY_CLASS


def test_a_child_stamp_stays_between_the_request_and_the_arrival() -> None:
    from lmscales.core.engines.local import child_stamp

    assert child_stamp(10.5, 10.0, 11.0) == 10.5  # a shared clock: the child's own time
    assert child_stamp(3.0, 10.0, 11.0) == 10.0  # a clock behind ours: never before the request
    assert child_stamp(99.0, 10.0, 11.0) == 11.0  # ahead: never after it was seen here


@pytest.mark.parametrize(("files", "expected"), [
    ({"cpu.stat": "usage_usec 2500000\nuser_usec 2000000\n"}, 2.5),
    ({"cpuacct/cpuacct.usage": "1500000000\n"}, 1.5),
    ({"cpu.stat": "nothing useful\n"}, None),
    ({}, None),
])
def test_a_cgroups_own_cpu_usage(tmp_path: Path, files: dict[str, str], expected: float | None) -> None:
    from lmscales.core.thread_counts import _cgroup_usage_seconds

    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert _cgroup_usage_seconds(tmp_path) == expected


def test_a_waiting_piece_goes_out_without_waiting_for_the_next_token() -> None:
    """The text thread flushes a batch after `seconds` even when no further token comes (a slow model)."""
    import threading

    from lmscales.core.engines.llama_loop import _TextWorker

    batches: list[list[tuple[float, str]]] = []
    two_sent = threading.Event()

    def emit(batch: list[tuple[float, str]]) -> None:
        batches.append(batch)
        if sum(len(b) for b in batches) >= 2:
            two_sent.set()

    worker = _TextWorker(lambda token: f"<{token}>".encode(), (), DeltaBatcher(emit, seconds=0.01, tokens=8))
    worker.start()
    worker.tokens.put((1.0, 1))  # the first piece: at once
    worker.tokens.put((1.0001, 2))  # the second waits for a batch... but not for a third token
    assert two_sent.wait(timeout=30)
    worker.finish()
    assert [text for batch in batches for _, text in batch] == ["<1>", "<2>"]
    assert worker.stopped_after is None and worker.error is None


def test_a_stop_string_split_over_tokens_ends_the_text_and_counts_only_what_came_before() -> None:
    from lmscales.core.engines.llama_loop import _TextWorker

    sent: list[list[tuple[float, str]]] = []
    pieces = {1: b"one ", 2: b"two ", 3: b"ST", 4: b"OP", 5: b" after"}
    worker = _TextWorker(lambda token: pieces[token], ("STOP",), DeltaBatcher(sent.append))
    worker.start()
    for stamp, token in enumerate((1, 2, 3, 4, 5)):
        worker.tokens.put((float(stamp), token))
    worker.finish()
    assert "".join(text for batch in sent for _, text in batch) == "one two "
    assert worker.stopped_after == 4


def test_a_closed_pipe_in_the_text_thread_is_handed_to_the_decode_loop() -> None:
    from lmscales.core.engines.llama_loop import _TextWorker

    def broken(_batch: list[tuple[float, str]]) -> None:
        raise BrokenPipeError("the parent went away")

    worker = _TextWorker(lambda token: b"x", (), DeltaBatcher(broken))
    worker.start()
    worker.tokens.put((0.0, 1))
    worker.tokens.put((0.1, 2))
    worker.finish()  # returns, although the thread failed
    assert isinstance(worker.error, BrokenPipeError)
