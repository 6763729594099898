"""Omni-Media hub core: bus, states, registries, services, config, plugins, database, HTTP API,
discovery and the media library engine."""

__version__ = "0.1.0"
