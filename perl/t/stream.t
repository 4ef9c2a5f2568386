#!/usr/bin/perl
# The download path's own HTTP reader (S3Plugin::Stream) against a local socket that answers in
# the shapes servers use: Content-Length, chunked transfer encoding in odd-sized chunks, a body
# ended by closing the connection, an error body, a connection cut mid-body (retried, the file
# rewritten from its start), and a server that stops sending (timeout).
use strict;
use warnings;

use Compress::Raw::Zlib ();
use Digest::MD5 qw(md5_hex);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes ();
use Test::More;

use PVE::Storage::Custom::S3Plugin::Client;
use PVE::Storage::Custom::S3Plugin::Metrics;
use PVE::Storage::Custom::S3Plugin::Objects;

my $tmp = tempdir('s3plugin-stream-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $body = join('', map { md5_hex("s$_") } 1 .. 100_000); # 3.2 MB

sub chunked {
    my ($data) = @_;
    my ($out, $i, $n) = ('', 0, 1);
    while ($i < length($data)) {
        my $len = (7919 * $n++) % 300_000 + 1;
        my $piece = substr($data, $i, $len);
        $out .= sprintf("%x\r\n", length($piece)) . $piece . "\r\n";
        $i += length($piece);
    }
    return "${out}0\r\n\r\n";
}

# Serves one scripted answer per connection, in order; returns (port, pid).
sub serve {
    my (@answers) = @_;
    my $srv = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0,
        ReuseAddr => 1) or die "listen: $!";
    my $pid = fork() // die;
    if (!$pid) {
        $SIG{PIPE} = 'IGNORE';
        for my $answer (@answers) {
            my $conn = $srv->accept or last;
            my $req = '';
            while (my $line = <$conn>) { $req .= $line; last if $line eq "\r\n" }
            $answer->($conn, $req);
            close($conn);
        }
        POSIX::_exit(0);
    }
    my $port = $srv->sockport;
    close($srv);
    return ($port, $pid);
}

sub send_all { my ($c, $s) = @_; print {$c} $s; }

# get_object to a file; digest => 'crc32' asks for the CRC32 instead of the MD5.
sub download {
    my ($port, %o) = @_;
    my $digest = delete($o{digest});
    my $m = PVE::Storage::Custom::S3Plugin::Metrics->new();
    my $s3 = PVE::Storage::Custom::S3Plugin::Objects->new(endpoint => '127.0.0.1', port => $port,
        use_ssl => 0, bucket => 'b', access_key => 'A', secret_key => 'S', backoff => 0.01,
        metrics => $m, %o);
    open(my $fh, '+>', "$tmp/out") or die;
    my $res = eval { $s3->get_object('k', fh => $fh, digest => $digest) };
    my $err = $@;
    close($fh);
    my $got = do { local (@ARGV, $/) = ("$tmp/out"); <> };
    return ($res, $err, $got, $m->{ops}->{get});
}

my $body_crc32 = PVE::Storage::Custom::S3Plugin::Client::crc32_base64(Compress::Raw::Zlib::crc32($body));
my $ok = "HTTP/1.1 200 OK\r\nETag: \"" . md5_hex($body) . "\"\r\n";
my @cases = (
    ['Content-Length', sub { send_all($_[0], "${ok}Content-Length: " . length($body) . "\r\n\r\n$body") }],
    ['chunked', sub { send_all($_[0], "${ok}Transfer-Encoding: chunked\r\n\r\n" . chunked($body)) }],
    ['close-delimited', sub { send_all($_[0], "${ok}Connection: close\r\n\r\n$body") }],
);
for my $case (@cases) {
    my ($name, $answer) = @$case;
    my ($port, $pid) = serve($answer);
    my ($res, $err, $got, $stats) = download($port);
    waitpid($pid, 0);
    is($err, '', "$name: no error");
    is(md5_hex($got), md5_hex($body), "$name: body written in full");
    is($res && $res->{md5}, md5_hex($body), "$name: MD5 computed while writing");
    is($stats->{bytes_in}, length($body), "$name: bytes counted in the metrics");
    is($stats->{requests}, 1, "$name: one request recorded");
    ($port, $pid) = serve($answer);
    ($res, $err, $got) = download($port, digest => 'crc32');
    waitpid($pid, 0);
    is($res && $res->{crc32}, $body_crc32, "$name: CRC32 computed while writing, when asked for");
    ok($res && !defined($res->{md5}), "$name: no MD5 then");
}

# The bandwidth limit holds on this path too: 3.2 MB at 1024 KiB/s cannot finish in under 2 s.
{
    my ($port, $pid) = serve($cases[0]->[1]);
    my $t0 = Time::HiRes::time();
    my ($res, $err, $got) = download($port, bwlimit => 1024);
    my $took = Time::HiRes::time() - $t0;
    waitpid($pid, 0);
    is(md5_hex($got), md5_hex($body), 'bandwidth-limited download intact');
    cmp_ok($took, '>=', 2, sprintf('bandwidth limit applied (%.1f s for 3.2 MB at 1 MiB/s)', $took));
}

# The request carries the signed headers and asks for one request per connection.
my ($port, $pid) = serve(sub { send_all($_[0], "${ok}Content-Length: 0\r\n\r\n");
    open(my $f, '>', "$tmp/req") or die; print {$f} $_[1]; close($f) });
download($port);
waitpid($pid, 0);
my $req = do { local (@ARGV, $/) = ("$tmp/req"); <> };
like($req, qr{^GET /b/k HTTP/1\.1\r\n}, 'request line');
like($req, qr/^authorization: AWS4-HMAC-SHA256 Credential=A\/\d{8}\/us-east-1\/s3\/aws4_request/m,
    'SigV4 authorization header');
like($req, qr/^connection: close\r$/m, 'one request per connection');

# Cut mid-body, then served in full: retried, the file rewritten from its start.
($port, $pid) = serve(
    sub { send_all($_[0], "${ok}Content-Length: " . length($body) . "\r\n\r\n" . substr($body, 0, 1_500_000)) },
    sub { send_all($_[0], "${ok}Content-Length: " . length($body) . "\r\n\r\n$body") },
);
my ($res, $err, $got, $stats) = download($port, digest => 'crc32');
waitpid($pid, 0);
is($err, '', 'cut connection: retried');
is($res && $res->{crc32}, $body_crc32, 'cut connection: CRC32 of the retried body only');
is(length($got), length($body), 'cut connection: file holds exactly one copy');
is(md5_hex($got), md5_hex($body), 'cut connection: content intact');
is($stats->{retries}, 1, 'cut connection: one retry counted');

# Error answers keep their body for the explanation and are not written to the file.
my $xml = '<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>gone</Message></Error>';
($port, $pid) = serve(sub { send_all($_[0], "HTTP/1.1 404 Not Found\r\nContent-Length: "
    . length($xml) . "\r\n\r\n$xml") });
($res, $err, $got) = download($port);
waitpid($pid, 0);
like($err, qr/object 'k' does not exist in bucket 'b'/, '404 explained from the error body');
is($got, '', 'nothing written for an error answer');

# A server that stops sending mid-body: the read times out (and is retried, then explained).
($port, $pid) = serve(map {
    sub { send_all($_[0], "${ok}Content-Length: " . length($body) . "\r\n\r\n" . substr($body, 0, 1000)); sleep(4) }
} 1 .. 2);
($res, $err) = download($port, timeout => 1, retries => 1);
waitpid($pid, 0);
like($err, qr/did not answer within 1 s/, 'stalled body: timeout explained');

done_testing();
