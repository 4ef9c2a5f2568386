#!/usr/bin/perl
# A large sparse file streamed through the multipart uploader in bounded memory, to a sink that
# hashes and discards the bytes (the final ETag proves every byte went out). Size from
# S3PLUGIN_SPARSE_GIB (default 2; `S3PLUGIN_SPARSE_GIB=50 prove …` for the full size).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use Digest::MD5;
use JSON;
use Test::More;

use PVE::Storage::Custom::S3Plugin::Multipart;
use PVE::Storage::Custom::S3Plugin::Objects;
use S3Test;

my $gib = $ENV{S3PLUGIN_SPARSE_GIB} || 2;
my $tmp = tempdir('s3plugin-sparse-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $file = "$tmp/sparse.img";
open(my $fh, '>', $file) or die;
truncate($fh, $gib * 1024**3) or die "cannot create a sparse file: $!";
close($fh);

my $srv = S3Test::start_discard();
my $s3 = PVE::Storage::Custom::S3Plugin::Objects->new(endpoint => '127.0.0.1', port => $srv->{port},
    use_ssl => 0, bucket => 'sink', access_key => 'A', secret_key => 'S');
my $res = PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $s3, key => 'sparse.img',
    file => $file, part_size => 64 * 1024 * 1024, concurrency => 4);
is($res->{size}, $gib * 1024**3, "$gib GiB sparse file uploaded in full");
is($res->{parts}, $gib * 16, 'one part per 64 MiB');
my $parent = PVE::Storage::Custom::S3Plugin::Multipart::peak_rss_kb();
cmp_ok($parent, '<', 100 * 1024, "uploader peak RSS ${parent} KiB < 100 MiB");
cmp_ok($res->{worker_peak_rss_kb}, '<', 100 * 1024,
    "part worker peak RSS $res->{worker_peak_rss_kb} KiB < 100 MiB");
my $zero = Digest::MD5->new;
$zero->add("\0" x (1024 * 1024)) for 1 .. 64;
my $zero_part = $zero->hexdigest;
is($res->{etag}, PVE::Storage::Custom::S3Plugin::Multipart::expected_etag(($zero_part) x ($gib * 16)),
    'sink ETag matches the md5-of-md5s of the zero parts');

# Holes and data mixed, at offsets that do not fall on the reader's 1 MiB steps: the parts hash
# (on the sink) exactly as the bytes a plain read returns, holes skipped or not.
# (Sizes in variables: constant expressions would be folded into the script at compile time and
# count against the uploader's peak RSS measured above.)
my ($mib, $piece) = (1024 * 1024, 700_000);
my $mixed = "$tmp/mixed.img";
open($fh, '+>:raw', $mixed) or die;
truncate($fh, 20 * 1024 * 1024 + 7) or die;
for my $at (3 * 1024 * 1024 + 123, 9 * 1024 * 1024, 9 * 1024 * 1024 + 1_500_000, 20 * 1024 * 1024) {
    my $pattern = join('', map { chr(($_ * 31 + $at) % 251 + 1) } 1 .. 251);
    sysseek($fh, $at, 0);
    syswrite($fh, substr($pattern x ($piece / 251 + 1), 0, $piece));
}
truncate($fh, 20 * 1024 * 1024 + 7);
close($fh);
my @want;
open($fh, '<:raw', $mixed) or die;
while (sysread($fh, my $buf, 5 * 1024 * 1024)) {
    push @want, Digest::MD5::md5_hex($buf);
}
close($fh);
$res = PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $s3, key => 'mixed.img',
    file => $mixed, part_size => 5 * 1024 * 1024, concurrency => 2);
is($res->{etag}, PVE::Storage::Custom::S3Plugin::Multipart::expected_etag(@want),
    'sparse file with data between holes: every part hashes as read');
is($res->{size}, 20 * 1024 * 1024 + 7, 'sparse file with data between holes: full size');

# A part that keeps failing aborts the upload and drops its state: here the recorded upload no
# longer exists on the server (the sink has no ListParts, so the local state is trusted first).
my $small = "$tmp/small.bin";
open($fh, '>', $small) or die;
print {$fh} "x" x (12 * $mib);
close($fh);
my @st = stat($small);
my $state = "$tmp/small.state";
open($fh, '>', $state) or die;
print {$fh} JSON::encode_json({ key => 'small.bin', dev => $st[0], ino => $st[1],
    part_size => 5 * 1024 * 1024, upload_id => 'gone', parts => {} });
close($fh);
eval {
    PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $s3, key => 'small.bin', file => $small,
        state_file => $state, part_size => 5 * 1024 * 1024, concurrency => 2);
};
like($@, qr/part \d of 'small\.bin' failed: .*no longer exists/, 'failing part stops the upload, explained');
ok(!-e $state, 'failed upload leaves no resume state behind');

$srv->{stop}->();
done_testing();
