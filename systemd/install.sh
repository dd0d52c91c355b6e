#!/usr/bin/env bash
# Install pinauthd as a hardened systemd service (see docs/systemd.md), or remove it.
#
#   sudo systemd/install.sh [--dry-run] [--start] [--no-npm] [--node PATH] [--root DIR]
#   sudo systemd/install.sh --uninstall [--purge] [--dry-run] [--root DIR]
#
# Run it from a built checkout (npm ci && npm run build). It is idempotent: running it again
# updates the program, the unit and the udev/modules files, and never overwrites
# /etc/pinauthd/config.json or existing credentials. --uninstall removes what it installed
# and keeps the config, the credentials and the token store unless --purge is given.
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
  # the comment block at the top of this file
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
  cat <<'EOF'
Options:
  --dry-run    print what would be done, change nothing (credentials are not read)
  --start      also (re)start the service at the end
  --no-npm     do not run `npm ci --omit=dev` in the target (node_modules must be there)
  --node PATH  the node the service runs (default: `node` on PATH); it must be outside
               /home, /root and /run/user, which the unit's ProtectHome=yes hides
  --root DIR   install into DIR instead of / (packaging, tests): no systemctl, udevadm,
               modprobe, and no root check
  --uninstall  stop and disable the service, remove the program, the unit, the udev and
               modules-load files and /usr/local/bin/pinauthd; keep /etc/pinauthd (config,
               credentials) and the token store
  --purge      with --uninstall: also remove /etc/pinauthd, the token store and the cache
  -h, --help
EOF
}

DRY_RUN=0
START=0
RUN_NPM=1
ROOT=""
NODE_OPT=""
UNINSTALL=0
PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1 ;;
    --start) START=1 ;;
    --no-npm) RUN_NPM=0 ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) PURGE=1 ;;
    --node)
      [ $# -ge 2 ] || { echo "--node needs a path" >&2; exit 2; }
      NODE_OPT="$2"
      shift
      ;;
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
if [ "$PURGE" = 1 ] && [ "$UNINSTALL" = 0 ]; then
  echo "--purge goes with --uninstall" >&2
  exit 2
fi

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

T="$ROOT" # target root prefix ('' = the live system)

# ---- uninstall ---------------------------------------------------------------------------------
if [ "$UNINSTALL" = 1 ]; then
  if [ -z "$ROOT" ] && [ -d /run/systemd/system ]; then
    run systemctl disable --now "$UNIT_NAME" pinauthd.socket || true
  fi
  say "removing the program, the units, the udev and modules-load files and the command"
  run rm -rf "$T$APP_DIR"
  run rm -f "$T/etc/systemd/system/$UNIT_NAME" "$T/etc/systemd/system/pinauthd.socket" "$T/etc/udev/rules.d/99-pinauthd.rules" \
    "$T/etc/modules-load.d/pinauthd.conf" "$T/usr/local/bin/pinauthd"
  # DynamicUser= keeps state and cache under /var/lib/private and /var/cache/private, with a
  # symlink at the usual place.
  STATE_DIRS="$T/var/lib/pinauthd $T/var/lib/private/pinauthd"
  CACHE_DIRS="$T/var/cache/pinauthd $T/var/cache/private/pinauthd"
  if [ "$PURGE" = 1 ]; then
    say "--purge: removing $T$ETC_DIR (config, credentials), the token store and the cache"
    # shellcheck disable=SC2086 # word splitting of the two-path lists is wanted
    run rm -rf "$T$ETC_DIR" $STATE_DIRS $CACHE_DIRS
  else
    # shellcheck disable=SC2086
    run rm -rf $CACHE_DIRS
    say "kept $T$ETC_DIR (config, credentials) and the token store in $T/var/lib/private/pinauthd;"
    say "  remove them too with: sudo $0 --uninstall --purge"
  fi
  if [ -z "$ROOT" ]; then
    if command -v udevadm >/dev/null 2>&1; then run udevadm control --reload || true; fi
    if [ -d /run/systemd/system ]; then run systemctl daemon-reload; fi
  fi
  say "pinauthd is uninstalled"
  exit 0
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

NODE_BIN="${NODE_OPT:-$(command -v node || true)}"
[ -n "$NODE_BIN" ] && [ -x "$NODE_BIN" ] || { node_help; die "node not found${NODE_OPT:+ at $NODE_OPT} (on PATH: $(command -v node || echo none))"; }
NODE_BIN="$(readlink -f "$NODE_BIN")"
# The unit has ProtectHome=yes: /home, /root and /run/user do not exist for the service, so
# a node from nvm (~/.nvm/...) or any other home directory cannot start it.
case "$NODE_BIN" in
  /home/* | /root/* | /run/user/*)
    node_help
    die "node is at $NODE_BIN, inside a home directory, which the service cannot see (ProtectHome=yes).
  Install Node.js system-wide as above (NodeSource puts it in /usr/bin, the tarball in /usr/local/bin),
  then run this again, or point --node at it: sudo $0 --node /usr/local/bin/node.
  (nvm is fine for development; a copy of its node in /usr/local works too:
   sudo cp \"\$(command -v node)\" /usr/local/bin/node)"
    ;;
esac
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
for f in systemd/pinauthd.service systemd/pinauthd.socket systemd/99-pinauthd.rules systemd/modules-load.d/pinauthd.conf docs/systemd.md package.json package-lock.json; do
  [ -f "$SRC_DIR/$f" ] || die "missing $SRC_DIR/$f"
done
if [ "$RUN_NPM" = 1 ] && ! command -v npm >/dev/null 2>&1; then
  die "npm not found (it comes with Node); or use --no-npm with node_modules already in place"
fi

# ---- program ---------------------------------------------------------------------------------
say "program -> $T$APP_DIR"
run install -d -m 0755 "$T$APP_DIR"
# Only what runs: the bundle and its loader (dist/pinauthd*.cjs), not the unbundled build, the
# simulator, the local provider, the scripts, source maps or code caches the checkout's own
# runs left (the service keeps its cache in /var/cache). dist/ is replaced as a whole, so
# files removed upstream do not linger.
run rm -rf "$T$APP_DIR/dist.new"
run install -d -m 0755 "$T$APP_DIR/dist.new"
run install -m 0644 "$SRC_DIR"/dist/pinauthd*.cjs "$T$APP_DIR/dist.new/"
run rm -rf "$T$APP_DIR/dist"
run mv "$T$APP_DIR/dist.new" "$T$APP_DIR/dist"
run install -m 0644 "$SRC_DIR/package.json" "$SRC_DIR/package-lock.json" "$T$APP_DIR/"
# The unit's Documentation= points here; the API socket's guide beside it.
run install -d -m 0755 "$T$APP_DIR/docs"
run install -m 0644 "$SRC_DIR/docs/systemd.md" "$T$APP_DIR/docs/systemd.md"
if [ -f "$SRC_DIR/docs/using-the-token.md" ]; then
  run install -m 0644 "$SRC_DIR/docs/using-the-token.md" "$T$APP_DIR/docs/using-the-token.md"
fi
# An earlier install copied config/ here; nothing reads it (the presets are in the bundle).
run rm -rf "$T$APP_DIR/config"
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
