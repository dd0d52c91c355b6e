#!/usr/bin/env bash
# Install pinauthd as a hardened systemd service (see docs/systemd.md).
#
#   sudo systemd/install.sh [--dry-run] [--start] [--no-npm] [--root DIR]
#
# Run it from a built checkout (npm ci && npm run build). It is idempotent: running it again
# updates the program, the unit and the udev/modules files, and never overwrites
# /etc/pinauthd/config.json or existing credentials.
#
# The consumer key and secret are read from stdin (two lines: key, then secret) or, on a
# terminal, prompted without echo. They never appear on a command line:
#   printf '%s\n%s\n' "$KEY" "$SECRET" | sudo systemd/install.sh
set -euo pipefail

APP_DIR=/opt/pinauthd
ETC_DIR=/etc/pinauthd
UNIT_NAME=pinauthd.service
MIN_NODE_MAJOR=20

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
Options:
  --dry-run   print what would be done, change nothing (credentials are not read)
  --start     also (re)start the service at the end
  --no-npm    do not run `npm ci --omit=dev` in the target (node_modules must be there)
  --root DIR  install into DIR instead of / (packaging, tests): no systemctl, udevadm,
              modprobe, and no root check
  -h, --help
EOF
}

DRY_RUN=0
START=0
RUN_NPM=1
ROOT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --start) START=1 ;;
    --no-npm) RUN_NPM=0 ;;
    --root)
      [ $# -ge 2 ] || { echo "--root needs a directory" >&2; exit 2; }
      ROOT="${2%/}"
      shift
      ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '==> %s\n' "$*"; }
# Run a command, or only show it with --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '    would run: %s\n' "$*"
  else
    "$@"
  fi
}
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# ---- checks ---------------------------------------------------------------------------------
if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo $0), or try --dry-run first"
fi

node_help() {
  cat >&2 <<'EOF'
pinauthd needs Node.js 20 or newer. Raspberry Pi OS bookworm (Debian 12) ships Node 18.
Install a newer one, for example:
  - NodeSource deb packages (nodejs 20 or 22, installs /usr/bin/node):
      curl -fsSL https://deb.nodesource.com/setup_22.x -o nodesource_setup.sh
      less nodesource_setup.sh && sudo bash nodesource_setup.sh && sudo apt-get install -y nodejs
    (check https://github.com/nodesource/distributions for the architectures they build)
  - the official tarball from https://nodejs.org/en/download (linux-arm64 for a 64-bit OS,
    linux-armv7l for 32-bit Raspberry Pi OS), unpacked under /usr/local:
      sudo tar -xJf node-v22.*-linux-arm64.tar.xz -C /usr/local --strip-components=1
Check with `uname -m` (aarch64 = arm64, armv7l = 32-bit) and `node --version`.
EOF
}

NODE_BIN="$(command -v node || true)"
[ -n "$NODE_BIN" ] || { node_help; die "node not found on PATH"; }
NODE_BIN="$(readlink -f "$NODE_BIN")"
NODE_MAJOR="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
if [ "$NODE_MAJOR" -lt "$MIN_NODE_MAJOR" ]; then
  node_help
  die "found Node $("$NODE_BIN" --version) at $NODE_BIN, need >= $MIN_NODE_MAJOR"
fi
say "Node $("$NODE_BIN" --version) at $NODE_BIN"

# The unit runs the bundle (dist/pinauthd.cjs) through dist/pinauthd-start.cjs (its V8 code
# cache); the `pinauthd` command runs the bundle itself.
for f in dist/pinauthd.cjs dist/pinauthd-start.cjs; do
  [ -f "$SRC_DIR/$f" ] || die "no build found at $SRC_DIR/$f: run 'npm ci && npm run build' first"
done
for f in systemd/pinauthd.service systemd/pinauthd.socket systemd/99-pinauthd.rules systemd/modules-load.d/pinauthd.conf package.json package-lock.json; do
  [ -f "$SRC_DIR/$f" ] || die "missing $SRC_DIR/$f"
done
if [ "$RUN_NPM" = 1 ] && ! command -v npm >/dev/null 2>&1; then
  die "npm not found (it comes with Node); or use --no-npm with node_modules already in place"
fi

T="$ROOT" # target root prefix ('' = the live system)

