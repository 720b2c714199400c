#!/usr/bin/env bash
# Runs the XState peer of `cargo bench -p integritas-tests --bench cycle` on
# the payloads that bench wrote to target/xstate-cycle.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
[ -f "$root/target/xstate-cycle.json" ] || { echo "run the cycle bench first: cargo bench -p integritas-tests --bench cycle" >&2; exit 1; }
(cd "$here" && npm install --no-audit --no-fund --silent)
node "$here/cycle.mjs" "$root/target/xstate-cycle.json"
