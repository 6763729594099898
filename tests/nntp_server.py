"""A small NNTP news server for usenet tests (RFC 3977 reader commands, yEnc 1.3 bodies).

Why it exists: no news server can run here, and NZBGet does not *fail* a download when it has no
server — with none configured a job waits in the queue forever, and with an unreachable one it
retries the connection forever (observed with NZBGet 21). A usenet download only fails the way it
does in real life when a server answers ``430 No Such Article``. This server does exactly that for
every message-id it does not hold, and serves the articles it does hold, yEnc-encoded, so a
download can also complete.

- :class:`NewsServer` — ``start()`` / ``stop()``, ``host``/``port``, ``post_file(name, data)``
  returns the NZB (bytes) for a file it now serves; :func:`make_nzb` builds an NZB whose articles
  nobody holds (the "missing articles" failure path).

Wire format sources: RFC 3977 (greeting 200/201, ``GROUP`` 211, ``ARTICLE``/``BODY``/``HEAD``/
``STAT`` 220–223, 430 for an unknown message-id, dot-stuffing and the ``.`` terminator, ``QUIT``
205, ``CAPABILITIES`` 101), RFC 4643 (``AUTHINFO USER/PASS`` 381/281), the yEnc 1.3 draft
(``=ybegin``/``=ypart``/``=yend``, critical characters NUL LF CR ``=`` escaped as ``=`` + (c+64)),
and the NZB 1.1 DTD (newzbin.com) for the NZB file.
"""

from __future__ import annotations

import hashlib
import socketserver
import threading
import time
import zlib
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

LINE_LENGTH = 128
GROUP = "alt.binaries.omnimedia.test"


def yenc_encode(data: bytes, line_length: int = LINE_LENGTH) -> list[bytes]:
    """Encode ``data`` as yEnc lines (without the header/trailer lines)."""
    lines: list[bytes] = []
    line = bytearray()
    for byte in data:
        out = (byte + 42) % 256
        escape_it = out in (0x00, 0x0A, 0x0D, 0x3D)
        # A leading/trailing space or tab is lost by some servers, and a leading '.' is
        # dot-stuffing territory: escape them too (yEnc 1.3 allows escaping any character).
        if not escape_it and out in (0x09, 0x20) and (not line or len(line) >= line_length - 1):
            escape_it = True
        if not escape_it and out == 0x2E and not line:
            escape_it = True
        if escape_it:
            line += bytes((0x3D, (out + 64) % 256))
        else:
            line.append(out)
        if len(line) >= line_length:
            lines.append(bytes(line))
            line = bytearray()
    if line:
        lines.append(bytes(line))
    return lines


@dataclass
class Article:
    message_id: str  # without the angle brackets
    body_lines: list[bytes]
    subject: str
    size: int  # bytes the NZB declares for the segment (encoded article size)


