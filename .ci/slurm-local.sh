#!/usr/bin/env bash
# Start (or stop) a one-node Slurm cluster on this machine for the workflow tests:
# installs Debian's slurm-wlm and munge when missing (root only), writes a slurm.conf for
# this host, starts munged, slurmctld and slurmd, and waits until the node is idle.
#   bash .ci/slurm-local.sh start | stop | status
set -euo pipefail
action=${1:-start}
host=$(hostname -s)
conf_dir=/etc/slurm
state=/var/spool/slurm-mlmd
log() { printf '[slurm-local] %s\n' "$*"; }

stop() {
  pkill -x slurmd 2>/dev/null || true
  pkill -x slurmctld 2>/dev/null || true
  sleep 1
}

case "$action" in
stop) stop; log "stopped"; exit 0 ;;
status) sinfo -h -o '%n %t %c' ; exit 0 ;;
start) ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || { log "slurm-wlm/munge missing and not root: cannot install"; exit 1; }
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

cpus=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)  # GNU nproc obeys OMP_NUM_THREADS
mem=$(awk '/MemTotal/ {print int($2/1024) - 1024}' /proc/meminfo)
mkdir -p "$conf_dir" "$state/ctld" "$state/d" /var/log/slurm /run/munge
chown -R slurm:slurm "$state/ctld" /var/log/slurm 2>/dev/null || true
cat > "$conf_dir/slurm.conf" <<CONF
ClusterName=mlmd-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=60
KillWait=5
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF

if ! pgrep -x munged >/dev/null; then
  [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
  chown munge:munge /etc/munge/munge.key /run/munge 2>/dev/null || true
  chmod 400 /etc/munge/munge.key
  log "starting munged"
  su -s /bin/sh munge -c "/usr/sbin/munged" 2>/dev/null || /usr/sbin/munged --force
fi
rm -f "$conf_dir/cgroup.conf"  # 22.05 has no "disabled" plugin; linuxproc + task/none need none
stop
log "starting slurmctld and slurmd on $host ($cpus CPUs)"
slurmctld -i
slurmd
for _ in $(seq 60); do
  st=$(sinfo -h -n "$host" -o '%t' 2>/dev/null || true)
  case "$st" in idle*|mix*|alloc*) log "node $host is $st"; exit 0 ;; esac
  sleep 1
done
log "Slurm did not come up; last log lines:"
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
