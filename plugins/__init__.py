"""Omni-Media's built-in plugins. Each is registered under the entry-point group
``omnimedia.plugins`` in pyproject.toml, exactly as a third-party package registers its own."""
