#!/usr/bin/perl
# Download verification (S3Plugin::Verify through Cache::fetch) against the appliance gateway,
# which keeps the CRC32 the plugin sends with its uploads (full-object for a PUT, composite "-N"
# for a multipart upload), and against s3rver, which keeps none (MD5 against the ETag). A byte
# flipped in the server's stored data must fail the download, in parallel ranges and in one
# stream, and leave neither the volume nor a partial file behind. Uploads to a server that keeps
# checksums are checked by CRC32 instead of MD5; a part the server does not confirm fails.
use strict;
use warnings;

use Compress::Raw::Zlib ();
use Digest::MD5 qw(md5_hex);
use File::Find;
use File::Temp qw(tempdir);
use FindBin;
use IO::Socket::INET;
use POSIX ();
use Test::More;

use lib "$FindBin::Bin/lib";

use PVE::Storage::Custom::S3Plugin::Cache;
use PVE::Storage::Custom::S3Plugin::Client;
use PVE::Storage::Custom::S3Plugin::Multipart;
use PVE::Storage::Custom::S3Plugin::Objects;
use PVE::Storage::Custom::S3Plugin::Verify;
use S3Test;

use constant PART => 5 * 1024 * 1024;
use constant MARKER => 'VERIFY-TARGET-7f3a9c';

my $tmp = tempdir('s3plugin-verify-XXXXXX', TMPDIR => 1, CLEANUP => 1);
$ENV{S3PLUGIN_STATE_DIR} = "$tmp/state";

sub crc_b64 { PVE::Storage::Custom::S3Plugin::Client::crc32_base64(Compress::Raw::Zlib::crc32($_[0])) }

sub write_file {
    my ($path, $data) = @_;
    open(my $fh, '>:raw', $path) or die "$path: $!";
    print {$fh} $data;
    close($fh) or die "$path: $!";
}

sub slurp {
    open(my $fh, '<:raw', $_[0]) or return undef;
    local $/;
    return scalar(<$fh>);
}

# 13 MiB (3 parts of 5 MiB) with a marker inside the second part.
my $data = substr(join('', map { md5_hex("v$_") } 1 .. 426_000), 0, 13 * 1024 * 1024);
substr($data, 7 * 1024 * 1024, length(MARKER), MARKER);
write_file("$tmp/payload.bin", $data);

# The upload's CRC32 pre-pass: holes of a sparse file are joined, not read, and hash the same.
{
    open(my $fh, '>', "$tmp/sparse.bin") or die;
    truncate($fh, 6 * 1024 * 1024 + 5) or die;
    seek($fh, 3 * 1024 * 1024 + 17, 0);
    print {$fh} 'data in the middle';
    close($fh);
    my $h = PVE::Storage::Custom::S3Plugin::Client::hash_range(
        { file => "$tmp/sparse.bin", offset => 0, length => -s "$tmp/sparse.bin" }, crc32 => 1);
    is($h->{crc32}, crc_b64(slurp("$tmp/sparse.bin")), 'CRC32 of a sparse file with holes');
}

# Flips one byte of the marker in every file below $dir that holds it; returns how many.
sub corrupt {
    my ($dir) = @_;
    my @hit;
    find({ no_chdir => 1, wanted => sub {
        return if !-f $_ || -s _ < length(MARKER);
        my $content = slurp($_) // return;
        my $at = index($content, MARKER);
        return if $at < 0;
        open(my $fh, '+<:raw', $_) or die "$_: $!";
        seek($fh, $at, 0);
        print {$fh} 'X';
        close($fh) or die;
        push @hit, $_;
    } }, $dir);
    return scalar(@hit);
}

