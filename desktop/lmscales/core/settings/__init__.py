"""The user's settings: one typed schema, stored as JSON in the platform's config folder.

Every setting is a field of a frozen dataclass with a default and a description (for the settings
dialog, through `describe()`), and is validated when it is made, so a `Settings` in memory is always a
valid one. The file carries `schema_version`; older layouts are brought up to date by `MIGRATIONS`.
Loading never fails (see `io.py`). A `SettingsStore` holds the current settings and tells each part of
the app when the settings it subscribed to change.

The package, napari's `settings/` in miniature:
- `fields.py`: the field framework (metadata, validation, dotted paths, description, JSON of a section);
- `schema.py`: one small frozen section per part of the app, and `Settings`;
- `migrations.py`: the schema version and the steps from older layouts;
- `io.py`: the config folder, saving atomically, loading with backups and set-aside of bad files;
- `store.py`: the current settings and change subscriptions filtered by path.

The API key is not a setting: it lives in the system keyring (`lmscales.core.secrets`), never in this
file.
"""

from __future__ import annotations

from lmscales.core.settings.fields import SettingInfo, SettingValueError
from lmscales.core.settings.io import (
    APP_NAME,
    CONFIG_DIR_ENV,
    SETTINGS_FILE,
    LoadResult,
    config_dir,
    from_dict,
    load_settings,
    save_settings,
    settings_path,
    to_dict,
)
from lmscales.core.settings.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, migrate
from lmscales.core.settings.schema import (
    EndpointSettings,
    EnergySettings,
    GenerationSettings,
    LocalEngineSettings,
    PriceOverride,
    RunMode,
    SamplerSettings,
    Settings,
    SystemPrompts,
    Theme,
    changed,
    describe,
    refused_entry,
)
from lmscales.core.settings.store import SettingsChange, SettingsStore, Subscriber

__all__ = [
    "APP_NAME",
    "CONFIG_DIR_ENV",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SETTINGS_FILE",
    "EndpointSettings",
    "EnergySettings",
    "GenerationSettings",
    "LoadResult",
    "LocalEngineSettings",
    "Migration",
    "PriceOverride",
    "RunMode",
    "SamplerSettings",
    "SettingInfo",
    "SettingValueError",
    "Settings",
    "SettingsChange",
    "SettingsStore",
    "Subscriber",
    "SystemPrompts",
    "Theme",
    "changed",
    "config_dir",
    "describe",
    "from_dict",
    "load_settings",
    "migrate",
    "refused_entry",
    "save_settings",
    "settings_path",
    "to_dict",
]
