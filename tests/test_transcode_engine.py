"""The library optimiser end to end, in one hub: candidates → queue → real ffmpeg → verify →
replace → savings, and the files it must leave alone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


async def test_processed_files_are_recognised_by_content_not_name(hub_factory, tmp_path: Path) -> None:
    # with no codec skipped, a hevc result would qualify again by codec: only its fingerprint
    # keeps it out
    hub, media = await _hub(hub_factory, tmp_path, "profile: fast\ncandidates: {skip_codecs: []}")
    make_source(media / "Film.2010.mp4")
    await hub.library.scan()
    job = (await hub.transcode.add_jobs(all_candidates=True))["added"][0]
    job = await wait_job(hub, job["id"])
    assert job["state"] == "done" and job["outcome"] == "replaced", job["message"]
    result = Path(job["path"])
    await until(lambda: _codec_is(hub, job["item_id"], "hevc"))
    assert await hub.transcode.candidates() == []

    renamed = media / "Another Name (2010)" / "film.mkv"
    renamed.parent.mkdir()
    os.rename(result, renamed)
    copy = media / "Copy.Of.Film.mkv"
    copy.write_bytes(renamed.read_bytes())
    await hub.library.scan()
    items, _ = await hub.library.list_items()
    assert {i["path"] for i in items} == {str(renamed), str(copy)}
    assert await hub.transcode.candidates() == [], "renamed or copied, it is the same content"
    again = await hub.transcode.add_jobs([i["id"] for i in items])
    for added in again["added"]:
        done = await wait_job(hub, added["id"])
        assert done["state"] == "skipped" and "already processed with these settings" in done["message"]
    # other settings are other work
    assert len(await hub.transcode.candidates(profile="fast_same")) == 2


async def _codec_is(hub, item_id: int, codec: str) -> bool:
    item = await hub.library.get_item(item_id)
    return bool(item and item["video_codec"] == codec)


async def test_a_new_user_needs_no_transcode_configuration(hub_factory, tmp_path: Path) -> None:
    media = tmp_path / "media"
    source = make_source(media / "Home.Video.2012.mkv", duration=2)
    hub = await hub_factory(config_text=config_text(media, "", plugin=False))
    profiles = hub.transcode.profiles()
    assert profiles["profile"] == "balanced"
    assert [t["name"] for t in profiles["transcoders"]] == ["ffmpeg"]
    assert {"maximum_quality", "balanced", "maximum_space"} <= set(profiles["transcoders"][0]["profiles"])
    await hub.library.scan()
    job = (await hub.transcode.add_jobs(all_candidates=True, profile="maximum_space"))["added"][0]
    assert job["transcoder"] == "ffmpeg" and job["settings"]["crf"] == 28
    job = await wait_job(hub, job["id"])
    assert job["state"] == "done" and job["outcome"] == "replaced", job["message"]
    assert ffprobe(source)["streams"][0]["codec_name"] == "hevc"


async def test_concurrency_limit(hub_factory, tmp_path: Path) -> None:
    hub, media = await _hub(hub_factory, tmp_path, "profile: slow\nconcurrency: 2")
    for n in range(3):
        make_source(media / f"Part.{n}.2000.mkv", duration=3)
    await hub.library.scan()
    added = (await hub.transcode.add_jobs(all_candidates=True))["added"]

    async def two_running():
        jobs, _ = await hub.transcode.list_jobs(("running",))
        return jobs if len(jobs) == 2 else None

    running = await until(two_running)
    queued, _ = await hub.transcode.list_jobs(("queued",))
    assert len(queued) == 1 and {j["id"] for j in running} | {queued[0]["id"]} == {j["id"] for j in added}
    assert len(hub.transcode.queue.running) == 2
    cancelled = await hub.transcode.queue.cancel_all()
    assert len(cancelled["cancelled"]) == 3
    assert temp_files(media) == []


async def test_stopping_the_hub_requeues_running_jobs_and_keeps_the_queue_paused(hub_factory, tmp_path: Path) -> None:
    media = tmp_path / "media"
    source = make_source(media / "Long.Night.2001.mkv", duration=4)
    before = sha256(source)
    config_dir = tmp_path / "config"
    hub = await hub_factory(config_dir=config_dir, config_text=config_text(media, "profile: slow"))
    await hub.library.scan()
    job = (await hub.transcode.add_jobs(all_candidates=True))["added"][0]

    async def encoding():
        current = await hub.transcode.get_job(job["id"])
        return current["state"] == "running" and current["progress"] > 0

    await until(encoding)
    assert len(temp_files(media)) == 1
    await hub.stop()
    assert temp_files(media) == [] and sha256(source) == before

    hub = await hub_factory(config_dir=config_dir)
    restored = await hub.transcode.get_job(job["id"])
    assert restored["state"] in ("queued", "running"), restored
    await hub.transcode.queue.pause_all()
    restored = await hub.transcode.get_job(job["id"])
    assert restored["state"] == "queued" and restored["temp_path"] is None
    await hub.stop()

    hub = await hub_factory(config_dir=config_dir)
    assert hub.transcode.queue.status()["paused"] is True, "the paused queue stays paused after a restart"
    assert (await hub.transcode.get_job(job["id"]))["state"] == "queued"
    assert temp_files(media) == []


async def test_auto_queue_after_a_scan_only_in_the_chosen_libraries(hub_factory, tmp_path: Path) -> None:
    from .conftest import minimal_config
    from .transcode_support import PROFILES

    films, clips = tmp_path / "Films", tmp_path / "Clips"
    make_source(films / "Auto.Queued.2005.mkv", duration=2)
    make_source(clips / "Left.Alone.2006.mkv", duration=2)
    plugins = "plugins:\n  - platform: ffmpeg\n    profiles:\n" + "".join(
        f"      {line}\n" for line in PROFILES.strip().splitlines()
    )
    text = minimal_config([films, clips], "transcode:\n  profile: fast_same\n  auto_queue: true\n"
                                          "  libraries: [Films]\n" + plugins)
    hub = await hub_factory(config_text=text)
    await hub.library.scan()

    async def queued_and_done():
        jobs, _ = await hub.transcode.list_jobs()
        return jobs if jobs and all(j["state"] == "done" for j in jobs) else None

    jobs = await until(queued_and_done)
    assert [Path(j["path"]).name for j in jobs] == ["Auto.Queued.2005.mkv"]
    assert ffprobe(clips / "Left.Alone.2006.mkv")["streams"][0]["codec_name"] == "h264"


async def test_nothing_starts_outside_the_schedule(hub_factory, tmp_path: Path) -> None:
    import asyncio
    import time

    now = time.localtime()
    start = f"{(now.tm_hour + 2) % 24:02d}:00"
    end = f"{(now.tm_hour + 3) % 24:02d}:00"
    hub, media = await _hub(hub_factory, tmp_path, f"profile: fast\nschedule: {{start: '{start}', end: '{end}'}}")
    make_source(media / "Later.2003.mkv", duration=2)
    await hub.library.scan()
    job = (await hub.transcode.add_jobs(all_candidates=True))["added"][0]
    status = hub.transcode.queue.status()
    assert status["in_schedule"] is False and status["schedule"] == {"start": start, "end": end}
    hub.transcode.queue.wake()
    await asyncio.sleep(0.5)
    assert (await hub.transcode.get_job(job["id"]))["state"] == "queued"


async def test_progress_events_are_throttled(hub_factory, tmp_path: Path) -> None:
    from omnimedia.core.ffmpeg import Progress
    from omnimedia.core.transcode.job import JobRun

    hub, media = await _hub(hub_factory, tmp_path, "profile: fast\nprogress_interval: 30")
    events: list[dict] = []
    hub.bus.listen(EVENT_TRANSCODE_JOB, lambda e: events.append(dict(e.data)))
    run = JobRun(hub.transcode, {"id": 1, "state": "running", "duration": 100.0, "progress": 0.0})
    for n in range(1, 200):
        run._on_progress(Progress(out_time=n * 0.5, percent=n * 0.5, speed=2.0))
    assert len(events) == 1, "one event per progress_interval, however often ffmpeg reports"
    assert events[0]["progress"] == 0.005 and events[0]["eta"] == pytest.approx(49.75)
    run._on_progress(Progress(out_time=100.0, percent=100.0, speed=2.0, done=True))
    assert len(events) == 2 and events[-1]["progress"] == 1.0
