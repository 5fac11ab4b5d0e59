#!/usr/bin/env bash
# Checks the kernel paths against a build from before them (issue 33): trains
# cfgs/example2d.toml for 3 epochs with BASE (an older gomalizing binary), with
# NEW under GOMALIZING_KERNELS=portable, and with NEW's default kernels, then
# compares the histories (timing columns aside) and the weights. Expected: the
# portable run byte for byte equal to BASE; the default (avx2-fma) run equal
# to rounding. About a minute on 2 cores. Not run by CI.
# Usage: scripts/kernel_paths_example2d.sh BASE NEW [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "error: kernel_paths_example2d.sh: $*" >&2; exit 2; }
[[ $# -ge 2 ]] || fail "usage: scripts/kernel_paths_example2d.sh BASE NEW [OUT]"
BASE=$1 NEW=$2 OUT=${3:-$(mktemp -d /tmp/kernelpaths.XXXXXX)}
[[ -x "$BASE" ]] || fail "BASE: no executable at $BASE"
[[ -x "$NEW" ]] || fail "NEW: no executable at $NEW"
mkdir -p "$OUT"
echo "runs in $OUT"
"$BASE" train cfgs/example2d.toml --epochs 3 --result "$OUT/base" --quiet --threads 2 > /dev/null
GOMALIZING_KERNELS=portable "$NEW" train cfgs/example2d.toml --epochs 3 --result "$OUT/portable" --quiet --threads 2 > /dev/null
GOMALIZING_KERNELS=auto "$NEW" train cfgs/example2d.toml --epochs 3 --result "$OUT/auto" --quiet --threads 2 > /dev/null
python3 - "$OUT" <<'PY'
import csv, json, struct, sys
out = sys.argv[1]
def history(run):
    return list(csv.DictReader(open(f"{out}/{run}/example2d/history.csv")))
def weights(run):
    raw = open(f"{out}/{run}/example2d/model_last.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    values = []
    for name in sorted(k for k in header if k != "__metadata__"):
        s, e = header[name]["data_offsets"]
        values += struct.unpack(f"<{(e - s) // 4}f", raw[8 + n + s:8 + n + e])
    return raw, values
base_h, (base_raw, base_w) = history("base"), weights("base")
for run in ["portable", "auto"]:
    h, (raw, w) = history(run), weights(run)
    diff = [(i + 1, k, base_h[i][k], h[i][k]) for i in range(len(base_h)) for k in base_h[i]
            if "seconds" not in k and base_h[i][k] != h[i][k]]
    kernels = json.load(open(f"{out}/{run}/example2d/provenance.json"))["sessions"][-1]["provenance"].get("kernels")
    print(f"{run} (kernels {kernels}): {len(diff)} history values differ (timing columns aside)")
    for d in diff:
        print(f"  epoch {d[0]} {d[1]}: {d[2]} -> {d[3]}")
    print(f"  weights byte-identical: {raw == base_raw}; max |difference| {max(abs(a - b) for a, b in zip(base_w, w)):.3g}"
          f" (largest |weight| {max(abs(a) for a in base_w):.3g})")
PY
