"""YAML loading that remembers where every value came from.

Mappings load as :class:`NodeDict` and strings as :class:`NodeStr`; both carry the file and line
they were read from, so that validation errors can say ``configuration.yaml, line 12: …``.

Tags (the same meaning as in Home Assistant's configuration):

- ``!secret NAME`` — the value of ``NAME`` in ``secrets.yaml`` beside the file (then in the
  config directory's ``secrets.yaml``).
- ``!include FILE`` — the YAML document in ``FILE`` (relative to the including file).
- ``!include_dir_named DIR`` — a mapping of file stem → document, for each ``*.yaml`` in ``DIR``.
- ``!env_var NAME [DEFAULT]`` — the environment variable ``NAME``, or ``DEFAULT``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

SECRET_FILE = "secrets.yaml"


class ConfigError(Exception):
    """A problem in a configuration file, with the file name and line (1-based) when known."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.file, self.line = message, file, line

    def __str__(self) -> str:
        if self.file and self.line:
            return f"{self.file}, line {self.line}: {self.message}"
        if self.file:
            return f"{self.file}: {self.message}"
        return self.message


class NodeDict(dict):
    """A mapping read from YAML: ``source`` is ``(file, line)``; ``key_source[key]`` too."""

    source: tuple[str, int] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_source: dict[Any, tuple[str, int]] = {}


class NodeList(list):
    source: tuple[str, int] | None = None


class NodeStr(str):
    source: tuple[str, int] | None = None


class Secret(NodeStr):
    """A string that came from ``!secret``: redacted wherever configuration is shown."""

    secret_name: str = ""


def _display_name(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


class _Loader(yaml.SafeLoader):
    """A SafeLoader bound to one file, with the config directory it belongs to."""

    def __init__(self, stream: Any, path: Path, root: Path, secrets: _SecretsCache) -> None:
        super().__init__(stream)
        self.path, self.root, self.secrets = path, root, secrets
        self.display = _display_name(path, root)

    def where(self, node: yaml.Node) -> tuple[str, int]:
        return self.display, node.start_mark.line + 1

    def fail(self, node: yaml.Node, message: str) -> ConfigError:
        file, line = self.where(node)
        return ConfigError(message, file, line)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> NodeDict:
    loader.flatten_mapping(node)
    result = NodeDict()
    result.source = loader.where(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as err:
            raise loader.fail(key_node, f"invalid key {key!r}") from err
        if key in result:
            raise loader.fail(key_node, f"duplicate key '{key}'")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_source[key] = loader.where(key_node)
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> NodeList:
    result = NodeList(loader.construct_object(child, deep=True) for child in node.value)
    result.source = loader.where(node)
    return result


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> NodeStr:
    result = NodeStr(loader.construct_scalar(node))
    result.source = loader.where(node)
    return result


def _construct_secret(loader: _Loader, node: yaml.ScalarNode) -> Secret:
    name = loader.construct_scalar(node)
    value = loader.secrets.lookup(str(name), loader.path.parent)
    if value is None:
        raise loader.fail(node, f"secret '{name}' is not defined in {SECRET_FILE}")
    result = Secret(str(value))
    result.source = loader.where(node)
    result.secret_name = str(name)
    return result


def _construct_include(loader: _Loader, node: yaml.ScalarNode) -> Any:
    target = loader.path.parent / str(loader.construct_scalar(node))
    if not target.is_file():
        raise loader.fail(node, f"!include: file not found: {target}")
    return load_yaml(target, loader.root, loader.secrets)


def _construct_include_dir_named(loader: _Loader, node: yaml.ScalarNode) -> NodeDict:
    target = loader.path.parent / str(loader.construct_scalar(node))
    if not target.is_dir():
        raise loader.fail(node, f"!include_dir_named: folder not found: {target}")
    result = NodeDict()
    result.source = loader.where(node)
    for file in sorted(target.glob("*.yaml")):
        if file.name == SECRET_FILE:
            continue
        result[file.stem] = load_yaml(file, loader.root, loader.secrets)
        result.key_source[file.stem] = (_display_name(file, loader.root), 1)
    return result


def _construct_env_var(loader: _Loader, node: yaml.ScalarNode) -> NodeStr | None:
    parts = str(loader.construct_scalar(node)).split(maxsplit=1)
    if not parts:
        raise loader.fail(node, "!env_var needs a variable name")
    value = os.environ.get(parts[0])
    if value is None:
        if len(parts) == 1:
            raise loader.fail(node, f"environment variable '{parts[0]}' is not set and has no default")
        value = parts[1]
    result = NodeStr(value)
    result.source = loader.where(node)
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_Loader.add_constructor("!secret", _construct_secret)
_Loader.add_constructor("!include", _construct_include)
_Loader.add_constructor("!include_dir_named", _construct_include_dir_named)
_Loader.add_constructor("!env_var", _construct_env_var)


class _SecretsCache:
    """Loads ``secrets.yaml`` files once each; looks a name up beside the file, then at the root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[Path, dict[str, Any]] = {}

    def _load(self, folder: Path) -> dict[str, Any]:
        path = folder / SECRET_FILE
        if path not in self._files:
            if path.is_file():
                with open(path, encoding="utf-8") as fh:
                    try:
                        data = yaml.safe_load(fh) or {}
                    except yaml.YAMLError as err:
                        raise _yaml_error(err, _display_name(path, self.root)) from err
                if not isinstance(data, dict):
                    raise ConfigError("must be a mapping of name: value", _display_name(path, self.root), 1)
                self._files[path] = data
            else:
                self._files[path] = {}
        return self._files[path]

    def lookup(self, name: str, folder: Path) -> Any:
        for candidate in (folder, self.root):
            data = self._load(candidate)
            if name in data:
                return data[name]
        return None


def _yaml_error(err: yaml.YAMLError, display: str) -> ConfigError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
    return ConfigError(message, display, mark.line + 1 if mark else None)


def load_yaml(path: Path, root: Path | None = None, secrets: _SecretsCache | None = None) -> Any:
    """Load one YAML file with the tags above.

    ``root`` is the configuration directory (file names in errors are relative to it).
    Raises :class:`ConfigError` naming the file and line for syntax errors, missing secrets,
    missing includes and unset environment variables.
    """
    path = Path(path)
    root = Path(root) if root else path.parent
    secrets = secrets or _SecretsCache(root)
    display = _display_name(path, root)
    try:
        with open(path, encoding="utf-8") as fh:
            loader = _Loader(fh, path, root, secrets)
            try:
                return loader.get_single_data()
            finally:
                loader.dispose()
    except ConfigError:
        raise
    except yaml.YAMLError as err:
        raise _yaml_error(err, display) from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"not UTF-8 text ({err.reason})", display) from err
    except OSError as err:
        raise ConfigError(f"cannot read: {err.strerror}", display) from err
