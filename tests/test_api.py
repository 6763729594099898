"""The JSON API on a real hub on a real port: every endpoint, its shapes, its errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
import voluptuous as vol

from omnimedia.core.http.server import api_routes

from .conftest import write_config
from .mediagen import MOVIE_NAME, make_mp4


def base_url(hub) -> str:
    host, port = hub.http.bound_address()
    return f"http://{host}:{port}"


@pytest.fixture
async def client():
    async with aiohttp.ClientSession() as session:
        yield session


async def get_json(session: aiohttp.ClientSession, url: str, status: int = 200):
    async with session.get(url) as resp:
        assert resp.status == status, await resp.text()
        assert resp.content_type == "application/json"
        return await resp.json()


async def test_bound_address_is_the_real_port(hub_factory):
    hub = await hub_factory()
    host, port = hub.http.bound_address()
    assert host == "127.0.0.1" and port > 0


async def test_health(hub_factory, client):
    hub = await hub_factory()
    body = await get_json(client, base_url(hub) + "/api/health")
    assert body["status"] == "ok"
    assert body["version"] == hub.version
    assert body["state"] == "running"
    assert body["database"] == "sqlite"
    assert body["scanning"] is False
    assert 0 <= body["uptime"] < 60


async def test_config_is_redacted(hub_factory, client, tmp_path):
    cdir = tmp_path / "cfg"
    text = (
        "hub:\n  host: 127.0.0.1\n  port: 0\n"
        "database:\n  url: !secret indexer_token_url\n"
        "discovery:\n  zeroconf: false\n  ssdp: false\n  advertise: false\n"
    )
    # A !secret value must never be sent back, even where the value is not a password.
    write_config(cdir, "indexer_token_url: 'sqlite+aiosqlite:///" + str(cdir / "db.sqlite") + "'\n", "secrets.yaml")
    hub = await hub_factory(config_dir=cdir, config_text=text)
    body = await get_json(client, base_url(hub) + "/api/config")
    assert body["hub"]["port"] == 0
    assert body["database"]["url"] == "**REDACTED**"
    assert "db.sqlite" not in str(body)


async def test_plugins_lists_states(hub_factory, client):
    hub = await hub_factory()
    body = await get_json(client, base_url(hub) + "/api/plugins")
    assert isinstance(body["plugins"], list)
    assert body["plugins"] == hub.plugins.as_list()
    for plugin in body["plugins"]:
        assert {"name", "state", "reason"} <= set(plugin)


async def test_failed_plugin_reason_is_shown(hub_factory, client, tmp_path):
    plugins = tmp_path / "local_plugins"
    plugins.mkdir()
    (plugins / "broken_api_plugin.py").write_text("raise RuntimeError('cannot import me')\n")
    hub = await hub_factory(plugin_dirs=[plugins])
    body = await get_json(client, base_url(hub) + "/api/plugins")
    broken = [p for p in body["plugins"] if p["state"] == "failed"]
    assert broken, body
    assert any("cannot import me" in (p["reason"] or "") for p in broken)


async def test_devices_and_entities(hub_factory, client):
    hub = await hub_factory()
    dev = hub.devices.get_or_create("testplat", "dev-1", name="Living Room TV", status="available")
    ent = hub.entities.get_or_create("media_player", "testplat", "dev-1-player", name="TV", device_id=dev.id)
    hub.states.set(ent.entity_id, "playing", {"volume": 0.5})
    hub.states.set("sensor.free_space", "1024", {"unit_of_measurement": "GB"})
    hub.entities.get_or_create("sensor", "testplat", "no-state-yet", name="Idle")
    url = base_url(hub)

    devices = (await get_json(client, url + "/api/devices"))["devices"]
    (tv,) = [d for d in devices if d["id"] == dev.id]
    assert tv["name"] == "Living Room TV" and tv["status"] == "available"
    assert tv["entities"] == [ent.entity_id]

    entities = {e["entity_id"]: e for e in (await get_json(client, url + "/api/entities"))["entities"]}
    player = entities[ent.entity_id]
    assert player["state"] == "playing"
    assert player["attributes"] == {"volume": 0.5}
    assert player["last_changed"] > 0 and player["last_updated"] >= player["last_changed"]
    assert player["registry"] == {"platform": "testplat", "unique_id": "dev-1-player", "device_id": dev.id, "name": "TV"}
    assert entities["sensor.free_space"]["registry"] is None
    idle = entities["sensor.idle"]
    assert idle["state"] is None and idle["registry"]["unique_id"] == "no-state-yet"


async def test_services_list_and_call(hub_factory, client):
    hub = await hub_factory()
    calls = []

    async def echo(call):
        """Return what it was given."""
        calls.append(call)
        return {"echo": call.data["text"], "times": call.data["times"]}

    hub.services.register(
        "test", "echo", echo, vol.Schema({vol.Required("text"): str, vol.Optional("times", default=1): int})
    )
    url = base_url(hub)
    catalogue = (await get_json(client, url + "/api/services"))["services"]
    (echo_entry,) = [s for s in catalogue if (s["domain"], s["service"]) == ("test", "echo")]
    assert echo_entry["fields"]["text"]["required"] is True

    async with client.post(url + "/api/services/test/echo", json={"text": "hi", "times": 2}) as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["result"] == {"echo": "hi", "times": 2}
    assert body["context"]["id"] == calls[0].context.id

    async with client.post(url + "/api/services/test/echo", json={"times": "many"}) as resp:
        assert resp.status == 400
        err = await resp.json()
    assert "text" in err["error"] or "times" in err["error"]

    async with client.post(url + "/api/services/test/nope", json={}) as resp:
        assert resp.status == 404
        assert "unknown service test.nope" in (await resp.json())["error"]

    async with client.post(url + "/api/services/test/echo", data="{not json") as resp:
        assert resp.status == 400
        assert "not valid JSON" in (await resp.json())["error"]

    async with client.post(url + "/api/services/test/echo", json=[1, 2]) as resp:
        assert resp.status == 400
        assert "expected an object" in (await resp.json())["error"]


async def test_service_that_raises_gives_json_500_without_traceback(hub_factory, client, caplog):
    hub = await hub_factory()

    def boom(call):
        raise RuntimeError("secret internal detail")

    hub.services.register("test", "boom", boom)
    async with client.post(base_url(hub) + "/api/services/test/boom") as resp:
        assert resp.status == 500
        text = await resp.text()
    assert resp.content_type == "application/json"
    assert "Traceback" not in text and "secret internal detail" not in text
    assert "secret internal detail" in caplog.text  # logged on the hub instead
    body = await get_json(client, base_url(hub) + "/api/health")
    assert body["status"] == "ok"


@pytest.mark.parametrize(
    "query, fragment",
    [
        ("limit=abc", "expected an integer for query parameter 'limit', got 'abc'"),
        ("limit=0", "'limit' must be at least 1"),
        ("limit=501", "'limit' must be at most 500"),
        ("offset=-1", "'offset' must be at least 0"),
        ("offset=1.5", "expected an integer for query parameter 'offset'"),
        ("library=x", "expected an integer for query parameter 'library'"),
        ("type=films", "expected one of \"movie\", \"episode\""),
    ],
)
async def test_media_bad_parameters(hub_factory, client, query, fragment):
    hub = await hub_factory()
    body = await get_json(client, f"{base_url(hub)}/api/media?{query}", status=400)
    assert fragment in body["error"]


async def test_unknown_things_are_json_404(hub_factory, client):
    hub = await hub_factory()
    url = base_url(hub)
    assert "no media item with id 999999" in (await get_json(client, url + "/api/media/999999", 404))["error"]
    assert "no media item" in (await get_json(client, url + "/api/stream/999999", 404))["error"]
    assert "expected an integer for path parameter 'id'" in (await get_json(client, url + "/api/media/abc", 400))["error"]
    assert "no such endpoint" in (await get_json(client, url + "/api/nothing/here", 404))["error"]
    async with client.delete(url + "/api/health") as resp:
        assert resp.status == 405
        assert "not allowed" in (await resp.json())["error"]
        assert "GET" in resp.headers["Allow"]


async def test_scan_body_is_validated(hub_factory, client):
    hub = await hub_factory()
    url = base_url(hub) + "/api/library/scan"
    for payload, fragment in [
        ({"library_id": "one"}, "expected an integer for 'library_id'"),
        ({"full": "yes"}, "expected a boolean for 'full'"),
        ({"bogus": 1}, "unknown key 'bogus'"),
    ]:
        async with client.post(url, json=payload) as resp:
            assert resp.status == 400
            assert fragment in (await resp.json())["error"]
    async with client.post(url, json={"library_id": 4242}) as resp:
        assert resp.status == 404
        assert "no library with id 4242" in (await resp.json())["error"]


async def test_openapi_documents_every_api_route(hub_factory, client):
    hub = await hub_factory()
    doc = await get_json(client, base_url(hub) + "/api/openapi.json")
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["version"] == hub.version
    registered = set()
    for route in hub.http.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api"):
            registered.add((route.method.lower(), path))
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert registered, "no /api routes registered?"
    assert registered - documented == set(), "routes missing from /api/openapi.json"
    assert documented - registered == set(), "documented routes that are not served"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["responses"], (method, path)
            assert "500" in op["responses"]
            for param in op.get("parameters", []):
                assert param["in"] in ("query", "path") and "schema" in param
            for placeholder in [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]:
                assert any(p["name"] == placeholder and p["in"] == "path" for p in op["parameters"]), path
    media = doc["paths"]["/api/media"]["get"]
    limit = next(p for p in media["parameters"] if p["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert "requestBody" in doc["paths"]["/api/library/scan"]["post"]


def test_openapi_document_is_valid():
    validator = pytest.importorskip("openapi_spec_validator")
    from omnimedia.core.http.openapi import build_openapi

    validator.validate(build_openapi(api_routes(), title="t", version="0"))


async def test_dashboard_is_served_from_the_frontend_package(hub_factory, client):
    from omnimedia.core.http.frontend import frontend_dir

    hub = await hub_factory()
    url = base_url(hub)
    folder = frontend_dir()
    async with client.get(url + "/") as resp:
        if (folder / "index.html").is_file():
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == "no-cache"
            assert resp.content_type == "text/html"
            assert await resp.read() == (folder / "index.html").read_bytes()
        else:
            assert resp.status == 404
    async with client.get(url + "/__init__.py") as resp:
        assert resp.status == 404  # package sources are not assets
    async with client.get(url + "/..%2F..%2Fpyproject.toml") as resp:
        assert resp.status == 404
    assets = [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".js", ".css", ".svg")]
    for asset in assets[:3]:
        rel = asset.relative_to(folder).as_posix()
        async with client.get(f"{url}/{rel}") as resp:
            assert resp.status == 200, rel
            assert await resp.read() == asset.read_bytes()
            if asset.suffix == ".js":  # ES modules only run with a JavaScript media type
                assert resp.content_type in ("application/javascript", "text/javascript")


async def test_library_endpoints_on_scanned_media(hub_factory, client, tmp_path):
    media = tmp_path / "media"
    make_mp4(media / MOVIE_NAME)
    hub = await hub_factory(media_dirs=[media])
    await hub.library.scan()
    url = base_url(hub)

    libraries = (await get_json(client, url + "/api/libraries"))["libraries"]
    assert len(libraries) == 1 and libraries[0]["item_count"] == 1
    page = await get_json(client, url + "/api/media?limit=10")
    assert page["total"] == 1 and page["limit"] == 10 and page["offset"] == 0
    (item,) = page["items"]
    for key in ("id", "type", "title", "year", "season", "episode", "path", "size", "duration"):
        assert key in item
    assert item["title"] == "Movie Title" and item["year"] == 2019
    assert item["size"] == (media / MOVIE_NAME).stat().st_size

    assert (await get_json(client, url + "/api/media?text=Title"))["total"] == 1
    assert (await get_json(client, url + "/api/media?text=nomatchatall"))["total"] == 0
    assert (await get_json(client, url + "/api/media?offset=1"))["items"] == []
    assert (await get_json(client, url + "/api/media?type=movie"))["total"] == 1
    assert (await get_json(client, url + "/api/media?type=track"))["total"] == 0
    lib_id = libraries[0]["id"]
    assert (await get_json(client, f"{url}/api/media?library={lib_id}"))["total"] == 1
    assert (await get_json(client, f"{url}/api/media?library={lib_id + 1}"))["total"] == 0

    detail = await get_json(client, f"{url}/api/media/{item['id']}")
    assert detail["stream_url"] == f"/api/stream/{item['id']}"
    assert detail["mime_type"] == "video/mp4"
    assert detail["container"]
    stats = await get_json(client, url + "/api/library/stats")
    assert isinstance(stats, dict) and stats


async def test_scan_over_http_runs_the_service_in_the_background(hub_factory, client, tmp_path):
    media = tmp_path / "media"
    make_mp4(media / MOVIE_NAME)
    hub = await hub_factory(media_dirs=[media])
    called = asyncio.Event()
    contexts = []

    def on_call(event):
        if event.data["domain"] == "library" and event.data["service"] == "scan":
            contexts.append(event.context.id)
            called.set()

    hub.bus.listen("service_called", on_call)
    finished = asyncio.Event()
    hub.bus.listen("library_scan_finished", lambda e: finished.set())
    async with client.post(base_url(hub) + "/api/library/scan", json={"full": True}) as resp:
        assert resp.status == 202
        body = await resp.json()
    assert body["status"] == "started"
    await asyncio.wait_for(called.wait(), 10)
    assert contexts == [body["context_id"]]
    await asyncio.wait_for(finished.wait(), 60)
    page = await get_json(client, base_url(hub) + "/api/media")
    assert page["total"] == 1


async def test_stop_closes_the_server(hub_factory, client):
    hub = await hub_factory()
    url = base_url(hub)
    await get_json(client, url + "/api/health")
    await hub.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with client.get(url + "/api/health"):
            pass


def test_media_path_outside_libraries_is_refused(tmp_path: Path):
    from omnimedia.core.http.stream import library_roots, resolve_inside

    lib = tmp_path / "lib"
    lib.mkdir()
    inside = lib / "a.mkv"
    inside.write_bytes(b"x")
    outside = tmp_path / "secret.txt"
    outside.write_text("no")
    (lib / "link.mkv").symlink_to(outside)
    roots = library_roots(tmp_path, [{"path": "lib"}])
    assert resolve_inside(str(inside), roots) == inside.resolve()
    assert resolve_inside(str(outside), roots) is None
    assert resolve_inside(str(lib / ".." / "secret.txt"), roots) is None
    assert resolve_inside(str(lib / "link.mkv"), roots) is None


def test_json_encoder_handles_hub_objects():
    import dataclasses
    import datetime as dt
    import json

    from omnimedia.core.bus import Context, Event
    from omnimedia.core.http.json import dumps
    from omnimedia.core.states import State

    @dataclasses.dataclass
    class Point:
        x: int
        where: Path

    ctx = Context(user_id="u1")
    state = State("sensor.a", "on", {"when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)}, 1.0, 2.0, ctx)
    event = Event("state_changed", {"new_state": state, "old_state": None}, ctx, 3.0)
    out = json.loads(dumps({"event": event, "p": Point(1, Path("/m/a.mkv")), "s": {1}, "nan": float("nan")}))
    assert out["event"]["context"] == {"id": ctx.id, "user_id": "u1", "parent_id": None}
    new = out["event"]["data"]["new_state"]
    assert new["state"] == "on" and new["attributes"]["when"] == "2024-01-02T03:04:05+00:00"
    assert out["p"] == {"x": 1, "where": "/m/a.mkv"}
    assert out["s"] == [1]
    assert out["nan"] is None  # browsers' JSON.parse rejects NaN
