"""Entity and device registries, keyed by ``(platform, unique_id)``.

Home Assistant's model, leaner: an *entry* is what the hub remembers about a device or an entity
across restarts (its stable id, name, which plugin owns it). The state machine holds what it is
doing now. Deleted entries are remembered so that a device or entity that comes back gets the same
id it had before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .bus import EventBus, new_id
from .const import EVENT_DEVICE_REGISTRY_UPDATED, EVENT_ENTITY_REGISTRY_UPDATED
from .states import valid_entity_id
from .storage import Store

DEVICE_STATUSES = ("discovered", "available", "unavailable", "ignored")


class InvalidUniqueId(ValueError):
    """A registry key was not ``(platform, unique_id)`` with both non-empty strings."""


def check_key(platform: Any, unique_id: Any) -> tuple[str, str]:
    """Return ``(platform, unique_id)``; raise :class:`InvalidUniqueId` if either is not a
    non-empty string (an int unique id is a bug in the plugin, not something to coerce)."""
    if not isinstance(platform, str) or not platform:
        raise InvalidUniqueId(f"platform must be a non-empty string, got {platform!r}")
    if not isinstance(unique_id, str) or not unique_id.strip():
        raise InvalidUniqueId(
            f"unique_id for platform {platform!r} must be a non-empty string, "
            f"got {type(unique_id).__name__} {unique_id!r}"
        )
    return platform, unique_id


def slugify(text: str) -> str:
    """``"Living Room TV"`` → ``"living_room_tv"`` (lowercase letters, digits, underscores)."""
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug or "unnamed"


@dataclass(slots=True)
class DeviceEntry:
    id: str
    platform: str
    unique_id: str
    name: str
    manufacturer: str | None = None
    model: str | None = None
    sw_version: str | None = None
    #: discovered | available | unavailable | ignored
    status: str = "available"
    #: where the device is reached: host, port, properties, service type…
    connection: dict[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    modified_at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class EntityEntry:
    entity_id: str
    id: str
    platform: str
    unique_id: str
    name: str | None = None
    device_id: str | None = None
    disabled: bool = False
    created_at: float = field(default_factory=time.time)
    modified_at: float = field(default_factory=time.time)

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Registry:
    """What both registries share: a store, the live index and the deleted index."""

    key: str
    event: str

    def __init__(self, bus: EventBus, storage_dir: Path) -> None:
        self._bus = bus
        self._store = Store(storage_dir, self.key)
        self._by_key: dict[tuple[str, str], Any] = {}
        self._deleted: dict[tuple[str, str], dict[str, Any]] = {}

    def _changed(self, action: str, entry: Any) -> None:
        self._store.schedule_save(self._serialize)
        self._bus.fire(self.event, {"action": action, **self._event_data(entry)})

    def _serialize(self) -> dict[str, Any]:
        return {
            "entries": [e.as_dict() for e in self._by_key.values()],
            "deleted": [{"platform": k[0], "unique_id": k[1], **v} for k, v in self._deleted.items()],
        }

    def _load_raw(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        data = self._store.load() or {}
        return data.get("entries", []), data.get("deleted", [])

    def flush(self) -> None:
        self._store.flush()

    def _event_data(self, entry: Any) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError


class DeviceRegistry(_Registry):
    """Every downloader, tuner, TV, storage account and AI backend known to the hub."""

    key = "core.device_registry"
    event = EVENT_DEVICE_REGISTRY_UPDATED

    def load(self) -> None:
        entries, deleted = self._load_raw()
        for raw in entries:
            entry = DeviceEntry(**raw)
            self._by_key[(entry.platform, entry.unique_id)] = entry
        for raw in deleted:
            self._deleted[(raw["platform"], raw["unique_id"])] = {"id": raw["id"]}

    def _event_data(self, entry: DeviceEntry) -> dict[str, Any]:
        return {"device_id": entry.id, "platform": entry.platform, "unique_id": entry.unique_id}

    def get(self, device_id: str) -> DeviceEntry | None:
        return next((d for d in self._by_key.values() if d.id == device_id), None)

    def get_by_key(self, platform: str, unique_id: str) -> DeviceEntry | None:
        return self._by_key.get(check_key(platform, unique_id))

    def all(self) -> list[DeviceEntry]:
        return list(self._by_key.values())

    def get_or_create(self, platform: str, unique_id: str, *, name: str | None = None, **fields: Any) -> DeviceEntry:
        """Return the device for ``(platform, unique_id)``, creating or updating it with ``fields``
        (``manufacturer``, ``model``, ``sw_version``, ``status``, ``connection``).

        Raises :class:`InvalidUniqueId` and ``ValueError`` for an unknown ``status``.
        """
        key = check_key(platform, unique_id)
        if "status" in fields and fields["status"] not in DEVICE_STATUSES:
            raise ValueError(f"device status must be one of {DEVICE_STATUSES}, got {fields['status']!r}")
        entry = self._by_key.get(key)
        if entry is None:
            old = self._deleted.pop(key, None)
            entry = DeviceEntry(
                id=old["id"] if old else new_id(),
                platform=platform,
                unique_id=unique_id,
                name=name or unique_id,
                **fields,
            )
            self._by_key[key] = entry
            self._changed("create", entry)
            return entry
        return self.update(entry.id, name=name, **fields) if (name or fields) else entry

    def update(self, device_id: str, **changes: Any) -> DeviceEntry:
        """Change fields of a device; fire an update only if something changed.

        Raises ``KeyError`` for an unknown device id."""
        entry = self.get(device_id)
        if entry is None:
            raise KeyError(f"no device with id {device_id!r}")
        changed = False
        for name, value in changes.items():
            if value is None and name == "name":
                continue
            if name == "status" and value not in DEVICE_STATUSES:
                raise ValueError(f"device status must be one of {DEVICE_STATUSES}, got {value!r}")
            if getattr(entry, name) != value:
                setattr(entry, name, value)
                changed = True
        if changed:
            entry.modified_at = time.time()
            self._changed("update", entry)
        return entry

    def remove(self, device_id: str) -> None:
        entry = self.get(device_id)
        if entry is None:
            raise KeyError(f"no device with id {device_id!r}")
        del self._by_key[(entry.platform, entry.unique_id)]
        self._deleted[(entry.platform, entry.unique_id)] = {"id": entry.id}
        self._changed("remove", entry)


class EntityRegistry(_Registry):
    """Every entity the hub has seen; ``entity_id`` is ``domain.object_id`` and stays stable."""

    key = "core.entity_registry"
    event = EVENT_ENTITY_REGISTRY_UPDATED

    def load(self) -> None:
        entries, deleted = self._load_raw()
        for raw in entries:
            entry = EntityEntry(**raw)
            self._by_key[(entry.platform, entry.unique_id)] = entry
        for raw in deleted:
            self._deleted[(raw["platform"], raw["unique_id"])] = {
                "id": raw["id"],
                "entity_id": raw["entity_id"],
            }

    def _event_data(self, entry: EntityEntry) -> dict[str, Any]:
        return {"entity_id": entry.entity_id, "platform": entry.platform, "unique_id": entry.unique_id}

    def all(self) -> list[EntityEntry]:
        return list(self._by_key.values())

    def get(self, entity_id: str) -> EntityEntry | None:
        return next((e for e in self._by_key.values() if e.entity_id == entity_id), None)

    def get_by_key(self, platform: str, unique_id: str) -> EntityEntry | None:
        return self._by_key.get(check_key(platform, unique_id))

    def _taken(self) -> set[str]:
        return {e.entity_id for e in self._by_key.values()} | {
            d["entity_id"] for d in self._deleted.values()
        }

    def _free_entity_id(self, domain: str, suggested: str, taken: Iterable[str]) -> str:
        taken = set(taken)
        base = f"{slugify(domain)}.{slugify(suggested)}"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        return candidate

    def get_or_create(
        self,
        domain: str,
        platform: str,
        unique_id: str,
        *,
        suggested_object_id: str | None = None,
        name: str | None = None,
        device_id: str | None = None,
    ) -> EntityEntry:
        """Return the entity for ``(platform, unique_id)``, creating it with a free entity id in
        ``domain`` (``sensor``, ``media_player``…) if it is new. An entity deleted earlier gets its
        old entity id back.

        Raises :class:`InvalidUniqueId`.
        """
        key = check_key(platform, unique_id)
        entry = self._by_key.get(key)
        if entry is not None:
            if device_id and entry.device_id != device_id:
                entry.device_id = device_id
                entry.modified_at = time.time()
                self._changed("update", entry)
            return entry
        old = self._deleted.pop(key, None)
        if old:
            entity_id, entry_id = old["entity_id"], old["id"]
        else:
            entity_id = self._free_entity_id(domain, suggested_object_id or name or f"{platform}_{unique_id}", self._taken())
            entry_id = new_id()
        if not valid_entity_id(entity_id):  # pragma: no cover - slugify guarantees it
            raise ValueError(f"could not make a valid entity id for {key}")
        entry = EntityEntry(
            entity_id=entity_id, id=entry_id, platform=platform, unique_id=unique_id, name=name, device_id=device_id
        )
        self._by_key[key] = entry
        self._changed("create", entry)
        return entry

    def remove(self, entity_id: str) -> None:
        entry = self.get(entity_id)
        if entry is None:
            raise KeyError(f"no entity {entity_id!r}")
        key = (entry.platform, entry.unique_id)
        del self._by_key[key]
        self._deleted[key] = {"id": entry.id, "entity_id": entry.entity_id}
        self._changed("remove", entry)

    def for_device(self, device_id: str) -> list[EntityEntry]:
        return [e for e in self._by_key.values() if e.device_id == device_id]
