"""Runtime assets (sample texts, later icons, themes, price table), importable as `lmscales.resources`
so they load through `importlib.resources` from a checkout, a wheel and a frozen bundle alike."""
