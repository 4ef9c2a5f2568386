package PVE::Storage::Custom::S3Plugin::SigV4;

# AWS Signature Version 4: header signing and presigned URLs, as S3 uses it (the path is signed as
# sent, never normalized; every byte outside the unreserved set is percent-encoded once).

use strict;
use warnings;

use Digest::SHA qw(sha256_hex hmac_sha256 hmac_sha256_hex);
use POSIX qw(strftime);

use Exporter qw(import);
our @EXPORT_OK = qw(uri_escape amz_date sign_request presign_request EMPTY_SHA256 UNSIGNED_PAYLOAD);

use constant EMPTY_SHA256 => 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
use constant UNSIGNED_PAYLOAD => 'UNSIGNED-PAYLOAD';
use constant ALGORITHM => 'AWS4-HMAC-SHA256';

# Percent-encode everything except A-Z a-z 0-9 - . _ ~ (and '/' when $keep_slash).
sub uri_escape {
    my ($str, $keep_slash) = @_;
    $str = '' if !defined($str);
    utf8::encode($str) if utf8::is_utf8($str);
    my $re = $keep_slash ? qr/([^A-Za-z0-9\-._~\/])/ : qr/([^A-Za-z0-9\-._~])/;
    $str =~ s/$re/sprintf('%%%02X', ord($1))/ge;
    return $str;
}

sub amz_date {
    my ($epoch) = @_;
    return strftime('%Y%m%dT%H%M%SZ', gmtime($epoch));
}

sub _canonical_query {
    my ($params) = @_;
    my @pairs = map { [uri_escape($_->[0]), uri_escape($_->[1])] } @$params;
    @pairs = sort { $a->[0] cmp $b->[0] || $a->[1] cmp $b->[1] } @pairs;
    return join('&', map { "$_->[0]=$_->[1]" } @pairs);
}

# $headers: { name => value | [values] }; names are case-insensitive, repeated names join with ','.
sub _canonical_headers {
    my ($headers) = @_;
    my %merged;
    for my $name (keys %$headers) {
        my $values = $headers->{$name};
        $values = [$values] if ref($values) ne 'ARRAY';
        for my $value (@$values) {
            my $v = $value // '';
            $v =~ s/^\s+|\s+$//g;
            $v =~ s/\s+/ /g;
            push @{ $merged{ lc($name) } }, $v;
        }
    }
    my @names = sort keys %merged;
    my $block = join('', map { "$_:" . join(',', @{ $merged{$_} }) . "\n" } @names);
    return ($block, join(';', @names));
}

sub _scope {
    my ($args) = @_;
    my $day = substr(amz_date($args->{time}), 0, 8);
    return "$day/$args->{region}/$args->{service}/aws4_request";
}

sub _signature {
    my ($args, $canonical) = @_;
    my $date = amz_date($args->{time});
    my $scope = _scope($args);
    my $sts = join("\n", ALGORITHM, $date, $scope, sha256_hex($canonical));
    my $key = hmac_sha256(substr($date, 0, 8), 'AWS4' . $args->{secret_key});
    $key = hmac_sha256($_, $key) for ($args->{region}, $args->{service}, 'aws4_request');
    return ($sts, hmac_sha256_hex($sts, $key));
}

sub _check_args {
    my ($args) = @_;
    for my $k (qw(method path access_key secret_key region service time)) {
        die "SigV4: missing '$k'\n" if !defined($args->{$k});
    }
}

=head3 sign_request

    my $signed = sign_request({
        method => 'GET', path => '/bucket/key with space', query => [[k, v], ...],
        headers => { host => 'example.com' }, payload_hash => $hex,
        access_key => ..., secret_key => ..., session_token => ...,
        region => 'us-east-1', service => 's3', time => $epoch,
        content_sha256_header => 1,
    });

Returns C<{ headers => {x-amz-date, authorization, ...}, canonical_request, string_to_sign,
signature }>. C<headers> holds only the headers to add to the request.

=cut

sub sign_request {
    my ($args) = @_;
    _check_args($args);
    my $payload_hash = $args->{payload_hash} // EMPTY_SHA256;
    my %add = ('x-amz-date' => amz_date($args->{time}));
    $add{'x-amz-content-sha256'} = $payload_hash if $args->{content_sha256_header};
    $add{'x-amz-security-token'} = $args->{session_token} if defined($args->{session_token});
    my %all = (%{ $args->{headers} // {} }, %add);
    my ($header_block, $signed_headers) = _canonical_headers(\%all);
    my $canonical = join("\n",
        $args->{method},
        uri_escape($args->{path}, 1),
        _canonical_query($args->{query} // []),
        $header_block,
        $signed_headers,
        $payload_hash,
    );
    my ($sts, $signature) = _signature($args, $canonical);
    $add{authorization} = ALGORITHM . " Credential=$args->{access_key}/" . _scope($args)
        . ", SignedHeaders=$signed_headers, Signature=$signature";
    return {
        headers => \%add,
        canonical_request => $canonical,
        string_to_sign => $sts,
        signature => $signature,
    };
}

=head3 presign_request

Same arguments as C<sign_request> plus C<expires> (seconds). The payload hash defaults to
C<UNSIGNED-PAYLOAD>, as S3 expects for presigned URLs. Returns C<{ query => [[k, v], ...] }>
(the full query including the signature) plus the intermediate strings.

=cut

sub presign_request {
    my ($args) = @_;
    _check_args($args);
    my $expires = $args->{expires} // 3600;
    die "SigV4: presigned URL lifetime must be 1..604800 seconds\n"
        if $expires < 1 || $expires > 604800;
    my ($header_block, $signed_headers) = _canonical_headers($args->{headers} // {});
    my @query = (
        @{ $args->{query} // [] },
        ['X-Amz-Algorithm', ALGORITHM],
        ['X-Amz-Credential', "$args->{access_key}/" . _scope($args)],
        ['X-Amz-Date', amz_date($args->{time})],
        ['X-Amz-Expires', $expires],
        ['X-Amz-SignedHeaders', $signed_headers],
    );
    push @query, ['X-Amz-Security-Token', $args->{session_token}]
        if defined($args->{session_token});
    my $canonical = join("\n",
        $args->{method},
        uri_escape($args->{path}, 1),
        _canonical_query(\@query),
        $header_block,
        $signed_headers,
        $args->{payload_hash} // UNSIGNED_PAYLOAD,
    );
    my ($sts, $signature) = _signature($args, $canonical);
    push @query, ['X-Amz-Signature', $signature];
    return {
        query => \@query,
        query_string => _canonical_query(\@query),
        canonical_request => $canonical,
        string_to_sign => $sts,
        signature => $signature,
    };
}

1;
