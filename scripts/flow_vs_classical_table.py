#!/usr/bin/env python3
"""Tables of docs/studies/flow-vs-classical.md from docs/studies/runs/flow-vs-classical/<theory>/.

For every theory and observable: the cost of one independent sample (core-seconds, from each
chain's analysis: wall x threads per configuration x 2 tau_int) for plain HMC, Fourier-accelerated
HMC, HMC + clusters and flow + MH, and the flow's cost with its training amortised over 10^4,
10^5 and 10^6 independent samples. The training is every stage's history.csv (total_seconds of
its last epoch x the run's threads), following `pretrained` back through the committed runs.

<M> in a broken phase needs tunnelling: where a chain is one-sided (its <M> more than 3 errors
from 0) its tau_int(M) measures the wobble inside one vacuum, not the tunnelling, so the table
gives a lower bound instead, the chain's whole cost over the number of its sign changes of M
(at least 1) and marks it ">".
Writes flow-vs-classical.csv beside the runs and prints the Markdown tables.
"""
import csv, json, os, re, sys

R = "docs/studies/runs/flow-vs-classical"
KINDS = ["hmc", "fourier", "cluster", "flow"]
SECOND = "flow2"  # a second chain of the same flow (another seed)
AMORTISE = [1e4, 1e5, 1e6]
OBS = {"chi_2": "susceptibility", "abs_M": "absMagnetization", "M": "magnetization", "chi2_symmetric": "symmetricSusceptibility"}


def settings(folder):
    out = {}
    path = os.path.join(folder, "settings.txt")
    if os.path.exists(path):
        for line in open(path):
            m = re.match(r"\[(\w+)\] (\w+) = (.*)", line.strip())
            if m:
                out[m.group(1) + "." + m.group(2)] = m.group(3).strip().strip('"')
    return out


def training(folder, seen=None):
    """Core-seconds of a run and every stage it was started from; the stages' names."""
    seen = seen or []
    s = settings(folder)
    rows = list(csv.DictReader(open(os.path.join(folder, "history.csv"))))
    core = float(rows[-1]["total_seconds"]) * int(s.get("device.threads", "1"))
    stages = seen + [f"{os.path.basename(folder)} ({core:.0f})"]
    pre = s.get("training.pretrained", "")
    if pre:
        parent = os.path.dirname(pre)
        if os.path.exists(os.path.join(parent, "history.csv")):
            more, stages = training(parent, stages)
            core += more
        else:
            stages.append(f"{pre}: not found, not counted")
    return core, stages


def load(theory, kind):
    path = os.path.join(R, theory, f"{kind}.analysis.json")
    return json.load(open(path)) if os.path.exists(path) else None


def flow_folder(theory):
    script = open("scripts/flow_vs_classical.sh").read()
    m = re.search(rf'"{theory}\|[^|]*\|([^|]*)\|', script)
    return m.group(1).replace("$R", R) if m else None


def cost(a, name):
    """(cost per independent sample, is it a lower bound)."""
    c = (a.get("costPerIndependentSample") or {}).get(name)
    if name == "M" and a.get("vacua") and abs(a["vacua"]["magnetizationSigmas"]) > 3:
        total = a["cost"]["wallSeconds"] * a["cost"]["threads"] * a["cost"].get("ranks", 1)
        return total / max(1, a["vacua"]["signChanges"]), True
    return c, False


def fmt(x, bound=False):
    if x is None:
        return "–"
    return (">" if bound else "") + f"{x:.2g}"


