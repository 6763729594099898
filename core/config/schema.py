"""The hub's configuration schema and the validation that turns voluptuous errors into
``configuration.yaml, line 12: expected int for 'hub -> port', got 'abc'``."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import voluptuous as vol

from ..acquisition.config import ACQUISITION_SCHEMA
from ..const import DEFAULT_PORT, MEDIA_TYPES
from ..dvr.config import DVR_SCHEMA
from ..playback.config import PLAYBACK_SCHEMA
from ..transcode.config import TRANSCODE_SCHEMA
from .loader import ConfigError, NodeDict, NodeList

LIBRARY_TYPES = (*MEDIA_TYPES, "mixed")
LOG_LEVELS = ("debug", "info", "warning", "error")

HUB_SCHEMA = vol.Schema(
    {
        vol.Optional("name", default="Omni-Media"): str,
        vol.Optional("host", default="0.0.0.0"): str,
        vol.Optional("port", default=DEFAULT_PORT): vol.All(vol.Coerce(int), vol.Range(min=0, max=65535)),
        vol.Optional("log_level", default="info"): vol.In(LOG_LEVELS),
        vol.Optional("plugin_setup_timeout", default=30.0): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        # The address devices on the network use to reach the hub, when it is not the one they
        # would see directly (a reverse proxy, a port mapping): http(s)://host[:port]
        vol.Optional("external_url"): vol.All(str, vol.Match(r"^https?://[^/\s]+/?$", msg="must be http(s)://host[:port]")),
    }
)

LIBRARY_SCHEMA = vol.Schema(
    {
        vol.Required("path"): str,
        vol.Optional("name"): str,
        vol.Optional("type", default="mixed"): vol.In(LIBRARY_TYPES),
        vol.Optional("watch", default=True): bool,
    }
)

SCANNER_SCHEMA = vol.Schema(
    {
        vol.Optional("probe_concurrency", default=4): vol.All(vol.Coerce(int), vol.Range(min=1, max=64)),
        vol.Optional("probe_timeout", default=60.0): vol.All(vol.Coerce(float), vol.Range(min=1)),
        vol.Optional("ignore", default=[]): [str],
    }
)

DATABASE_SCHEMA = vol.Schema({vol.Optional("url"): str})

DISCOVERY_SCHEMA = vol.Schema(
    {
        vol.Optional("zeroconf", default=True): bool,
        vol.Optional("ssdp", default=True): bool,
        vol.Optional("advertise", default=True): bool,
        vol.Optional("interfaces"): [str],
    }
)

PLUGIN_ENTRY_BASE = {vol.Required("platform"): str, vol.Optional("name"): str}

CORE_SCHEMA = vol.Schema(
    {
        vol.Optional("hub", default={}): HUB_SCHEMA,
        vol.Optional("database", default={}): DATABASE_SCHEMA,
        vol.Optional("libraries", default=[]): [LIBRARY_SCHEMA],
        vol.Optional("scanner", default={}): SCANNER_SCHEMA,
        vol.Optional("discovery", default={}): DISCOVERY_SCHEMA,
        vol.Optional("acquisition", default={}): ACQUISITION_SCHEMA,
        vol.Optional("transcode", default={}): TRANSCODE_SCHEMA,
        vol.Optional("playback", default={}): PLAYBACK_SCHEMA,
        vol.Optional("dvr", default={}): DVR_SCHEMA,
        vol.Optional("plugins_dir"): str,
        # Validated one by one against each plugin's own schema, see validate_plugin_entries().
        vol.Optional("plugins", default=[]): [dict],
    }
)


@dataclass
class HubConfig:
    """The validated configuration. ``raw`` keeps the loaded (unvalidated) tree for the API."""

    config_dir: Path
    hub: dict[str, Any]
    database: dict[str, Any]
    libraries: list[dict[str, Any]]
    scanner: dict[str, Any]
    discovery: dict[str, Any]
    plugins: list[dict[str, Any]]
    plugins_dir: Path | None = None
    acquisition: dict[str, Any] = field(default_factory=dict)
    transcode: dict[str, Any] = field(default_factory=dict)
    playback: dict[str, Any] = field(default_factory=dict)
    dvr: dict[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.database.get("url") or f"sqlite+aiosqlite:///{self.config_dir / 'omnimedia.db'}"


def _lookup(tree: Any, path: list[Any]) -> tuple[Any, tuple[str, int] | None]:
    """Walk ``path`` in the loaded tree; return the value found and the best known (file, line)."""
    node, where = tree, getattr(tree, "source", None)
    for step in path:
        if isinstance(node, NodeDict) and step in node:
            where = node.key_source.get(step, where)
            node = node[step]
            where = getattr(node, "source", None) or where
        elif isinstance(node, NodeList) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
            where = getattr(node, "source", None) or where
        else:
            break
    return node, where


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(str(value)) if isinstance(value, str) else repr(value)


def errors_from_invalid(
    err: vol.Invalid, tree: Any, prefix: list[Any] | None = None, available: Mapping[Any, Any] | None = None
) -> list[ConfigError]:
    """Turn one voluptuous error (or many) into :class:`ConfigError` s with file and line.

    ``available`` maps a path (tuple) to the keys allowed there, to list them for unknown keys.
    """
    prefix = prefix or []
    out = []
    for e in err.errors if isinstance(err, vol.MultipleInvalid) else [err]:
        path = prefix + list(e.path)
        value, where = _lookup(tree, path)
        shown = " -> ".join(str(p) for p in path)
        if e.error_message == "extra keys not allowed":
            parent = path[:-1]
            allowed = sorted(map(str, (available or {}).get(tuple(p for p in parent if not isinstance(p, int)), [])))
            msg = f"unknown key '{shown}'"
            if allowed:
                close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
                msg += f" (did you mean '{close[0]}'?)" if close else ""
                msg += f"; valid keys here: {', '.join(allowed)}"
        elif e.error_message.startswith("required key not provided"):
            msg = f"required key '{shown}' is missing"
        else:
            msg = f"{e.msg} for '{shown}', got {_describe(value)}"
        out.append(ConfigError(msg, *(where or (None, None))))
    return out


def _schema_keys(schema: vol.Schema) -> list[str]:
    return [str(k.schema if isinstance(k, vol.Marker) else k) for k in schema.schema]


def allowed_keys() -> dict[tuple[Any, ...], list[str]]:
    """Allowed keys for each level of the core schema (for 'valid keys here' hints)."""
    return {
        (): _schema_keys(CORE_SCHEMA),
        ("hub",): _schema_keys(HUB_SCHEMA),
        ("libraries",): _schema_keys(LIBRARY_SCHEMA),
        ("scanner",): _schema_keys(SCANNER_SCHEMA),
        ("database",): _schema_keys(DATABASE_SCHEMA),
        ("discovery",): _schema_keys(DISCOVERY_SCHEMA),
        ("acquisition",): _schema_keys(ACQUISITION_SCHEMA),
        ("transcode",): _schema_keys(TRANSCODE_SCHEMA),
        ("playback",): _schema_keys(PLAYBACK_SCHEMA),
        ("dvr",): _schema_keys(DVR_SCHEMA),
    }


def validate_core(tree: Any, config_dir: Path) -> tuple[HubConfig | None, list[ConfigError]]:
    """Validate everything but the plugin entries' own keys."""
    if tree is None:
        tree = NodeDict()
    if not isinstance(tree, dict):
        where = getattr(tree, "source", ("configuration.yaml", 1))
        return None, [ConfigError("the top level must be a mapping of sections", *where)]
    try:
        data = CORE_SCHEMA(dict(tree))
    except vol.Invalid as err:
        return None, errors_from_invalid(err, tree, available=allowed_keys())
    errors: list[ConfigError] = []
    for i, lib in enumerate(data["libraries"]):
        path = Path(lib["path"]).expanduser()
        if not path.is_absolute():
            path = config_dir / path
        lib["path"] = str(path)
        lib.setdefault("name", path.name or str(path))
        if not path.is_dir():
            _, where = _lookup(tree, ["libraries", i, "path"])
            errors.append(ConfigError(f"library folder does not exist: {path}", *(where or (None, None))))
    plugins_dir = None
    if data.get("plugins_dir"):
        plugins_dir = Path(data["plugins_dir"]).expanduser()
        if not plugins_dir.is_absolute():
            plugins_dir = config_dir / plugins_dir
    config = HubConfig(
        config_dir=config_dir,
        hub=data["hub"],
        database=data["database"],
        libraries=data["libraries"],
        scanner=data["scanner"],
        discovery=data["discovery"],
        plugins=data["plugins"],
        plugins_dir=plugins_dir,
        acquisition=data["acquisition"],
        transcode=data["transcode"],
        playback=data["playback"],
        dvr=data["dvr"],
        raw=tree,
    )
    return config, errors


