#!/usr/bin/perl
# SigV4 against AWS's published Signature V4 test suite (perl/t/data/sigv4) and S3's documented
# examples (AKIAIOSFODNN7EXAMPLE, 20130524T000000Z, examplebucket).
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Basename qw(dirname);
use JSON;
use Test::More;
use Time::Local qw(timegm);

use PVE::Storage::Custom::S3Plugin::SigV4 qw(sign_request presign_request uri_escape);

my $dir = dirname(__FILE__) . '/data/sigv4';

sub slurp {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or return undef;
    local $/;
    my $data = <$fh>;
    return $data;
}

sub unescape {
    my ($s) = @_;
    $s =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
    return $s;
}

# request.txt: "METHOD target HTTP/1.1", header lines (continuations start with blanks), blank, body
sub parse_request {
    my ($text) = @_;
    my ($head, $body) = split(/\n\n/, $text, 2);
    my @lines = split(/\n/, $head);
    my ($method, $target) = shift(@lines) =~ m/^(\S+) (.*) HTTP\/1\.1$/ or die "bad request line";
    my (@headers, %headers);
    for my $line (@lines) {
        if ($line =~ m/^\s+(.*)$/) {
            $headers[-1][1] .= " $1";
        } else {
            my ($name, $value) = split(/:/, $line, 2);
            push @headers, [$name, $value];
        }
    }
    push @{ $headers{ $_->[0] } }, $_->[1] for @headers;
    my ($path, $qs) = split(/\?/, $target, 2);
    my @query = map { my ($k, $v) = split(/=/, $_, 2); [unescape($k), unescape($v // '')] }
        grep { length } split(/&/, $qs // '');
    return ($method, unescape($path), \@query, \%headers, $body // '');
}

my @cases = sort grep { -d "$dir/$_" } do { opendir(my $dh, $dir) or die; readdir($dh) };
@cases = grep { !/^\./ } @cases;
cmp_ok(scalar(@cases), '>=', 25, 'test-suite cases present');

for my $case (@cases) {
    my $ctx = decode_json(slurp("$dir/$case/context.json"));
    my ($y, $mo, $d, $h, $mi, $s) = $ctx->{timestamp} =~ m/^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)Z$/;
    my $time = timegm($s, $mi, $h, $d, $mo - 1, $y);
    my ($method, $path, $query, $headers, $body) = parse_request(slurp("$dir/$case/request.txt"));
    my $token = $ctx->{credentials}->{token};
    $token = undef if grep { lc($_) eq 'x-amz-security-token' } keys %$headers;
    my %common = (
        method => $method,
        path => $path,
        query => $query,
        headers => $headers,
        access_key => $ctx->{credentials}->{access_key_id},
        secret_key => $ctx->{credentials}->{secret_access_key},
        session_token => $token,
        region => $ctx->{region},
        service => $ctx->{service},
        time => $time,
        payload_hash => sha256_hex($body),
    );

    my $signed = sign_request({ %common, content_sha256_header => $ctx->{sign_body} });
    is($signed->{canonical_request}, slurp("$dir/$case/header-canonical-request.txt"),
        "$case: canonical request");
    is($signed->{string_to_sign}, slurp("$dir/$case/header-string-to-sign.txt"),
        "$case: string to sign");
    is($signed->{signature}, slurp("$dir/$case/header-signature.txt"), "$case: signature");

    next if !-e "$dir/$case/query-signature.txt";
    my %hdr = %$headers;
    my $pre = presign_request({
        %common,
        headers => \%hdr,
        expires => $ctx->{expiration_in_seconds},
    });
    is($pre->{canonical_request}, slurp("$dir/$case/query-canonical-request.txt"),
        "$case: presigned canonical request");
    is($pre->{signature}, slurp("$dir/$case/query-signature.txt"), "$case: presigned signature");
}

# S3 documentation examples ("Examples: Signature Calculations in AWS Signature Version 4").
my %s3 = (
    access_key => 'AKIAIOSFODNN7EXAMPLE',
    secret_key => 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    region => 'us-east-1',
    service => 's3',
    time => timegm(0, 0, 0, 24, 4, 2013),
    content_sha256_header => 1,
);
my $host = 'examplebucket.s3.amazonaws.com';
my $empty = sha256_hex('');
my @s3_cases = (
    {
        description => 'GET object with a range',
        method => 'GET', path => '/test.txt', query => [],
        headers => { host => $host, range => 'bytes=0-9' }, payload_hash => $empty,
        signature => 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    },
    {
        description => 'PUT object with a $ in the key and a storage class',
        method => 'PUT', path => '/test$file.text', query => [],
        headers => {
            host => $host, date => 'Fri, 24 May 2013 00:00:00 GMT',
            'x-amz-storage-class' => 'REDUCED_REDUNDANCY',
        },
        payload_hash => sha256_hex('Welcome to Amazon S3.'),
        signature => '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
    },
    {
        description => 'GET bucket lifecycle (valueless query parameter)',
        method => 'GET', path => '/', query => [['lifecycle', '']],
        headers => { host => $host }, payload_hash => $empty,
        signature => 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
    },
    {
        description => 'GET bucket (list objects), parameters given out of order',
        method => 'GET', path => '/', query => [['prefix', 'J'], ['max-keys', '2']],
        headers => { host => $host }, payload_hash => $empty,
        signature => '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
    },
);
for my $c (@s3_cases) {
    my $signed = sign_request({ %s3, %$c });
    is($signed->{signature}, $c->{signature}, "S3 example: $c->{description}");
}
my $pre = presign_request({
    %s3, method => 'GET', path => '/test.txt', headers => { host => $host }, expires => 86400,
});
is($pre->{signature}, 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
    'S3 example: presigned GET URL');

is(uri_escape("a b+c/ü~", 1), 'a%20b%2Bc/%C3%BC~', 'path escaping keeps slashes, encodes UTF-8');
is(uri_escape("a/b"), 'a%2Fb', 'query escaping encodes slashes');
eval { presign_request({ %s3, method => 'GET', path => '/', expires => 604801 }) };
like($@, qr/lifetime/, 'presign rejects lifetimes above seven days');
eval { sign_request({ %s3, method => 'GET' }) };
like($@, qr/missing 'path'/, 'missing arguments are named');

done_testing();
