"""Windows and macOS, checked on Linux by simulating what differs there: a CPU without AVX2, Windows crash
codes, macOS's Metal offload, a cp1252 standard output, a signal module without SIGKILL, and the engine
child under offline mode. What cannot be simulated runs on the platforms themselves in
.github/workflows/tests.yml."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from lmscales import cli
from lmscales.core import offline
from lmscales.core.engines import cpu_backends, local_worker
from lmscales.core.engines.local import LocalEngine, describe_exit
from tests.conftest import TEST_THREADS, write_gguf

ROOT = Path(__file__).resolve().parents[2]
X86_64_V2 = frozenset({"SSE42"})  # e.g. a Nehalem laptop: SSE4.2, no AVX
SANDY_BRIDGE = frozenset({"SSE42", "AVX"})  # AVX but no AVX2, FMA, F16C or BMI2
HASWELL = frozenset({"SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2"})
ZEN4 = frozenset({*HASWELL, "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"})
SAPPHIRE_RAPIDS = frozenset({*ZEN4, "AVX_VNNI", "AMX_INT8"})


# -- CPU variants ------------------------------------------------------------------------------------------
def test_cpu_flags_are_read_as_llama_cpp_names_them() -> None:
    cpuinfo = ("processor\t: 0\nflags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2 avx512f avx512cd avx512vl avx512dq "
               "avx512bw avx512vbmi avx512_vnni avx512_bf16\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_backends.features_from_cpuinfo(cpuinfo) == ZEN4
    # AVX-512 counts only with all five parts llama.cpp checks
    assert "AVX512" not in cpu_backends.features_from_cpuinfo("flags : sse4_2 avx avx512f avx512cd\n")
    intel_mac = "FPU SSE4.2 AVX1.0 F16C\nFMA AVX2 BMI1 BMI2\n"
    assert cpu_backends.features_from_sysctl(intel_mac) == HASWELL


@pytest.mark.parametrize(("features", "expected"), [
    (frozenset(), "x64"), (X86_64_V2, "sse42"), (SANDY_BRIDGE, "sandybridge"), (HASWELL, "haswell"),
    (ZEN4, "zen4"), (frozenset({*HASWELL, "AVX_VNNI"}), "alderlake"),
    (SAPPHIRE_RAPIDS, "zen4"),  # never the AMX variant: its kernels died of an illegal instruction here
])
def test_every_x86_64_cpu_gets_the_best_variant_it_can_run(features: frozenset[str], expected: str) -> None:
    assert cpu_backends.best_variant(cpu_backends.VARIANT_NEEDS, features) == expected


def test_a_cpu_without_avx2_is_told_what_it_lacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build holding only AVX2-level backends (as the old portable build was), on a CPU without AVX2: a
    clear refusal naming AVX2 instead of a child dying of an illegal instruction."""
    for name in ("libggml-cpu-haswell.so", "libggml-cpu-skylakex.so", "libggml-cpu-zen4.so"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(cpu_backends, "_loaded", None)
    with pytest.raises(cpu_backends.CpuBackendError) as caught:
        cpu_backends.ensure_loaded(tmp_path, features=SANDY_BRIDGE)
    message = str(caught.value)
    assert "cannot run on this computer: this processor lacks AVX2, BMI2, F16C, FMA, which" in message
    assert "(haswell)" in message
    assert cpu_backends._loaded is None  # nothing was loaded; the next try asks again


def test_a_build_without_variants_is_refused_on_a_cpu_without_avx2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_backends, "_loaded", None)
    monkeypatch.setattr(cpu_backends, "backend_folder", lambda: None)
    monkeypatch.setattr(cpu_backends, "is_x86_64", lambda machine=None: True)
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(cpu_backends.CpuBackendError,
                       match=r"lacks AVX2, AVX, BMI2, F16C, FMA, which this build of llama.cpp \(x86-64-v3\)"):
        cpu_backends.ensure_loaded(features=X86_64_V2)
    assert cpu_backends.ensure_loaded(features=HASWELL) == ""  # an AVX2 CPU runs the built-in backend