def validate_plugin_entries(
    tree: Any, schemas: Mapping[str, vol.Schema | None]
) -> tuple[list[dict[str, Any]], list[ConfigError]]:
    """Validate each entry of the ``plugins:`` list in the loaded ``tree`` against its platform's
    schema. ``schemas`` maps every available platform to its config schema (``None``: no
    options). Returns the validated entries and the errors; unknown platforms are errors that list
    the available ones."""
    entries: list[dict[str, Any]] = []
    errors: list[ConfigError] = []
    raw_list = tree.get("plugins") if isinstance(tree, dict) else None
    if not isinstance(raw_list, list):
        return entries, errors  # absent, or already reported by the core schema
    for i, entry in enumerate(raw_list):
        if not isinstance(entry, dict):
            continue  # reported by the core schema ("expected a dictionary")
        platform = entry.get("platform")
        if not isinstance(platform, str):
            _, where = _lookup(tree, ["plugins", i])
            errors.append(ConfigError(f"'plugins -> {i}' needs a 'platform' key", *(where or (None, None))))
            continue
        if platform not in schemas:
            _, where = _lookup(tree, ["plugins", i, "platform"])
            close = difflib.get_close_matches(platform, list(schemas), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            errors.append(
                ConfigError(
                    f"unknown plugin platform '{platform}'{hint}; available: {', '.join(sorted(schemas)) or 'none'}",
                    *(where or (None, None)),
                )
            )
            continue
        own = schemas[platform]
        keys = {**PLUGIN_ENTRY_BASE, **(own.schema if own is not None and isinstance(own.schema, dict) else {})}
        extra = own.extra if own is not None else vol.PREVENT_EXTRA
        try:
            entries.append(vol.Schema(keys, extra=extra)(dict(entry)))
        except vol.Invalid as err:
            allowed = {("plugins",): [str(k.schema if isinstance(k, vol.Marker) else k) for k in keys]}
            errors.extend(errors_from_invalid(err, tree, ["plugins", i], allowed))
    return entries, errors
