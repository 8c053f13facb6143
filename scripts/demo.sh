#!/usr/bin/env bash
# The README's main job: build tollgate and run `tollgate demo`: a traffic
# mix routed under policies/company.lua against the built-in mock provider,
# with the bill per team and the saving against one flagship model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target tollgate_cli
build/tools/tollgate demo "$@"
