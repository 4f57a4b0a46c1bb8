# Shell helpers for dm-thin scripts run in the kernel VM (prepended by dmScript()).
# The guest has no udev, so each `dmsetup create` is followed by `dmsetup mknodes`.
# They return non-zero on failure rather than exit, so they also work without `set -e`.

# pool_up POOL META_FILE DATA_FILE BLOCK_SECTORS [NAME:DEV_ID:SECTORS ...]
# Attaches the files to loop devices, loads a thin-pool over all whole data blocks of the
# data file (low water mark 0, default features) and activates the listed thin devices.
pool_up() {
  local pool=$1 meta_file=$2 data_file=$3 block=$4 meta data sectors spec name id size
  shift 4
  meta=$(losetup -f --show "$meta_file") || return
  data=$(losetup -f --show "$data_file") || return
  sectors=$(( $(blockdev --getsz "$data") / block * block ))
  dmsetup create "$pool" --table "0 $sectors thin-pool $meta $data $block 0" || return
  dmsetup mknodes "$pool" || return
  for spec in "$@"; do
    IFS=: read -r name id size <<<"$spec"
    thin_up "$pool" "$name" "$id" "$size" || return
  done
}

# thin_up POOL NAME DEV_ID SECTORS: activates thin device DEV_ID as /dev/mapper/NAME.
thin_up() {
  dmsetup create "$2" --table "0 $4 thin /dev/mapper/$1 $3" && dmsetup mknodes "$2"
}

# pool_msg POOL MESSAGE...: e.g. pool_msg pool create_thin 1
pool_msg() {
  local pool=$1
  shift
  dmsetup message "$pool" 0 "$*"
}

# thin_snap POOL ORIGIN_NAME ORIGIN_ID SNAP_ID: snapshots an active thin device, which
# must be suspended meanwhile (the kernel does not enforce it).
thin_snap() {
  local pool=$1 origin=$2 origin_id=$3 snap_id=$4 rc=0
  dmsetup suspend "$origin" || return
  dmsetup message "$pool" 0 "create_snap $snap_id $origin_id" || rc=$?
  dmsetup resume "$origin" || return
  return "$rc"
}

# thin_sha256 NAME: the sha256 of the whole of /dev/mapper/NAME.
thin_sha256() {
  local sum
  sum=$(sha256sum <"/dev/mapper/$1") || return
  echo "${sum%% *}"
}

# pool_down POOL: removes the pool's thin devices, then the pool, then detaches its loop
# devices, so the kernel commits the metadata and the host can read the files.
pool_down() {
  local pool=$1 devno thin meta data
  devno=$(dmsetup info -c --noheadings -o major,minor "$pool") || return
  # Thin tables name their pool by major:minor: "<name>: 0 <len> thin <maj:min> <id>".
  for thin in $(dmsetup table --target thin | awk -v pool="$devno" '$5 == pool { sub(/:$/, "", $1); print $1 }'); do
    dmsetup remove "$thin" || return
  done
  # The pool table: "0 <len> thin-pool <meta maj:min> <data maj:min> ...".
  read -r _ _ _ meta data _ < <(dmsetup table "$pool") || return
  dmsetup remove "$pool" || return
  losetup -d "/dev/$(basename "$(readlink "/sys/dev/block/$meta")")" &&
    losetup -d "/dev/$(basename "$(readlink "/sys/dev/block/$data")")"
}
