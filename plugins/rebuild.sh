#!/usr/bin/env bash
# Rebuilds every plugin in plugins/ from source, reproducibly, into
# plugins/dist/<name>.wasm and plugins/dist/SHA256SUMS.
#
#   plugins/rebuild.sh           rebuild and update dist/ (then commit it)
#   plugins/rebuild.sh --check   rebuild into a scratch target dir and fail if
#                                any committed .wasm (dist/ and every copy under
#                                jurisdictions/*/plugins/) or SHA256SUMS differs
#
# Reproducible means: same source + same rustc → same bytes, wherever the repo
# or the toolchain lives. Paths that could leak into the module (the repo, the
# cargo home, the rustup toolchain) are remapped to fixed names, the lock file
# is used as is (--locked), and the release profile uses one codegen unit, LTO,
# panic=abort and strip. The rustc version is part of the input: it is pinned
# in dist/TOOLCHAIN and checked first.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo="$(cd "$here/.." && pwd -P)"
target="wasm32-unknown-unknown"

mode="build"
case "${1:-}" in
  "") ;;
  --check) mode="check" ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

want_rustc="$(cat "$here/dist/TOOLCHAIN" 2>/dev/null || true)"
have_rustc="$(rustc --version)"
if [[ "$mode" == "check" && "$want_rustc" != "$have_rustc" ]]; then
  echo "rebuild.sh: dist/ was built with '$want_rustc' but this is '$have_rustc';" >&2
  echo "rebuild.sh: the bytes depend on the compiler, so they cannot be checked here." >&2
  exit 1
fi

sysroot="$(rustc --print sysroot)"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
cargo_home="$(cd "$cargo_home" && pwd -P)"
# rustc uses the last matching prefix, so the most specific comes last.
export RUSTFLAGS="--remap-path-prefix=$repo=/integritas --remap-path-prefix=$sysroot=/rust-toolchain --remap-path-prefix=$cargo_home=/cargo-home"
unset CARGO_ENCODED_RUSTFLAGS RUSTC_WRAPPER CARGO_BUILD_RUSTFLAGS
export CARGO_INCREMENTAL=0
export SOURCE_DATE_EPOCH=0

if [[ "$mode" == "check" ]]; then
  target_dir="$(mktemp -d)"
  trap 'rm -rf "$target_dir"' EXIT
else
  target_dir="$here/target/reproducible"
fi

plugins=()
for manifest in "$here"/*/Cargo.toml; do
  dir="$(basename "$(dirname "$manifest")")"
  [[ "$dir" == "sdk" ]] && continue
  plugins+=("$dir")
done

args=(build --release --locked --target "$target" --manifest-path "$here/Cargo.toml" --target-dir "$target_dir")
for p in "${plugins[@]}"; do args+=(-p "$p"); done
cargo "${args[@]}"

built="$target_dir/$target/release"
status=0
if [[ "$mode" == "build" ]]; then
  mkdir -p "$here/dist"
  rm -f "$here"/dist/*.wasm
  for p in "${plugins[@]}"; do install -m 644 "$built/${p//-/_}.wasm" "$here/dist/$p.wasm"; done
  (cd "$here/dist" && sha256sum -- *.wasm > SHA256SUMS)
  echo "$have_rustc" > "$here/dist/TOOLCHAIN"
  # Keep the packs' copies in step with dist/.
  for copy in "$repo"/jurisdictions/*/plugins/*.wasm; do
    [[ -e "$copy" ]] || continue
    name="$(basename "$copy")"
    if [[ -e "$here/dist/$name" ]]; then install -m 644 "$here/dist/$name" "$copy"; fi
  done
  cat "$here/dist/SHA256SUMS"
  exit 0
fi

# --check
for p in "${plugins[@]}"; do
  if ! cmp -s "$built/${p//-/_}.wasm" "$here/dist/$p.wasm"; then
    echo "DIFFERS: plugins/dist/$p.wasm is not what plugins/$p builds" >&2
    status=1
  fi
done
for committed in "$here"/dist/*.wasm; do
  name="$(basename "$committed" .wasm)"
  [[ -d "$here/$name" ]] || { echo "NO SOURCE: plugins/dist/$name.wasm has no plugins/$name/" >&2; status=1; }
done
expected_sums="$(cd "$built" && for p in "${plugins[@]}"; do
  sha256sum "${p//-/_}.wasm" | sed "s/ ${p//-/_}\.wasm\$/ $p.wasm/"; done | sort -k2)"
if [[ "$expected_sums" != "$(sort -k2 "$here/dist/SHA256SUMS")" ]]; then
  echo "DIFFERS: plugins/dist/SHA256SUMS does not match the rebuilt modules" >&2
  status=1
fi
for copy in "$repo"/jurisdictions/*/plugins/*.wasm; do
  [[ -e "$copy" ]] || continue
  name="$(basename "$copy" .wasm)"
  rel="${copy#"$repo"/}"
  if [[ ! -e "$built/${name//-/_}.wasm" ]]; then
    echo "NO SOURCE: $rel is not built by any plugin in plugins/" >&2
    status=1
  elif ! cmp -s "$built/${name//-/_}.wasm" "$copy"; then
    echo "DIFFERS: $rel is not what plugins/$name builds" >&2
    status=1
  fi
done
if [[ $status -eq 0 ]]; then
  echo "rebuild.sh --check: every committed plugin module matches its source (${#plugins[@]} plugins)"
fi
exit $status
