#!/usr/bin/env bash
# Runs many seeded fault schedules and kill -9 trials: the same property
# test CI runs on a fixed subset (tests/faults.rs), with N schedules.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/chaos.sh N [FIRST_SEED] [KILL_TRIALS]

Applies N random small stacks (and changed versions of half of them)
through the fault-injecting proxy (5xx, throttling, latency, dropped
connections, lost answers to creates and to other writes, eventual
consistency), seeds FIRST_SEED (default 1) to FIRST_SEED+N-1, and runs
KILL_TRIALS (default N/10) applies, destroys and replaces killed with
SIGKILL at random points. After each, one clean apply must converge with
live == state, a clean plan and a complete destroy. A failure names its seed.
GANTRY_FAULT_WORKERS (default 4) sets how many emulators work side by side.
USAGE
}

if [[ $# -lt 1 || "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    usage
    exit 0
fi

n=$1
first=${2:-1}
kills=${3:-$(( n / 10 > 0 ? n / 10 : 1 ))}
export GANTRY_FAULT_SCHEDULES=$n GANTRY_FAULT_SEED=$first GANTRY_KILL_TRIALS=$kills
exec "$(dirname "${BASH_SOURCE[0]}")/test.sh" --test integration faults:: -- --nocapture --test-threads 2
