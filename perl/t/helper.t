#!/usr/bin/perl
# bin/s3plugin-helper as a process: finds the storage from the plugin's state, uploads a file that
# appeared in the cache, marks it synced, and exits on --once.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use Test::More;

use PVE::Storage;
use PVE::Storage::Custom::S3Plugin::Cache;
use PVE::Storage::Custom::S3Plugin::Config;
use S3Test;

my $srv = S3Test::start_s3rver('helper-bucket');
my $tmp = tempdir('s3plugin-helper-XXXXXX', TMPDIR => 1, CLEANUP => 1);
$ENV{S3PLUGIN_PRIV_DIR} = "$tmp/priv";
$ENV{S3PLUGIN_STATE_DIR} = "$tmp/state";
my $p = PVE::Storage::load_custom_plugin('PVE::Storage::Custom::S3Plugin');
my $scfg = { type => 's3', endpoint => '127.0.0.1', port => $srv->{port}, bucket => 'helper-bucket',
    'use-ssl' => 0, path => "$tmp/cache", prefix => 'node-test' };
$p->on_add_hook('hs3', $scfg, 'access-key' => 'S3RVER', 'secret-key' => 'S3RVER');
$p->activate_storage('hs3', $scfg, {});
open(my $fh, '>', "$tmp/cache/snippets/cloud-init.yaml") or die;
print {$fh} "#cloud-config\n";
close($fh);
open($fh, '>', "$tmp/cache/dump/vzdump-qemu-1-2024_01_01-00_00_00.vma.dat") or die;
close($fh);
utime(time() - 60, time() - 60, "$tmp/cache/snippets/cloud-init.yaml");

my $root = S3Test::repo_root();
my $out = `$^X -I$root/perl -I$root/perl/t/lib $root/perl/bin/s3plugin-helper --once --settle 1 2>&1`;
is($?, 0, 'helper exits cleanly with --once');
like($out, qr/\[hs3\] uploading snippets\/cloud-init\.yaml/, 'helper logs the upload');
unlike($out, qr/S3RVER/, 'helper log holds no credentials');
my $s3 = PVE::Storage::Custom::S3Plugin::Config::client('hs3', $scfg);
is($s3->get_object('node-test/snippets/cloud-init.yaml'), "#cloud-config\n", 'file is in the bucket');
ok(PVE::Storage::Custom::S3Plugin::Cache::synced('hs3', 'snippets', 'cloud-init.yaml',
    "$tmp/cache/snippets/cloud-init.yaml"), 'file marked synced');
ok(!$s3->head_object('node-test/dump/vzdump-qemu-1-2024_01_01-00_00_00.vma.dat'),
    'an empty .dat (no data yet) is not uploaded');

# A file just written can carry an mtime a second ahead of time(): the kernel stamps files from a
# finer clock than the coarse one time() reads. --settle 0 uploads it all the same.
open($fh, '>', "$tmp/cache/snippets/just-written.yaml") or die;
print {$fh} "now\n";
close($fh);
utime(time() + 1, time() + 1, "$tmp/cache/snippets/just-written.yaml");
$out = `$^X -I$root/perl -I$root/perl/t/lib $root/perl/bin/s3plugin-helper --once --settle 0 2>&1`;
is($?, 0, 'helper --settle 0 exits cleanly');
is(eval { $s3->get_object('node-test/snippets/just-written.yaml') }, "now\n",
    'a file stamped a second ahead of the clock is uploaded with --settle 0');
# A second helper (started by hand beside the service) leaves a storage alone while one syncs it.
open($fh, '>', "$tmp/cache/snippets/while-locked.yaml") or die;
print {$fh} "later\n";
close($fh);
open(my $held, '>>', "$tmp/state/hs3/sync.lock") or die;
flock($held, LOCK_EX) or die;
$out = `$^X -I$root/perl -I$root/perl/t/lib $root/perl/bin/s3plugin-helper --once --settle 0 2>&1`;
is($?, 0, 'helper exits cleanly while another pass holds the storage');
like($out, qr/\[hs3\] skipped: another s3plugin-helper is syncing this storage/, 'helper says why it skipped');
ok(!$s3->head_object('node-test/snippets/while-locked.yaml'), 'nothing uploaded while the other pass runs');
close($held);
$out = `$^X -I$root/perl -I$root/perl/t/lib $root/perl/bin/s3plugin-helper --once --settle 0 2>&1`;
is(eval { $s3->get_object('node-test/snippets/while-locked.yaml') }, "later\n",
    'the next pass, alone, uploads it');

my $h = PVE::Storage::Custom::S3Plugin::Config::read_json("$tmp/state/hs3/health.json");
is($h->{online}, 1, 'helper records health');
$srv->{stop}->();
done_testing();
