"""The ``omnimedia`` command: run the hub, check the configuration, scan, parse release names,
search the configured indexers, list plugins and discover devices."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .config import CONFIG_FILE, write_default_config

DEFAULT_CONFIG_DIR = Path(os.environ.get("OMNIMEDIA_CONFIG", "~/.config/omnimedia")).expanduser()


def _config_dir(args: argparse.Namespace) -> Path:
    return Path(args.config).expanduser().resolve() if args.config else DEFAULT_CONFIG_DIR


def _setup_logging(level: str = "info") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("aiosqlite", "alembic", "asyncio", "watchfiles.main", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _print_errors(errors: list[Any]) -> None:
    print(f"Invalid configuration ({len(errors)} error{'s' if len(errors) != 1 else ''}):", file=sys.stderr)
    for err in errors:
        print(f"  {err}", file=sys.stderr)


def _prepare(args: argparse.Namespace):
    from .bootstrap import prepare

    return prepare(_config_dir(args), [Path(p).expanduser() for p in getattr(args, "plugins_dir", None) or []])


# -- commands -----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    config_dir = _config_dir(args)
    media_dirs = [Path(d).expanduser().resolve() for d in args.media_dir]
    for folder in media_dirs:
        if not folder.is_dir():
            print(f"error: media folder does not exist: {folder}", file=sys.stderr)
            return 2
    if not (config_dir / CONFIG_FILE).exists():
        path = write_default_config(config_dir, media_dirs, port=args.port or 8765)
        print(f"Wrote a default configuration to {path}")
    config, plugins, errors = _prepare(args)
    if errors or config is None:
        _print_errors(errors)
        print("The hub did not start. Fix the errors above (omnimedia check-config).", file=sys.stderr)
        return 1
    if args.port is not None:
        config.hub["port"] = args.port
    known = {Path(lib["path"]).resolve() for lib in config.libraries}
    for folder in media_dirs:
        if folder not in known:
            config.libraries.append({"path": str(folder), "name": folder.name, "type": "mixed", "watch": True})
    _setup_logging(config.hub["log_level"])

    from .db import DatabaseError
    from .hub import Hub

    async def _main() -> int:
        hub = Hub(config, plugins)
        try:
            await hub.run_until_stopped()
        except DatabaseError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        except OSError as err:
            print(f"error: cannot serve on {config.hub['host']}:{config.hub['port']}: {err.strerror}", file=sys.stderr)
            return 1
        return 0

    return asyncio.run(_main())


def cmd_check_config(args: argparse.Namespace) -> int:
    config, _plugins, errors = _prepare(args)
    if errors or config is None:
        _print_errors(errors)
        return 1
    print(f"Configuration in {_config_dir(args)} is valid.")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    config, plugins, errors = _prepare(args)
    if errors or config is None:
        _print_errors(errors)
        return 1
    _setup_logging("warning")

    from .db import DatabaseError
    from .hub import Hub

    async def _main() -> int:
        hub = Hub(config, plugins)
        try:
            await hub.start(serve_http=False, initial_scan=False, watch=False, discovery=False)
        except DatabaseError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        try:
            summary = await hub.library.scan(full=args.full)
            stats = await hub.library.stats()
        finally:
            await hub.stop()
        if args.json:
            print(json.dumps({"summary": summary, "stats": stats}, default=str))
        else:
            print(
                "Scanned {libraries} librar{plural}: {seen} files seen, {added} added, {updated} updated, "
                "{moved} moved, {removed} removed, {unchanged} unchanged, {errors} with errors in {duration:.2f} s".format(
                    plural="y" if summary.get("libraries") == 1 else "ies", **{**_SUMMARY_DEFAULTS, **summary}
                )
            )
            print(f"Library: {stats.get('total_items', 0)} items, {stats.get('total_size', 0) / 1e9:.2f} GB")
        return 0

    return asyncio.run(_main())


_SUMMARY_DEFAULTS = dict.fromkeys(("libraries", "seen", "added", "updated", "moved", "removed", "unchanged", "errors"), 0) | {
    "duration": 0.0
}


def cmd_parse(args: argparse.Namespace) -> int:
    from .library.naming import parse_name

    names = args.names or [line.strip() for line in sys.stdin if line.strip()]
    for name in names:
        print(json.dumps({"name": name, **parse_name(name)}, ensure_ascii=False))
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from .bootstrap import load_plugins
    from .config import load_config

    config, _errors, _tree = load_config(_config_dir(args))
    manager = load_plugins(config, [Path(p).expanduser() for p in args.plugins_dir or []])
    rows = manager.as_list()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for row in rows:
        manifest = row["manifest"] or {}
        kinds = ",".join(manifest.get("kinds", [])) or "-"
        line = f"{row['name']:<16} {manifest.get('version', '?'):<9} {kinds:<20} {row['source']}"
        if row["state"] == "failed":
            line += f"\n{'':<16} FAILED: {row['reason']}"
        print(line)
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from .bootstrap import load_plugins
    from .discovery import discover_once, discovery_service_types

    types = discovery_service_types(load_plugins(None))
    types += [t for t in args.type or [] if t not in types]
    found = asyncio.run(discover_once(types, timeout=args.timeout))
    if args.json:
        print(json.dumps([_info_dict(i) for i in found], indent=1, default=str))
        return 0
    print(f"Browsed {len(types)} service types for {args.timeout:g} s: {', '.join(types)}")
    if not found:
        print("Nothing found.")
    for info in found:
        d = _info_dict(info)
        print(f"{d.get('service_type', '?'):<32} {d.get('name', '?')}  {d.get('host')}:{d.get('port')}")
        for key, value in sorted((d.get("properties") or {}).items()):
            print(f"{'':<34}{key}={value}")
    return 0


def _info_dict(info: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    return asdict(info) if is_dataclass(info) else dict(info)


# -- parser -------------------------------------------------------------------------------------
def _size(value: int | None) -> str:
    if not value:
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{value} B"
        value /= 1024
    return "?"


def cmd_search(args: argparse.Namespace) -> int:
    config, plugins, errors = _prepare(args)
    if errors or config is None:
        _print_errors(errors)
        return 1
    _setup_logging("warning")

    from .db import DatabaseError
    from .hub import Hub

    search_type = {"tv": "tvsearch", "movie": "movie", "music": "music", "book": "book", None: "search"}[args.type]

    async def _main() -> int:
        hub = Hub(config, plugins)
        try:
            await hub.start(serve_http=False, initial_scan=False, watch=False, discovery=False, background=False)
        except DatabaseError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        try:
            if not hub.acquisition.indexers:
                print("error: no indexers are configured (add a torznab, newznab or rss entry under plugins:)",
                      file=sys.stderr)
                return 1
            result = await hub.acquisition.interactive_search(
                q=args.query, type=search_type, season=args.season, episode=args.episode
            )
        finally:
            await hub.stop()
        if args.json:
            print(json.dumps(result, default=str, ensure_ascii=False))
            return 0 if result["results"] or not result["errors"] else 3
        accepted = [r for r in result["results"] if r["accepted"]]
        print(f"{len(result['results'])} releases from {len(result['indexers'])} indexer(s) in "
              f"{result['elapsed']:.2f} s; {len(accepted)} acceptable")
        for r in result["results"]:
            rel = r["release"]
            peers = f"{rel.get('seeders')}/{rel.get('peers')}" if rel["protocol"] == "torrent" else "usenet"
            mark = "+" if r["accepted"] else "-"
            print(f" {mark} {r['quality']:<13} {_size(rel.get('size')):>9} {peers:>11}  {rel['indexer']}: {rel['title']}")
            for reason in r["rejections"]:
                print(f"       {reason}")
        for err in result["errors"]:
            # provider errors already start with the indexer's name
            text = err["error"] if err["error"].startswith(err["indexer"]) else f"{err['indexer']}: {err['error']}"
            print(f"! {text}", file=sys.stderr)
        return 0 if result["results"] or not result["errors"] else 3

    return asyncio.run(_main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omnimedia", description="Omni-Media, a household media hub.")
    parser.add_argument("--version", action="version", version=f"omnimedia {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", metavar="DIR", help=f"configuration folder (default {DEFAULT_CONFIG_DIR})")
        p.add_argument("--plugins-dir", action="append", metavar="DIR", help="also load single-file plugins from DIR")
        return p

    p = with_config(sub.add_parser("run", help="start the hub"))
    p.add_argument("--port", type=int, help="HTTP port (overrides hub -> port)")
    p.add_argument("media_dir", nargs="*", help="media folder(s) to serve as libraries")
    p.set_defaults(func=cmd_run)

    p = with_config(sub.add_parser("check-config", help="validate the configuration and print every error"))
    p.set_defaults(func=cmd_check_config)

    p = with_config(sub.add_parser("scan", help="scan the libraries once and print a summary"))
    p.add_argument("--full", action="store_true", help="re-probe every file, not only changed ones")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("parse", help="parse release names (one JSON object per line)")
    p.add_argument("names", nargs="*", metavar="NAME", help="release or file names (default: read lines from stdin)")
    p.set_defaults(func=cmd_parse)

    p = with_config(sub.add_parser("search", help="search the configured indexers and show each release's decision"))
    p.add_argument("query", metavar="QUERY", help="what to search for, e.g. a title")
    p.add_argument("--type", choices=("tv", "movie", "music", "book"), help="search type (default: a general search)")
    p.add_argument("--season", type=int, help="season number (with --type tv)")
    p.add_argument("--episode", type=int, help="episode number (with --type tv)")
    p.add_argument("--json", action="store_true", help="print the results, decisions and errors as JSON")
    p.set_defaults(func=cmd_search)

    p = with_config(sub.add_parser("plugins", help="list the plugins and their state"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("discover", help="list what answers over mDNS on the network")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to browse (default 5)")
    p.add_argument("--type", action="append", help="also browse this service type")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_discover)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
