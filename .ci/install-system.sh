#!/usr/bin/env bash
# Installs the system parts the integration tests use (shared/TESTING.md): sshd, PostgreSQL with
# its ODBC driver, HAProxy and iproute2 from apt, pm2 from npm into <repo>/.work/node.
# Idempotent: each part is skipped when already present. apt needs root; CI runs as root.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive
packages=(openssh-server postgresql odbc-postgresql unixodbc haproxy iproute2 prometheus)

have() { command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ]; }

system_parts_present() {
  have sshd && have haproxy && have ip && have odbcinst && have prometheus &&
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null &&
    odbcinst -q -d | grep -qx '\[PostgreSQL Unicode\]'
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

if system_parts_present; then
  echo "system packages: present (sshd, PostgreSQL, ODBC driver, HAProxy, iproute2)"
else
  apt_install "${packages[@]}"
  system_parts_present || { echo "system packages: still missing after install" >&2; exit 1; }
  echo "system packages: installed ${packages[*]}"
fi

if have unshare && have nsenter; then
  echo "namespaces tools: present (unshare, nsenter)"
else
  apt_install util-linux
  echo "namespaces tools: installed util-linux"
fi

pm2="$repo/.work/node/node_modules/.bin/pm2"
if [ -x "$pm2" ]; then
  echo "pm2: present ($pm2)"
else
  have npm || apt_install nodejs npm
  npm install --prefix "$repo/.work/node" --no-audit --no-fund --loglevel=error pm2@5 >/dev/null </dev/null
  [ -x "$pm2" ] || { echo "pm2: npm install finished but $pm2 is missing" >&2; exit 1; }
  # the version from package.json: running pm2 would start a daemon in ~/.pm2
  version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$repo/.work/node/node_modules/pm2/package.json" | head -1)
  echo "pm2: installed $version into $repo/.work/node"
fi
