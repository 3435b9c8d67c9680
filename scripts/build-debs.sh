#!/usr/bin/env bash
# Builds the Debian packages stockpost-hub and stockpost-agent from binaries already built
# (cargo build --release, or --profile debug for a layout check) with dpkg-deb, no debhelper.
#
# Usage: scripts/build-debs.sh [--profile release|debug] [--bin-dir DIR] [--out DIR]
#   --bin-dir: where the binaries are (default target/<profile>)
#
# Each package holds: the stripped binary in /usr/bin, the hardened systemd unit in
# /lib/systemd/system (ExecStart pointing at /usr/bin), /etc/stockpost/<name>.toml as a conffile,
# the docs an IT person needs in /usr/share/doc/<package>/, and maintainer scripts that create the
# `stockpost` system user and leave the state directory to systemd (StateDirectory=). The hub
# package also carries the Mosquitto files for the broker host in /usr/share/stockpost-hub/mosquitto/
# (a conf.d drop-in, the ACL, a systemd drop-in for mosquitto.service); they are not activated
# by the install, because the broker needs its certificates and passwords first (docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
bin_dir=""
out=target/debian
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --bin-dir) bin_dir="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$profile" in release|debug) ;; *) echo "--profile is release or debug" >&2; exit 2 ;; esac
bin_dir="${bin_dir:-target/$profile}"

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# stockpost-<name>: <summary>
declare -A summary=(
  [hub]="central hub of the Stockpost warehouse system"
  [agent]="warehouse node agent of the Stockpost warehouse system"
)
declare -A about=(
  [hub]=" The hub owns the authoritative inventory: it applies every node's
 transactions exactly once and in order, takes orders, reserves and routes
 stock, sends work down to the nodes, and serves the ops API, the dashboard
 and Prometheus metrics."
  [agent]=" The agent runs on every warehouse node: it reads barcode scanners and
 scales, drives label printers, runs receiving, putaway, picking, packing,
 shipping, counts and returns offline against its own store, and syncs every
 transaction to the hub."
)

build() {
  local name=$1
  local pkg="stockpost-$name"
  local bin="$bin_dir/$pkg"
  [ -x "$bin" ] || { echo "$bin is not built (cargo build --release -p $pkg)" >&2; exit 1; }
  local root="$work/$pkg"
  install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/stockpost" \
    "$root/usr/share/doc/$pkg"
  install -m 0755 "$bin" "$root/usr/bin/$pkg"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/$pkg"
  sed -e "s#/usr/local/bin/#/usr/bin/#" \
      -e "s#file:///usr/share/doc/stockpost/#file:///usr/share/doc/$pkg/#" \
      "systemd/$pkg.service" > "$root/lib/systemd/system/$pkg.service"
  chmod 0644 "$root/lib/systemd/system/$pkg.service"
  install -m 0644 "config/$name.toml" "$root/etc/stockpost/$name.toml"
  for doc in README.md docs/operations.md docs/configuration.md docs/security.md; do
    install -m 0644 "$doc" "$root/usr/share/doc/$pkg/$(basename "$doc")"
  done
  if [ "$name" = hub ]; then
    install -m 0644 docs/api.md docs/openapi.yaml "$root/usr/share/doc/$pkg/"
    install -d "$root/usr/share/$pkg/mosquitto"
    install -m 0644 config/mosquitto.conf "$root/usr/share/$pkg/mosquitto/stockpost.conf"
    install -m 0644 config/mosquitto.acl "$root/usr/share/$pkg/mosquitto/stockpost.acl"
    install -m 0644 systemd/mosquitto-stockpost.conf \
      "$root/usr/share/$pkg/mosquitto/mosquitto.service.d-stockpost.conf"
  else
    install -m 0644 docs/agent-http.md docs/devices.md docs/flows.md "$root/usr/share/doc/$pkg/"
  fi
  cat > "$root/usr/share/doc/$pkg/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: stockpost
Source: https://example.invalid/stockpost

Files: *
Copyright: 2026 Stockpost maintainers
License: Apache-2.0
 On Debian systems the full text of the Apache License 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOF
  printf '%s (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- Stockpost maintainers <maintainers@stockpost.invalid>  %s\n' \
    "$pkg" "$version" "$version" "$(date -R -d @"${SOURCE_DATE_EPOCH:-0}")" \
    | gzip -9n > "$root/usr/share/doc/$pkg/changelog.gz"
  gzip -9n "$root/usr/share/doc/$pkg/"*.md
  [ ! -f "$root/usr/share/doc/$pkg/openapi.yaml" ] || gzip -9n "$root/usr/share/doc/$pkg/openapi.yaml"
  # Justified lintian warnings (docs/operations.md, Packages).
  install -d "$root/usr/share/lintian/overrides"
  cat > "$root/usr/share/lintian/overrides/$pkg" <<EOF
# The binary documents itself (--help) and its manual is in /usr/share/doc/$pkg.
$pkg: no-manual-page [usr/bin/$pkg]
EOF
  echo "/etc/stockpost/$name.toml" > "$root/DEBIAN/conffiles"
  cat > "$root/DEBIAN/postinst" <<EOF
#!/bin/sh
set -e
if [ "\$1" = configure ]; then
    if ! getent passwd stockpost >/dev/null; then
        adduser --quiet --system --group --no-create-home --home /nonexistent \\
            --gecos "Stockpost" stockpost >/dev/null
    fi
    # The configuration may hold broker credentials: root and the service group only.
    chgrp stockpost /etc/stockpost/$name.toml
    chmod 0640 /etc/stockpost/$name.toml
fi
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
  cat > "$root/DEBIAN/prerm" <<EOF
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "\$1" = remove ]; then
    deb-systemd-invoke stop $pkg.service >/dev/null || true
fi
exit 0
EOF
  cat > "$root/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
# The state directory (/var/lib/$pkg) holds the inventory: it is kept, also on purge.
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
  local size
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  cat > "$root/DEBIAN/control" <<EOF
Package: $pkg
Version: $version
Architecture: $arch
Maintainer: Stockpost maintainers <maintainers@stockpost.invalid>
Installed-Size: $size
Depends: libc6 (>= 2.36), adduser, init-system-helpers (>= 1.54~)
Recommends: systemd
Section: misc
Priority: optional
Homepage: https://example.invalid/stockpost
Description: ${summary[$name]}
${about[$name]}
EOF
  local deb="$out/${pkg}_${version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  echo "$deb"
}

build hub
build agent
