"""The state machine: the current state of every entity, and ``state_changed`` events.

Follows Home Assistant's model: a state is a short string plus attributes, with ``last_changed``
(when the state string changed) and ``last_updated`` (when state or attributes changed), both UTC
seconds since the epoch.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .bus import Context, EventBus
from .const import EVENT_STATE_CHANGED

ENTITY_ID_RE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
MAX_STATE_LENGTH = 255


class InvalidEntityId(ValueError):
    """An entity id is not ``domain.object_id`` in lowercase letters, digits and underscores."""


class InvalidState(ValueError):
    """A state string is longer than 255 characters."""


def valid_entity_id(entity_id: str) -> bool:
    return isinstance(entity_id, str) and bool(ENTITY_ID_RE.match(entity_id))


class State:
    """An entity's state at one moment. Read-only by convention: the state machine replaces a
    State, it never changes one.

    ``attributes`` is a read-only mapping. ``last_changed`` and ``last_updated`` are UTC seconds
    since the epoch. When set without a context, the :class:`Context` is made on first access.
    """

    __slots__ = ("entity_id", "state", "attributes", "last_changed", "last_updated", "_context")

    def __init__(
        self,
        entity_id: str,
        state: str,
        attributes: Mapping[str, Any],
        last_changed: float,
        last_updated: float,
        context: Context | None = None,
    ) -> None:
        self.entity_id = entity_id
        self.state = state
        self.attributes = attributes
        self.last_changed = last_changed
        self.last_updated = last_updated
        self._context = context

    @property
    def context(self) -> Context:
        if self._context is None:
            self._context = Context()
        return self._context

    @property
    def domain(self) -> str:
        return self.entity_id.split(".", 1)[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, State) and self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<State {self.entity_id}={self.state}>"

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "state": self.state,
            "attributes": dict(self.attributes),
            "last_changed": self.last_changed,
            "last_updated": self.last_updated,
            "context": self.context.as_dict(),
        }


_EMPTY: Mapping[str, Any] = MappingProxyType({})


class StateMachine:
    """Holds :class:`State` objects by entity id and announces every change on the bus."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._states: dict[str, State] = {}

    def get(self, entity_id: str) -> State | None:
        return self._states.get(entity_id.lower())

    def all(self, domain: str | None = None) -> list[State]:
        if domain is None:
            return list(self._states.values())
        prefix = domain + "."
        return [s for s in self._states.values() if s.entity_id.startswith(prefix)]

    def entity_ids(self) -> list[str]:
        return list(self._states)

    def set(
        self,
        entity_id: str,
        new_state: Any,
        attributes: Mapping[str, Any] | None = None,
        *,
        force_update: bool = False,
        context: Context | None = None,
    ) -> State:
        """Set an entity's state; fire ``state_changed`` unless nothing changed.

        Raises :class:`InvalidEntityId` or :class:`InvalidState`.
        """
        old = self._states.get(entity_id)
        if old is None:  # known ids were validated when first set
            entity_id = entity_id.lower()
            old = self._states.get(entity_id)
            if old is None and not valid_entity_id(entity_id):
                raise InvalidEntityId(f"invalid entity id {entity_id!r}: expected 'domain.object_id'")
        if type(new_state) is not str:
            new_state = str(new_state)
        if len(new_state) > MAX_STATE_LENGTH:
            raise InvalidState(f"state of {entity_id} is longer than {MAX_STATE_LENGTH} characters")
        attrs = MappingProxyType(dict(attributes)) if attributes else _EMPTY
        same_state = old is not None and old.state == new_state
        if same_state and not force_update and old.attributes == attrs:  # type: ignore[union-attr]
            return old  # type: ignore[return-value]
        now = time.time()
        if context is None:
            context = Context()  # one context, shared by the state and its state_changed event
        state = State(
            entity_id,
            new_state,
            attrs,
            old.last_changed if same_state else now,  # type: ignore[union-attr]
            now,
            context,
        )
        self._states[entity_id] = state
        self._bus.fire(EVENT_STATE_CHANGED, {"entity_id": entity_id, "old_state": old, "new_state": state}, context)
        return state

    def remove(self, entity_id: str, context: Context | None = None) -> bool:
        """Remove an entity's state; fire ``state_changed`` with ``new_state`` None."""
        old = self._states.pop(entity_id.lower(), None)
        if old is None:
            return False
        self._bus.fire(
            EVENT_STATE_CHANGED, {"entity_id": old.entity_id, "old_state": old, "new_state": None}, context
        )
        return True
