"""Bad input never costs the user a file: corrupt and truncated sources, files without video,
no ffmpeg, a disk that fills up mid-transcode, and a source changed while its job runs. Each
ends the job with a message that says what happened; the original is always intact and no
temporary file is left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from omnimedia.core.transcode import replace
from tests.conftest import mounted_tmpfs

from .transcode_support import api, config_text, make_source, sha256, temp_files, wait_job


async def _setup(hub_factory, media: Path, transcode: str = "profile: fast"):
    hub = await hub_factory(config_text=config_text(media, transcode))
    await hub.library.scan()
    return hub


async def _item(hub, name: str) -> dict:
    items, _ = await hub.library.list_items(limit=500)
    return next(i for i in items if i["path"].endswith("/" + name))


async def test_corrupt_media_is_refused_or_fails_clearly(hub_factory, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    (media / "Garbage.2010.mp4").write_bytes(os.urandom(64 * 1024))
    later = make_source(media / "Fine.Until.Now.2011.mkv")
    hub = await _setup(hub_factory, media)
    garbage = await _item(hub, "Garbage.2010.mp4")
    assert garbage["status"] == "error"

    # an item the scanner could not read is never queued, and says why
    result = await hub.transcode.add_jobs([garbage["id"]])
    assert result["added"] == []
    assert result["skipped"][0]["reason"].startswith("the file cannot be read: corrupt or unsupported file")
    assert [c["path"] for c in await hub.transcode.candidates()] == [str(later)]

    # a file that was fine when queued and is garbage when its job runs fails the job
    await hub.transcode.queue.pause_all()
    job = (await hub.transcode.add_jobs([(await _item(hub, later.name))["id"]]))["added"][0]
    later.write_bytes(os.urandom(300 * 1024))
    garbage_hash = sha256(later)
    await hub.transcode.queue.resume_all()
    job = await wait_job(hub, job["id"])
    assert job["state"] == "failed"
    assert job["message"].startswith("cannot read the source: corrupt or unsupported file"), job["message"]
    assert sha256(later) == garbage_hash
    assert temp_files(media) == []


async def test_truncated_source_fails_and_is_kept(hub_factory, tmp_path: Path) -> None:
    media = tmp_path / "media"
    whole = make_source(tmp_path / "whole.mkv", duration=4)
    cut = media / "Cut.Off.Download.2019.mkv"
    media.mkdir()
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    before = sha256(cut)
    hub = await _setup(hub_factory, media)
    item = await _item(hub, cut.name)
    assert item["status"] == "ok", "ffprobe reads the header, which still claims the full duration"

    job = (await hub.transcode.add_jobs([item["id"]]))["added"][0]
    job = await wait_job(hub, job["id"])
    assert job["state"] == "failed"
    assert "truncated" in job["message"] and "File ended prematurely" in job["message"], job["message"]
    assert sha256(cut) == before
    assert temp_files(media) == []
    assert (await hub.transcode.savings())["total"]["files"] == 0


async def test_a_result_that_fails_verification_keeps_the_original(hub_factory, tmp_path: Path) -> None:
    """The transcoder succeeds but writes something unusable (here: a profile whose extra
    arguments cut the output to one second, or drop the audio)."""
    media = tmp_path / "media"
    short = make_source(media / "Cut.By.Profile.2020.mkv", duration=4)
    mute = make_source(media / "Muted.By.Profile.2020.mkv", duration=4)
    hashes = {short: sha256(short), mute: sha256(mute)}
    hub = await _setup(hub_factory, media)
    job = (await hub.transcode.add_jobs([(await _item(hub, short.name))["id"]], profile="short"))["added"][0]
    job = await wait_job(hub, job["id"])
    assert job["state"] == "failed" and job["outcome"] == "kept_original"
    assert job["message"].startswith("verification failed: the result lasts 1.0"), job["message"]
    assert job["message"].endswith("the original is kept")

    job = (await hub.transcode.add_jobs([(await _item(hub, mute.name))["id"]], profile="no_audio"))["added"][0]
    job = await wait_job(hub, job["id"])
    assert job["state"] == "failed"
    assert job["message"] == "verification failed: the result has 0 audio streams, expected 1; the original is kept"
    assert all(sha256(p) == h for p, h in hashes.items())
    assert temp_files(media) == []


async def test_files_without_video_are_skipped(hub_factory, tmp_path: Path) -> None:
    media = tmp_path / "media"
    make_source(media / "Just.Sound.mka", video=False)
    make_source(media / "Song.mp3", video=False)
    later = make_source(media / "Was.Video.2015.mkv")
    hub = await _setup(hub_factory, media)
    sound = await _item(hub, "Just.Sound.mka")
    song = await _item(hub, "Song.mp3")
    result = await hub.transcode.add_jobs([sound["id"], song["id"]])
    assert result["added"] == []
    assert {s["reason"] for s in result["skipped"]} == {"no video stream (audio-only files are not transcoded)"}
    assert [c["path"] for c in await hub.transcode.candidates()] == [str(later)]

    # a video that became audio-only after it was queued: the job is skipped, the file untouched
    await hub.transcode.queue.pause_all()
    job = (await hub.transcode.add_jobs([(await _item(hub, later.name))["id"]]))["added"][0]
    make_source(later, video=False)
    before = sha256(later)
    await hub.transcode.queue.resume_all()
    job = await wait_job(hub, job["id"])
    assert job["state"] == "skipped" and job["message"] == "no video stream: audio-only files are not transcoded"
    assert sha256(later) == before


async def test_missing_ffmpeg_fails_the_job_and_the_hub_runs_on(hub_factory, tmp_path: Path, monkeypatch) -> None:
    media = tmp_path / "media"
    source = make_source(media / "Needs.Ffmpeg.2021.mkv")
    before = sha256(source)
    only_ffprobe = tmp_path / "bin"
    only_ffprobe.mkdir()
    (only_ffprobe / "ffprobe").symlink_to(shutil.which("ffprobe"))
    monkeypatch.setenv("PATH", str(only_ffprobe))
    hub = await _setup(hub_factory, media)
    job = (await hub.transcode.add_jobs(all_candidates=True))["added"][0]
    job = await wait_job(hub, job["id"])
    assert job["state"] == "failed"
    assert job["message"] == "ffmpeg is not installed or not on PATH (Debian/Ubuntu: apt install ffmpeg)"
    assert sha256(source) == before and temp_files(media) == []
    status, health = await api(hub, "GET", "/api/health")
    assert status == 200 and health["state"] == "running"

    # once ffmpeg is back, retrying the job works
    monkeypatch.undo()
    status, body = await api(hub, "POST", f"/api/transcode/jobs/{job['id']}/resume")
    assert status == 200 and body["state"] == "queued"
    job = await wait_job(hub, job["id"])
    assert job["state"] == "done" and job["outcome"] == "replaced", job["message"]


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 6 MiB tmpfs (needs root)."""
    yield from mounted_tmpfs(tmp_path, "6m")


