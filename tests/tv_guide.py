"""XMLTV guide files for the DVR tests: times in XMLTV's form and guides for the HDHomeRun
simulator's channels (mapped to the lineup by their display-name number)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def xmltv_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M%S +0000")


def write_sample_guide(path: Path, now: float) -> dict[str, float]:
    """An XMLTV guide for the simulator's 2.1 and 4.1 (mapped by their display-name number): on
    2.1 "Morning News" (airing now, an hour) then "The Late Film" (new, two hours); on 4.1
    "Cooking Today" (a repeat, airing now) then "Quiz Night" (at the same time as the film)."""
    start = now - now % 1800 - 1800
    times = {"news": start, "film": start + 3600, "end": start + 3 * 3600}
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<tv generator-info-name="test">
  <channel id="one.sim"><display-name>SIM-ONE</display-name><display-name>2.1</display-name></channel>
  <channel id="mpeg2.sim"><display-name>SIM-MPEG2</display-name><display-name>4.1</display-name></channel>
  <programme start="{xmltv_time(times['news'])}" stop="{xmltv_time(times['film'])}" channel="one.sim">
    <title>Morning News</title><desc>The day's news.</desc><category>News</category>
  </programme>
  <programme start="{xmltv_time(times['film'])}" stop="{xmltv_time(times['end'])}" channel="one.sim">
    <title>The Late Film</title><sub-title>Part One</sub-title><desc>A film in two parts.</desc>
    <episode-num system="xmltv_ns">0.0.</episode-num><new/>
  </programme>
  <programme start="{xmltv_time(times['news'])}" stop="{xmltv_time(times['film'])}" channel="mpeg2.sim">
    <title>Cooking Today</title><previously-shown/>
  </programme>
  <programme start="{xmltv_time(times['film'])}" stop="{xmltv_time(times['end'])}" channel="mpeg2.sim">
    <title>Quiz Night</title>
  </programme>
</tv>
""", encoding="utf-8")
    return times


def write_xmltv(path: Path, programmes: list[dict[str, Any]]) -> None:
    """An XMLTV file with the simulator's channels (display-name = the lineup number) and
    ``programmes`` (``channel``, ``start``, ``stop``, ``title``, optional ``sub``, ``ns``, ``desc``)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<tv generator-info-name="test">']
    for cid, number, name in (("one.sim", "2.1", "SIM-ONE"), ("two.sim", "2.2", "SIM-TWO"), ("mpeg.sim", "4.1", "SIM-MPEG2")):
        lines.append(f'<channel id="{cid}"><display-name>{number}</display-name><display-name>{name}</display-name></channel>')
    for p in programmes:
        lines.append(f'<programme start="{xmltv_time(p["start"])}" stop="{xmltv_time(p["stop"])}" channel="{p["channel"]}">')
        lines.append(f'<title lang="en">{p["title"]}</title>')
        if p.get("sub"):
            lines.append(f'<sub-title lang="en">{p["sub"]}</sub-title>')
        if p.get("desc"):
            lines.append(f'<desc lang="en">{p["desc"]}</desc>')
        if p.get("ns"):
            lines.append(f'<episode-num system="xmltv_ns">{p["ns"]}</episode-num>')
        lines.append("</programme>")
    lines.append("</tv>")
    path.write_text("\n".join(lines), encoding="utf-8")
