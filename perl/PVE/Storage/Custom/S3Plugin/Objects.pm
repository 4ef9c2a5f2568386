package PVE::Storage::Custom::S3Plugin::Objects;

# S3 operations on top of S3Plugin::Client: bucket check, object HEAD/GET/PUT/DELETE/copy,
# ListObjectsV2 with pagination, DeleteObjects, and the multipart primitives.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use MIME::Base64 qw(encode_base64);
use Time::Local qw(timegm);

use PVE::Storage::Custom::S3Plugin::SigV4 qw(uri_escape);
use PVE::Storage::Custom::S3Plugin::XML qw(parse_xml xml_child xml_children xml_text xml_escape);

use base qw(PVE::Storage::Custom::S3Plugin::Client);

my %MONTH = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7,
    Sep => 8, Oct => 9, Nov => 10, Dec => 11);

sub parse_time {
    my ($s) = @_;
    return undef if !defined($s);
    if ($s =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)/) {
        return timegm($6, $5, $4, $3, $2 - 1, $1);
    }
    if ($s =~ /^\w+, (\d\d) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/) {
        return timegm($6, $5, $4, $1, $MONTH{$2}, $3);
    }
    return undef;
}

sub _unquote {
    my ($etag) = @_;
    return undef if !defined($etag);
    $etag =~ s/^"|"$//g;
    return $etag;
}

# Keys are handled as UTF-8 byte strings throughout, like PVE volume names.
sub _bytes {
    my ($s) = @_;
    utf8::encode($s) if defined($s) && utf8::is_utf8($s);
    return $s;
}