# ---- program ---------------------------------------------------------------------------------
say "program -> $T$APP_DIR"
run install -d -m 0755 "$T$APP_DIR"
# Replace dist/ as a whole, so files removed upstream do not linger.
run rm -rf "$T$APP_DIR/dist.new"
run cp -R "$SRC_DIR/dist" "$T$APP_DIR/dist.new"
# code caches the checkout's own runs left next to its bundle (the service's is in /var/cache)
run find "$T$APP_DIR/dist.new" -maxdepth 1 -name 'pinauthd.*.v8cache*' -delete
run rm -rf "$T$APP_DIR/dist"
run mv "$T$APP_DIR/dist.new" "$T$APP_DIR/dist"
run install -m 0644 "$SRC_DIR/package.json" "$SRC_DIR/package-lock.json" "$T$APP_DIR/"
if [ -d "$SRC_DIR/config" ]; then
  run rm -rf "$T$APP_DIR/config"
  run cp -R "$SRC_DIR/config" "$T$APP_DIR/config"
fi
for doc in systemd.md using-the-token.md; do
  if [ -f "$SRC_DIR/docs/$doc" ]; then
    run install -d -m 0755 "$T$APP_DIR/docs"
    run install -m 0644 "$SRC_DIR/docs/$doc" "$T$APP_DIR/docs/$doc"
  fi
done
if [ "$RUN_NPM" = 1 ]; then
  # Production dependencies only; serialport's native binding comes as a prebuild.
  if [ "$DRY_RUN" = 1 ]; then
    printf '    would run: (cd %s && npm ci --omit=dev --no-audit --no-fund)\n' "$T$APP_DIR"
  else
    (cd "$T$APP_DIR" && npm ci --omit=dev --no-audit --no-fund)
  fi
fi
# Root owns the program; the service's dynamic user may only read it.
[ "$(id -u)" -ne 0 ] || run chown -R 0:0 "$T$APP_DIR"
run chmod -R u=rwX,go=rX "$T$APP_DIR"

# ---- the `pinauthd` command for operators ----------------------------------------------------
# status, reauth, logout, token and doctor, run as root: the config is found at
# /etc/pinauthd/config.json, and the credentials the unit loads are read from their files.
say "command -> $T/usr/local/bin/pinauthd"
run install -d -m 0755 "$T/usr/local/bin"
if [ "$DRY_RUN" = 1 ]; then
  printf '    would write %s\n' "$T/usr/local/bin/pinauthd"
else
  cat >"$T/usr/local/bin/pinauthd.tmp" <<WRAPPER
#!/bin/sh
# pinauthd operator command (installed by systemd/install.sh)
for name in consumer_key consumer_secret; do
  f="$ETC_DIR/\$name"
  if [ -r "\$f" ]; then
    case \$name in
      consumer_key) export PINAUTHD_CONSUMER_KEY_FILE="\$f" ;;
      consumer_secret) export PINAUTHD_CONSUMER_SECRET_FILE="\$f" ;;
    esac
  fi
done
exec $NODE_BIN $APP_DIR/dist/pinauthd.cjs "\$@"
WRAPPER
  chmod 0755 "$T/usr/local/bin/pinauthd.tmp"
  mv "$T/usr/local/bin/pinauthd.tmp" "$T/usr/local/bin/pinauthd"
fi

# ---- unit, udev rule, modules ---------------------------------------------------------------
say "unit -> $T/etc/systemd/system/$UNIT_NAME"
run install -d -m 0755 "$T/etc/systemd/system" "$T/etc/udev/rules.d" "$T/etc/modules-load.d"
if [ "$NODE_BIN" = /usr/bin/node ]; then
  run install -m 0644 "$SRC_DIR/systemd/pinauthd.service" "$T/etc/systemd/system/$UNIT_NAME"
else
  # The unit names /usr/bin/node; point it at the node we checked (e.g. /usr/local/bin/node).
  if [ "$DRY_RUN" = 1 ]; then
    printf '    would install the unit with ExecStart=%s ...\n' "$NODE_BIN"
  else
    sed "s|^ExecStart=/usr/bin/node |ExecStart=$NODE_BIN |" "$SRC_DIR/systemd/pinauthd.service" >"$T/etc/systemd/system/$UNIT_NAME.tmp"
    chmod 0644 "$T/etc/systemd/system/$UNIT_NAME.tmp"
    mv "$T/etc/systemd/system/$UNIT_NAME.tmp" "$T/etc/systemd/system/$UNIT_NAME"
  fi
