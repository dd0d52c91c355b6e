#!/bin/sh
# Make sure socat is installed: the PTY simulator (firmware-sim/pty.ts) and its tests need it.
# It never asks for a password: as root it runs apt-get, otherwise only `sudo -n` (a sudo that
# needs no password); else it says what to run and exits 1. `npm start` falls back to TCP then.
set -u

if command -v socat >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-socat: socat is missing and apt-get is not available: install socat with your package manager" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
  else
    echo "ensure-socat: socat is missing; installing it needs root: sudo apt-get install socat" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Try without refreshing the package lists first; update only when that fails.
if ! $SUDO apt-get install -y -qq socat >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  if ! $SUDO apt-get install -y -qq socat >/dev/null; then
    echo "ensure-socat: could not install socat with apt-get" >&2
    exit 1
  fi
fi

if ! command -v socat >/dev/null 2>&1; then
  echo "ensure-socat: socat still not found after installing" >&2
  exit 1
fi
echo "ensure-socat: installed $(socat -V 2>/dev/null | sed -n 2p)"
