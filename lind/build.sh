#!/usr/bin/env bash
# Builds the Lind programs and installs them into lindfs:
#   lindfs/tee-grate.cwasm, lindfs/tee-replay.cwasm,
#   lindfs/grates/{archive,passthrough,faulty}-grate.cwasm
# They are copies of one module, tee-lind, which picks its program by the
# name it was started as (one lind_compile pass instead of five).
#
# Needs a Lind toolchain in the environment: with the kit, `source
# "$LIND_KIT/env.sh"` (written by ../shared/lind/setup.sh); with a lind-wasm
# checkout, LIND_ROOT, LIND_WASM_LINKER and lind-wasm's scripts/bin on PATH,
# plus GRATE_RS_SRC (lind-wasm-example-grates' lib/grate-rs) and
# FDTABLES_SRC (lind-wasm's src/fdtables). No git access is needed: those
# two crates come from local copies through cargo patches, and the
# committed Cargo.lock already names them as patched.
#
# usage: lind/build.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "lind/build.sh: $*" >&2; exit 1; }

[ -n "${LIND_ROOT:-}" ] || die "LIND_ROOT is not set: source the Lind kit's env.sh first (see lind/README.md)"
GRATE_RS_SRC=${GRATE_RS_SRC:-${LIND_KIT_SRC:-}/grate-rs}
FDTABLES_SRC=${FDTABLES_SRC:-${LIND_KIT_SRC:-}/fdtables}
[ -f "$GRATE_RS_SRC/Cargo.toml" ] || die "no grate-rs at '$GRATE_RS_SRC' (set GRATE_RS_SRC or LIND_KIT_SRC)"
[ -f "$FDTABLES_SRC/Cargo.toml" ] || die "no fdtables at '$FDTABLES_SRC' (set FDTABLES_SRC or LIND_KIT_SRC)"
command -v cargo-lind_compile >/dev/null || die "cargo-lind_compile is not on PATH (lind-wasm's scripts/bin)"

# zstd is C (zstd-sys): clang compiles it for wasm32 against Lind's glibc
# headers, where Lind's own clang wrapper finds them.
sysroot=${SYSROOT:-$LIND_ROOT/build/sysroot}
[ -d "$sysroot" ] || sysroot=$LIND_ROOT/src/glibc/sysroot
[ -d "$sysroot/include" ] || die "no Lind sysroot at '$sysroot' (set SYSROOT)"
export CFLAGS_wasm32_wasip1="--sysroot=$sysroot ${CFLAGS_wasm32_wasip1:-}"

cd "$here"
export CARGO_TARGET_DIR="$here/target"
out="$CARGO_TARGET_DIR/wasm32-wasip1/release"
# cargo lind_compile compiles every .wasm it finds there: keep only ours.
mkdir -p "$out"
find "$out" -maxdepth 1 \( -name '*.wasm' -o -name '*.cwasm' \) ! -name tee-lind.wasm -delete
# cargo lind_compile is Lind's own wrapper: std built from source with
# Lind's link flags, then wasm-opt (asyncify, epoch) and precompilation. It
# hides lind_compile failures, so the result is checked below.
cargo lind_compile --release \
  --config "patch.\"https://github.com/Lind-Project/lind-wasm-example-grates\".grate-rs.path=\"$GRATE_RS_SRC\"" \
  --config "patch.\"https://github.com/Lind-Project/lind-wasm\".fdtables.path=\"$FDTABLES_SRC\""
[ -s "$out/tee-lind.cwasm" ] || die "no $out/tee-lind.cwasm: run lind_compile -s --opt-only then --precompile-only on $out/tee-lind.wasm by hand to see why"

lindfs="$LIND_ROOT/lindfs"
mkdir -p "$lindfs/grates"
rm -f "$lindfs/tee-lind.cwasm"
for name in tee-grate tee-replay; do
  cp "$out/tee-lind.cwasm" "$lindfs/$name.cwasm"
done
for name in archive-grate passthrough-grate faulty-grate; do
  cp "$out/tee-lind.cwasm" "$lindfs/grates/$name.cwasm"
done
echo "lind/build.sh: installed tee-grate.cwasm, tee-replay.cwasm and grates/{archive,passthrough,faulty}-grate.cwasm in $lindfs"
