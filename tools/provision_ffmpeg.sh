#!/usr/bin/env sh
# Makes sure the video tests have ffmpeg and ffprobe (part of `./run test`).
# Debian's `ffmpeg` package: a well-kept decoder for mp4/webm whose libraries apt resolves.
# FFMPEG_PATH overrides the binary (ffprobe is looked for beside it); nothing is installed when
# one is already there.
set -eu
ffmpeg="${FFMPEG_PATH:-$(command -v ffmpeg || echo /usr/bin/ffmpeg)}"
if [ -x "$ffmpeg" ]; then
  exit 0
fi
if [ -n "${FFMPEG_PATH:-}" ]; then
  echo "FFMPEG_PATH=$FFMPEG_PATH is not an executable; unset it or point it at ffmpeg" >&2
  exit 1
fi
as_root=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo"
  else
    as_root="none"
  fi
fi
if [ "$as_root" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The video tests need ffmpeg and this user cannot install it." >&2
  echo "Install it once (Debian/Ubuntu: sudo apt-get install ffmpeg)," >&2
  echo "or set FFMPEG_PATH to an ffmpeg binary (with ffprobe beside it), then run ./run test again." >&2
  exit 1
fi
echo "==> installing Debian's ffmpeg for the video tests (one time, about 1-2 minutes)" >&2
$as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends ffmpeg \
  >/dev/null
echo "==> ffmpeg installed: $(/usr/bin/ffmpeg -version 2>/dev/null | head -n 1)" >&2
