#!/usr/bin/env python3
"""The validation table (the observables with <M> = 0 imposed, those issue 30 names, and
<M> itself against 0; HMC on the broken side stays in one vacuum, so only even observables
are compared with it) of docs/studies/one-vacuum.md from the analyses that
scripts/one_vacuum_validation.sh leaves in docs/studies/runs/one-vacuum/validation/<name>/.
Usage: scripts/one_vacuum_table.py [NAME[:ANALYSIS] ...]  (ANALYSIS: flow by default, e.g.
v3d_L6_symmetric:flow-seed23 for the second chain)"""
import json
import os
import sys

ROOT = "docs/studies/runs/one-vacuum/validation"
NAMES = sys.argv[1:] or ["v3d_L4_broken", "v3d_L4_symmetric", "v3d_L4_broken_z2eq", "v3d_L6_broken",
                         "v3d_L6_symmetric", "v4d_L4_broken", "v4d_L4_symmetric"]
EVEN = ["chi2_symmetric", "E_symmetric", "<|M|>", "pole_mass_symmetric", "chi2_abs"]


def fmt(e):
    return f"{e['value']:.5g}({e['error']:.2g})"


LABEL = {"chi2_symmetric": "χ₂ = V⟨M²⟩", "E_symmetric": "E", "<|M|>": "⟨\\|M\\|⟩", "pole_mass_symmetric": "pole mass",
         "chi2_abs": "V(⟨M²⟩−⟨\\|M\\|⟩²)"}
print("| run | --z2 auto chose | acceptance | ESS | sign changes of M | ⟨M⟩ in σ from 0 | "
      + " | ".join(f"{LABEL[n]}: flow / HMC (σ)" for n in EVEN) + " | largest \\|σ\\| of these |")
print("| --- | --- | ---: | ---: | ---: | ---: | " + " | ".join("---" for _ in EVEN) + " | ---: |")
for entry in NAMES + ([] if sys.argv[1:] else ["v3d_L6_symmetric:flow-seed23"]):
    name, _, which = entry.partition(":")
    path = os.path.join(ROOT, name, (which or "flow") + ".analysis.json")
    name = entry
    if not os.path.exists(path):
        print(f"| {name} | not run | | | | | " + " | ".join("" for _ in EVEN) + " | |")
        continue
    a = json.load(open(path))
    z2 = a.get("samplesProvenance", {}).get("details", {}).get("z2", "?").split(" ")[0]
    rows = {r["name"]: r for r in a["comparison"]["rows"]}
    cells = [f"{fmt(rows[n]['value'])} / {fmt(rows[n]['other'])} ({rows[n]['sigmas']:+.1f})" for n in EVEN]
    v = a["vacua"]
    print(f"| {name} | {z2} | {a['chain']['acceptanceRate']:.1f}% | {a['proposals']['weights']['ess']:.3f} | "
          f"{v['signChanges']} | {v['magnetizationSigmas']:+.1f} | " + " | ".join(cells)
          + f" | {max([abs(rows[n]['sigmas']) for n in EVEN] + [abs(v['magnetizationSigmas'])]):.1f} |")
