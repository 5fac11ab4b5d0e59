#!/usr/bin/env bash
# Issue 31, item 5 (docs/studies/cheaper-flows.md, not run by CI): after
# `gomalizing sweep docs/studies/cheaper-flows.toml`, a chain of 10^5 proposals from each run's
# best model, analysed with its training; then the table against HMC at E3 from
# runs/flow-vs-classical/lcp_L10. Resumable: a run with flow.txt is skipped.
# Environment: N (10^5), BIN (.build/release/gomalizing), SCRATCH.
set -euo pipefail
R=docs/studies/runs/cheaper-flows
n=${N:-100000}
bin=${BIN:-.build/release/gomalizing}
scratch=${SCRATCH:-/tmp/cheaper-flows}
mkdir -p "$scratch"
for run in "$R"/*_s1; do
    name=$(basename "$run")
    [ -f "$run/flow.txt" ] && continue
    { time "$bin" sample "$run" --n "$n" --seed 34 --threads 2 --out "$scratch/$name.npy" --overwrite; } > "$run/flow.log" 2>&1
    "$bin" analyze "$scratch/$name.npy" --config "$run/config.toml" --training "$run" \
        --json "$scratch/$name.analysis.json" --overwrite > "$scratch/$name.txt"
    cp "$scratch/$name.analysis.json" "$run/flow.analysis.json"
    mv "$scratch/$name.txt" "$run/flow.txt"
    rm -f "$scratch/$name.npy" "$scratch/$name.csv"
done
python3 - "$R" <<'PY'
import csv, json, os, sys
R = sys.argv[1]
hmc = json.load(open("docs/studies/runs/flow-vs-classical/lcp_L10/hmc.analysis.json"))
cl = json.load(open("docs/studies/runs/flow-vs-classical/lcp_L10/cluster.analysis.json"))
h = hmc["costPerIndependentSample"]["chi_2"]
c = cl["costPerIndependentSample"]["chi_2"]
print(f"HMC at E3: {h:.2g} core-s per independent chi_2; HMC + clusters: {c:.2g}\n")
print("| run | best evaluation acceptance | ESS (10^5) | acceptance | tau_int(chi_2) | core-s per proposal | per independent chi_2 | + training at 10^5 / 10^6 | HMC / flow (no training) |")
print("|---|---|---|---|---|---|---|---|---|")
for run in sorted(os.listdir(R)):
    p = os.path.join(R, run, "flow.analysis.json")
    if not os.path.exists(p):
        continue
    a = json.load(open(p))
    rows = list(csv.DictReader(open(os.path.join(R, run, "history.csv"))))
    best = max(float(r["acceptance_rate"]) for r in rows)
    per = a["cost"]["wallSeconds"] * a["cost"]["threads"] / a["cost"]["configurations"]
    ind = a["costPerIndependentSample"]["chi_2"]
    train = a["training"]["coreSeconds"]
    ess = a["proposals"]["weights"]["ess"]
    print(f"| {run} | {best:.1f}% ({len(rows)} epochs) | {ess:.3f} | {a['chain']['acceptanceRate']:.1f}% | {a['susceptibility']['tauInt']:.2f} | {per:.2g} | {ind:.2g} | {ind + train / 1e5:.2g} / {ind + train / 1e6:.2g} | {h / ind:.2f} |")
PY
