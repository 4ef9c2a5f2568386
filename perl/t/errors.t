#!/usr/bin/perl
# How failures read, from the response shapes S3 documents (region redirects and malformed-region
# errors, which the test servers here do not produce because they ignore the signing region),
# and retry/backoff against a local socket that answers 503 SlowDown before succeeding.
use strict;
use warnings;

use IO::Socket::INET;
use POSIX ();
use Test::More;

use PVE::Storage::Custom::S3Plugin::Metrics;
use PVE::Storage::Custom::S3Plugin::Objects;

my %base = (endpoint => '127.0.0.1', port => 9, use_ssl => 0, bucket => 'backups',
    region => 'us-east-1', access_key => 'AKIDEXAMPLE', secret_key => 'x');
my $c = PVE::Storage::Custom::S3Plugin::Objects->new(%base);

sub err_xml { "<?xml version=\"1.0\"?><Error><Code>$_[0]</Code><Message>$_[1]</Message>"
    . ($_[2] // '') . "</Error>" }

my @cases = (
    [{ status => 301, headers => { 'x-amz-bucket-region' => 'eu-west-1' }, content => '' },
        { op => 'check' }, qr/bucket 'backups' is in region 'eu-west-1', not 'us-east-1' \(set region eu-west-1\)/,
        'HEAD redirect with x-amz-bucket-region'],
    [{ status => 400, headers => {}, content => err_xml('AuthorizationHeaderMalformed',
        "the region 'us-east-1' is wrong; expecting 'eu-central-1'", '<Region>eu-central-1</Region>') },
        { op => 'list' }, qr/expects requests signed for region 'eu-central-1', but the storage is configured for region 'us-east-1' \(set region eu-central-1\)/,
        'malformed-region error body'],
    [{ status => 403, headers => {}, content => err_xml('InvalidAccessKeyId', 'no such key') },
        { op => 'list' }, qr/access key 'AKIDEXAMPLE' rejected/, 'unknown access key'],
    [{ status => 403, headers => {}, content => err_xml('SignatureDoesNotMatch', 'sig') },
        { op => 'list' }, qr/secret key rejected/, 'wrong secret key'],
    [{ status => 403, headers => {}, content => err_xml('RequestTimeTooSkewed', 'skew') },
        { op => 'list' }, qr/clock .* NTP/, 'clock skew'],
    [{ status => 403, headers => {}, content => '' }, { op => 'head', key => 'k' },
        qr/access denied for access key 'AKIDEXAMPLE' on bucket 'backups'/, 'HEAD 403 without body'],
    [{ status => 404, headers => {}, content => '' }, { op => 'check' },
        qr/bucket 'backups' does not exist at endpoint 127\.0\.0\.1:9/, 'bucket-level 404 without body'],
    [{ status => 404, headers => {}, content => err_xml('NoSuchKey', 'x') }, { op => 'get', key => 'dump/a' },
        qr/object 'dump\/a' does not exist in bucket 'backups'/, 'missing object'],
    [{ status => 599, headers => {}, content => "Could not connect to '127.0.0.1:9': Connection refused" },
        { op => 'list' }, qr/cannot connect to endpoint 127\.0\.0\.1:9 \(connection refused\)/, 'refused'],
    [{ status => 599, headers => {}, content => "Timed out while waiting for socket to become ready for reading" },
        { op => 'list', timeout => 2 }, qr/did not answer within 2 s/, 'timeout'],
    [{ status => 599, headers => {}, content => "SSL connect attempt failed error:certificate verify failed" },
        { op => 'list' }, qr/TLS certificate of 127\.0\.0\.1:9 is not trusted/, 'untrusted certificate'],
    [{ status => 500, headers => {}, content => err_xml('InternalError', 'boom') }, { op => 'put', key => 'k' },
        qr/HTTP 500 InternalError: boom/, 'other errors keep code and message'],
);
for my $case (@cases) {
    my ($res, $r, $re, $desc) = @$case;
    my $err = $c->_error($r->{op}, $res, $r);
    like("$err", $re, $desc);
    like("$err", qr/\n$/, "$desc: PVE-style message ends in a newline");
}

# Retries: 503 SlowDown twice, then success.
my $srv = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, ReuseAddr => 1)
    or die "listen: $!";
my $pid = fork() // die;
if (!$pid) {
    for my $i (1 .. 3) {
        my $conn = $srv->accept or last;
        my $req = '';
        while (my $line = <$conn>) { $req .= $line; last if $line eq "\r\n" }
        my $body = $i < 3 ? err_xml('SlowDown', 'Please reduce your request rate.')
            : '<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>';
        my $status = $i < 3 ? '503 Slow Down' : '200 OK';
        print {$conn} "HTTP/1.1 $status\r\nContent-Length: " . length($body)
            . "\r\nConnection: close\r\n\r\n$body";
        close($conn);
    }
    POSIX::_exit(0);
}
my $m = PVE::Storage::Custom::S3Plugin::Metrics->new();
my $r = PVE::Storage::Custom::S3Plugin::Objects->new(%base, port => $srv->sockport, backoff => 0.05,
    metrics => $m);
my ($objs) = $r->list_objects('');
is_deeply($objs, [], 'request succeeds after two 503 SlowDown answers');
is($m->{ops}->{list}->{retries}, 2, 'two retries counted');
is($m->{ops}->{list}->{errors}, 0, 'no error counted');
waitpid($pid, 0);

my $none = PVE::Storage::Custom::S3Plugin::Objects->new(%base, port => $srv->sockport, retries => 2,
    backoff => 0.01, metrics => $m);
close($srv); # nothing listens any more
eval { $none->check_bucket };
like($@, qr/connection refused/, 'network errors retried, then explained');
is($m->{ops}->{check}->{retries}, 2, 'retries on network errors counted');

done_testing();
