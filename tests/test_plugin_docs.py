"""Every hookspec is documented in docs/plugins.md, with its arguments and an example."""

from __future__ import annotations

import inspect
import re

from omnimedia.core.plugins import hookspecs

from .conftest import ROOT


def hookspec_names() -> list[str]:
    return [
        name
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if getattr(fn, "omnimedia_spec", None) is not None
    ]


def test_every_hookspec_is_documented() -> None:
    doc = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    names = hookspec_names()
    assert len(names) >= 11
    # Each hook has its own heading with its signature …
    headings = set(re.findall(r"^#{3,4} `(\w+)\(", doc, re.M))
    missing = [n for n in names if n not in headings]
    assert not missing, f"hookspecs missing from docs/plugins.md: {missing}"
    for name in names:
        params = list(inspect.signature(getattr(hookspecs, name)).parameters)
        body = doc.split(f"`{name}(", 1)[1].split("\n#", 1)[0]
        # … the arguments it takes, what it returns, and an example.
        for param in params:
            assert f"`{param}`" in body, f"{name}: argument {param} not described"
        assert "**Returns:**" in body, f"{name}: return value not described"
        assert "**Example:**" in body, f"{name}: no example"
        heading_args = re.search(rf"`{name}\(([^)]*)\)`", doc).group(1)
        assert [a.strip() for a in heading_args.split(",") if a.strip()] == params, f"{name}: signature differs"
