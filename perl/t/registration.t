#!/usr/bin/perl
# Loading through the PVE::Storage stand-in: version window, registration rules, volume names.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use PVE::Storage;

my $p = PVE::Storage::load_custom_plugin('PVE::Storage::Custom::S3Plugin');
is($p->api(), PVE::Storage::APIVER, 'api() is the current storage API');
is(PVE::Storage::Plugin->lookup('s3'), $p, 'type s3 registered');
is_deeply(PVE::Storage::Plugin::sensitive_properties('s3'), ['access-key', 'secret-key'],
    'credentials are sensitive properties');

{
    package Bogus::Plugin;
    use base qw(PVE::Storage::Plugin);
    sub type { 'bogus' }
    sub properties { { path => { type => 'string' } } }
    sub options { { path => {} } }
}
eval { Bogus::Plugin->register() };
like($@, qr/duplicate property 'path'/, 'the stand-in rejects redefining a built-in property');

my @vols = (
    ['backup/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst', ['backup', 'vzdump-qemu-100-2024_01_01-00_00_00.vma.zst', 100]],
    ['backup/vzdump-lxc-101-2024_01_01-00_00_00.tar', ['backup', 'vzdump-lxc-101-2024_01_01-00_00_00.tar', 101]],
    ['backup/custom-name.vma.gz', ['backup', 'custom-name.vma.gz', undef]],
    ['iso/debian 12 netinst ü.iso', ['iso', 'debian 12 netinst ü.iso', undef]],
    ['vztmpl/debian-12-standard_12.2-1_amd64.tar.zst', ['vztmpl', 'debian-12-standard_12.2-1_amd64.tar.zst', undef]],
    ['snippets/user-data.yaml', ['snippets', 'user-data.yaml', undef]],
    ['import/disk.qcow2', ['import', 'disk.qcow2', undef]],
);
for my $v (@vols) {
    my @r = $p->parse_volname($v->[0]);
    is_deeply([@r[0 .. 2]], $v->[1], "parse_volname $v->[0]");
}
for my $bad ('iso/../x.iso', 'snippets/..', 'snippets/.hidden', 'iso/x.txt', 'backup/x.zip',
    'images/100/vm-100-disk-0.raw', 'iso/a/b.iso', "snippets/a\nb")
{
    eval { $p->parse_volname($bad) };
    like($@, qr/volume name/, "parse_volname rejects '$bad'");
}
my $scfg = { path => '/var/cache/s3', prefix => '/team-a/' };
is(scalar($p->path($scfg, 'backup/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst', 's3')),
    '/var/cache/s3/dump/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst', 'backup path in the cache');
is(PVE::Storage::Custom::S3Plugin::Config::object_key($scfg, 'vztmpl', 'a.tar.gz'),
    'team-a/template/cache/a.tar.gz', 'object key under the prefix');
eval { $p->path($scfg, 'iso/x.iso', 's3', 'snap1') };
like($@, qr/snapshots are not supported/, 'snapshots refused');

done_testing();
