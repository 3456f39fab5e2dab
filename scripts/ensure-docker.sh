#!/usr/bin/env bash
# Makes sure a Docker engine answers on the default socket and that the local JRE base image
# used by the project's Dockerfiles exists. Idempotent: a second run only checks and exits.
#
#   scripts/ensure-docker.sh                 # base image all-cds/jre17:bookworm
#   ALLCDS_BASE_IMAGE=eclipse-temurin:17-jre scripts/ensure-docker.sh   # pullable: nothing built
#
# Steps (each skipped when already done):
#   1. `docker info` fails -> install Debian's docker.io if dockerd is missing, start dockerd in the
#      background (log: /tmp/dockerd.log), wait until `docker info` answers (bounded).
#   2. base image named all-cds/* missing -> debootstrap a minimal bookworm with
#      openjdk-17-jre-headless from the Debian mirror apt already uses, and `docker import` it.
# Prints one line per action taken; details go to /tmp/ensure-docker.*.log.
set -euo pipefail

BASE_IMAGE="${ALLCDS_BASE_IMAGE:-all-cds/jre17:bookworm}"
SUITE=bookworm
DOCKERD_LOG=/tmp/dockerd.log
APT_LOG=/tmp/ensure-docker.apt.log
DEBOOTSTRAP_LOG=/tmp/ensure-docker.debootstrap.log
DOCKER_WAIT_SECONDS="${ALLCDS_DOCKER_WAIT_SECONDS:-60}"

say() { echo "ensure-docker: $*"; }
die() { echo "ensure-docker: ERROR: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$APT_LOG" 2>&1 \
      || die "apt-get update failed (see $APT_LOG)"
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$APT_LOG" 2>&1 \
    || die "apt-get install $* failed (see $APT_LOG)"
}

docker_answers() { docker info >/dev/null 2>&1; }

# ---------------------------------------------------------------------------------------------
# 1. Docker engine
# ---------------------------------------------------------------------------------------------
if ! docker_answers; then
  if ! command -v dockerd >/dev/null 2>&1; then
    say "installing Debian's docker.io (log: $APT_LOG)"
    # iptables: dockerd's default bridge networking needs it; docker.io only recommends it.
    apt_install docker.io iptables ca-certificates
  fi
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid + nohup: the daemon outlives this script and the shell that ran it.
    as_root setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  waited=0
  until docker_answers; do
    if [ "$waited" -ge "$DOCKER_WAIT_SECONDS" ]; then
      tail -n 20 "$DOCKERD_LOG" >&2 || true
      die "docker info did not answer within ${DOCKER_WAIT_SECONDS}s (see $DOCKERD_LOG)"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "docker engine answers (after ${waited}s)"
fi

# ---------------------------------------------------------------------------------------------
# 2. Base image
# ---------------------------------------------------------------------------------------------
case "$BASE_IMAGE" in
  all-cds/*) ;;
  *) exit 0 ;;  # not ours: assumed pullable by `docker build`
esac

if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  exit 0
fi

# The Debian mirror apt already uses: first URI serving the "bookworm" suite with "main",
# from deb822 *.sources files or one-line *.list files.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -r "$f" ] || continue
    case "$f" in
      *.sources)
        awk -v suite="$SUITE" '
          function flush() {
            if (uris != "" && (" " suites " ") ~ (" " suite " ") && (" " comps " ") ~ / main /) {
              split(uris, u, " "); print u[1]; found = 1; exit
            }
            uris = ""; suites = ""; comps = ""
          }
          /^[[:space:]]*$/ { flush(); next }
          /^[[:space:]]*#/ { next }
          /^URIs:/       { sub(/^URIs:[[:space:]]*/, "");       uris = $0 }
          /^Suites:/     { sub(/^Suites:[[:space:]]*/, "");     suites = $0 }
          /^Components:/ { sub(/^Components:[[:space:]]*/, ""); comps = $0 }
          END { if (!found) flush() }' "$f"
        ;;
      *)
        awk -v suite="$SUITE" '
          $1 == "deb" {
            i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } }
          }' "$f"
        ;;
    esac
  done | head -n 1
}

MIRROR="$(debian_mirror || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap (log: $APT_LOG)"
  apt_install debootstrap
fi

ROOTFS="$(mktemp -d /var/tmp/allcds-rootfs.XXXXXX)"
cleanup() { as_root rm -rf --one-file-system "$ROOTFS"; }
trap cleanup EXIT

say "building $BASE_IMAGE: debootstrap $SUITE + openjdk-17-jre-headless from $MIRROR (log: $DEBOOTSTRAP_LOG)"
as_root debootstrap --variant=minbase --include=openjdk-17-jre-headless \
  "$SUITE" "$ROOTFS" "$MIRROR" >"$DEBOOTSTRAP_LOG" 2>&1 \
  || { tail -n 20 "$DEBOOTSTRAP_LOG" >&2; die "debootstrap failed (see $DEBOOTSTRAP_LOG)"; }

# Slim the tree: package caches, lists, docs, man pages and translations are not needed at run time.
as_root rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
  "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* \
  "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log "$ROOTFS"/var/cache/debconf/*-old
find "$ROOTFS"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true

ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
JAVA_HOME_IN_IMAGE="/usr/lib/jvm/java-17-openjdk-${ARCH}"
[ -x "$ROOTFS$JAVA_HOME_IN_IMAGE/bin/java" ] || die "no java at $JAVA_HOME_IN_IMAGE in the new root file system"

as_root tar -C "$ROOTFS" --numeric-owner -c . | docker import \
  --change "ENV JAVA_HOME=$JAVA_HOME_IN_IMAGE" \
  --change "ENV PATH=$JAVA_HOME_IN_IMAGE/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap --variant=minbase --include=openjdk-17-jre-headless $SUITE" \
  - "$BASE_IMAGE" >/dev/null
say "built $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
