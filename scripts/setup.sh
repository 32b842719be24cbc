#!/usr/bin/env bash
# Installs the Debian 12 packages RAIN builds and tests with. Idempotent: installs only what is
# missing, so a second run costs one dpkg query. Needs root (or sudo) the first time.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libisal-dev liburing-dev libboost-dev libboost-system-dev librocksdb-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libfuse3-dev fuse3
  libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libsodium-dev
  libssl-dev libgoogle-perftools-dev
  clang libclang-rt-14-dev
  iproute2
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
