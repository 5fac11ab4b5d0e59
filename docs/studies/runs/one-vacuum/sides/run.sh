#!/bin/bash
# HMC on each 3D/4D config's theory: which side of the transition (sign changes of M, <|M|>)
for c in example3d_critical_L4 example3d_critical_L6 example3d_critical_L8 example3d example3d_E1 example3d_E2 example3d_E3 example3d_E4 example3d_E5 example3d_broken example3d_symmetric example4d_critical_L4 example4d example4d_critical_L8; do
  /tmp/g30 hmc /work/main/cfgs/$c.toml --n 20000 --seed 11 --out /tmp/sides/$c.npy --overwrite > $c.hmc.log 2>&1
  /tmp/g30 analyze /tmp/sides/$c.npy --config /work/main/cfgs/$c.toml --overwrite > $c.an.log 2>&1
  echo "$c $(grep -E '^<\|M\|>' $c.an.log | awk '{print $2, $4}') $(grep '^vacua' $c.an.log)" >> summary.txt
done
echo done >> summary.txt
