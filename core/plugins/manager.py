"""Loading, isolating and setting up plugins.

Plugins come from the entry-point group ``omnimedia.plugins`` (built-in plugins are registered
there exactly like third-party ones) and from single ``*.py`` files in a plugins folder. A plugin
that fails to import, to set up, or to finish setup within the timeout gets the state ``failed``
with the reason, and the hub runs on. A plugin that raises ``PluginNotReady`` is retried with
exponential backoff.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import logging
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
import voluptuous as vol

from .. import __version__
from ..const import EVENT_PLUGIN_STATE
from ..errors import PluginNotReady
from . import hookspecs
from .kinds import KIND_CLASSES, Provider
from .manifest import PluginManifest, version_tuple

if TYPE_CHECKING:
    from ..hub import Hub

_LOGGER = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "omnimedia.plugins"
LOCAL_MODULE_PREFIX = "omnimedia_local_plugins"

#: Plugin states, in the order a plugin normally goes through them.
STATES = ("loaded", "setting_up", "running", "retrying", "failed", "stopped")

RETRY_FIRST = 5.0
RETRY_MAX = 300.0

#: Accepts any keys: the schema for a platform whose plugin could not even be imported.
_ANY = vol.Schema({}, extra=vol.ALLOW_EXTRA)


@dataclass
class PluginRecord:
    """One plugin as the hub knows it."""

    name: str
    source: str
    module: ModuleType | None = None
    manifest: PluginManifest | None = None
    state: str = "loaded"
    reason: str | None = None
    retries: int = 0
    providers: dict[str, list[type[Provider]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "state": self.state,
            "reason": self.reason,
            "retries": self.retries,
            "manifest": self.manifest.as_dict() if self.manifest else None,
            "providers": {k: [c.__name__ for c in v] for k, v in self.providers.items()},
        }


def _reason(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if str(err) else text


class PluginManager:
    """Owns the pluggy manager and the records of every plugin."""

    def __init__(self, hub: Hub | None = None) -> None:
        self.hub = hub
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginRecord] = {}
        self._retry_tasks: dict[str, asyncio.Task[None]] = {}

    # -- loading --------------------------------------------------------------------------------
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import every plugin registered under the entry-point ``group``."""
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            source = f"entry point {ep.value}" + (f" ({ep.dist.name})" if ep.dist else "")
            try:
                module = ep.load()
            except Exception as err:  # noqa: BLE001 - any import error isolates the plugin
                _LOGGER.error("plugin %s failed to import:\n%s", ep.name, traceback.format_exc())
                self._record_failed(ep.name, source, f"import failed: {_reason(err)}")
                continue
            self.register(module, source, fallback_name=ep.name)

    def load_directory(self, folder: Path) -> None:
        """Import every ``*.py`` file in ``folder`` as a single-file plugin."""
        folder = Path(folder)
        if not folder.is_dir():
            _LOGGER.warning("plugins folder %s does not exist", folder)
            return
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            module_name = f"{LOCAL_MODULE_PREFIX}.{path.stem}"
            try:
                spec = importlib.util.spec_from_file_location(module_name, path)
                assert spec and spec.loader
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            except Exception as err:  # noqa: BLE001
                sys.modules.pop(module_name, None)
                _LOGGER.error("plugin file %s failed to import:\n%s", path, traceback.format_exc())
                self._record_failed(path.stem, f"file {path}", f"import failed: {_reason(err)}")
                continue
            self.register(module, f"file {path}", fallback_name=path.stem)

    def register(self, module: Any, source: str, fallback_name: str | None = None) -> PluginRecord:
        """Register an imported plugin object (module or instance) and read its manifest."""
        name = fallback_name or getattr(module, "__name__", repr(module)).rsplit(".", 1)[-1]
        try:
            self.pm.register(module, name=f"{source}:{name}")
        except Exception as err:  # noqa: BLE001 - e.g. a hookimpl that matches no hookspec
            return self._record_failed(name, source, f"cannot register: {_reason(err)}")
        try:
            self.pm.check_pending()
            manifest = self._call_one(module, "omnimedia_manifest")
            if manifest is None:
                manifest = PluginManifest(name=name)
            if not isinstance(manifest, PluginManifest):
                raise TypeError(f"omnimedia_manifest must return a PluginManifest, got {type(manifest).__name__}")
            name = manifest.name
            if name in self.plugins and self.plugins[name].module is not None:
                raise ValueError(f"the name '{name}' is already used by {self.plugins[name].source}")
            if version_tuple(__version__) < version_tuple(manifest.min_hub_version):
                raise RuntimeError(f"needs hub version {manifest.min_hub_version} or newer; this hub is {__version__}")
            providers = self._collect_providers(module, manifest)
        except Exception as err:  # noqa: BLE001
            self.pm.unregister(module)
            return self._record_failed(name, source, _reason(err))
        record = PluginRecord(name=name, source=source, module=module, manifest=manifest, providers=providers)
        self.plugins[name] = record
        _LOGGER.debug("loaded plugin %s from %s", name, source)
        return record

    def _collect_providers(self, module: Any, manifest: PluginManifest) -> dict[str, list[type[Provider]]]:
        out: dict[str, list[type[Provider]]] = {}
        for hook, kind in hookspecs.PROVIDER_HOOKS.items():
            classes = self._call_one(module, hook)
            if not classes:
                continue
            base = KIND_CLASSES[kind]
            for cls in classes:
                if not (isinstance(cls, type) and issubclass(cls, base)):
                    raise TypeError(f"{hook} must return subclasses of {base.__name__}, got {cls!r}")
                if not cls.platform:
                    cls.platform = manifest.name
            out[kind] = list(classes)
        return out

    def _record_failed(self, name: str, source: str, reason: str) -> PluginRecord:
        record = PluginRecord(name=name, source=source, state="failed", reason=reason)
        self.plugins.setdefault(name, record)
        return self.plugins[name]

    def _call_one(self, plugin: Any, hook_name: str, **kwargs: Any) -> Any:
        """Call one plugin's implementation of a hook (``None`` when it has none)."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin:
                return impl.function(**{k: kwargs[k] for k in impl.argnames})
        return None

    # -- queries --------------------------------------------------------------------------------
    def config_schemas(self) -> dict[str, vol.Schema | None]:
        """Platform → config schema, for every known plugin (failed imports accept any keys)."""
        return {
            name: (rec.manifest.config_schema if rec.manifest else _ANY) for name, rec in self.plugins.items()
        }

    def providers(self, kind: str) -> dict[str, type[Provider]]:
        """Platform → provider class of ``kind``, from running plugins."""
        out: dict[str, type[Provider]] = {}
        for rec in self.plugins.values():
            if rec.state == "running":
                for cls in rec.providers.get(kind, []):
                    out[cls.platform] = cls
        return out

    def zeroconf_types(self) -> dict[str, list[str]]:
        """mDNS service type → names of the plugins that asked for it."""
        out: dict[str, list[str]] = {}
        for rec in self.plugins.values():
            if rec.manifest and rec.state != "failed":
                for service_type in rec.manifest.zeroconf:
                    out.setdefault(service_type, []).append(rec.name)
        return out

    def as_list(self) -> list[dict[str, Any]]:
        return [rec.as_dict() for rec in sorted(self.plugins.values(), key=lambda r: r.name)]

    # -- lifecycle ------------------------------------------------------------------------------
    def _set_state(self, record: PluginRecord, state: str, reason: str | None = None) -> None:
        record.state, record.reason = state, reason
        log = _LOGGER.error if state == "failed" else _LOGGER.debug if state == "setting_up" else _LOGGER.info
        log("plugin %s: %s%s", record.name, state, f" ({reason})" if reason else "")
        if self.hub is not None:
            self.hub.bus.fire(EVENT_PLUGIN_STATE, {"plugin": record.name, "state": state, "reason": reason})

    async def setup_all(self, entries: list[Mapping[str, Any]], timeout: float) -> None:
        """Set up every loaded plugin concurrently with its config ``entries``."""
        by_platform: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            by_platform.setdefault(entry["platform"], []).append(dict(entry))
        records = [r for r in self.plugins.values() if r.module is not None and r.state == "loaded"]
        await asyncio.gather(*(self._setup(r, by_platform.get(r.name, []), timeout) for r in records))

    async def _setup(self, record: PluginRecord, entries: list[dict[str, Any]], timeout: float) -> None:
        self._set_state(record, "setting_up")
        try:
            async with asyncio.timeout(timeout):
                result = self._call_one(record.module, "omnimedia_setup", hub=self.hub, entries=entries)
                if inspect.isawaitable(result):
                    await result
        except TimeoutError:
            self._set_state(record, "failed", f"setup timed out after {timeout:g} s")
            return
        except PluginNotReady as err:
            record.retries += 1
            delay = min(RETRY_FIRST * 2 ** (record.retries - 1), RETRY_MAX)
            self._set_state(record, "retrying", f"not ready: {err}; retry {record.retries} in {delay:g} s")
            self._retry_tasks[record.name] = asyncio.get_running_loop().create_task(
                self._retry_later(record, entries, timeout, delay)
            )
            return
        except Exception as err:  # noqa: BLE001 - a plugin must never take the hub down
            _LOGGER.error("plugin %s setup failed:\n%s", record.name, traceback.format_exc())
            self._set_state(record, "failed", f"setup failed: {_reason(err)}")
            return
        self._set_state(record, "running")

    async def _retry_later(self, record: PluginRecord, entries: list[dict[str, Any]], timeout: float, delay: float) -> None:
        await asyncio.sleep(delay)
        self._retry_tasks.pop(record.name, None)
        await self._setup(record, entries, timeout)

    async def offer_discovery(self, plugin_names: list[str], discovery: Any) -> None:
        """Hand a discovered service to the plugins that asked for it."""
        for name in plugin_names:
            record = self.plugins.get(name)
            if record is None or record.state != "running":
                continue
            try:
                result = self._call_one(record.module, "omnimedia_discovered", hub=self.hub, discovery=discovery)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001
                _LOGGER.exception("plugin %s failed handling a discovery", name)

    async def teardown_all(self, timeout: float = 10.0) -> None:
        for task in self._retry_tasks.values():
            task.cancel()
        self._retry_tasks.clear()
        for record in self.plugins.values():
            if record.state != "running":
                continue
            try:
                async with asyncio.timeout(timeout):
                    result = self._call_one(record.module, "omnimedia_teardown", hub=self.hub)
                    if inspect.isawaitable(result):
                        await result
            except Exception:  # noqa: BLE001
                _LOGGER.exception("plugin %s failed to tear down", record.name)
            self._set_state(record, "stopped")
