# Sourced by the issue 31 study scripts (flow_vs_classical.sh, fourier_mass_scan.sh); needs $bin and $scratch.
# pilot CFG EXTRA LENGTH "STEPS...": the largest step of the list with >= 80% acceptance in a pilot of
# 2000 trajectories of length LENGTH (hmc with the options EXTRA); prints "--step-size E --steps S".
pilot() {
    local cfg=$1 extra=$2 length=$3 eps steps acc
    for eps in $4; do
        steps=$(python3 -c "print(max(1, round($length / $eps)))")
        acc=$("$bin" hmc "$cfg" --n 2000 --burn-in 200 --step-size "$eps" --steps "$steps" $extra \
              --out "$scratch/pilot.npy" --overwrite | sed -E 's/.*acceptance ([0-9.]+)%.*/\1/')
        if python3 -c "import sys; sys.exit(0 if $acc >= 80 else 1)"; then break; fi
    done
    rm -f "$scratch/pilot.npy" "$scratch/pilot.provenance.json"
    echo "--step-size $eps --steps $steps"
}
