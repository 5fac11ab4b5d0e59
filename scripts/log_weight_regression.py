#!/usr/bin/env python3
"""Where a flow's error sits: regress the log-weights log w = log p - log q of an
independence Metropolis-Hastings chain on global features of its configurations.

The chain's states are distributed as p, and for a flow close to p the ESS is about
exp(-Var_p(log w)), so the share of Var_p(log w) that a feature explains (R^2 of a least-squares
fit) is the share of -ln(ESS) that a correction along that feature could remove.

Usage (2-D, L x L):
  gomalizing sample RESULT --n 30000 --z2 off --out /tmp/x.npy     # writes /tmp/x.npy and /tmp/x.csv
  scripts/log_weight_regression.py /tmp/x.npy /tmp/x.csv
Prints Var(log w), then R^2 for the zero mode (M^2, M^4), each momentum shell's power, all
shells together, the chain's log p, and local sums (phi^2, phi^4 on both checkerboard parities,
the nearest-neighbour sum).
"""
import sys
import numpy as np


def fit(features, y):
    X = np.column_stack(features + [np.ones(len(y))])
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    r = y - X @ beta
    return 1 - r.var() / y.var()


def main(npy, csv):
    x = np.load(npy).astype(np.float64)
    n, L = x.shape[0], x.shape[1]
    x = x.reshape(n, L, L)
    c = np.genfromtxt(csv, delimiter=",", names=True)
    lw = c["log_p"] - c["log_q"]
    lw = lw - lw.mean()
    print(f"{n} states, L = {L}: Var_p(log w) = {lw.var():.4f}, exp(-Var) = {np.exp(-lw.var()):.3f}")
    power = np.abs(np.fft.fft2(x) / L) ** 2
    k = np.fft.fftfreq(L) * L
    kx, ky = np.meshgrid(k, k, indexing="ij")
    phat2 = 4 * np.sin(np.pi * kx / L) ** 2 + 4 * np.sin(np.pi * ky / L) ** 2
    edges = [1e-9, 0.05, 0.15, 0.4, 1, 2, 3, 4, 5, 6, 7, 7.99]
    shells = np.digitize(phat2, edges)
    rows = []
    M = x.sum((1, 2))
    rows.append(("zero mode: M^2", fit([M ** 2], lw)))
    rows.append(("zero mode: M^2, M^4", fit([M ** 2, M ** 4], lw)))
    shell_features = []
    for s in np.unique(shells):
        f = power[:, shells == s].sum(1)
        shell_features.append(f)
        rows.append((f"shell p^2 in [{([0] + edges)[s]:.3g}, {(edges + [8])[s]:.3g}): {(shells == s).sum()} modes", fit([f], lw)))
    rows.append(("all shells", fit(shell_features, lw)))
    rows.append(("log p", fit([c["log_p"]], lw)))
    parity = (np.add.outer(np.arange(L), np.arange(L)) % 2) == 1
    nb = np.roll(x, 1, 1) + np.roll(x, 1, 2)
    local = [(x ** 2 * parity).sum((1, 2)), (x ** 4 * parity).sum((1, 2)),
             (x ** 2 * ~parity).sum((1, 2)), (x ** 4 * ~parity).sum((1, 2)), (x * nb).sum((1, 2))]
    rows.append(("local sums: phi^2, phi^4 (both parities), phi phi'", fit(local, lw)))
    rows.append(("all of the above", fit(local + shell_features + [M ** 2, M ** 4, c["log_p"]], lw)))
    print("| features | R^2 |\n|---|---:|")
    for name, r2 in rows:
        print(f"| {name} | {r2:.3f} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
