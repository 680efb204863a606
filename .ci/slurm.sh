#!/usr/bin/env bash
# A private one-node SLURM for pairsweep's tests: its own munged, slurmctld and slurmd,
# every file (config, key, sockets, state, logs, PID files) under one directory, on free
# ports. Nothing under /etc or /run is touched, so it cannot clobber a real SLURM install
# and two test sessions on one machine do not collide.
#
#   .ci/slurm.sh install        install slurm-wlm + munge with apt if missing (root; CI's
#                               .ci/run does this, the tests never do)
#   .ci/slurm.sh start  [DIR]   start the daemons, wait until a job runs; prints
#                               SLURM_CONF=DIR/slurm.conf
#   .ci/slurm.sh stop   [DIR]   cancel the cluster's jobs, stop exactly the daemons that
#                               `start` recorded, by PID
#   .ci/slurm.sh status [DIR]   the recorded daemons and sinfo
#
# DIR defaults to $PAIRSWEEP_SLURM_DIR or /tmp/pairsweep-slurm. Client commands (sbatch,
# squeue, scancel) reach this cluster with `export SLURM_CONF=DIR/slurm.conf`.
#
# Exit status of `start`: 0 running; 77 a prerequisite is missing (not root, SLURM not
# installed): the caller may skip; anything else: a real failure, whose log tails are
# printed. A failed start stops whatever it had started. `start` never installs anything.
set -euo pipefail

CMD=${1:-}
DIR=${2:-${PAIRSWEEP_SLURM_DIR:-/tmp/pairsweep-slurm}}
CONF="$DIR/slurm.conf"
DAEMONS=(slurmd slurmctld munged)   # stop order; start order is the reverse

