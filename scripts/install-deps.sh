#!/usr/bin/env bash
# Installs tollgate's build and test dependencies from Debian 12 packages.
# Skips apt entirely when everything is already there. Needs root (or sudo).
set -euo pipefail
packages=(
  cmake ninja-build g++ ccache pkg-config
  liblua5.4-dev libsqlite3-dev libboost1.81-dev nlohmann-json3-dev libssl-dev libpq-dev
  postgresql                 # the PostgreSQL tests start a server of their own
  libcli11-dev               # the tollgate and tollgate-mock commands' flags
  catch2 libbenchmark-dev
  clang libclang-rt-14-dev   # libFuzzer targets and LeakSanitizer runtime
  clang-tidy                 # the checked-in .clang-tidy, run by scripts/tidy.sh
  wrk                        # load benchmarks
)
# Node.js and npm (the official OpenAI client is a test peer): machines of
# this kind ship Node.js 20 with its own npm, which Debian's npm package
# conflicts with, so apt is asked only when the commands are missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
