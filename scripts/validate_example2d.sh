#!/usr/bin/env bash
# Long validation (not run by CI) of cfgs/example2d.toml: trains it into result/,
# draws 10^5 configurations from the flow's Metropolis-Hastings chain and 10^5
# from HMC and compares them (see scripts/validate.sh). About 20 minutes on
# 2 cores; ends with a report.html.
exec "$(dirname "$0")/validate.sh" cfgs/example2d.toml
