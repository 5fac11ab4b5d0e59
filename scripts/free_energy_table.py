#!/usr/bin/env python3
"""The table of docs/studies/free-energy.md from the analyses of scripts/free_energy_validation.sh.
Usage: scripts/free_energy_table.py"""
import glob
import os
import re

ROOT = "docs/studies/runs/free-energy"
print("| L | training: best acceptance, epochs, seconds | seed | acceptance | ESS | Pareto k | log Z (estimate) | exact log Z | difference / error |")
print("| ---: | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
for L in (8, 16, 32):
    folder = os.path.join(ROOT, f"free_L{L}")
    rows = [line.split(",") for line in open(os.path.join(folder, "history.csv")).read().split("\n")[1:] if line]
    best = max(float(r[3]) for r in rows)
    training = f"{best:.1f}%, {len(rows)}, {float(rows[-1][9]):.0f} s"
    for path in sorted(glob.glob(os.path.join(folder, "analyze-*.txt"))):
        text = open(path).read()
        seed = re.search(r"analyze-(\d+)", path).group(1)
        acc = re.search(r"acceptance ([\d.]+)%", text).group(1)
        ess, k = re.search(r"proposals: ESS ([\d.]+), .*Pareto k (-?[\d.]+)", text).groups()
        lz, err = re.search(r"log Z = (-?[\d.]+) ± ([\d.e-]+)", text).groups()
        exact, sig = re.search(r"exact log Z = (-?[\d.]+); the estimate is (-?[\d.]+) errors", text).groups()
        print(f"| {L} | {training} | {seed} | {acc}% | {ess} | {k} | {lz} ± {err} | {exact} | {float(sig):+.2f} |")
        training = ""