sub _meta_headers {
    my ($self, $meta) = @_;
    my %h = map { ("x-amz-meta-$_" => $meta->{$_}) } keys %{ $meta // {} };
    $h{'x-amz-storage-class'} = $self->{storage_class} if $self->{storage_class};
    return \%h;
}

# 1 when the bucket answers; dies with an explained error otherwise. ListObjectsV2 (not HEAD) so
# the error body tells a missing bucket from a bad key or a wrong region.
sub check_bucket {
    my ($self, %opt) = @_;
    $self->request(op => 'check', what => "access to bucket '$self->{bucket}'",
        method => 'GET', query => [['list-type', 2], ['max-keys', 1]], %opt);
    return 1;
}

sub create_bucket {
    my ($self) = @_;
    my $body = $self->{region} eq 'us-east-1' ? undef
        : '<CreateBucketConfiguration><LocationConstraint>' . xml_escape($self->{region})
        . '</LocationConstraint></CreateBucketConfiguration>';
    $self->request(op => 'create_bucket', method => 'PUT', body => $body, ok => [200, 409]);
}

# Also asks for the object's S3 checksums: `crc32` is its x-amz-checksum-crc32 when the server
# keeps one ("...-N" for a multipart upload's composite checksum).
sub head_object {
    my ($self, $key) = @_;
    my $res = eval { $self->request(op => 'head', method => 'HEAD', key => $key,
        headers => { 'x-amz-checksum-mode' => 'ENABLED' }) };
    if (my $err = $@) {
        return undef if ref($err) && $err->is_not_found;
        die $err;
    }
    my $h = $res->{headers};
    my %meta = map { (/^x-amz-meta-(.+)$/ ? ($1 => $h->{$_}) : ()) } keys %$h;
    return {
        size => $h->{'content-length'} // 0, etag => _unquote($h->{etag}),
        mtime => parse_time($h->{'last-modified'}), meta => \%meta,
        crc32 => $h->{'x-amz-checksum-crc32'},
    };
}

# Download to $opt{fh} (streamed, at $opt{offset}; its md5 or, with digest => 'crc32', its CRC32
# computed on the way) or return the content.
sub get_object {
    my ($self, $key, %opt) = @_;
    my %r = (op => 'get', method => 'GET', key => $key);
    $r{headers}->{'if-match'} = "\"$opt{etag}\"" if $opt{etag};
    $r{headers}->{range} = "bytes=$opt{range}->[0]-$opt{range}->[1]" if $opt{range};
    if (my $fh = $opt{fh}) {
        my $res = $self->request(%r, sink => $fh, sink_offset => $opt{offset} // 0,
            sink_truncate => !$opt{range}, digest => $opt{digest});
        return { etag => _unquote($res->{headers}->{etag}), md5 => $res->{md5},
            crc32 => $res->{crc32}, size => $res->{headers}->{'content-length'} };
    }
    return $self->request(%r)->{content};
}

sub put_object {
    my ($self, $key, %opt) = @_;
    my $body = $opt{file}
        ? { file => $opt{file}, offset => 0, length => $opt{length} // -s $opt{file} }
        : $opt{content} // '';
    my $res = $self->request(op => 'put', method => 'PUT', key => $key, body => $body,
        headers => $self->_meta_headers($opt{meta}), checksum => 1);
    my $etag = _unquote($res->{headers}->{etag});
    my $sent = $res->{md5} // do {
        my $b = $body;
        utf8::encode($b) if utf8::is_utf8($b);
        md5_hex($b);
    };
    die "upload of '$key' was corrupted in transit: server ETag $etag, sent MD5 $sent\n"
        if $etag && $etag =~ /^[0-9a-f]{32}$/ && $etag ne $sent;
    return { etag => $etag, md5 => $sent };
}

sub delete_object {
    my ($self, $key) = @_;
    $self->request(op => 'delete', method => 'DELETE', key => $key, ok => [200, 204, 404]);
}

# Delete many keys (1000 per request). Returns a list of "key: message" failures.
sub delete_objects {
    my ($self, @keys) = @_;
    my @failed;
    while (my @batch = splice(@keys, 0, 1000)) {
        my $xml = '<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>'
            . join('', map { '<Object><Key>' . xml_escape($_) . '</Key></Object>' } @batch)
            . '</Delete>';
        my $res = $self->request(op => 'delete_multi', method => 'POST', query => [['delete', '']],
            body => $xml);
        my $doc = parse_xml($res->{content});
        push @failed, map { xml_text($_, 'Key') . ': ' . (xml_text($_, 'Message') // 'failed') }
            xml_children($doc, 'Error');
    }
    return @failed;
}

sub copy_object {
    my ($self, $from, $to) = @_;
    my $src = uri_escape("$self->{bucket}/$from", 1);
    my $res = $self->request(op => 'copy', method => 'PUT', key => $to,
        headers => { 'x-amz-copy-source' => $src, %{ $self->_meta_headers() } });
    my $doc = parse_xml($res->{content});
    die "copy of '$from' to '$to' failed: " . (xml_text($doc, 'Message') // 'unknown error') . "\n"
        if $doc->{name} eq 'Error';
    return _unquote(xml_text($doc, 'ETag'));
}

=head3 list_objects

    my ($objects, $prefixes) = $s3->list_objects($prefix, delimiter => '/', page => sub { ... });

ListObjectsV2 over all pages. Objects are C<{ key, size, etag, mtime }>.

=cut

sub list_objects {
    my ($self, $prefix, %opt) = @_;
    my (@objects, @prefixes);
    my $token;
    while (1) {
        my @q = (['list-type', 2], ['prefix', $prefix // '']);
        push @q, ['delimiter', $opt{delimiter}] if defined($opt{delimiter});
        push @q, ['max-keys', $opt{max_keys}] if $opt{max_keys};
        push @q, ['continuation-token', $token] if defined($token);
        my $res = $self->request(op => 'list', what => "listing of '$prefix'", method => 'GET',
            query => \@q, %{ $opt{request} // {} });
        my $doc = parse_xml($res->{content});
        for my $c (xml_children($doc, 'Contents')) {
            push @objects, {
                key => _bytes(xml_text($c, q{Key})), size => xml_text($c, 'Size') + 0,
                etag => _unquote(xml_text($c, 'ETag')), mtime => parse_time(xml_text($c, 'LastModified')),
            };
        }
        push @prefixes, map { _bytes(xml_text($_, q{Prefix})) } xml_children($doc, 'CommonPrefixes');
        last if (xml_text($doc, 'IsTruncated') // 'false') ne 'true';
        $token = xml_text($doc, 'NextContinuationToken');
        die "listing of '$prefix' is truncated but has no continuation token\n" if !defined($token);
    }
    return (\@objects, \@prefixes);
}

# The upload id; in list context also whether the server keeps CRC32 checksums for it (it
# confirms the x-amz-checksum-algorithm asked for).
sub create_multipart {
    my ($self, $key, %opt) = @_;
    my $res = $self->request(op => 'mpu_create', method => 'POST', key => $key,
        query => [['uploads', '']],
        headers => { %{ $self->_meta_headers($opt{meta}) }, 'x-amz-checksum-algorithm' => 'CRC32' });
    my $id = xml_text(parse_xml($res->{content}), 'UploadId')
        // die "server returned no UploadId for '$key'\n";
    return wantarray
        ? ($id, uc($res->{headers}->{'x-amz-checksum-algorithm'} // '') eq 'CRC32') : $id;
}

# With digest => 'crc32' (the server keeps checksums) the part is not hashed with MD5 while it is
# sent: the server checks its CRC32 and must answer with it.
sub upload_part {
    my ($self, $key, $upload_id, $n, $spec, %opt) = @_;
    my $res = $self->request(op => 'mpu_part', method => 'PUT', key => $key,
        query => [['partNumber', $n], ['uploadId', $upload_id]], body => {%$spec}, checksum => 1,
        digest => $opt{digest});
    my $etag = _unquote($res->{headers}->{etag});
    if (!defined($res->{md5})) {
        my $kept = $res->{headers}->{'x-amz-checksum-crc32'} // 'none';
        die "part $n of '$key': the server answered CRC32 $kept, sent $res->{crc32}\n"
            if $kept ne $res->{crc32};
    } elsif ($etag && $etag =~ /^[0-9a-f]{32}$/ && $etag ne $res->{md5}) {
        die "part $n of '$key' was corrupted in transit: server ETag $etag, sent MD5 $res->{md5}\n";
    }
    return { etag => $etag, md5 => $res->{md5}, crc32 => $res->{crc32} };
}

# $parts: [ [ number, etag, crc32 (optional) ], ... ]
sub complete_multipart {
    my ($self, $key, $upload_id, $parts) = @_;
    my $xml = '<CompleteMultipartUpload>'
        . join('', map {
            "<Part><PartNumber>$_->[0]</PartNumber><ETag>\"$_->[1]\"</ETag>"
                . ($_->[2] ? "<ChecksumCRC32>$_->[2]</ChecksumCRC32>" : '') . '</Part>'
        } @$parts)
        . '</CompleteMultipartUpload>';
    my $res = $self->request(op => 'mpu_complete', method => 'POST', key => $key,
        query => [['uploadId', $upload_id]], body => $xml, timeout => 600);
    my $doc = parse_xml($res->{content});
    # S3 may answer 200 and still fail: the error is then in the body.
    die "completing the upload of '$key' failed: " . (xml_text($doc, 'Message') // '') . "\n"
        if $doc->{name} eq 'Error';
    return _unquote(xml_text($doc, 'ETag'));
}

sub abort_multipart {
    my ($self, $key, $upload_id) = @_;
    $self->request(op => 'mpu_abort', method => 'DELETE', key => $key,
        query => [['uploadId', $upload_id]], ok => [200, 204, 404]);
}

sub list_parts {
    my ($self, $key, $upload_id) = @_;
    my (@parts, $marker);
    while (1) {
        my @q = (['uploadId', $upload_id]);
        push @q, ['part-number-marker', $marker] if defined($marker);
        my $doc = parse_xml($self->request(op => 'mpu_list_parts', method => 'GET', key => $key,
            query => \@q)->{content});
        push @parts, map {
            { n => xml_text($_, 'PartNumber') + 0, etag => _unquote(xml_text($_, 'ETag')),
              size => xml_text($_, 'Size') + 0 }
        } xml_children($doc, 'Part');
        last if (xml_text($doc, 'IsTruncated') // 'false') ne 'true';
        $marker = xml_text($doc, 'NextPartNumberMarker');
    }
    return \@parts;
}

sub list_multipart_uploads {
    my ($self, $prefix) = @_;
    my (@uploads, $key_marker, $id_marker);
    while (1) {
        my @q = (['uploads', ''], ['prefix', $prefix // '']);
        push @q, ['key-marker', $key_marker] if defined($key_marker);
        push @q, ['upload-id-marker', $id_marker] if defined($id_marker);
        my $doc = parse_xml($self->request(op => 'mpu_list', method => 'GET', query => \@q)
            ->{content});
        push @uploads, map {
            { key => _bytes(xml_text($_, q{Key})), upload_id => xml_text($_, 'UploadId'),
              initiated => parse_time(xml_text($_, 'Initiated')) }
        } xml_children($doc, 'Upload');
        last if (xml_text($doc, 'IsTruncated') // 'false') ne 'true';
        ($key_marker, $id_marker) =
            (xml_text($doc, 'NextKeyMarker'), xml_text($doc, 'NextUploadIdMarker'));
    }
    return \@uploads;
}

1;
