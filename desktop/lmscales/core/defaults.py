"""The defaults several rooms share, written once: generation parameters, the local context and sampling.

The settings schema, `GenerationRequest`, the window's generation panel, the command line, the local engine
and the resource monitor all read their starting values from here, so changing one default changes it
everywhere. Pure data: the generation parameters' defaults are `GenerationParams()` (`lmscales.core.generation`,
where that one type is defined); the rest are written here.
"""

from __future__ import annotations

from lmscales.core.generation import GENERATION_DEFAULTS as GENERATION_DEFAULTS

# Limits the settings schema enforces and the generation panel offers.
MAX_TEMPERATURE = 2.0
# llama.cpp reads 0xFFFFFFFF as "random"; the signed 32-bit range is safe for both sides.
MAX_SEED = 2**31 - 1

# The local model's context window, in tokens (prompt and output together).
DEFAULT_N_CTX = 4096
# The local engine's watchdog: no answer from its process for this long during a run means it hangs. The
# longest silence of a healthy run is the prompt evaluation of a full context on a slow CPU.
DEFAULT_WATCHDOG_SECONDS = 120.0

# Resource sampling.
DEFAULT_RATE_HZ = 4.0
MIN_RATE_HZ = 0.5
MAX_RATE_HZ = 20.0
DEFAULT_WINDOW_S = 120.0
DEFAULT_WATTS_PER_CORE = 10.0
