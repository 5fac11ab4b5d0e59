#!/usr/bin/env python3
"""Acceptance and ESS of a training run at given wall times, from its history.csv.

    scripts/history_at_times.py RUN_DIR [RUN_DIR ...] [--minutes 5,10,30,60,90,120] [--offset MIN]

For each time T (minutes of the run's own clock, `total_seconds`: training plus
evaluation, pauses excluded), prints the mean acceptance and ESS over the 10
epochs ending at the last epoch finished by T (one epoch's value is noisy: 4096
proposals), then the best single epochs. `--offset` adds minutes spent before
the run (e.g. an earlier warm-start stage). This is how the tables of
docs/studies/large-lattices.md are made.
"""
import argparse, csv, statistics, sys

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+')
    ap.add_argument('--minutes', default='5,10,30,60,90,120')
    ap.add_argument('--offset', type=float, default=0.0)
    a = ap.parse_args()
    times = [float(t) for t in a.minutes.split(',')]
    for d in a.runs:
        try:
            rows = list(csv.DictReader(open(d.rstrip('/') + '/history.csv')))
        except OSError as e:
            sys.exit(f'{d}: cannot read history.csv ({e.strerror})')
        if not rows:
            print(f'{d}: no epochs yet'); continue
        minutes = [float(r['total_seconds']) / 60 + a.offset for r in rows]
        print(d)
        for T in times:
            done = [i for i, m in enumerate(minutes) if m <= T]
            if not done or minutes[-1] < 0.98 * T:
                print(f'  {T:5g} min: not reached (the run is at {minutes[-1]:.1f} min)'); continue
            i = done[-1]; w = rows[max(0, i - 9):i + 1]
            acc = statistics.mean(float(r['acceptance_rate']) for r in w)
            ess = statistics.mean(float(r['ess']) for r in w)
            print(f'  {T:5g} min: epoch {rows[i]["epoch"]:>5}  acceptance {acc:5.1f}%  ESS {ess:.3f}  lr {float(rows[i]["lr"]):.2g}')
        ba = max(rows, key=lambda r: float(r['acceptance_rate'])); be = max(rows, key=lambda r: float(r['ess']))
        print(f'  best epochs: acceptance {float(ba["acceptance_rate"]):.1f}% (epoch {ba["epoch"]}), '
              f'ESS {float(be["ess"]):.3f} (epoch {be["epoch"]}); {rows[-1]["epoch"]} epochs, {minutes[-1]:.1f} min')

if __name__ == '__main__':
    main()
