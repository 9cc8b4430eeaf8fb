"""The options `run` and `eval` share (the engines, the large side, prices, generation), defined once with one
set of defaults: `add_comparison_options`. Where evaluation needs other defaults, `EVAL_DEFAULTS` says which and
why, and `eval` sets them with `set_defaults`, so the two commands cannot drift apart again (`eval` once
dropped `--reasoning-effort` without a word)."""

from __future__ import annotations

import argparse

from lmscales.cli.arguments import context_size, positive_int, setting_value, temperature_value, top_p_value
from lmscales.core.defaults import DEFAULT_N_CTX, GENERATION_DEFAULTS
from lmscales.core.events import REASONING_EFFORTS

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
REMOTE_CONTEXT = 8192

# An evaluation measures, so it generates greedily (temperature 0: both sides' answers repeat, and a difference
# is the models', not the draw's) with the seed of `EvalPlan`'s own parameters, and with 128 tokens: its items
# are sentences, short texts and short questions, and a whole set then runs in minutes.
EVAL_DEFAULTS: dict[str, object] = {"temperature": 0.0, "max_tokens": 128, "seed": 1}


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """The small side's GGUF file, for every command that loads one (self-test and the benchmarks too)."""
    parser.add_argument("--gguf", metavar="PATH", help="GGUF file for the local side (default: the bundled model)")
    parser.add_argument("--threads", type=int,
                        help="llama.cpp threads (default: measured once per model file, the fastest within 3 %%)")
    parser.add_argument("--n-ctx", type=context_size, default=DEFAULT_N_CTX, help="context size in tokens")


def add_comparison_options(parser: argparse.ArgumentParser) -> None:
    """Everything a comparison of the two sides is set up with, as `run` and `eval` both take it."""
    add_engine_options(parser)
    large = parser.add_argument_group("the large side", "a second GGUF file on this CPU, or an OpenAI-compatible "
                                      "endpoint (its key from LMSCALES_API_KEY, or OPENAI_API_KEY for OpenAI itself)")
    large.add_argument("--large-gguf", metavar="PATH",
                       help="a second GGUF file on this CPU instead of an endpoint (fully offline)")
    large.add_argument("--large-threads", type=int, help="with --large-gguf: llama.cpp threads (default: --threads)")
    large.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
    large.add_argument("--model", dest="model_name", metavar="NAME", help="the endpoint's model name")
    large.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT, help="seconds (default: %(default)s)")
    large.add_argument("--read-timeout", type=float, default=READ_TIMEOUT, help="seconds (default: %(default)s)")
    large.add_argument("--remote-context", type=int, default=REMOTE_CONTEXT,
                       help="the endpoint model's context in tokens; longer summaries are map-reduced")
    large.add_argument("--offline", action="store_true", default=argparse.SUPPRESS,
                       help="no connection beyond this computer (the large side only if it is on this computer)")
    large.add_argument("--no-remote", action="store_true",
                       help="fail closed: refuse to send anything to a side beyond this computer (the setting "
                            "\"Never send to a remote side\")")
    prices = parser.add_argument_group("prices", "what the endpoint's tokens cost (default: the bundled table)")
    prices.add_argument("--prices", metavar="FILE.json", help="price overrides (same shape as the bundled table)")
    prices.add_argument("--price-input", type=float, help="USD per million input tokens of the endpoint's model")
    prices.add_argument("--price-output", type=float, help="USD per million output tokens of the endpoint's model")
    generation = parser.add_argument_group("generation", "the same for both sides")
    generation.add_argument("--max-tokens", type=positive_int, default=GENERATION_DEFAULTS.max_tokens)
    generation.add_argument("--temperature", type=temperature_value, default=GENERATION_DEFAULTS.temperature)
    generation.add_argument("--top-p", type=top_p_value, default=GENERATION_DEFAULTS.top_p)
    generation.add_argument("--seed", type=int, default=GENERATION_DEFAULTS.seed)
    generation.add_argument("--reasoning-effort", choices=list(REASONING_EFFORTS), default=None,
                            help="the large side: how hard a model that thinks should think (sent only when given)")


def add_decision_options(parser: argparse.ArgumentParser) -> None:
    """What the decision (acceptable answers, break-even, advice) is computed with. Each defaults to the user's
    setting (Settings › Decision and › Energy), checked against the same range; a value given here wins."""
    decision = parser.add_argument_group(
        "the decision", "which model for which task and from what volume on (default: your settings)")
    decision.add_argument("--volume", type=setting_value("decision", "volume_per_month", True, "answers a month"),
                          metavar="N", help="answers a month you expect, for the break-even")
    decision.add_argument("--electricity-price", metavar="USD_PER_KWH",
                          type=setting_value("energy", "electricity_price", False, "USD per kWh"),
                          help="what a kWh costs on this computer")
    decision.add_argument("--hardware-cost", type=setting_value("decision", "hardware_cost", False, "USD"),
                          metavar="USD", help="what the computer that runs the small model costs you")
    decision.add_argument("--hardware-months", type=setting_value("decision", "hardware_months", True, "months"),
                          metavar="N", help="months the hardware cost is spread over")
    decision.add_argument("--chrf-min", type=setting_value("decision", "translation_chrf_min", False, "chrF++ points"),
                          metavar="POINTS", help="an acceptable translation's least chrF++ against the reference")
    decision.add_argument("--facts-min", type=setting_value("decision", "summary_facts_min_percent", False, "per cent"),
                          metavar="PERCENT", help="an acceptable summary's least share of the key facts")
    decision.add_argument("--margin", type=setting_value("decision", "margin_points", False, "percentage points"),
                          metavar="POINTS", help="pass rate you accept to lose by using the small model")
    decision.add_argument("--min-items", type=setting_value("decision", "min_items", True, "items"),
                          metavar="N", help="items both sides must have answered before any advice")
