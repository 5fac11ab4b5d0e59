#!/usr/bin/env bash
# A Slurm job that trains a config in pieces of at most --time each. Slurm sends
# SIGUSR1 five minutes before the time limit (--signal=USR1@300); gomalizing
# finishes the current step, saves the progress inside the epoch in
# checkpoint.safetensors and exits with status 138 (128 + SIGUSR1). The job then
# submits itself again, and the next piece continues with --resume, exactly as
# an uninterrupted run would have. A piece that ends with SIGTERM (status 143,
# e.g. a preemption that lets the job script live) is resubmitted the same way;
# any other failure is not.
#
# Submit from the repository root (after `swift build -c release`):
#   sbatch --export=ALL,CONFIG=cfgs/example2d.toml scripts/slurm-example.sh
# Variables: CONFIG, RESULT (parent of the result folder, default result),
# GOMALIZING (the binary), MAX_PARTS (resubmissions before giving up, default 50),
# SCRIPT (this file's path for resubmission, relative to the submit folder).
#
#SBATCH --job-name=gomalizing
#SBATCH --time=02:00:00
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=16
#SBATCH --signal=USR1@300
#SBATCH --output=gomalizing-%j.log
set -uo pipefail
cd "${SLURM_SUBMIT_DIR:-.}" || exit 1
CONFIG=${CONFIG:-cfgs/example2d.toml}
RESULT=${RESULT:-result}
GOMALIZING=${GOMALIZING:-.build/release/gomalizing}
MAX_PARTS=${MAX_PARTS:-50}
PART=${PART:-1}
SCRIPT=${SCRIPT:-scripts/slurm-example.sh}

folder="$RESULT/$(basename "$CONFIG" .toml)"
args=(train "$CONFIG" --result "$RESULT" --quiet --threads "${SLURM_CPUS_PER_TASK:-1}")
# The first piece starts the run; every later one continues it.
if [ -f "$folder/checkpoint.safetensors" ]; then args+=(--resume); fi
echo "part $PART: $GOMALIZING ${args[*]}"
srun "$GOMALIZING" "${args[@]}"
status=$?
case $status in
    0)
        echo "part $PART: training finished in $folder" ;;
    138|143)
        if [ "$PART" -ge "$MAX_PARTS" ]; then
            echo "part $PART: stopped with status $status after $MAX_PARTS parts; not resubmitted"
            exit 1
        fi
        echo "part $PART: progress saved (status $status); submitting part $((PART + 1))"
        sbatch --export=ALL,CONFIG="$CONFIG",RESULT="$RESULT",GOMALIZING="$GOMALIZING",MAX_PARTS="$MAX_PARTS",PART=$((PART + 1)),SCRIPT="$SCRIPT" "$SCRIPT" ;;
    *)
        echo "part $PART: training failed with status $status; not resubmitted"
        exit "$status" ;;
esac
