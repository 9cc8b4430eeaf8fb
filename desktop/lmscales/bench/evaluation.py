"""`lmscales bench eval`: what overlapping an evaluation's runs buys, and what it costs.

Speed: the same set through the real `lmscales eval` twice, the small side on the bundled model on this CPU
and the large side behind a loopback server that answers like an API across a network (`delay_server`: a fixed
time to first token, then a fixed pace per token): once one request at a time, sides one after the other
(`--concurrency 1 --no-parallel-sides`), once with `--concurrency N --parallel-sides`. A loopback server is "on
this computer", so the overlap is asked for explicitly, as a user would for a server they know is elsewhere.
It prints both wall times and their ratio (goal: at most 0.45), and the small side's median decode rate and
CPU-seconds per 100 items in each mode (goal: within 2 %: the large side's network client beside it must not
slow it).

Memory (`--memory-items N`): N short items against the same server answering at once with a few tokens, the
large side alone, 4 requests at once; the eval process's RSS when item 1,000 and item N are done (goal: less
than 50 MB apart).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil


@contextmanager
def delay_server(ttft_ms: float, token_ms: float, tokens: int) -> Iterator[str]:
    """The base URL of a `delay_server` in a process of its own, stopped afterwards."""
    process = subprocess.Popen([sys.executable, "-m", "lmscales.bench.delay_server", "--ttft-ms", str(ttft_ms),
                                "--token-ms", str(token_ms), "--tokens", str(tokens)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError("the delay server did not start")
        yield f"http://127.0.0.1:{int(line.split()[1])}/v1"
    finally:
        process.terminate()
        process.wait(10)


def _load() -> str:
    one, five, _ = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return f"{one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def _eval(base_url: str, data: Path, *options: str) -> tuple[dict[str, Any], float]:
    env = {**os.environ, "LMSCALES_DATA_DIR": str(data)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lmscales", "eval", "--base-url", base_url, "--model",
                           "delayed-remote", "--no-history", "--quiet", "--json", *options],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"lmscales eval failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout), seconds


def _small_runs(document: dict[str, Any]) -> tuple[list[float], float | None]:
    """The small side's decode rate of each run, and its CPU-seconds per 100 items."""
    rates = [rate for task in document["result"]["tasks"] for rate in task["decode_rate"].get("small", ())]
    cpu = [task["costs"]["small"]["cpu_seconds_per_100"] for task in document["result"]["tasks"]]
    return rates, cpu[0] if len(cpu) == 1 else None


def bench_speed(*, set_name: str, limit: int | None, repeats: int, threads: int, max_tokens: int,
                ttft_ms: float, token_ms: float, concurrency: int, rounds: int = 1) -> dict[str, Any]:
    """Each mode `rounds` times, in the order A B B A A B …, so a change in the machine's load falls on both."""
    common = ["--set", set_name, "--repeats", str(repeats), "--threads", str(threads), "--max-tokens",
              str(max_tokens), "--warmups", "1"]
    if limit is not None:
        common += ["--limit", str(limit)]
    modes = {"sequential": ["--concurrency", "1", "--no-parallel-sides"],
             "overlapped": ["--concurrency", str(concurrency), "--parallel-sides"]}
    names = list(modes)
    runs: dict[str, dict[str, list[Any]]] = {name: {"wall": [], "rates": [], "cpu": [], "load": []} for name in modes}
    concurrency_text = ""
    with delay_server(ttft_ms, token_ms, max_tokens) as base_url, tempfile.TemporaryDirectory() as folder:
        for number in range(rounds):
            for name in (names if number % 2 == 0 else list(reversed(names))):
                runs[name]["load"].append(_load())
                document, _ = _eval(base_url, Path(folder) / f"{name}-{number}", *common, *modes[name])
                rates, cpu = _small_runs(document)
                runs[name]["wall"].append(document["wall_seconds"])
                runs[name]["rates"].extend(rates)
                runs[name]["cpu"].append(cpu)
                if name == "overlapped":
                    concurrency_text = document["method"]["concurrency"]
    report: dict[str, Any] = {"server": {"ttft_ms": ttft_ms, "token_ms": token_ms, "tokens": max_tokens},
                              "options": common, "rounds": rounds, "modes": {},
                              "overlapped_method_card": concurrency_text}
    for name, seen in runs.items():
        cpu_known = [value for value in seen["cpu"] if value is not None]
        report["modes"][name] = {
            "options": modes[name], "wall_seconds": seen["wall"], "loads_before": seen["load"],
            "decode_median": round(statistics.median(seen["rates"]), 2) if seen["rates"] else None,
            "decode_mean": round(statistics.fmean(seen["rates"]), 2) if seen["rates"] else None,
            "runs": len(seen["rates"]),
            "cpu_seconds_per_100": round(statistics.fmean(cpu_known), 3) if cpu_known else None}
    sequential, overlapped = report["modes"]["sequential"], report["modes"]["overlapped"]
    ratio = sum(overlapped["wall_seconds"]) / sum(sequential["wall_seconds"])

    def change(key: str) -> float | None:
        before, after = sequential[key], overlapped[key]
        return round((after - before) / before, 4) if before and after else None

    decode = change("decode_median")
    report["wall_ratio"] = round(ratio, 3)
    report["small_decode_change"] = decode
    report["small_decode_mean_change"] = change("decode_mean")
    report["small_cpu_change"] = change("cpu_seconds_per_100")
    report["goals"] = {"wall_ratio_at_most": 0.45, "decode_change_within": 0.02,
                       "met": ratio <= 0.45 and decode is not None and abs(decode) <= 0.02}
    return report


