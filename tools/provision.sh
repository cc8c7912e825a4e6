#!/usr/bin/env sh
# Makes sure the end-to-end tests have the programs they drive (part of `./run test`): Debian's
# `chromium` for the browser tests (the browser they were written against, its libraries resolved
# by apt; an npm Chromium such as @sparticuz/chromium is a Lambda build that still needs the
# host's NSS/GTK and is not kept in step with playwright-core) and Debian's `ffmpeg` for the
# video tests (a well-kept mp4/webm decoder). CHROMIUM_PATH / FFMPEG_PATH name other binaries
# (ffprobe is looked for beside ffmpeg); nothing is installed when a program is already there.
set -eu

missing=""
packages=""

# check NAME ENV_VAR PATH PURPOSE PACKAGES...: records what apt must install when PATH is absent.
check() {
  name="$1" var="$2" path="$3" purpose="$4"
  shift 4
  if [ -x "$path" ]; then return 0; fi
  if eval "[ -n \"\${$var:-}\" ]"; then
    echo "$var=$path is not an executable; unset it or point it at $name" >&2
    exit 1
  fi
  missing="$missing $name ($purpose)"
  packages="$packages $*"
}

check chromium CHROMIUM_PATH "${CHROMIUM_PATH:-/usr/bin/chromium}" "browser tests" \
  chromium fonts-dejavu-core
check ffmpeg FFMPEG_PATH "${FFMPEG_PATH:-$(command -v ffmpeg || echo /usr/bin/ffmpeg)}" \
  "video tests" ffmpeg
if [ -z "$packages" ]; then exit 0; fi

as_root=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo"
  else
    as_root="none"
  fi
fi
if [ "$as_root" = "none" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need:$missing, and this user cannot install them." >&2
  echo "Install them once (Debian/Ubuntu: sudo apt-get install$packages)," >&2
  echo "or set CHROMIUM_PATH / FFMPEG_PATH to the binaries, then run ./run test again." >&2
  exit 1
fi
echo "==> installing Debian's$packages for the tests (one time, about 1-2 minutes)" >&2
$as_root apt-get update -qq >&2
# shellcheck disable=SC2086 # the package list is meant to split
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $packages \
  >/dev/null
echo "==> installed:$missing" >&2
