#!/usr/bin/env bash
# The README's main job: build tollgate and run its demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target tollgate_cli
build/tools/tollgate check policies/*.lua
echo
echo "== Where would a pii-tagged code request go, and why? =="
build/tools/tollgate explain --policy policies/by_task.lua --request examples/requests/pii_code.json
echo
echo "== A long document, routed by size =="
build/tools/tollgate explain --policy policies/by_size.lua --request examples/requests/long_document.json
echo
echo "== The shipped policies' own tests =="
build/tools/tollgate test policies/
