"""The plugin platform: entry points, single-file plugins, manifests, schemas, isolation of
failing, hanging and not-ready plugins, providers."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from omnimedia.core.bootstrap import prepare
from omnimedia.core.plugins import manager as manager_module

from .conftest import minimal_config, write_config

GOOD = '''
import voluptuous as vol
from omnimedia.core.plugins import PluginManifest, hookimpl
from omnimedia.core.acquisition.types import Release
from omnimedia.core.plugins.kinds import Indexer

SETUPS = []

class DemoIndexer(Indexer):
    async def search(self, query):
        return [Release(title="Demo.S01E01.720p.HDTV.x264-GRP", indexer=self.name, protocol="torrent", size=1)]

    async def rss(self):
        return await self.search(None)

@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="demo", version="1.2.3", kinds=("indexer",),
                          config_schema=vol.Schema({vol.Required("url"): str, vol.Optional("timeout", default=5): int}))

@hookimpl
async def omnimedia_setup(hub, entries):
    SETUPS.append(entries)
    hub.services.register("demo", "ping", lambda call: "pong")

@hookimpl
def omnimedia_indexers():
    return [DemoIndexer]

@hookimpl
def omnimedia_teardown(hub):
    SETUPS.append("teardown")
'''

BROKEN_SETUP = '''
from omnimedia.core.plugins import PluginManifest, hookimpl
@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="broken")
@hookimpl
def omnimedia_setup(hub, entries):
    raise ConnectionError("cannot reach 10.0.0.9:8080")
'''

HANGS = '''
import asyncio
from omnimedia.core.plugins import PluginManifest, hookimpl
@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="hangs")
@hookimpl
async def omnimedia_setup(hub, entries):
    await asyncio.sleep(3600)
'''

NOT_READY = '''
from omnimedia.core.errors import PluginNotReady
from omnimedia.core.plugins import PluginManifest, hookimpl
ATTEMPTS = []
@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="flaky")
@hookimpl
def omnimedia_setup(hub, entries):
    ATTEMPTS.append(1)
    if len(ATTEMPTS) < 3:
        raise PluginNotReady("server still booting")
'''

IMPORT_ERROR = "import omnimedia_this_module_does_not_exist\n"

TOO_NEW = '''
from omnimedia.core.plugins import PluginManifest, hookimpl
@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="toonew", min_hub_version="99.0")
'''

BAD_PROVIDER = '''
from omnimedia.core.plugins import PluginManifest, hookimpl
@hookimpl
def omnimedia_manifest():
    return PluginManifest(name="badprovider", kinds=("indexer",))
@hookimpl
def omnimedia_indexers():
    return [object]
'''


def make_plugins(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(body))
    return folder


async def test_isolation_of_failing_plugins(tmp_path: Path, hub_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manager_module, "RETRY_FIRST", 0.05)
    plugins = make_plugins(
        tmp_path / "plugins",
        good=GOOD, broken_setup=BROKEN_SETUP, hangs=HANGS, not_ready=NOT_READY,
        import_error=IMPORT_ERROR, too_new=TOO_NEW, bad_provider=BAD_PROVIDER,
    )
    extra = (
        f"plugins_dir: {str(plugins)!r}\n"
        "plugins:\n  - platform: demo\n    url: http://127.0.0.1:9117\n"
    )
    config_text = minimal_config([], extra).replace("log_level: debug", "log_level: debug\n  plugin_setup_timeout: 0.5")
    hub = await hub_factory(config_text=config_text)
    records = {r["name"]: r for r in hub.plugins.as_list()}

    assert records["demo"]["state"] == "running"
    assert records["demo"]["manifest"]["version"] == "1.2.3"
    assert records["broken"]["state"] == "failed"
    assert records["broken"]["reason"] == "setup failed: ConnectionError: cannot reach 10.0.0.9:8080"
    assert records["hangs"]["state"] == "failed" and records["hangs"]["reason"] == "setup timed out after 0.5 s"
    assert records["import_error"]["state"] == "failed"
    assert "import failed: ModuleNotFoundError" in records["import_error"]["reason"]
    assert "needs hub version 99.0" in records["toonew"]["reason"]
    assert "must return subclasses of Indexer" in records["badprovider"]["reason"]
    # Built-in plugins come from entry points, like any third-party package's.
    assert records["googlecast"]["source"].startswith("entry point omnimedia.plugins.googlecast")

    # Validated config reached the plugin, with defaults filled in; its service works.
    demo = __import__("omnimedia_local_plugins.good", fromlist=["SETUPS"])
    assert demo.SETUPS == [[{"platform": "demo", "url": "http://127.0.0.1:9117", "timeout": 5}]]
    assert await hub.services.call("demo", "ping") == "pong"
    indexer_cls = hub.plugins.providers("indexer")["demo"]
    results = await indexer_cls(hub, {"platform": "demo"}).search({"q": "demo"})
    assert results[0].title.startswith("Demo.S01E01")

    # Not ready → retried with backoff until it works, while the hub runs.
    flaky = __import__("omnimedia_local_plugins.not_ready", fromlist=["ATTEMPTS"])
    for _ in range(100):
        if hub.plugins.plugins["flaky"].state == "running":
            break
        await asyncio.sleep(0.05)
    assert hub.plugins.plugins["flaky"].state == "running"
    assert len(flaky.ATTEMPTS) == 3 and hub.plugins.plugins["flaky"].retries == 2
    assert hub.state == "running"

    await hub.stop()
    assert demo.SETUPS[-1] == "teardown"
    assert hub.plugins.plugins["demo"].state == "stopped"


def test_plugin_config_errors_name_file_and_line(tmp_path: Path) -> None:
    plugins = make_plugins(tmp_path / "plugins", good=GOOD)
    write_config(
        tmp_path,
        f"plugins_dir: {str(plugins)!r}\nplugins:\n  - platform: demo\n    timeout: soon\n",
    )
    _config, _plugins, errors = prepare(tmp_path)
    messages = [str(e) for e in errors]
    assert "configuration.yaml, line 3: required key 'plugins -> 0 -> url' is missing" in messages
    assert "configuration.yaml, line 4: expected int for 'plugins -> 0 -> timeout', got 'soon'" in messages


def test_plugins_dir_from_the_command_line(tmp_path: Path) -> None:
    plugins = make_plugins(tmp_path / "extra", too_new=TOO_NEW)
    write_config(tmp_path / "cfg", "hub: {}\n")
    _config, manager, errors = prepare(tmp_path / "cfg", [plugins])
    assert errors == [] and manager.plugins["toonew"].state == "failed"
