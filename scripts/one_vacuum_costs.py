#!/usr/bin/env python3
"""Cost per independent sample of chi2 = V<M^2> (the even form) of the validation chains of
docs/studies/runs/one-vacuum/validation: each chain's core-seconds (its record's wall seconds,
or its whole-second timestamps where the record predates the clock) x threads x ranks / rows
x 2 tau_int, and the flow's training (its result folder's sessions). Usage: scripts/one_vacuum_costs.py"""
import datetime
import json
import os

ROOT = "docs/studies/runs/one-vacuum/validation"
NAMES = ["v3d_L4_broken", "v3d_L4_symmetric", "v3d_L4_broken_z2eq", "v3d_L6_broken", "v3d_L6_symmetric",
         "v4d_L4_broken", "v4d_L4_symmetric"]


def when(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")


def per_configuration(rec):
    d = rec.get("details", {})
    wall = float(d["seconds"]) if "seconds" in d else (when(rec["ended"]) - when(rec["started"])).total_seconds()
    return wall * rec["threads"] * rec["ranks"] / int(d["rows"]), wall


def training(folder):
    total = 0.0
    for s in json.load(open(os.path.join(folder, "provenance.json")))["sessions"]:
        p = s["provenance"]
        wall = s.get("seconds") or (when(p.get("ended") or s["lastEpochEnded"]) - when(p["started"])).total_seconds()
        total += wall * p["threads"] * p["ranks"]
    return total


print("| run | flow: core-ms a step | τ_int(χ₂) | core-ms per independent χ₂ | HMC: core-ms a trajectory | τ_int(χ₂) "
      "| core-ms per independent χ₂ | flow / HMC | training, core-s |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name in NAMES:
    f = os.path.join(ROOT, name, "flow.analysis.json")
    h = os.path.join(ROOT, name, "hmc.analysis.json")
    if not (os.path.exists(f) and os.path.exists(h)):
        continue
    fa, ha = json.load(open(f)), json.load(open(h))
    cf, _ = per_configuration(fa["samplesProvenance"])
    ch, _ = per_configuration(ha["samplesProvenance"])
    tf, th = fa["symmetricSusceptibility"]["tauInt"], ha["symmetricSusceptibility"]["tauInt"]
    a, b = cf * 2 * tf, ch * 2 * th
    print(f"| {name} | {1e3 * cf:.3f} | {tf:.2f} | {1e3 * a:.3f} | {1e3 * ch:.4f} | {th:.2f} | {1e3 * b:.4f} | {a / b:.0f} "
          f"| {training(os.path.join(ROOT, name)):.0f} |")
