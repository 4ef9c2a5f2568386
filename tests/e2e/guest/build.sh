#!/usr/bin/env bash
# Builds the test guest (kernel + initramfs) from the host's Debian packages into OUT_DIR, once:
# linux-image-amd64 (vmlinuz, virtio/ext4/xfs/fuse modules), busybox-static, e2fsprogs, xfsprogs, ntfs-3g, fdisk.
# Usage: build.sh OUT_DIR   → OUT_DIR/vmlinuz, OUT_DIR/initramfs.cpio.gz
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
kver=$(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)
[ -n "$kver" ] || { echo "no kernel in /boot: install linux-image-amd64" >&2; exit 1; }
stamp="$kver $(sha256sum "$here/init.sh" "$here/build.sh" | sha256sum | cut -c1-16)"
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ]; then exit 0; fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,mnt,modules}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
file "$root/bin/busybox" 2>/dev/null | grep -q static || ldd /bin/busybox 2>&1 | grep -q "not a dynamic" ||
  { echo "/bin/busybox is not static: install busybox-static" >&2; exit 1; }

copy_with_libs() {
  local path=$1
  cp -L "$path" "$root/sbin/$(basename "$path")"
  ldd "$path" | grep -o '/[^ ]*' | while read -r lib; do
    mkdir -p "$root$(dirname "$lib")"
    cp -Ln "$lib" "$root$lib"
  done
}
for tool in mkfs.ext4 e2fsck mkfs.xfs xfs_repair mkntfs ntfs-3g ntfsfix sfdisk; do
  path=$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v "$tool") || { echo "missing $tool" >&2; exit 1; }
  copy_with_libs "$path"
done

: >"$root/modules/order"
for mod in virtio_pci virtio_blk ext4 xfs fuse; do
  modprobe --show-depends --set-version "$kver" "$mod" | awk '$1 == "insmod" { print $2 }' | while read -r ko; do
    name=$(basename "$ko")
    grep -qx "$name" "$root/modules/order" && continue
    cp "$ko" "$root/modules/$name"
    echo "$name" >>"$root/modules/order"
  done
done

cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
mkdir -p "$out"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
cp "/boot/vmlinuz-$kver" "$out/vmlinuz"
echo "$stamp" >"$out/stamp"