async def test_disk_full_mid_transcode_keeps_the_original(hub_factory, tmp_path: Path, small_disk: Path) -> None:
    source = make_source(small_disk / "Big.Movie.2022.mkv", duration=4, crf=16)
    before = sha256(source)
    hub = await _setup(hub_factory, small_disk, "profile: lossless\nverify: {max_size_ratio: 10}")
    free = shutil.disk_usage(small_disk).free
    (small_disk / "filler.bin").write_bytes(b"\0" * (free - 96 * 1024))  # leave 96 KiB
    job = (await hub.transcode.add_jobs(all_candidates=True))["added"][0]
    job = await wait_job(hub, job["id"])
    assert job["state"] == "failed", job["message"]
    assert "No space left on device" in job["message"], job["message"]
    assert job["outcome"] is None, "a full disk is not the file's fault: it may be retried"
    assert sha256(source) == before
    assert temp_files(small_disk) == []
    assert sorted(p.name for p in small_disk.iterdir()) == ["Big.Movie.2022.mkv", "filler.bin"]


@pytest.fixture
def hook():
    calls: list[tuple[str, dict]] = []
    actions: dict[str, object] = {}

    def on_checkpoint(name: str, info: dict) -> None:
        calls.append((name, info))
        if name in actions:
            actions[name](info)  # type: ignore[operator]

    replace.checkpoint_hook = on_checkpoint
    try:
        yield actions, calls
    finally:
        replace.checkpoint_hook = None


