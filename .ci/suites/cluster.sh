#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, and the cluster tests on it.
#
#   bash .ci/suites/cluster.sh   install what is missing, start munged,
#                                slurmctld and slurmd, run the tests, stop them
#
# The tests (tests/cluster_slurm.rs, ignored by a plain `cargo test`) submit
# the scripts `sharpsweep slurm` writes: a job array, an MPI job of 2 ranks,
# and jobs preempted mid-run (scancel --signal=USR1, scontrol requeue) that
# requeue and finish; every dataset must equal a plain local sweep's.
#
# Needs root (apt-get; the daemons run as root). The cluster's configuration
# is .ci/slurm/slurm.conf.in (.ci/slurm/README.md explains it). The daemons
# started here are stopped by PID on exit, whatever happens. CARGO_TARGET_DIR
# is honoured; MPI_TARGET_DIR, if set, is where the --features mpi build goes
# (default: the same target directory, which costs a short feature rebuild).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
conf_in=$repo/.ci/slurm/slurm.conf.in
[ -f "$conf_in" ] || { echo "cluster.sh: $conf_in not found" >&2; exit 1; }

log() { echo "cluster.sh: $*"; }
cd "$repo"

# --- packages ------------------------------------------------------------
packages=(slurmctld slurmd slurm-client munge slurm-wlm-basic-plugins
          libopenmpi-dev openmpi-bin libclang-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- the cluster -------------------------------------------------------------
state=$(mktemp -d /tmp/sharpsweep-slurm.XXXXXX)
chmod 755 "$state"
mkdir -p "$state"/{state,spool,log,run}
sed "s|@DIR@|$state|g" "$conf_in" > "$state/slurm.conf"
export SLURM_CONF=$state/slurm.conf
pids=()

stop_cluster() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        # slurmctld and slurmd stop within a few seconds of SIGTERM.
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ $status -ne 0 ]; then
        log "failed; daemon logs follow"
        tail -n 30 "$state"/log/*.log 2>/dev/null || true
    fi
    rm -rf "$state"
    exit $status
}
trap stop_cluster EXIT

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
    pids+=("$(cat /run/munge/munged.pid)")
    log "munged started (pid ${pids[-1]})"
else
    log "munged already running: using it"
fi
if scontrol ping >/dev/null 2>&1 || (exec 3<>/dev/tcp/127.0.0.1/6817) 2>/dev/null; then
    log "port 6817 is taken: another slurmctld runs on this machine; stop it first" >&2
    exit 1
fi
slurmctld -D -f "$SLURM_CONF" > "$state/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" > "$state/log/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && break
    sleep 0.5
done
sinfo
sinfo -h -o %t | grep -q idle || { log "the node never became idle"; exit 1; }

# --- sanity: the cluster runs batch jobs and multi-task steps -------------
out=$(sbatch --wait --parsable -o "$state/wrap.out" --wrap 'echo batch-ok')
grep -qx batch-ok "$state/wrap.out" || { log "sbatch --wrap printed: $(cat "$state/wrap.out")"; exit 1; }
# shellcheck disable=SC2016 # $SLURM_PROCID is for each task's shell to expand
tasks=$(srun -n 2 bash -c 'echo $SLURM_PROCID' | sort | tr '\n' ' ')
[ "$tasks" = "0 1 " ] || { log "srun -n 2 ran tasks '$tasks'"; exit 1; }
log "sanity: sbatch job $out and srun -n 2 ran"

# --- binaries ------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$repo/target}
mpi_target=${MPI_TARGET_DIR:-$target}
log "building sharpsweep --features mpi (in $mpi_target)"
CARGO_TARGET_DIR=$mpi_target cargo build --release --quiet --features mpi
# A copy: the next build of the default features replaces the original.
cp "$mpi_target/release/sharpsweep" "$state/sharpsweep-mpi"
export SHARPSWEEP_MPI_BIN=$state/sharpsweep-mpi

# --- the tests -------------------------------------------------------------
# One at a time: the node has 2 CPUs, and the MPI job needs both. They are
# the module cluster_slurm of the integration test binary; CLUSTER_TEST_FILTER
# (the start of a test's name) runs some of them by hand.
cargo test --release --workspace --test integration -- --ignored --test-threads=1 \
    "cluster_slurm::${CLUSTER_TEST_FILTER:-}"