@dataclass
class NewsServer:
    """A threaded NNTP server on ``host``:``port`` (0 = a free port).

    ``username``/``password`` (both or neither) make it demand ``AUTHINFO`` (RFC 4643).
    ``requests`` lists the message-ids asked for, in order (for assertions)."""

    host: str = "127.0.0.1"
    port: int = 0
    username: str | None = None
    password: str | None = None
    articles: dict[str, Article] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    _server: socketserver.ThreadingTCPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> NewsServer:
        news = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                news._session(self.rfile, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="nntp-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- content ----------------------------------------------------------------------------------
    def post_file(self, name: str, data: bytes, *, segment_size: int = 256 * 1024, poster: str = "tester@example.invalid",
                  title: str | None = None, category: str | None = None) -> bytes:
        """Store ``data`` as yEnc articles of ``segment_size`` bytes and return an NZB for it."""
        total = max(1, -(-len(data) // segment_size))
        digest = hashlib.sha1(name.encode() + data[:64]).hexdigest()[:12]
        segments: list[tuple[int, int, str]] = []
        crc_all = zlib.crc32(data) & 0xFFFFFFFF
        for part in range(1, total + 1):
            begin = (part - 1) * segment_size
            chunk = data[begin : begin + segment_size]
            message_id = f"part{part}of{total}.{digest}@omnimedia.test"
            head = f"=ybegin part={part} total={total} line={LINE_LENGTH} size={len(data)} name={name}".encode()
            ypart = f"=ypart begin={begin + 1} end={begin + len(chunk)}".encode()
            trailer = (f"=yend size={len(chunk)} part={part} pcrc32={zlib.crc32(chunk) & 0xFFFFFFFF:08x}"
                       f" crc32={crc_all:08x}").encode()
            lines = [head, ypart, *yenc_encode(chunk), trailer]
            subject = f'{title or name} - "{name}" yEnc ({part}/{total})'
            encoded_size = sum(len(x) + 2 for x in lines)
            self.articles[message_id] = Article(message_id, lines, subject, encoded_size)
            segments.append((part, encoded_size, message_id))
        return make_nzb(name, segments, poster=poster, title=title, category=category, total=total)

    # -- protocol ---------------------------------------------------------------------------------
    def _session(self, rfile, wfile) -> None:  # noqa: C901 - one flat command table reads best
        def send(line: str) -> None:
            wfile.write(line.encode() + b"\r\n")

        def send_block(lines: list[bytes]) -> None:
            out = bytearray()
            for raw in lines:
                out += (b"." + raw if raw.startswith(b".") else raw) + b"\r\n"
            out += b".\r\n"
            wfile.write(bytes(out))

        authed = self.username is None
        pending_user: str | None = None
        group: str | None = None
        send("200 Omni-Media test news server ready (posting prohibited)")
        while True:
            raw = rfile.readline()
            if not raw:
                return
            parts = raw.decode("utf-8", "replace").strip().split()
            if not parts:
                continue
            cmd, args = parts[0].upper(), parts[1:]
            if cmd == "QUIT":
                send("205 closing connection")
                return
            if cmd == "CAPABILITIES":
                send("101 Capability list:")
                send_block([b"VERSION 2", b"READER", b"AUTHINFO USER"])
                continue
            if cmd == "MODE" and args[:1] and args[0].upper() == "READER":
                send("200 Reader mode, posting prohibited")
                continue
            if cmd == "DATE":
                send("111 " + time.strftime("%Y%m%d%H%M%S", time.gmtime()))
                continue
            if cmd == "AUTHINFO" and len(args) >= 2:
                kind = args[0].upper()
                if kind == "USER":
                    pending_user = args[1]
                    send("381 Password required")
                elif kind == "PASS":
                    if pending_user == self.username and args[1] == self.password:
                        authed = True
                        send("281 Authentication accepted")
                    else:
                        send("481 Authentication failed")
                else:
                    send("501 Syntax error")
                continue
            if not authed:
                send("480 Authentication required")
                continue
            if cmd == "GROUP" and args:
                group = args[0]
                count = len(self.articles)
                send(f"211 {count} 1 {max(count, 1)} {group}")
                continue
            if cmd in ("ARTICLE", "BODY", "HEAD", "STAT"):
                if not args or not args[0].startswith("<"):
                    send("420 No current article selected" if group else "412 No newsgroup selected")
                    continue
                message_id = args[0].strip("<>")
                self.requests.append(message_id)
                article = self.articles.get(message_id)
                if article is None:
                    send("430 No Such Article Found")
                    continue
                headers = [
                    b"From: tester@example.invalid",
                    f"Newsgroups: {group or GROUP}".encode(),
                    f"Subject: {article.subject}".encode(),
                    f"Message-ID: <{message_id}>".encode(),
                ]
                if cmd == "STAT":
                    send(f"223 0 <{message_id}>")
                elif cmd == "HEAD":
                    send(f"221 0 <{message_id}>")
                    send_block(headers)
                elif cmd == "BODY":
                    send(f"222 0 <{message_id}>")
                    send_block(article.body_lines)
                else:
                    send(f"220 0 <{message_id}>")
                    send_block([*headers, b"", *article.body_lines])
                continue
            send("500 Unknown command")


def make_nzb(name: str, segments: list[tuple[int, int, str]] | None = None, *, poster: str = "tester@example.invalid",
             title: str | None = None, category: str | None = None, total: int | None = None,
             group: str = GROUP) -> bytes:
    """An NZB 1.1 document for one file. ``segments``: ``[(number, bytes, message_id)]``; by
    default two segments of 500,000 bytes whose articles no server holds."""
    if segments is None:
        stem = hashlib.sha1(name.encode()).hexdigest()[:12]
        segments = [(n, 500_000, f"part{n}of2.{stem}@missing.invalid") for n in (1, 2)]
    total = total or len(segments)
    meta = []
    if title:
        meta.append(f'  <meta type="title">{escape(title)}</meta>')
    if category:
        meta.append(f'  <meta type="category">{escape(category)}</meta>')
    subject = f'{title or name} - "{name}" yEnc (1/{total})'
    segs = "\n".join(
        f'   <segment bytes="{size}" number="{number}">{escape(mid)}</segment>' for number, size, mid in segments
    )
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nzb PUBLIC "-//newzBin//DTD NZB 1.1//EN" "http://www.newzbin.com/DTD/nzb/nzb-1.1.dtd">
<nzb xmlns="http://www.newzbin.com/DTD/2003/nzb">
 <head>
{chr(10).join(meta)}
 </head>
 <file poster={quoteattr(poster)} date="{int(time.time()) - 3600}" subject={quoteattr(subject)}>
  <groups><group>{escape(group)}</group></groups>
  <segments>
{segs}
  </segments>
 </file>
</nzb>
"""
    return doc.encode("utf-8")