@pytest.mark.parametrize("change", ["append", "touch", "same_size"])
async def test_source_changed_during_the_job(hub_factory, tmp_path: Path, hook, change: str) -> None:
    actions, calls = hook
    media = tmp_path / "media"
    source = make_source(media / "Moving.Target.2017.mkv")
    hub = await _setup(hub_factory, media, "profile: fast_same")

    def modify(info: dict) -> None:
        if change == "append":
            with open(source, "ab") as fh:
                fh.write(b"\0" * 1000)
        elif change == "touch":
            st = source.stat()
            os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
        else:  # the same size and, after resetting it, the same mtime: only the content differs
            st = source.stat()
            data = bytearray(source.read_bytes())
            data[:4096] = bytes(4096)
            source.write_bytes(bytes(data))
            os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))

    actions["verified"] = modify
    job = (await hub.transcode.add_jobs(all_candidates=True))["added"][0]
    job = await wait_job(hub, job["id"])
    changed = sha256(source)
    assert job["state"] == "failed"
    assert job["message"].startswith("the source changed during the job ("), job["message"]
    assert job["message"].endswith("the result was discarded and the changed file kept")
    expected = {"append": "size", "touch": "modification time", "same_size": "content"}[change]
    assert expected in job["message"]
    assert sha256(source) == changed, "the changed file is what is left"
    assert temp_files(media) == []
    assert "committed" not in [name for name, _ in calls]
    assert (await hub.transcode.savings())["total"] == {
        "files": 0, "kept_original": 0, "size_before": 0, "size_after": 0, "saved": 0, "percent": 0.0,
    }


async def test_a_replace_the_file_system_refuses_keeps_the_original(hub_factory, tmp_path: Path, hook) -> None:
    """The folder turns immutable between the decision and the rename (``chattr +i``: even root
    may not rename or delete in it)."""
    actions, _calls = hook
    media = tmp_path / "media"
    source = make_source(media / "Locked.In.2016.mkv")
    before = sha256(source)
    config_dir = tmp_path / "config"
    hub = await hub_factory(config_dir=config_dir, config_text=config_text(media, "profile: fast_same"))
    await hub.library.scan()

    def lock(info: dict) -> None:
        proc = subprocess.run(["chattr", "+i", str(media)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"chattr +i does not work here: {proc.stderr.strip()}")

    actions["committed"] = lock
    try:
        job = (await hub.transcode.add_jobs(all_candidates=True))["added"][0]
        job = await wait_job(hub, job["id"])
    finally:
        subprocess.run(["chattr", "-i", str(media)], check=False)
    assert job["state"] == "failed"
    assert job["message"] == "replacing the original failed: Operation not permitted; the original is kept"
    assert job["outcome"] is None, "the decision was taken back"
    assert sha256(source) == before
    # the temporary file could not be removed while the folder was locked: it stays recorded …
    assert job["temp_path"] and Path(job["temp_path"]).exists()
    await hub.stop()
    # … and the next start removes it
    hub = await hub_factory(config_dir=config_dir)
    assert temp_files(media) == [] and sha256(source) == before
    assert (await hub.transcode.get_job(job["id"]))["temp_path"] is None
