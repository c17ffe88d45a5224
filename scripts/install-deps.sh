#!/usr/bin/env bash
# Installs the Debian packages ota32 needs, only those missing.
#   scripts/install-deps.sh          install what is missing (apt-get)
#   scripts/install-deps.sh --check  exit 1 and list what is missing
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev libfuzzer-14-dev
  # libraries
  libssl-dev libnghttp2-dev libevent-dev libcjson-dev
  # peers used by tests, the demo and benchmarks
  curl openssl nghttp2-client nghttp2-server nginx python3-h2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "missing packages: ${missing[*]}"
    exit 1
  fi
  exit 0
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "ota32: installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "ota32: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# nginx is only a test peer: never let its package start a system service.
if printf '%s\n' "${missing[@]}" | grep -qx nginx; then
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
  fi
fi
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
