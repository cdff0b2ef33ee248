#!/usr/bin/env bash
# Installs every system program the strict test suite needs (shared/TESTING.md) on a fresh machine:
# each line of `apt_programs` is "<program> <Debian package>", the program looked for on PATH, in
# /usr/sbin, or as a glob. tests/support/programs.py lists the same programs for the tests'
# skip-or-fail checks, and tests/unit/test_system_programs.py fails when one of them is not
# installed here - a green CI must never hide a missing install step.
# Idempotent: a package is installed only when its program is missing. apt needs root (CI is root).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive

apt_programs=(
  "sshd openssh-server"
  "ssh-keygen openssh-client"
  "unshare util-linux"
  "nsenter util-linux"
  "/usr/lib/postgresql/*/bin/initdb postgresql"
  "/usr/lib/postgresql/*/bin/pg_dump postgresql-client"
  "odbcinst unixodbc"
  "odbc:PostgreSQL-Unicode odbc-postgresql"
  "haproxy haproxy"
  "prometheus prometheus"
  "promtool prometheus"
  "prometheus-alertmanager prometheus-alertmanager"
  "amtool prometheus-alertmanager"
  "chromium chromium"
  "systemd-analyze systemd"
  "faketime faketime"
  "node nodejs"
  "npm npm"
)
# npm packages, installed into <repo>/.work/node: "<program> <package@range>"
npm_programs=(
  "pm2 pm2@5"
)

have() {
  case "$1" in
    # an ODBC driver by its registered name, '-' standing for a space: odbc:PostgreSQL-Unicode
    odbc:*) local driver=${1#odbc:}
            command -v odbcinst >/dev/null && odbcinst -q -d | grep -qx "\[${driver//-/ }\]" ;;
    /*) compgen -G "$1" >/dev/null ;;
    *) command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] ;;
  esac
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "install-system: must run as root to apt-get install $*" >&2
    exit 1
  fi
  # Package scripts must not start system services: a system sshd on 0.0.0.0:22 would take
  # port 22 from the test hosts, a system PostgreSQL the default port.
  local blocker=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    blocker=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' > "$blocker"
    chmod 755 "$blocker"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # Refresh the package lists only when they are missing or a day old.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -1 -print -quit 2>/dev/null)" ]; then
    apt-get update -qq
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  if [ -n "$blocker" ]; then rm -f "$blocker"; trap - EXIT; fi
}

missing_packages=()
for line in "${apt_programs[@]}"; do
  read -r program package <<<"$line"
  if ! have "$program" && [[ " ${missing_packages[*]} " != *" $package "* ]]; then
    missing_packages+=("$package")
  fi
done
if [ ${#missing_packages[@]} -eq 0 ]; then
  echo "system packages: present (${#apt_programs[@]} programs)"
else
  apt_install "${missing_packages[@]}"
  for line in "${apt_programs[@]}"; do
    read -r program package <<<"$line"
    have "$program" || { echo "system packages: $program still missing after installing $package" >&2; exit 1; }
  done
  echo "system packages: installed ${missing_packages[*]}"
fi

for line in "${npm_programs[@]}"; do
  read -r program spec <<<"$line"
  bin="$repo/.work/node/node_modules/.bin/$program"
  if [ -x "$bin" ]; then
    echo "$program: present ($bin)"
    continue
  fi
  npm install --prefix "$repo/.work/node" --no-audit --no-fund --loglevel=error "$spec" >/dev/null </dev/null
  [ -x "$bin" ] || { echo "$program: npm install $spec finished but $bin is missing" >&2; exit 1; }
  echo "$program: installed $spec into $repo/.work/node"
done
