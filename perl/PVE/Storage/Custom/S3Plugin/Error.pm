package PVE::Storage::Custom::S3Plugin::Error;

# One S3 failure, explained in plain words. Stringifies to a PVE-style message ending in "\n", so
# `die $err` reads well in task logs while callers can still look at ->{status} and ->{code}.

use strict;
use warnings;

use overload '""' => sub { $_[0]->{text} }, fallback => 1;

sub new {
    my ($class, %f) = @_;
    my $self = bless {%f}, $class;
    $self->{text} = "$f{op} failed: " . _explain($self) . "\n";
    return $self;
}

sub is_not_found {
    my ($self) = @_;
    return $self->{status} && $self->{status} == 404;
}

sub _where {
    my ($self) = @_;
    return "$self->{host}" . ($self->{port} ? ":$self->{port}" : '');
}

sub _explain {
    my ($e) = @_;
    my ($status, $code, $bucket) = ($e->{status} // 0, $e->{code} // '', $e->{bucket} // '');
    my $region = $e->{region} // '';
    my $key = $e->{access_key} // '';
    my $where = _where($e);

    if ($status == 599) {
        my $detail = $e->{message} // '';
        return "cannot connect to endpoint $where (connection refused)"
            if $detail =~ /refused/i;
        return "endpoint $where did not answer within $e->{timeout} s"
            if $detail =~ /timed? ?out/i;
        if ($detail =~ /certificate|SSL|verify/i) {
            my $presented = $e->{presented_fingerprint}
                ? " (it presents SHA-256 fingerprint $e->{presented_fingerprint})" : '';
            return "TLS certificate of $where does not match the configured fingerprint "
                . "$e->{fingerprint}$presented" if $e->{fingerprint};
            return "TLS certificate of $where is not trusted$presented: set 'ca-file' to the CA "
                . "that signed it, 'fingerprint' to pin it, or 'verify-ssl 0'";
        }
        return "cannot resolve endpoint host '$e->{host}'"
            if $detail =~ /resolve|Name or service|getaddrinfo|No address/i;
        $detail =~ s/\s+$//;
        return "network error talking to $where: $detail";
    }
    if ($e->{actual_region} && $e->{actual_region} ne $region) {
        return "endpoint $where expects requests signed for region '$e->{actual_region}', but the "
            . "storage is configured for region '$region' (set region $e->{actual_region})"
            if $code =~ /^Authorization/;
        return "bucket '$bucket' is in region '$e->{actual_region}', not '$region' "
            . "(set region $e->{actual_region})";
    }
    return "access key '$key' rejected: the server does not know this key"
        if $code eq 'InvalidAccessKeyId';
    return "secret key rejected: the request signature does not match (check 'secret-key' "
        . "for access key '$key')"
        if $code eq 'SignatureDoesNotMatch';
    return "the clock of this node differs too much from the server's (check NTP)"
        if $code eq 'RequestTimeTooSkewed';
    return "the multipart upload of '$e->{key}' no longer exists on the server"
        if $code eq 'NoSuchUpload';
    return "bucket '$bucket' does not exist at endpoint $where"
        if $code eq 'NoSuchBucket' || ($status == 404 && $e->{bucket_level});
    return "object '$e->{key}' does not exist in bucket '$bucket'"
        if $code eq 'NoSuchKey' || ($status == 404 && defined($e->{key}));
    return "access denied for access key '$key' on bucket '$bucket' (wrong credentials or "
        . "missing permission)"
        if $code eq 'AccessDenied' || $status == 403;
    return "object '$e->{key}' changed on the server while it was read (ETag mismatch)"
        if $code eq 'PreconditionFailed' || $status == 412;
    my $msg = $e->{message} // '';
    $msg =~ s/\s+$//;
    return "HTTP $status" . ($code ? " $code" : '') . ($msg ne '' ? ": $msg" : '');
}

1;
