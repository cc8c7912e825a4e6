#!/usr/bin/env sh
# Makes sure the browser end-to-end tests have a Chromium (part of `./run test`).
# Debian's `chromium` package: the same browser the tests were written against, with its
# libraries resolved by apt (a Chromium from npm, e.g. @sparticuz/chromium, is a Lambda build
# that still needs the host's NSS/GTK libraries and is not kept in step with playwright-core).
# CHROMIUM_PATH overrides the binary; nothing is installed when one is already there.
set -eu
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable; unset it or point it at Chromium" >&2
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
  echo "The browser tests need Chromium and this user cannot install it." >&2
  echo "Install it once (Debian/Ubuntu: sudo apt-get install chromium fonts-dejavu-core)," >&2
  echo "or set CHROMIUM_PATH to a Chromium or Chrome binary, then run ./run test again." >&2
  exit 1
fi
echo "==> installing Debian's chromium for the browser tests (one time, about 1-2 minutes)" >&2
$as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core >/dev/null
echo "==> chromium installed: $("$browser" --version 2>/dev/null || echo "$browser")" >&2