def bench_memory(*, items: int, concurrency: int, checkpoint: int = 1000) -> dict[str, Any]:
    """The eval process's RSS when `checkpoint` and `items` items are done."""
    with tempfile.TemporaryDirectory() as folder, delay_server(0.0, 0.0, 3) as base_url:
        path = Path(folder) / "many.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for index in range(items):
                handle.write(json.dumps({"id": f"n{index}", "task": "translate", "source": "en", "target": "fr",
                                         "input": f"Sentence number {index} is short.",
                                         "reference": f"La phrase numéro {index} est courte."}) + "\n")
        env = {**os.environ, "LMSCALES_DATA_DIR": str(Path(folder) / "data"), "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "lmscales", "eval", "--set", str(path), "--sides", "large",
                                    "--base-url", base_url, "--model", "delayed-remote", "--warmups", "0",
                                    "--concurrency", str(concurrency), "--max-tokens", "3", "--no-history"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        watched = psutil.Process(process.pid)
        readings: dict[int, float] = {}
        assert process.stderr is not None
        progress = re.compile(r"^\[(\d+)/(\d+)\]")
        for line in process.stderr:
            found = progress.match(line)
            if found is None:
                continue
            done = int(found.group(1))
            if done in (1, checkpoint, items // 2, items) and done not in readings:
                readings[done] = watched.memory_info().rss / 2**20
        process.wait()
        seconds = time.perf_counter() - started
    growth = readings.get(items, float("nan")) - readings.get(checkpoint, float("nan"))
    return {"items": items, "concurrency": concurrency, "rss_mib": {str(k): round(v, 1) for k, v in readings.items()},
            "growth_mib": round(growth, 1), "seconds": round(seconds, 1), "exit_status": process.returncode,
            "goals": {"growth_below_mib": 50, "met": process.returncode == 0 and growth < 50}}


def describe(report: dict[str, Any]) -> str:
    if "rss_mib" in report:
        rss = report["rss_mib"]
        return (f"{report['items']} items, {report['concurrency']} at once, in {report['seconds']} s: RSS "
                + ", ".join(f"{value} MiB at item {key}" for key, value in rss.items())
                + f"; growth from item 1000 to {report['items']}: {report['growth_mib']} MiB "
                  f"(goal < 50: {'met' if report['goals']['met'] else 'NOT met'})")
    lines = [f"large side: a loopback server answering after {report['server']['ttft_ms']:g} ms, then a token every "
             f"{report['server']['token_ms']:g} ms"]
    for name, mode in report["modes"].items():
        lines.append(f"{name:>10} ({' '.join(mode['options'])}): wall {mode['wall_seconds']} s; small side decode "
                     f"median {mode['decode_median']} tok/s, mean {mode['decode_mean']} over {mode['runs']} runs, "
                     f"{mode['cpu_seconds_per_100']} CPU-s per 100 items; load before: {mode['loads_before']}")
    decode, cpu = report["small_decode_change"], report["small_cpu_change"]
    lines.append(f"wall time ratio {report['wall_ratio']} (goal ≤ 0.45); small decode rate "
                 f"{'unknown' if decode is None else f'{decode:+.1%}'} (goal within ±2 %); small CPU-s per 100 "
                 f"{'unknown' if cpu is None else f'{cpu:+.1%}'}; "
                 f"goals {'met' if report['goals']['met'] else 'NOT met'}")
    return "\n".join(lines)
