"""The hub's tables (SQLAlchemy 2 declarative). Times are UTC seconds since the epoch (float);
sizes are bytes; durations seconds; bitrates bits per second."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Library(Base):
    """A configured media folder."""

    __tablename__ = "libraries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text, unique=True)
    type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[float] = mapped_column(Float)
    last_scan_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class MediaItem(Base):
    """One media file and what the scanner learnt about it.

    ``type`` is one of movie, episode, video, track, audiobook, photo, ebook, comic.
    ``status`` is ``ok`` or ``error`` (then ``error`` says why: unreadable, corrupt, empty…).
    """

    __tablename__ = "media_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("libraries.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text, unique=True)
    type: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(8), default="ok")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    # What the name (guessit) and the tags say
    title: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    season: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episodes: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    absolute_episode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    air_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    episode_title: Mapped[str | None] = mapped_column(String(512), nullable=True)
    artist: Mapped[str | None] = mapped_column(String(512), nullable=True)
    album: Mapped[str | None] = mapped_column(String(512), nullable=True)
    track_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    release_group: Mapped[str | None] = mapped_column(String(128), nullable=True)
    quality: Mapped[str | None] = mapped_column(String(32), nullable=True)

    # What the file is
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    mtime: Mapped[float] = mapped_column(Float, default=0.0)
    inode: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    container: Mapped[str | None] = mapped_column(String(64), nullable=True)
    video_codec: Mapped[str | None] = mapped_column(String(32), nullable=True)
    audio_codec: Mapped[str | None] = mapped_column(String(32), nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    bitrate: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    audio_tracks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    subtitle_tracks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    parsed: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    added_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


# -- acquisition -------------------------------------------------------------------------------


class WantedTitle(Base):
    """A series, movie, music album or book the user wants (Sonarr's series, Radarr's movie).

    ``media_type`` is ``series``, ``movie``, ``album`` or ``book``. ``monitor`` says which of a
    series' episodes are wanted: ``all``, ``future`` (airing after it was added), ``seasons``
    (those in ``seasons``) or ``none``. ``ids`` holds external ids (``tmdbid``, ``tvdbid``,
    ``imdbid`` …). ``quality_profile`` names a profile from the configuration. ``root_folder`` is
    the library folder imports go to; ``path`` the title's own folder below it, once known.
    ``details`` keeps what a metadata provider said (overview, runtime in minutes, status).
    """

    __tablename__ = "wanted_titles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_type: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(512), index=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ids: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quality_profile: Mapped[str] = mapped_column(String(128))
    monitor: Mapped[str] = mapped_column(String(16), default="all")
    seasons: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    root_folder: Mapped[str | None] = mapped_column(Text, nullable=True)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    added_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    last_search_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class WantedTarget(Base):
    """One thing a grab fills: an episode of a series, or the movie / album / book itself.

    ``kind`` is ``episode``, ``movie``, ``album`` or ``book``. Episodes carry ``season``,
    ``episode``, ``absolute_episode`` and ``air_date`` ("YYYY-MM-DD", the original air date in
    UTC). ``monitored`` targets without a file are *missing*; those whose ``file_quality`` ranks
    below their profile's cutoff are *cutoff unmet*. ``runtime`` is minutes (size limits).
    """

    __tablename__ = "wanted_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("wanted_titles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    season: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    absolute_episode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    air_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    name: Mapped[str | None] = mapped_column(String(512), nullable=True)
    runtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    monitored: Mapped[bool] = mapped_column(Boolean, default=True)
    file_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    file_quality: Mapped[str | None] = mapped_column(String(32), nullable=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_search_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class Grab(Base):
    """A release handed to a download client, tracked until it is imported or failed.

    ``state``: ``queued``, ``downloading``, ``import_pending``, ``importing``, ``imported``,
    ``failed``. ``download_id`` is the client's id (the info-hash for torrents, computed by the
    hub before sending). ``release`` is the :class:`~omnimedia.core.acquisition.types.Release`
    as a dict; ``release_key`` its identity (:attr:`Release.key`), used to refuse duplicate grabs.
    ``target_ids`` are the :class:`WantedTarget` ids it should fill. ``progress`` 0.0–1.0.
    """

    __tablename__ = "grabs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_id: Mapped[int | None] = mapped_column(ForeignKey("wanted_titles.id", ondelete="SET NULL"), nullable=True, index=True)
    target_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    release: Mapped[dict[str, Any]] = mapped_column(JSON)
    release_title: Mapped[str] = mapped_column(String(1024))
    release_key: Mapped[str] = mapped_column(String(1024), index=True)
    indexer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    protocol: Mapped[str] = mapped_column(String(16))
    quality: Mapped[str | None] = mapped_column(String(32), nullable=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    download_client: Mapped[str] = mapped_column(String(255))
    download_id: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    downloaded: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    eta: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    content_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    imported_paths: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    grabbed_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: when ``progress`` last grew (stalled-download detection)
    progress_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class HistoryEvent(Base):
    """What happened to a release: ``grabbed``, ``imported``, ``upgraded``, ``import_failed``,
    ``download_failed``, ``blocklisted``, ``deleted``. ``data`` holds the details (paths,
    reasons, the client's message)."""

    __tablename__ = "acquisition_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(32), index=True)
    title_id: Mapped[int | None] = mapped_column(ForeignKey("wanted_titles.id", ondelete="SET NULL"), nullable=True, index=True)
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grab_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    release_title: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    quality: Mapped[str | None] = mapped_column(String(32), nullable=True)
    indexer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    download_client: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    at: Mapped[float] = mapped_column(Float, index=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class BlocklistEntry(Base):
    """A release never to grab again (its download failed, or the user said so).
    Matched by ``release_key``, by ``infohash``, or by title + indexer."""

    __tablename__ = "blocklist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_id: Mapped[int | None] = mapped_column(ForeignKey("wanted_titles.id", ondelete="CASCADE"), nullable=True, index=True)
    release_title: Mapped[str] = mapped_column(String(1024), index=True)
    release_key: Mapped[str] = mapped_column(String(1024), index=True)
    indexer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    protocol: Mapped[str] = mapped_column(String(16))
    infohash: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[float] = mapped_column(Float)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


# -- transcoding -------------------------------------------------------------------------------


class TranscodeJob(Base):
    """One file in the library optimiser's queue.

    ``state``: ``queued``, ``running``, ``verifying``, ``paused``, ``done``, ``failed``,
    ``cancelled``, ``skipped`` (nothing to gain, or already processed with these settings).
    ``profile`` is the profile's name and ``settings`` its resolved settings at queue time.
    ``priority``: higher runs first, then older jobs. ``progress`` 0.0–1.0. ``fingerprint`` is the
    source's content fingerprint (see ``core/transcode``); ``temp_path`` the output being written,
    so a restart after a crash can remove it. ``size_before`` / ``size_after`` in bytes,
    ``duration`` in seconds, ``estimated_savings`` in bytes.
    """

    __tablename__ = "transcode_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("media_items.id", ondelete="SET NULL"), nullable=True, index=True)
    library_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    path: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    transcoder: Mapped[str | None] = mapped_column(String(255), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    speed: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    temp_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    encoder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_before: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    size_after: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    estimated_savings: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class ProcessedFile(Base):
    """A file the optimiser has finished with, remembered by content, not by name:
    ``fingerprint`` of the file as it was *before*, plus ``settings_hash`` (the profile's
    settings), and also the fingerprint of the result (``result_fingerprint``) so the output is
    never queued again with the same settings. ``outcome``: ``replaced``, ``kept_original``
    (the result was not smaller, or failed verification). Sizes in bytes."""

    __tablename__ = "transcode_processed"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128), index=True)
    result_fingerprint: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    settings_hash: Mapped[str] = mapped_column(String(64), index=True)
    profile: Mapped[str] = mapped_column(String(64))
    library_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    path: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16))
    size_before: Mapped[int] = mapped_column(BigInteger)
    size_after: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[float] = mapped_column(Float)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


