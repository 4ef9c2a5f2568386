#!/bin/sh
# /init of the block device test guest. The phase comes from the kernel command line (s3phase=…); every
# result is a line starting with "S3PLUGIN " on the serial console, read by tests/e2e/blockdev_os_test.ts.
export PATH=/bin:/sbin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod "/modules/$m" 2>/dev/null; done

say() { echo "S3PLUGIN $*"; }
finish() { sync; say END; poweroff -f; }
fail() { say FAIL "$*"; finish; }
wait_dev() { i=0; while [ ! -b "$1" ]; do i=$((i + 1)); [ $i -gt 100 ] && fail "no $1"; sleep 0.1; done; }

wait_dev /dev/vda
mkdir -p /mnt/ext4 /mnt/xfs /mnt/ntfs

mount_fs() {
  case $1 in
    ext4) mount -t ext4 /dev/vda1 /mnt/ext4 ;;
    xfs) mount -t xfs /dev/vda2 /mnt/xfs ;;
    ntfs) ntfs-3g /dev/vda3 /mnt/ntfs ;;
  esac
}

check_fs() {
  case $1 in
    ext4) e2fsck -fn /dev/vda1 >/tmp/fsck.log 2>&1 ;;
    xfs) xfs_repair -n /dev/vda2 >/tmp/fsck.log 2>&1 ;;
    ntfs) ntfsfix -n /dev/vda3 >/tmp/fsck.log 2>&1 ;;
  esac
  rc=$?
  [ $rc -eq 0 ] || { cat /tmp/fsck.log; fail "fsck $1 exit $rc"; }
  say FSCK-CLEAN "$1"
}

case "$s3phase" in
  format)
    printf 'label: dos\n,128M,83\n,320M,83\n,,7\n' | sfdisk -q /dev/vda || fail sfdisk
    wait_dev /dev/vda3
    mkfs.ext4 -q -F /dev/vda1 || fail mkfs.ext4
    mkfs.xfs -q -f /dev/vda2 || fail mkfs.xfs
    mkntfs -q -f -F /dev/vda3 >/dev/null || fail mkntfs
    for fs in ext4 xfs ntfs; do
      mount_fs $fs || fail "mount $fs"
      dir=/mnt/$fs
      dd if=/dev/urandom of=$dir/big.bin bs=64k count=48 2>/dev/null
      for n in 1 2 3 4 5; do head -c $((n * 12345)) /dev/urandom >$dir/small-$n.txt; done
      (cd $dir && sha256sum big.bin small-*.txt) >/tmp/$fs.sums
      while read -r sum name; do say FILE "$fs" "$name" "$sum"; done </tmp/$fs.sums
      sync
      umount $dir || fail "umount $fs"
      mount_fs $fs || fail "remount $fs"
      (cd $dir && sha256sum -c /tmp/$fs.sums >/dev/null) || fail "checksums $fs"
      umount $dir
      check_fs $fs
      say OK "$fs"
    done
    ;;
  crash)
    mount_fs ext4 || fail "mount ext4"
    n=0
    while true; do
      dd if=/dev/urandom of=/mnt/ext4/crash-$n.bin bs=64k count=8 2>/dev/null
      sync
      say SYNCED "crash-$n.bin" "$(sha256sum /mnt/ext4/crash-$n.bin | cut -d' ' -f1)"
      n=$((n + 1))
    done
    ;;
  verify)
    mount_fs ext4 || fail "mount ext4 after the crash"
    for f in /mnt/ext4/crash-*.bin; do say SUM "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"; done
    umount /mnt/ext4
    for fs in ext4 xfs ntfs; do
      mount_fs $fs || fail "mount $fs"
      (cd /mnt/$fs && sha256sum big.bin small-*.txt) | while read -r sum name; do say FILE "$fs" "$name" "$sum"; done
      umount /mnt/$fs
      check_fs $fs
    done
    say OK verify
    ;;
  *) fail "unknown phase '$s3phase'" ;;
esac
finish