sub run_server {
    my ($srv) = @_;
    my $name = $srv->{name};
    my $s3 = PVE::Storage::Custom::S3Plugin::Objects->new(endpoint => $srv->{endpoint},
        port => $srv->{port}, use_ssl => 0, bucket => $srv->{bucket}, region => 'us-east-1',
        access_key => $srv->{access_key}, secret_key => $srv->{secret_key});
    my $up = PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $s3, key => 'v/mp.bin',
        file => "$tmp/payload.bin", part_size => PART, concurrency => 3);
    my $keeps = $name eq 'gateway';
    is($up->{verified_by}, $keeps ? 'crc32' : 'md5',
        "$name: multipart upload checked by " . ($keeps ? 'the CRC32s the server confirmed' : 'MD5'));
    $s3->put_object('v/one.bin', file => "$tmp/payload.bin");
    # An upload without x-amz-checksum-crc32, as older clients send.
    $s3->request(op => 'put', method => 'PUT', key => 'v/plain.bin', body => $data);

    my %head = map { ($_ => $s3->head_object("v/$_.bin")) } qw(mp one plain);
    if ($keeps) {
        like($head{mp}->{crc32}, qr/^[A-Za-z0-9+\/]{6}==-3$/, "$name: multipart upload has a composite CRC32");
        is($head{one}->{crc32}, crc_b64($data), "$name: PUT has the full-object CRC32 of the data");
    } else {
        ok(!defined($head{$_}->{crc32}), "$name: no CRC32 kept for $_") for qw(mp one);
    }
    ok(!defined($head{plain}->{crc32}), "$name: no CRC32 for an upload that sent none");
    my %alg = (mp => $keeps ? 'crc32' : 'md5', one => $keeps ? 'crc32' : 'md5', plain => 'md5');
    for my $k (sort keys %alg) {
        is(PVE::Storage::Custom::S3Plugin::Verify::algorithm($head{$k}, PART), $alg{$k},
            "$name: $k.bin in part-sized ranges is checked by $alg{$k}");
    }
    is(PVE::Storage::Custom::S3Plugin::Verify::algorithm($head{mp}, undef), 'md5',
        "$name: a composite checksum needs part-aligned ranges, one stream falls back to MD5");

    my %mode = (parallel => 3, stream => 1);
    my $fetch = sub {
        my ($k, $mode, $path) = @_;
        PVE::Storage::Custom::S3Plugin::Cache::fetch($s3, $name, 'iso', "$k-$mode", $path,
            "v/$k.bin", chunk => PART, concurrency => $mode{$mode});
    };
    for my $k (sort keys %alg) {
        for my $mode (sort keys %mode) {
            my $path = "$tmp/$name/good/$k-$mode.bin";
            my $etag = eval { $fetch->($k, $mode, $path) };
            is($@, '', "$name: $k.bin, $mode: download verified");
            ok(defined(my $got = slurp($path)), "$name: $k.bin, $mode: file in place");
            is(md5_hex(slurp($path) // ''), md5_hex($data), "$name: $k.bin, $mode: intact");
        }
    }

    cmp_ok(corrupt($srv->{data_dir}), '>=', 3, "$name: one byte flipped in each stored copy");
    for my $k (sort keys %alg) {
        for my $mode (sort keys %mode) {
            my $dir = "$tmp/$name/bad";
            eval { $fetch->($k, $mode, "$dir/$k-$mode.bin") };
            like($@, qr/download of 'v\/$k\.bin' is corrupt: /, "$name: $k.bin, $mode: corruption detected");
            opendir(my $dh, $dir) or die "$dir: $!";
            my @left = grep { /^\Q$k-$mode.bin\E/ } readdir($dh);
            is_deeply(\@left, [], "$name: $k.bin, $mode: neither the volume nor a partial file is left");
        }
    }
}

# A part upload without MD5 needs the server to confirm its CRC32: one that answers without it
# (here a scripted server that takes the body and answers 200 with an ETag only) fails the part.
{
    my $srv = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "listen: $!";
    my $pid = fork() // die;
    if (!$pid) {
        my $c = $srv->accept;
        my $head = '';
        while (my $line = <$c>) { $head .= $line; last if $line eq "\r\n" }
        my ($len) = $head =~ /^content-length:\s*(\d+)/mi;
        read($c, my $body, $len // 0);
        print {$c} "HTTP/1.1 200 OK\r\nETag: \"" . md5_hex($body) . "\"\r\nContent-Length: 0\r\n\r\n";
        close($c);
        POSIX::_exit(0);
    }
    my $s3 = PVE::Storage::Custom::S3Plugin::Objects->new(endpoint => '127.0.0.1',
        port => $srv->sockport, use_ssl => 0, bucket => 'b', access_key => 'a', secret_key => 's',
        retries => 0);
    close($srv);
    eval { $s3->upload_part('k', 'id', 1, { file => "$tmp/payload.bin", offset => 0, length => 1000 },
        digest => 'crc32') };
    like($@, qr/^part 1 of 'k': the server answered CRC32 none, sent \S+==$/m,
        'a part whose CRC32 the server does not confirm fails');
    waitpid($pid, 0);
}

for my $start (\&S3Test::start_gateway, sub { S3Test::start_s3rver('verify') }) {
    my $srv = $start->();
    eval { run_server($srv) };
    fail("$srv->{name}: died: $@") if $@;
    $srv->{stop}->();
}
done_testing();
