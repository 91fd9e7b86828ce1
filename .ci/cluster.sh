#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, and the cluster tests on it.
#
#   bash .ci/cluster.sh          install what is missing, start munged,
#                                slurmctld and slurmd, run the tests, stop them
#
# Needs root (apt-get, the daemons run as root; see /work/shared/slurm/README.md
# for the configuration, shared/slurm/slurm.conf.in beside this repo). The
# daemons started here are stopped by PID on exit, whatever happens.
# CARGO_TARGET_DIR is honoured; the MPI build goes to $MPI_TARGET_DIR
# (default: <target>/mpi) so that it does not rebuild the default one.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
conf_in=""
for c in "$repo/shared/slurm/slurm.conf.in" "$repo/../shared/slurm/slurm.conf.in" /work/shared/slurm/slurm.conf.in; do
    if [ -f "$c" ]; then conf_in=$c; break; fi
done
[ -n "$conf_in" ] || { echo "cluster.sh: shared/slurm/slurm.conf.in not found" >&2; exit 1; }

log() { echo "cluster.sh: $*"; }

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

# --- binaries --------------------------------------------------------------
target=${CARGO_TARGET_DIR:-$repo/target}
mpi_target=${MPI_TARGET_DIR:-$target/mpi}
log "building sharpsweep (default, and --features mpi into $mpi_target)"
(cd "$repo" && cargo build --release --quiet)
(cd "$repo" && CARGO_TARGET_DIR=$mpi_target cargo build --release --quiet --features mpi)
export SHARPSWEEP_MPI_BIN=$mpi_target/release/sharpsweep

# --- the cluster -------------------------------------------------------------
state=$(mktemp -d /tmp/sharpsweep-slurm.XXXXXX)
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
tasks=$(srun -n 2 bash -c 'echo $SLURM_PROCID' | sort | tr '\n' ' ')
[ "$tasks" = "0 1 " ] || { log "srun -n 2 ran tasks '$tasks'"; exit 1; }
log "sanity: sbatch job $out and srun -n 2 ran"
