#!/usr/bin/env bash
# Swift against PyTorch on this machine, alternated: `gomalizing bench`, then
# benchmarks/pytorch_reference.py, then bench again, ... (A B A B), so that a
# machine that speeds up or slows down during the comparison shifts both.
# Prints per case the medians of each side and the ratio with its spread over
# the rounds (each round's ratio pairs one A with the B run next to it):
#   train ratio  = PyTorch ms per step / Swift ms per step  (> 1: Swift faster)
#   sample ratio = Swift samples/s / PyTorch samples/s       (> 1: Swift faster)
# A benchmark, not a test: CI does not run it. Run nothing else meanwhile.
#
# Usage: benchmarks/compare.sh [ROUNDS]        (default 3 rounds)
# Environment:
#   BIN      the gomalizing binary (default .build/release/gomalizing; build with swift build -c release)
#   PYTHON   a Python with torch (default python3; e.g. python3 -m venv /tmp/torchenv &&
#            /tmp/torchenv/bin/pip install torch, then PYTHON=/tmp/torchenv/bin/python)
#   SECS     minimum seconds of timed repetitions per measurement, both sides (default 3)
#   THREADS  threads of both sides (default 2)
#   OUT      folder for the raw outputs (default: a new temporary folder, printed)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
BIN=${BIN:-.build/release/gomalizing}
PYTHON=${PYTHON:-python3}
SECS=${SECS:-3}
THREADS=${THREADS:-2}
fail() { echo "error: compare.sh: $*" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || fail "ROUNDS: expected a positive integer, got '$ROUNDS'"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || fail "THREADS: expected a positive integer, got '$THREADS'"
[[ "$SECS" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk "BEGIN { exit !($SECS > 0 && $SECS <= 3600) }" || fail "SECS: expected a number of seconds in (0, 3600], got '$SECS'"
[[ -x "$BIN" ]] || fail "BIN: no executable at $BIN (build with: swift build -c release)"
"$PYTHON" -c 'import torch' 2>/dev/null || fail "PYTHON: $PYTHON cannot import torch (see the usage at the top of this script)"
OUT=${OUT:-$(mktemp -d /tmp/compare.XXXXXX)}
mkdir -p "$OUT"
echo "raw outputs in $OUT; $ROUNDS rounds, $THREADS threads, $SECS s a measurement"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r: gomalizing bench"
  "$BIN" bench --threads "$THREADS" --seconds "$SECS" > "$OUT/swift_$r.txt"
  echo "round $r: pytorch_reference.py"
  "$PYTHON" benchmarks/pytorch_reference.py --threads "$THREADS" --seconds "$SECS" > "$OUT/torch_$r.txt"
done
"$PYTHON" - "$OUT" "$ROUNDS" <<'EOF'
import re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def rows(path, train_col, sample_col):
    """case name -> (train ms, samples/s) from a table whose case names may hold spaces."""
    table = {}
    for line in open(path):
        m = re.match(r'^(\S.*?)\s{2,}(\d.*)$', line.rstrip())
        if not m or line.startswith(('machine', 'FP32', 'torch', 'case')):
            continue
        cols = m.group(2).split()
        try:
            table[m.group(1).strip()] = (float(cols[train_col]), float(cols[sample_col]))
        except (IndexError, ValueError):
            continue
    return table

# bench: batch params train-ms GFLOP/s %peak samples/s GFLOP/s reps; reference: batch train-ms samples/s reps
swift = [rows(f'{out}/swift_{r}.txt', 2, 5) for r in range(1, rounds + 1)]
torch = [rows(f'{out}/torch_{r}.txt', 1, 2) for r in range(1, rounds + 1)]
print(open(f'{out}/swift_1.txt').readline().strip())
print(open(f'{out}/torch_1.txt').readline().strip())
def spread(v):
    return f'{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})'
print(f"{'case':20s} {'Swift ms':>9s} {'torch ms':>9s} {'train ratio':>18s} {'Swift/s':>8s} {'torch/s':>8s} {'sample ratio':>18s}")
for case in swift[0]:
    if not all(case in s for s in swift) or not all(case in t for t in torch):
        print(f'{case:20s} (no PyTorch counterpart)')
        continue
    sm = [s[case][0] for s in swift]; tm = [t[case][0] for t in torch]
    ss = [s[case][1] for s in swift]; ts = [t[case][1] for t in torch]
    print(f'{case:20s} {statistics.median(sm):9.2f} {statistics.median(tm):9.2f} '
          f'{spread([b / a for a, b in zip(sm, tm)]):>18s} {statistics.median(ss):8.0f} {statistics.median(ts):8.0f} '
          f'{spread([a / b for a, b in zip(ss, ts)]):>18s}')
EOF