def main():
    theories = [t for t in sorted(os.listdir(R)) if os.path.isdir(os.path.join(R, t)) and re.match(r"^(broken|lcp|crit3d)_L\d+$", t)]
    order = ["broken", "lcp", "crit3d"]
    theories.sort(key=lambda t: (order.index(t.split("_")[0]) if t.split("_")[0] in order else 9, int(t.split("_L")[-1])))
    rows = []
    for t in theories:
        chains = {k: load(t, k) for k in KINDS + [SECOND]}
        if chains["flow"] is None and chains["hmc"] is None:
            continue
        folder = flow_folder(t)
        train, stages = training(folder) if folder and os.path.exists(os.path.join(folder, "history.csv")) else (None, [])
        names = ["chi_2", "abs_M"] + (["M", "chi2_symmetric"] if t.startswith(("broken", "crit3d")) else [])
        for name in names:
            row = {"theory": t, "observable": name, "training_core_s": train, "stages": " <- ".join(stages)}
            for k in KINDS:
                a = chains[k]
                if a is None:
                    continue
                c, bound = cost(a, name)
                row[k] = c
                row[k + "_bound"] = bound
                field = OBS.get(name)
                est = a.get(field) if field else None
                row[k + "_tau"] = est.get("tauInt") if est else None
                row[k + "_value"] = f"{est['value']:.5g}({est['error']:.2g})" if est else ""
                row[k + "_accept"] = (a.get("chain") or {}).get("acceptanceRate")
            if row.get("flow") is not None and train is not None:
                for n in AMORTISE:
                    row[f"flow_{n:.0e}"] = row["flow"] + train / n
                if row.get("hmc") is not None:
                    gain = row["hmc"] - row["flow"]
                    row["break_even_vs_hmc"] = train / gain if gain > 0 else None
            b = chains[SECOND]
            est2 = b.get(OBS[name]) if b and OBS.get(name) else None
            if est2 and row.get("flow_value"):
                est1 = chains["flow"][OBS[name]]
                row["flow2_value"] = f"{est2['value']:.5g}({est2['error']:.2g})"
                row["flow_chains_sigmas"] = (est1["value"] - est2["value"]) / (est1["error"] ** 2 + est2["error"] ** 2) ** 0.5
                ref = chains["cluster"][OBS[name]] if chains["cluster"] else None
                if ref:
                    for key, est in [("flow_vs_cluster_sigmas", est1), ("flow2_vs_cluster_sigmas", est2)]:
                        row[key] = (est["value"] - ref["value"]) / (est["error"] ** 2 + ref["error"] ** 2) ** 0.5
            fa = chains["flow"]
            if fa and fa.get("freeEnergy"):
                fe = fa["freeEnergy"]
                row["logZ"] = f"{fe['logZ']:.4f}({fe['logZError']:.2g}) k={fe['paretoK']:.2f}"
            rows.append(row)
    with open(os.path.join(R, "flow-vs-classical.csv"), "w", newline="") as f:
        keys = sorted({k for r in rows for k in r})
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    print("| theory | observable | HMC | FA-HMC | HMC+clusters | flow | flow + training at 10^4 / 10^5 / 10^6 | HMC / (flow at 10^5) | clusters / (flow at 10^5) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        amort = " / ".join(fmt(r.get(f"flow_{n:.0e}")) for n in AMORTISE)
        f5 = r.get("flow_1e+05")
        ratio = lambda k: (("≥ " if r.get(k + "_bound") else "") + f"{r[k] / f5:.2g}") if r.get(k) is not None and f5 else "–"
        print(f"| {r['theory']} | {r['observable']} | " + " | ".join(fmt(r.get(k), r.get(k + "_bound")) for k in KINDS)
              + f" | {amort} | {ratio('hmc')} | {ratio('cluster')} |")
    print()
    print("| theory | observable | value: HMC / FA-HMC / clusters / flow | tau_int: HMC / FA-HMC / clusters / flow | flow's second chain | flow − clusters, in σ (two chains) | flow acceptance | training core-s (stages) | log Z (flow) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        taus = " / ".join("–" if r.get(k + "_tau") is None else f"{r[k + '_tau']:.3g}" for k in KINDS)
        vals = " / ".join(r.get(k + "_value", "–") or "–" for k in KINDS)
        acc = r.get("flow_accept")
        tr = "–" if r.get("training_core_s") is None else f"{r['training_core_s']:.0f}"
        sig = "–" if r.get("flow_vs_cluster_sigmas") is None else f"{r['flow_vs_cluster_sigmas']:+.1f}, {r['flow2_vs_cluster_sigmas']:+.1f}"
        print(f"| {r['theory']} | {r['observable']} | {vals} | {taus} | {r.get('flow2_value', '–')} | {sig} | {'–' if acc is None else f'{acc:.1f}%'} | {tr} ({r.get('stages', '')}) | {r.get('logZ', '–')} |")


if __name__ == "__main__":
    main()


def crossover():
    """Along the 2D line of constant physics: a power-law fit cost = a L^b per method and observable
    (least squares in log-log over the sizes reached) and the L at which the flow's fit (with and
    without its training at 10^5) meets each classical one. An extrapolation, said as such."""
    import math
    rows = list(csv.DictReader(open(os.path.join(R, "flow-vs-classical.csv"))))
    print("\n| observable | method | exponent b (cost ∝ L^b) | sizes | crossover with flow (no training) | with flow + training at 10^5 |")
    print("|---|---|---|---|---|---|")
    for name in ["chi_2", "abs_M"]:
        pts = [r for r in rows if r["theory"].startswith("lcp_") and r["observable"] == name]
        Ls = [int(r["theory"].split("_L")[1]) for r in pts]

        def fit(key):
            xs = [(math.log(L), math.log(float(r[key]))) for L, r in zip(Ls, pts) if r.get(key)]
            if len(xs) < 2:
                return None
            n = len(xs)
            mx = sum(x for x, _ in xs) / n
            my = sum(y for _, y in xs) / n
            b = sum((x - mx) * (y - my) for x, y in xs) / sum((x - mx) ** 2 for x, _ in xs)
            return my - b * mx, b, n

        flows = {"flow": fit("flow"), "flow_1e+05": fit("flow_1e+05")}
        for key, label in [("hmc", "HMC"), ("fourier", "FA-HMC"), ("cluster", "HMC + clusters"), ("flow", "flow"),
                           ("flow_1e+05", "flow + training at 10^5")]:
            f = fit(key)
            if f is None:
                continue
            cross = []
            for fk in ["flow", "flow_1e+05"]:
                g = flows[fk]
                if key.startswith("flow") or g is None or abs(f[1] - g[1]) < 1e-9:
                    cross.append("–")
                    continue
                L = math.exp((g[0] - f[0]) / (f[1] - g[1]))
                if f[1] <= g[1]:
                    cross.append("none (the flow's cost grows faster)")
                elif L > 1000:
                    cross.append("beyond L = 1000 (the exponents nearly equal)")
                else:
                    cross.append(f"L ≈ {L:.0f}")
            print(f"| {name} | {label} | {f[1]:.2f} | {f[2]} | {cross[0]} | {cross[1]} |")


if __name__ == "__main__" and "--crossover" in sys.argv:
    crossover()


def validation():
    """The baselines against plain HMC at E1-E3 (runs/flow-vs-classical/validation, from
    scripts/classical_validation.sh): value ± error and the difference in combined errors."""
    V = os.path.join(R, "validation")
    names = {"chi_2": "χ₂", "E (Ising energy)": "E", "<|M|>": "⟨\|M\|⟩", "pole mass": "pole mass"}
    print("\n| ensemble | chain | " + " | ".join(names.values()) + " | largest |difference|/σ |")
    print("|---|---|" + "---|" * (len(names) + 1))
    for e in ["E1", "E2", "E3"]:
        for kind, label in [("fourier", "FA-HMC"), ("cluster", "HMC + clusters")]:
            path = os.path.join(V, f"{e}.{kind}.analysis.json")
            if not os.path.exists(path):
                continue
            rows = {r["name"]: r for r in json.load(open(path))["comparison"]["rows"]}
            cells, worst = [], 0.0
            for n in names:
                r = rows[n]
                worst = max(worst, abs(r["sigmas"]))
                cells.append(f"{r['value']['value']:.5g}({r['value']['error']:.2g}) vs {r['other']['value']:.5g}({r['other']['error']:.2g}): {r['sigmas']:+.1f}σ")
            print(f"| {e} | {label} | " + " | ".join(cells) + f" | {worst:.1f} |")


if __name__ == "__main__" and "--validation" in sys.argv:
    validation()
