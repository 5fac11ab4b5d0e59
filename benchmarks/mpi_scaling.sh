#!/usr/bin/env bash
# Weak and strong scaling of data-parallel training over MPI ranks on one
# machine (not run by CI). Needs the MPI build (README, "Clusters: MPI").
# Prints the median seconds per training step (from history.csv) for
#   strong: a global batch of 64 split over 1 and 2 ranks,
#   weak:   64 per rank on 1 and 2 ranks,
# with one thread per rank, and one rank with 2 threads for comparison.
# Usage: benchmarks/mpi_scaling.sh [config] (default cfgs/example2d.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
cfg=${1:-cfgs/example2d.toml}
bin=.build-mpi/release/gomalizing
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpirun_flags="--oversubscribe --allow-run-as-root --bind-to none"
run() { # name ranks threads batch
    local name=$1 ranks=$2 threads=$3 batch=$4
    sed -e "s/^batchsize *=.*/batchsize = $batch/" -e "s/^epochs *=.*/epochs = 4/" \
        -e "s/^iterations *=.*/iterations = 50/" -e "s/^eval_samples *=.*/eval_samples = 256/" \
        -e "s|^result *=.*|result = \"$work\"|" "$cfg" > "$work/$name.toml"
    grep -q '^result' "$work/$name.toml" || sed -i "s|^\[training\]|[training]\nresult = \"$work\"|" "$work/$name.toml"
    if [ "$ranks" = 1 ]; then
        $bin train "$work/$name.toml" --threads "$threads" --quiet > /dev/null
    else
        mpirun -np "$ranks" $mpirun_flags $bin train "$work/$name.toml" --threads "$threads" --quiet > /dev/null
    fi
    # Median over epochs 2-4 of train_seconds / iterations, in ms.
    python3 - "$work/$name/history.csv" "$name" "$ranks" "$threads" "$batch" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))[1:]
ms = statistics.median(float(r["train_seconds"]) / 50 * 1e3 for r in rows)
name, ranks, threads, batch = sys.argv[2:]
print(f"{name:28s} ranks {ranks}  threads/rank {threads}  batch/rank {batch:>3s}  {ms:7.2f} ms/step")
PY
}
run "1 rank, batch 64"            1 1 64
run "strong: 2 ranks x 32"        2 1 32
run "weak: 2 ranks x 64"          2 1 64
run "1 rank x 2 threads, 64"      1 2 64
