#!/usr/bin/perl
# `make -C perl deb` builds a package with the plugin, the helper, its unit and the UI panel.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use Test::More;

use S3Test;

for my $tool (qw(dpkg-buildpackage dh)) {
    BAIL_OUT("$tool is missing (install debhelper)") if system("command -v $tool >/dev/null") != 0;
}
my $root = S3Test::repo_root();
my $out = tempdir('s3plugin-deb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $log = `make -C $root/perl deb BUILDROOT=$out 2>&1`;
is($?, 0, 'make deb succeeds') or diag($log);
my ($deb) = glob("$out/pve-s3plugin_*_all.deb");
ok($deb, 'package file produced');
my @files = map { (split(' ', $_))[5] } split(/\n/, `dpkg-deb -c $deb`);
for my $want (qw(
    ./usr/share/perl5/PVE/Storage/Custom/S3Plugin.pm
    ./usr/share/perl5/PVE/Storage/Custom/S3Plugin/Multipart.pm
    ./usr/bin/s3plugin-helper
    ./lib/systemd/system/s3plugin-pve-helper.service
    ./usr/share/pve-manager/js/s3plugin-storage.js
)) {
    ok((grep { $_ eq $want } @files), "package contains $want");
}
like(`dpkg-deb -f $deb Depends`, qr/libpve-storage-perl/, 'depends on PVE storage');
like(`dpkg-deb -I $deb postinst`, qr/s3plugin-storage\.js/, 'postinst loads the UI panel');
done_testing();
