#!/usr/bin/env bash
# Installs the system programs the tests and benchmarks use (Debian/Ubuntu, root or sudo):
# PostgreSQL 15, Redis, OpenSSH server and client, Chromium and wrk. Only what is missing is
# installed, so a second run takes no time. Nothing is started: each test starts its own
# private server on a free loopback port (test/helpers/servers/).
set -euo pipefail

# binary that proves the package is there | Debian package
wanted=(
  "${KOPPEL_PG_BIN:-/usr/lib/postgresql/15/bin}/initdb|postgresql"
  "redis-server|redis-server"
  "/usr/sbin/sshd|openssh-server"
  "sftp|openssh-client"
  "ssh-keygen|openssh-client"
  "chromium|chromium"
  "wrk|wrk"
)

missing=()
for entry in "${wanted[@]}"; do
  binary=${entry%%|*} package=${entry##*|}
  if ! command -v "$binary" >/dev/null 2>&1 && [[ " ${missing[*]} " != *" $package "* ]]; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-servers: nothing to install (postgresql 15, redis-server, openssh, chromium, wrk are present)"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-test-servers: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

# Debian starts a service on install unless policy-rc.d says no; the tests start their own servers.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  "${sudo[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

echo "install-test-servers: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-test-servers: installed ${missing[*]}"