fi
say "API socket unit -> $T/etc/systemd/system/pinauthd.socket (/run/pinauthd/api.sock, group pinauthd-api)"
run install -m 0644 "$SRC_DIR/systemd/pinauthd.socket" "$T/etc/systemd/system/pinauthd.socket"
say "udev rule -> $T/etc/udev/rules.d/99-pinauthd.rules (edit idVendor/idProduct for your adapter)"
run install -m 0644 "$SRC_DIR/systemd/99-pinauthd.rules" "$T/etc/udev/rules.d/99-pinauthd.rules"
say "serial drivers at boot -> $T/etc/modules-load.d/pinauthd.conf"
run install -m 0644 "$SRC_DIR/systemd/modules-load.d/pinauthd.conf" "$T/etc/modules-load.d/pinauthd.conf"

# ---- configuration ---------------------------------------------------------------------------
run install -d -m 0755 "$T$ETC_DIR"
if [ -e "$T$ETC_DIR/config.json" ]; then
  say "keeping the existing $T$ETC_DIR/config.json"
elif [ -f "$SRC_DIR/config/pinauthd.example.json" ]; then
  say "config skeleton -> $T$ETC_DIR/config.json (edit it: port, provider)"
  # 0644: the service reads it under its own UID; it holds no secrets.
  run install -m 0644 "$SRC_DIR/config/pinauthd.example.json" "$T$ETC_DIR/config.json"
else
  say "WARNING: no config/pinauthd.example.json to copy; write $T$ETC_DIR/config.json yourself"
fi

# ---- credentials -----------------------------------------------------------------------------
# systemd (PID 1, as root) reads these for LoadCredential= and hands the service a private
# copy, so they stay 0600 root here.
read_secret() { # $1 = name; prints the value on stdout (never echoed to the terminal)
  local value=""
  if [ -t 0 ]; then
    IFS= read -r -s -p "$1: " value </dev/tty || true
    printf '\n' >/dev/tty
  else
    IFS= read -r value || true
  fi
  printf '%s' "$value"
}

for name in consumer_key consumer_secret; do
  file="$T$ETC_DIR/$name"
  if [ -s "$file" ]; then
    say "keeping the existing $file"
    continue
  fi
  if [ "$DRY_RUN" = 1 ]; then
    say "would read $name from stdin (or prompt) and write $file (0600 root)"
    continue
  fi
  value="$(read_secret "$name")"
  [ -n "$value" ] || die "$name is empty: give it on stdin or at the prompt"
  # printf is a shell builtin: the value never shows up in a process list.
  (umask 077 && printf '%s' "$value" >"$file.tmp")
  [ "$(id -u)" -ne 0 ] || chown 0:0 "$file.tmp"
  chmod 0600 "$file.tmp"
  mv "$file.tmp" "$file"
  unset value
  say "wrote $file (0600 root)"
done

# ---- activate ----------------------------------------------------------------------------------
if [ -n "$ROOT" ]; then
  say "installed into $ROOT; not touching the running system (create the group pinauthd-api there)"
  exit 0
fi
# The API socket's group: its members may make signed API calls (docs/using-the-token.md).
if ! getent group pinauthd-api >/dev/null 2>&1; then
  say "group pinauthd-api (add the users whose programs may call the API: usermod -aG pinauthd-api USER)"
  run groupadd --system pinauthd-api
fi
if command -v modprobe >/dev/null 2>&1; then
  # So DeviceAllow=char-ttyUSB/char-ttyACM resolve on this first start too, not only after a reboot.
  run modprobe -a usbserial cdc_acm || say "WARNING: could not load usbserial/cdc_acm now; they load at the next boot"
fi
if command -v udevadm >/dev/null 2>&1; then
  run udevadm control --reload || true
  run udevadm trigger --subsystem-match=tty --action=change || true
fi
if [ -d /run/systemd/system ]; then
  run systemctl daemon-reload
  run systemctl enable "$UNIT_NAME" pinauthd.socket
  if [ "$START" = 1 ]; then
    # a new socket unit only reaches a daemon started after it
    run systemctl stop "$UNIT_NAME"
    run systemctl restart pinauthd.socket
    run systemctl start "$UNIT_NAME"
  fi
else
  say "WARNING: systemd is not running here; run 'systemctl daemon-reload && systemctl enable $UNIT_NAME' on the target"
fi

cat <<EOF
==> done. Next:
    edit $ETC_DIR/config.json (the display port: /dev/pinpad with the udev rule)
    sudo systemctl start pinauthd.socket pinauthd     # or --start next time
    sudo usermod -aG pinauthd-api USER   # who may make signed API calls (docs/using-the-token.md)
    systemctl status pinauthd
    journalctl -u pinauthd -f -o cat
EOF
