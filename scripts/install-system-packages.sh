#!/usr/bin/env bash
# Installs the Debian packages Omni-Media and its tests need. Idempotent: packages already
# installed are left alone, and the package lists are refreshed once per run, only when
# something is missing. Runs as root, or through sudo otherwise.
#
#   ffmpeg            ffprobe for the library scanner, ffmpeg to make test media
#   mediainfo         second opinion on media files (tests, diagnostics)
#   chromium          the dashboard's browser tests (driven by Playwright, never downloaded)
#   fonts-dejavu-core fonts so Chromium renders text in screenshots
#   postgresql        PostgreSQL 15 server binaries (initdb, pg_ctl in /usr/lib/postgresql/15/bin)
#                     for the database tests' throwaway cluster
#   avahi-utils       avahi-publish / avahi-browse for the mDNS discovery tests
#   iproute2          `ip netns` / veth pairs for the mDNS discovery tests
#   procps            ps / pkill used by tests that manage child processes
#   qbittorrent-nox   real torrent client for the acquisition end-to-end tests (Web API v2)
#   transmission-daemon real torrent client and the seeder in those tests (RPC)
#   nzbget            real usenet client for the usenet-path tests (JSON-RPC)
#   mktorrent         makes .torrent files in tests (a second opinion on our info-hash)
#   gmediarender      real DLNA/UPnP media renderer the casting tests drive over SSDP + SOAP
#   gstreamer1.0-libav  lets gmediarender decode H.264/AAC (without it, playback fails silently)
#   gstreamer1.0-plugins-good  its HTTP source (souphttpsrc) and MP4/Matroska demuxers
#   gstreamer1.0-plugins-bad   its MPEG-TS demuxer (what the dlna_generic profile streams)
#   nginx-light       the reference server in the direct-play throughput benchmark
#   hdhomerun-config  Silicondust's own hdhomerun_config: proves the HDHomeRun simulator's UDP
#                     discovery speaks the real protocol
#   comskip           commercial detection for DVR recordings (the hub falls back to ffmpeg
#                     black + silence detection without it)
set -euo pipefail

PACKAGES=(
  ffmpeg
  mediainfo
  chromium
  fonts-dejavu-core
  postgresql
  avahi-utils
  iproute2
  procps
  qbittorrent-nox
  transmission-daemon
  nzbget
  mktorrent
  gmediarender
  gstreamer1.0-libav
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  nginx-light
  hdhomerun-config
  comskip
  ca-certificates
)

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-system-packages: not root and no sudo; run as root" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    echo "install-system-packages: $pkg already installed"
  else
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system-packages: nothing to install"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-system-packages: apt-get update"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
echo "install-system-packages: apt-get install ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-system-packages: done"
