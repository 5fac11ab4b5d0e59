#!/usr/bin/env python3
"""Effective sample size of a flow's proposals, from the .csv that `gomalizing sample` writes.

    scripts/proposal_ess.py SAMPLES.csv [SAMPLES.csv ...] [--blocks 10]

ESS = (sum w)^2 / (N sum w^2) with log w = proposal_log_p - proposal_log_q over all N
proposals of the chain, and the chain's acceptance. A training run's evaluation uses 4096
proposals, which overstates a small ESS (the heaviest weights are rarely drawn); a chain of
1e5 proposals gives a steadier number. The spread is the range of the ESS over `--blocks`
equal consecutive blocks (each block's estimate is biased upward like any short one).
"""
import argparse, csv, math

def ess(logw):
    m = max(logw)
    w = [math.exp(x - m) for x in logw]
    return sum(w) ** 2 / (len(w) * sum(x * x for x in w))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('files', nargs='+')
    ap.add_argument('--blocks', type=int, default=10)
    a = ap.parse_args()
    for f in a.files:
        logw, acc = [], 0
        with open(f) as h:
            for r in csv.DictReader(h):
                logw.append(float(r['proposal_log_p']) - float(r['proposal_log_q']))
                acc += int(r['accepted'])
        n = len(logw)
        if n < a.blocks:
            print(f'{f}: {n} proposals, too few'); continue
        size = n // a.blocks
        per = sorted(ess(logw[i * size:(i + 1) * size]) for i in range(a.blocks))
        print(f'{f}: {n} proposals, acceptance {100 * acc / n:.1f}%, ESS {ess(logw):.4f} '
              f'(blocks of {size}: {per[0]:.4f}-{per[-1]:.4f}, median {per[len(per) // 2]:.4f})')

if __name__ == '__main__':
    main()