@pytest.mark.parametrize(("reported", "expected"), [
    ({38, 39, 40}, HASWELL),  # Windows reports AVX2 but not FMA, F16C, BMI2: they come with it
    ({38, 39}, SANDY_BRIDGE),
])
def test_windows_cpu_probe(reported: set[int], expected: frozenset[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' IsProcessorFeaturePresent, simulated: an AVX2 CPU is never refused for features Windows
    cannot report."""
    import ctypes
    import types

    kernel32 = types.SimpleNamespace(IsProcessorFeaturePresent=lambda code: code in reported)
    monkeypatch.setattr(ctypes, "windll", types.SimpleNamespace(kernel32=kernel32), raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(cpu_backends, "is_x86_64", lambda machine=None: True)
    features = cpu_backends.cpu_features()
    assert features == expected
    monkeypatch.setattr(cpu_backends, "_loaded", None)
    monkeypatch.setattr(cpu_backends, "backend_folder", lambda: None)
    if expected == HASWELL:
        assert cpu_backends.ensure_loaded(features=features) == ""
    else:
        with pytest.raises(cpu_backends.CpuBackendError, match="lacks AVX2"):
            cpu_backends.ensure_loaded(features=features)


@pytest.mark.slow
def test_llama_cpp_loads_the_variant_we_predict_and_a_model_runs_on_it(bundled_model: Path) -> None:
    """The real library in a fresh process: ggml's own choice among the installed variants is the one our
    probe and scoring predict for this CPU (so the refusal above reasons as ggml does), and a model loads."""
    folder = cpu_backends.backend_folder()
    if folder is None:
        pytest.skip("this llama-cpp-python build has its CPU backend built in (no variants; see dev.py)")
    script = textwrap.dedent(f"""
        import json
        from lmscales.core.engines import cpu_backends, local_worker
        loaded = cpu_backends.ensure_loaded()
        folder = cpu_backends.backend_folder()
        predicted = cpu_backends.best_variant(cpu_backends.variants_in(folder), cpu_backends.cpu_features())
        from llama_cpp import Llama
        llama = Llama(**local_worker.llama_options({str(bundled_model)!r}, 256, 1))
        tokens = llama.tokenize(b"Hello")
        llama.close()
        print(json.dumps({{"loaded": loaded, "predicted": predicted, "tokens": len(tokens),
                          "variants": cpu_backends.variants_in(folder)}}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    assert {"x64", "sse42", "haswell"} <= set(report["variants"])
    if sys.platform.startswith("linux"):  # memory maps name the library (psutil cannot on macOS)
        assert report["loaded"] == report["predicted"]
    assert report["tokens"] > 0


# -- Windows crash codes, macOS Metal ------------------------------------------------------------------------
@pytest.mark.parametrize(("exitcode", "expected"), [
    (3221225477, "access violation, exception code 0xC0000005"),
    (-1073741819, "access violation, exception code 0xC0000005"),  # the same code, read as signed
    (3221225501, "illegal instruction: this processor lacks an instruction set"),
    (-4, "signal 4, SIGILL, illegal instruction"),
    (-11, "signal 11, SIGSEGV"),
    (3, "exited unexpectedly (exit code 3)"),
])
def test_crash_codes_are_named(exitcode: int, expected: str) -> None:
    assert expected in describe_exit(exitcode)


def test_the_small_side_stays_on_the_cpu_on_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    """llama-cpp-python builds Metal in on macOS; with op_offload on, prompt batches run on the GPU even with
    no GPU layers. The options the worker gives Llama keep everything on the CPU, and Llama accepts them."""
    import inspect

    from llama_cpp import Llama

    monkeypatch.setattr(sys, "platform", "darwin")
    options = local_worker.llama_options("model.gguf", 4096, 4)
    assert options["op_offload"] is False and options["n_gpu_layers"] == 0 and options["offload_kqv"] is False
    accepted = inspect.signature(Llama.__init__).parameters
    assert set(options) <= set(accepted)


# -- the engine child under offline mode ----------------------------------------------------------------------
def test_the_engine_child_is_started_offline_when_the_app_is(bundled_model: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[tuple[object, ...]] = []
    context = multiprocessing.get_context("spawn")
    real_process = context.Process

    def recording_process(*args: object, **kwargs: object) -> object:
        spawned.append(tuple(kwargs["args"]))  # type: ignore[arg-type]
        return real_process(*args, **kwargs)

    monkeypatch.setattr(context, "Process", recording_process)
    for offline_mode in (True, False):
        engine = LocalEngine(n_threads=TEST_THREADS, n_ctx=512)
        if offline_mode:
            offline.enable()
        try:
            engine.load(bundled_model)  # the child starts, guarded or not, and loads the model either way
            assert engine.model is not None
        finally:
            offline.disable()
            engine.close()
    assert [args[-1] for args in spawned] == [True, False]


def test_the_engine_child_installs_the_guard_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoLog:  # llama.cpp's log callback stays as it is in this (test) process
        def __init__(self) -> None:
            self.lines: list[str] = []

    monkeypatch.setattr(local_worker, "_LogTail", NoLog)
    parent, child = multiprocessing.Pipe(duplex=True)
    worker = threading.Thread(target=local_worker.main, args=(child, multiprocessing.RawValue("q", 0), True))
    try:
        worker.start()
        parent.send(("shutdown",))
        worker.join(timeout=30)
        assert not worker.is_alive()
        assert offline.enabled()
    finally:
        offline.disable()
        parent.close()


# -- output on a cp1252 console or file ------------------------------------------------------------------------
def _cp1252_stdout() -> io.TextIOWrapper:
    """Standard output as Windows gives it to a program whose output is redirected to a file."""
    return io.TextIOWrapper(io.BytesIO(), encoding="cp1252", errors="strict", newline="\n")


def test_redirected_output_takes_any_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = write_gguf(tmp_path / "ja.gguf", "llama", {"general.name": "日本語モデル ✓"})
    stdout = _cp1252_stdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    assert cli.main(["models", "info", str(model)]) == 0  # before the fix: UnicodeEncodeError
    stdout.flush()
    assert "日本語モデル ✓" in stdout.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def test_a_console_that_is_not_utf8_gets_replacement_characters() -> None:
    class Console(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    console = Console(io.BytesIO(), encoding="cp1252", errors="strict")
    cli.make_output_safe(console, console)
    console.write("こんにちは café")
    console.flush()
    assert console.buffer.getvalue().decode("cp1252") == "????? café"


@pytest.mark.slow
def test_a_japanese_translation_redirected_on_windows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      bundled_model: Path) -> None:
    """`lmscales run --task translate --target-lang ja > out.txt` with Windows' cp1252 standard output."""
    source = tmp_path / "in.txt"
    source.write_text("Good morning. The weather is nice today.", encoding="utf-8")
    stdout = _cp1252_stdout()
    monkeypatch.setattr(sys, "stdout", stdout)
    code = cli.main(["run", "--task", "translate", "--target-lang", "ja", "--input", str(source), "--max-tokens",
                     "24", "--threads", str(TEST_THREADS), "--json", "--temperature", "0"])
    stdout.flush()
    report = json.loads(stdout.buffer.getvalue().decode("utf-8"))  # type: ignore[attr-defined]
    small = report["sides"]["small"]
    assert code == 0 and small["error"] is None and small["text"].strip()


# -- the test suite collects where there is no SIGKILL ----------------------------------------------------------
def test_the_tests_collect_without_posix_signals() -> None:
    """Windows' signal module has no SIGKILL: the tests that kill the engine must still be collected (and skip
    where they cannot run) instead of failing the whole collection at import."""
    script = textwrap.dedent("""
        import signal, sys
        for name in ("SIGKILL", "SIGSTOP", "SIGUSR1"):
            if hasattr(signal, name):
                delattr(signal, name)
        import pytest
        sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "tests/core/test_local_engine.py",
                              "tests/ui/test_bad_input.py"]))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            check=False, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "test_native_crash_is_reported_and_the_engine_recovers[SIGKILL]" in result.stdout
    assert "test_the_engine_killed_mid_run_is_reported_and_the_next_run_works" in result.stdout


# -- the test suite's own guard refuses DNS lookups ------------------------------------------------------------
def test_the_suite_guard_refuses_dns_lookups() -> None:
    import socket

    from tests import conftest

    for lookup in (lambda: socket.getaddrinfo("example.com", 443), lambda: socket.gethostbyname("example.com"),
                   lambda: socket.gethostbyaddr("203.0.113.5"), lambda: socket.getnameinfo(("example.com", 80), 0)):
        with pytest.raises(socket.gaierror, match="test guard"):
            lookup()
    assert len(conftest.BEYOND_LOOPBACK) == 4
    conftest.BEYOND_LOOPBACK.clear()  # refused on purpose here
    assert socket.getaddrinfo("127.0.0.1", 80) and socket.getaddrinfo("localhost", 80)