log() { printf '[slurm.sh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pid_of() {   # the recorded PID of daemon $1, if that process is still that daemon
    local file="$DIR/pids/$1" pid
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    # A recycled PID must never be signalled: check the process is still the daemon.
    [[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$1" ]] || return 1
    echo "$pid"
}

stop_daemon() {
    local name=$1 pid i
    pid=$(pid_of "$name") || { rm -f "$DIR/pids/$name"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
        log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # Reap if it is our child (it is not when stop runs in another shell).
    wait "$pid" 2>/dev/null || true
    rm -f "$DIR/pids/$name"
    log "stopped $name (pid $pid)"
}

cancel_jobs() {
    pid_of slurmctld >/dev/null || return 0
    local ids i
    ids=$(SLURM_CONF=$CONF timeout 10 squeue -h -o %i 2>/dev/null || true)
    [[ -n $ids ]] || return 0
    log "cancelling jobs still in the queue: $(echo $ids)"
    # shellcheck disable=SC2086
    SLURM_CONF=$CONF timeout 10 scancel $ids 2>/dev/null || true
    # Wait for the jobs' slurmstepd processes to clean up, so none outlives slurmd.
    for ((i = 0; i < 60; i++)); do
        [[ -z $(SLURM_CONF=$CONF timeout 10 squeue -h -o %i 2>/dev/null || true) ]] && return 0
        sleep 0.5
    done
    log "WARNING: jobs still listed 30 s after scancel: $(SLURM_CONF=$CONF squeue -h -o '%i %T' | tr '\n' ' ')"
}

stop_all() {
    [[ -d $DIR/pids ]] || { log "nothing recorded in $DIR"; return 0; }
    cancel_jobs
    local name
    for name in "${DAEMONS[@]}"; do stop_daemon "$name"; done
}

free_port() {   # a TCP port nobody listens on, from a range away from SLURM's defaults
    local port i
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free TCP port found"
}

spawn() {   # start daemon $1 (command "${@:2}") detached, in the foreground mode, record its PID
    local name=$1
    shift
    # setsid: the daemon leaves our session, so a Ctrl-C in the test runner does not hit it
    # and it is stopped only by `stop`. setsid execs (we are not a group leader), so $! is
    # the daemon's own PID. stdio goes to files: the caller's pipes must not stay open.
    setsid "$@" </dev/null >>"$DIR/log/$name.out" 2>&1 &
    echo $! >"$DIR/pids/$name"
}

wait_for() {   # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds
    local seconds=$1 what=$2 i
    shift 2
    for ((i = 0; i < seconds * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

dump_logs() {
    local f
    for f in "$DIR"/log/*; do
        [[ -s $f ]] || continue
        echo "----- $f (last 25 lines)" >&2
        tail -n 25 "$f" >&2
    done
}

missing_programs() {   # prints the SLURM/munge programs that are not installed
    local exe
    for exe in munged slurmctld slurmd sbatch; do
        command -v "$exe" >/dev/null 2>&1 || [[ -x /usr/sbin/$exe ]] || echo "$exe"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_programs)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $(id -u) -ne 0 ]]; then
        log "missing ${missing[*]}; installing slurm-wlm + munge needs root"
        exit 77
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing ${missing[*]} and no apt-get to install slurm-wlm + munge"
        exit 77
    fi
    log "installing slurm-wlm and munge with apt-get (missing: ${missing[*]})"
    local t0=$SECONDS
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2
    log "apt-get install took $((SECONDS - t0)) s"
}

start_all() {
    if [[ $(id -u) -ne 0 ]]; then
        log "not root: a private slurmctld/slurmd needs root (SlurmUser=root)"
        exit 77
    fi
    local missing
    mapfile -t missing < <(missing_programs)
    if [[ ${#missing[@]} -gt 0 ]]; then
        log "SLURM is not installed (missing: ${missing[*]}); install it with: sudo .ci/slurm.sh install"
        exit 77
    fi
    local name
    for name in "${DAEMONS[@]}"; do
        if pid_of "$name" >/dev/null; then
            die "$name from an earlier start is still running in $DIR; run '$0 stop $DIR' first"
        fi
    done
    local t0=$SECONDS
    rm -rf "$DIR/pids" "$DIR/log" "$DIR/state" "$DIR/spool" "$DIR/munge"
    mkdir -p "$DIR"/{pids,log,state,spool}
    # munged checks that its socket directory is reachable by everyone and its key private.
    chmod 755 "$DIR"
    mkdir -m 755 "$DIR/munge"
    mkdir -m 700 "$DIR/munge/private"
    trap 'rc=$?; if [[ $rc -ne 0 ]]; then log "start failed (exit $rc); stopping what was started"; dump_logs; stop_all; fi' EXIT

    head -c 1024 /dev/urandom >"$DIR/munge/private/munge.key"
    chmod 400 "$DIR/munge/private/munge.key"
    local sock="$DIR/munge/munge.socket"
    # A private munged as root (it allows that) instead of the system one: nothing global.
    spawn munged /usr/sbin/munged --foreground --socket="$sock" \
        --key-file="$DIR/munge/private/munge.key" --log-file="$DIR/log/munged.log" \
        --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/private/munged.seed"
    wait_for 10 munge bash -c "munge -S '$sock' -n | unmunge -S '$sock'" || die "munged did not answer within 10 s"

    local host ctld_port slurmd_port mem_avail_mib real_mib
    host=$(hostname -s)
    ctld_port=$(free_port)
    slurmd_port=$(free_port)
    [[ $slurmd_port != "$ctld_port" ]] || slurmd_port=$((ctld_port + 1))
    # RealMemory must not exceed what slurmd finds, or the node is drained: half of what
    # is available now leaves room for everything else on a shared machine.
    mem_avail_mib=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo)
    real_mib=$((mem_avail_mib / 2))
    # GNU nproc honours OMP_NUM_THREADS, which dask sets to 1 in any process that has started
    # a LocalCluster: count the cores without it.
    cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    ((real_mib >= 1024)) || die "only ${mem_avail_mib} MiB available; need at least 2 GiB"

    cat >"$CONF" <<EOF
# Written by .ci/slurm.sh: a private one-node cluster for pairsweep's tests.
ClusterName=pairsweep
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/state/slurmctld.pid
SlurmdPidFile=$DIR/spool/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# Quick turnaround for tests: scancel'd jobs get SIGKILL 5 s after SIGTERM.
KillWait=5
InactiveLimit=0
MinJobAge=300
SchedulerParameters=sched_min_interval=100000
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$real_mib State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$CONF
    spawn slurmctld /usr/sbin/slurmctld -D -c -f "$CONF"
    wait_for 20 slurmctld scontrol ping || die "slurmctld did not answer 'scontrol ping' within 20 s"
    spawn slurmd /usr/sbin/slurmd -D -f "$CONF"
    wait_for 30 "idle node" bash -c "sinfo -h -o %T | grep -qx idle" \
        || die "node not idle within 30 s: $(sinfo -h -o '%T %E' 2>&1)"
    local out
    out=$(timeout 60 srun -N1 -n1 --mem=10 -t 1 hostname 2>&1) || die "srun hostname failed: $out"
    [[ $out == "$(hostname)" || $out == "$host" ]] || die "srun hostname printed '$out'"
    trap - EXIT
    log "SLURM up in $((SECONDS - t0)) s: $cpus CPUs, ${real_mib} MiB, ports $ctld_port/$slurmd_port; pids" \
        "munged $(<"$DIR/pids/munged") slurmctld $(<"$DIR/pids/slurmctld") slurmd $(<"$DIR/pids/slurmd")"
    echo "export SLURM_CONF=$CONF" >"$DIR/env"
    echo "SLURM_CONF=$CONF"
}

case $CMD in
    install) install_packages ;;
    start) start_all ;;
    stop) stop_all ;;
    status)
        for name in "${DAEMONS[@]}"; do
            if pid=$(pid_of "$name"); then echo "$name running, pid $pid"; else echo "$name not running"; fi
        done
        if pid_of slurmctld >/dev/null; then SLURM_CONF=$CONF sinfo; SLURM_CONF=$CONF squeue; fi
        ;;
    *)
        echo "usage: $0 install | start|stop|status [DIR]" >&2
        exit 2
        ;;
esac
