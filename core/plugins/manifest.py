"""What a plugin says about itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol

#: The provider kinds a plugin can declare. Source: the seed architecture's plugin kinds.
PLUGIN_KINDS = (
    "indexer",
    "downloader",
    "storage_provider",
    "tuner",
    "transcoder",
    "ai_backend",
    "metadata_provider",
    "discovery",
)

_NAME = vol.Match(r"^[a-z][a-z0-9_]*$", msg="must be lowercase letters, digits and underscores")


@dataclass(frozen=True)
class PluginManifest:
    """A plugin's identity and needs.

    - ``name``: the platform name users write in ``plugins: - platform: NAME``.
    - ``version``: the plugin's own version string.
    - ``kinds``: which of :data:`PLUGIN_KINDS` it provides.
    - ``config_schema``: a voluptuous schema for the keys of its config entries (``platform`` and
      ``name`` are added by the hub), or ``None`` when it takes no options.
    - ``zeroconf``: mDNS service types it wants offered, e.g. ``"_googlecast._tcp.local."``.
    - ``ssdp``: SSDP matchers, each a dict of header → value, e.g. ``{"st": "urn:…:MediaRenderer:1"}``.
    - ``min_hub_version``: the oldest hub version it works with (``"0.1.0"``).
    """

    name: str
    version: str = "0.0.0"
    description: str = ""
    kinds: tuple[str, ...] = ()
    config_schema: vol.Schema | None = None
    zeroconf: tuple[str, ...] = ()
    ssdp: tuple[dict[str, str], ...] = ()
    min_hub_version: str = "0.0.0"
    documentation: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            _NAME(self.name)
        except vol.Invalid as err:
            raise ValueError(f"plugin name {self.name!r} {err.msg}") from err
        unknown = [k for k in self.kinds if k not in PLUGIN_KINDS]
        if unknown:
            raise ValueError(f"plugin {self.name}: unknown kinds {unknown}; known: {', '.join(PLUGIN_KINDS)}")
        for service_type in self.zeroconf:
            if not service_type.endswith("._tcp.local.") and not service_type.endswith("._udp.local."):
                raise ValueError(
                    f"plugin {self.name}: zeroconf type {service_type!r} must end in '._tcp.local.' or '._udp.local.'"
                )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "kinds": list(self.kinds),
            "zeroconf": list(self.zeroconf),
            "ssdp": [dict(m) for m in self.ssdp],
            "min_hub_version": self.min_hub_version,
            "documentation": self.documentation,
            "has_config_schema": self.config_schema is not None,
        }


def version_tuple(version: str) -> tuple[int, ...]:
    """``"1.2.3rc1"`` → ``(1, 2, 3)``: the leading numeric parts, for comparisons."""
    parts = []
    for piece in version.split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)