# -- playback ----------------------------------------------------------------------------------


class PlaybackPosition(Base):
    """Where playback of an item stopped, and whether it counts as watched.
    ``position`` / ``duration`` in seconds; ``play_count`` how many times it was watched to the
    end; ``device`` the last device (profile name or renderer id) it played on."""

    __tablename__ = "playback_positions"

    item_id: Mapped[int] = mapped_column(ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[float] = mapped_column(Float, default=0.0)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    watched: Mapped[bool] = mapped_column(Boolean, default=False)
    play_count: Mapped[int] = mapped_column(Integer, default=0)
    device: Mapped[str | None] = mapped_column(String(255), nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, index=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


# -- live TV and DVR ---------------------------------------------------------------------------


class GuideChannel(Base):
    """A channel of an XMLTV guide. ``id`` is the XMLTV channel id; ``names`` every
    display-name (first is the main one); ``number`` a display-name that looks like a channel
    number; ``source`` the guide source's name."""

    __tablename__ = "guide_channels"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(255), index=True)
    names: Mapped[list[str]] = mapped_column(JSON, default=list)
    number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    icon: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class GuideProgramme(Base):
    """One programme of the guide; see :class:`omnimedia.core.dvr.types.Programme` for the
    fields. ``start``/``stop`` are UTC epoch seconds."""

    __tablename__ = "guide_programmes"
    __table_args__ = (Index("ix_guide_programmes_channel_start", "channel_id", "start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(255), index=True)
    start: Mapped[float] = mapped_column(Float, index=True)
    stop: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(512))
    subtitle: Mapped[str | None] = mapped_column(String(512), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    categories: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    season: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episode_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    new: Mapped[bool] = mapped_column(Boolean, default=False)
    previously_shown: Mapped[bool] = mapped_column(Boolean, default=False)
    original_air_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    icon: Mapped[str | None] = mapped_column(Text, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class ChannelMapping(Base):
    """Which guide channel a lineup channel (``number``) shows the programmes of.
    ``manual``: set by the user (automatic mapping never overrides it); ``guide_channel_id``
    ``None`` with ``manual`` means "no guide for this channel"."""

    __tablename__ = "dvr_channel_map"

    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    guide_channel_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[float] = mapped_column(Float)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class RecordingRule(Base):
    """What to record; see :mod:`omnimedia.core.dvr.rules` for what each ``kind`` means.

    ``kind``: ``once``, ``daily``, ``weekly``, ``series``, ``keyword``. ``title``: the
    programme title to match (series) or the recording's name; ``keyword``: text searched in
    titles and descriptions; ``channel``: a lineup number, ``None`` for any channel;
    ``programme_id``: the guide programme of a ``once`` rule; ``start``/``stop`` (UTC epoch
    seconds) a ``once`` rule's slot when it has no programme; ``start_time`` ("HH:MM", local)
    and ``duration`` (seconds) a daily/weekly slot; ``days``: weekdays 0 = Monday … 6;
    ``after``/``before`` ("HH:MM", local): a time window for series/keyword rules;
    ``new_only``: skip airings the guide marks previously shown, and episodes already recorded;
    ``padding_before``/``padding_after`` seconds (``None``: the dvr defaults); ``priority``
    (higher wins a conflict); ``keep_last`` (recordings kept, oldest deleted first) and
    ``keep_days`` (days a recording is kept), ``None`` keeps everything."""

    __tablename__ = "dvr_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(512))
    keyword: Mapped[str | None] = mapped_column(String(512), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    programme_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start: Mapped[float | None] = mapped_column(Float, nullable=True)
    stop: Mapped[float | None] = mapped_column(Float, nullable=True)
    start_time: Mapped[str | None] = mapped_column(String(5), nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    days: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[str | None] = mapped_column(String(5), nullable=True)
    before: Mapped[str | None] = mapped_column(String(5), nullable=True)
    new_only: Mapped[bool] = mapped_column(Boolean, default=False)
    padding_before: Mapped[float | None] = mapped_column(Float, nullable=True)
    padding_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    keep_last: Mapped[int | None] = mapped_column(Integer, nullable=True)
    keep_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


class Recording(Base):
    """One recording, from the moment it starts.

    ``state``: ``recording``, ``processing`` (commercials, post-processing, import), ``done``,
    ``partial`` (done, with gaps or missing parts), ``failed``, ``cancelled``, ``deleted``.
    ``start``/``stop`` the airing and ``padded_start``/``padded_stop`` what is recorded (UTC
    epoch seconds). ``parts``: ``[{"path", "bytes", "start", "end"}]`` (one per connection; a
    stream drop starts a new part); ``gaps``: ``[{"start", "end"}]`` with no data; ``path``: the
    finished file; ``size`` bytes; ``commercials``: ``[[start, end], …]`` seconds into the file;
    ``item_id``: the library item once imported; ``message``: the last problem in words."""

    __tablename__ = "dvr_recordings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("dvr_rules.id", ondelete="SET NULL"), nullable=True, index=True)
    programme_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episode_key: Mapped[str | None] = mapped_column(String(512), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    device_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    title: Mapped[str] = mapped_column(String(512))
    subtitle: Mapped[str | None] = mapped_column(String(512), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    season: Mapped[int | None] = mapped_column(Integer, nullable=True)
    episode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    original_air_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    categories: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start: Mapped[float] = mapped_column(Float)
    stop: Mapped[float] = mapped_column(Float)
    padded_start: Mapped[float] = mapped_column(Float)
    padded_stop: Mapped[float] = mapped_column(Float, index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    gaps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    path: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    commercials: Mapped[list[list[float]] | None] = mapped_column(JSON, nullable=True)
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    def as_dict(self) -> dict[str, Any]:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}
