"""The library optimiser end to end, in one hub: candidates → queue → real ffmpeg → verify →
replace → savings, and the files it must leave alone."""

from __future__ import annotations

import os
from pathlib import Path

from omnimedia.core.const import EVENT_TRANSCODE_JOB

from .transcode_support import config_text, ffprobe, make_source, sha256, temp_files, until, wait_job


async def _hub(hub_factory, tmp_path: Path, transcode: str = "profile: fast", **kw):
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    hub = await hub_factory(config_text=config_text(media, transcode), **kw)
    return hub, media


async def test_candidate_is_transcoded_verified_and_replaced(hub_factory, tmp_path: Path) -> None:
    hub, media = await _hub(hub_factory, tmp_path)
    source = make_source(media / "Movie.Title.2019.1080p.BluRay.x264-GRP.mp4")
    hevc = make_source(media / "Already.Small.2020.x265.mkv", vcodec="libx265", crf=30)
    await hub.library.scan()
    items, _ = await hub.library.list_items()
    by_path = {i["path"]: i for i in items}
    item = by_path[str(source)]

    candidates = await hub.transcode.candidates()
    assert [c["item_id"] for c in candidates] == [item["id"]], "the hevc file is not a candidate"
    assert candidates[0]["estimated_savings"] > 0
    assert candidates[0]["reasons"] == ["codec h264 (not hevc, av1)"]

    events: list[dict] = []
    hub.bus.listen(EVENT_TRANSCODE_JOB, lambda e: events.append(dict(e.data)))
    result = await hub.transcode.add_jobs(all_candidates=True)
    assert len(result["added"]) == 1 and result["skipped"] == []
    job = await wait_job(hub, result["added"][0]["id"])

    assert job["state"] == "done", job["message"]
    assert job["outcome"] == "replaced"
    assert job["message"].startswith("replaced: saved ")
    final = media / "Movie.Title.2019.1080p.BluRay.x264-GRP.mkv"
    assert job["path"] == str(final)
    assert not source.exists(), "the .mp4 original is gone once the .mkv replaced it"
    info = ffprobe(final)
    assert [s["codec_name"] for s in info["streams"]] == ["hevc", "aac"]
    assert abs(float(info["format"]["duration"]) - 4.0) < 0.1
    assert job["size_before"] > job["size_after"] == final.stat().st_size
    assert temp_files(media) == []
    assert hevc.exists()

    states = [e["state"] for e in events]
    assert states[0] == "queued" and "running" in states and "verifying" in states and states[-1] == "done"

    # the media item kept its id and now describes the new file
    async def refreshed():
        row = await hub.library.get_item(item["id"])
        return row if row and row["video_codec"] == "hevc" else None

    row = await until(refreshed)
    assert row["path"] == str(final) and row["size"] == final.stat().st_size

    savings = await hub.transcode.savings()
    assert savings["total"]["files"] == 1
    assert savings["total"]["size_before"] == job["size_before"]
    assert savings["total"]["saved"] == job["size_before"] - job["size_after"]
    assert savings["libraries"][0]["library_id"] == item["library_id"]
    assert 0 < savings["total"]["percent"] < 100


async def test_a_result_that_is_not_smaller_keeps_the_original(hub_factory, tmp_path: Path) -> None:
    hub, media = await _hub(hub_factory, tmp_path, "profile: lossless\nverify: {max_size_ratio: 10}")
    source = make_source(media / "Some.Video.2018.mkv", crf=28)
    before = sha256(source)
    await hub.library.scan()
    result = await hub.transcode.add_jobs(all_candidates=True)
    job = await wait_job(hub, result["added"][0]["id"])
    assert job["state"] == "done" and job["outcome"] == "kept_original", job["message"]
    assert job["message"].startswith("kept the original: the result (")
    assert sha256(source) == before
    assert temp_files(media) == []
    assert (await hub.transcode.savings())["total"]["kept_original"] == 1
    # the same file with the same settings is not a candidate any more, and is skipped if queued
    assert await hub.transcode.candidates() == []
    again = await hub.transcode.add_jobs([job["item_id"]])
    job2 = await wait_job(hub, again["added"][0]["id"])
    assert job2["state"] == "skipped" and "already processed with these settings" in job2["message"]
    assert os.listdir(media) == [source.name]
