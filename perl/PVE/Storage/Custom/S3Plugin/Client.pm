package PVE::Storage::Custom::S3Plugin::Client;

# The HTTP side of the S3 client: URLs (path-style or virtual-host), SigV4 signing, streaming
# request bodies from files, streaming response bodies to files, retries with exponential backoff
# on 5xx/429/network errors, metrics, and errors explained in plain words. The S3 operations
# themselves live in S3Plugin::Objects, which extends this class.

use strict;
use warnings;

use Compress::Raw::Zlib ();
use Digest::MD5;
use Digest::SHA;
use HTTP::Tiny;
use IO::Socket::SSL qw(SSL_VERIFY_PEER);
use MIME::Base64 qw(decode_base64 encode_base64);
use Time::HiRes qw(time sleep);

use PVE::Storage::Custom::S3Plugin::Error;
use PVE::Storage::Custom::S3Plugin::Stream;
use PVE::Storage::Custom::S3Plugin::SigV4 qw(sign_request uri_escape UNSIGNED_PAYLOAD);
use PVE::Storage::Custom::S3Plugin::XML qw(parse_xml xml_text);

use constant CHUNK => 1024 * 1024;
use constant AGENT => 'pve-s3plugin/1';
use constant ZEROS => "\0" x CHUNK;
use constant ZEROS_CRC32 => Compress::Raw::Zlib::crc32(ZEROS);
use constant SEEK_DATA => 3; # Linux lseek(2)
use constant SYSTEM_CA => '/etc/ssl/certs/ca-certificates.crt';

sub new {
    my ($class, %o) = @_;
    for my $k (qw(endpoint bucket access_key secret_key)) {
        die "S3 client: missing '$k'\n" if !defined($o{$k}) || $o{$k} eq '';
    }
    my $self = bless {
        endpoint => $o{endpoint},
        use_ssl => $o{use_ssl} // 1,
        verify_ssl => $o{verify_ssl} // 1,
        fingerprint => $o{fingerprint},
        ca_file => $o{ca_file},
        region => $o{region} || 'us-east-1',
        bucket => $o{bucket},
        path_style => $o{path_style} // 1,
        access_key => $o{access_key},
        secret_key => $o{secret_key},
        timeout => $o{timeout} // 30,
        retries => $o{retries} // 4,
        backoff => $o{backoff} // 0.25,
        bwlimit => $o{bwlimit}, # KiB/s, whole process
        storage_class => $o{storage_class},
        metrics => $o{metrics},
        sign_payload => $o{sign_payload},
    }, $class;
    $self->{port} = $o{port} || ($self->{use_ssl} ? 443 : 80);
    return $self;
}

sub metrics { $_[0]->{metrics} }

sub _http {
    my ($self, $timeout) = @_;
    $timeout //= $self->{timeout};
    return $self->{http}->{$$}->{$timeout} //= HTTP::Tiny->new(
        timeout => $timeout,
        keep_alive => 1,
        max_redirect => 0,
        verify_SSL => ($self->{verify_ssl} ? 1 : 0),
        SSL_options => $self->_ssl_options(),
        agent => AGENT,
    );
}

sub _ssl_options {
    my ($self) = @_;
    my %ssl;
    if (my $fp = $self->{fingerprint}) {
        (my $hex = lc($fp)) =~ s/://g;
        $ssl{SSL_fingerprint} = "sha256\$$hex";
    }
    $ssl{SSL_verify_mode} = 0 if !$self->{verify_ssl} && !$self->{fingerprint};
    # The node's store (update-ca-certificates) unless a CA file is configured: HTTP::Tiny would
    # prefer Mozilla::CA's bundle, which knows nothing of a local CA.
    my $ca = $self->{ca_file} // SYSTEM_CA;
    $ssl{SSL_ca_file} = $ca if $self->{verify_ssl} && ($self->{ca_file} || -r $ca);
    return \%ssl;
}

# The SHA-256 fingerprint of the certificate the endpoint presents ("AB:CD:..."), for messages.
sub presented_fingerprint {
    my ($self) = @_;
    my $host = $self->_host();
    my $sock = IO::Socket::SSL->new(PeerHost => $host, PeerPort => $self->{port}, Timeout => 2,
        SSL_hostname => $host, SSL_verify_mode => 0) or return undef;
    my $fp = $sock->get_fingerprint('sha256');
    close($sock);
    $fp =~ s/^sha256\$// or return undef;
    return join(':', map { uc } unpack('(A2)*', $fp));
}

# A GET whose 2xx body goes to $sink (S3Plugin::Stream), signed like any other request.
sub _stream_get {
    my ($self, $url, $headers, $timeout, $sink) = @_;
    my ($scheme, $hostport, $target) = $url =~ m{^(https?)://([^/]+)(/.*)$};
    my %h = (%$headers, host => $hostport, 'user-agent' => AGENT, connection => 'close');
    my $host = $self->_host();
    # The same checks HTTP::Tiny makes with verify_SSL (CA trust and host name).
    my $ssl = $self->{verify_ssl}
        ? { SSL_verify_mode => SSL_VERIFY_PEER, SSL_verifycn_scheme => 'http',
            SSL_verifycn_name => $host, %{ $self->_ssl_options() } }
        : $self->_ssl_options();
    my $request = "GET $target HTTP/1.1\r\n"
        . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
    return PVE::Storage::Custom::S3Plugin::Stream::get(host => $host, port => $self->{port},
        use_ssl => $scheme eq 'https', ssl => $ssl, timeout => $timeout // $self->{timeout},
        sink => $sink, request => $request);
}

# The endpoint's host name, with the bucket in front for virtual-host addressing.
sub _host {
    my ($self) = @_;
    return $self->{path_style} ? $self->{endpoint} : "$self->{bucket}.$self->{endpoint}";
}

# (host header value, request path) for a key, honouring path-style vs virtual-host addressing.
sub _target {
    my ($self, $key) = @_;
    my $default = $self->{use_ssl} ? 443 : 80;
    my $host = $self->_host();
    my $hostport = $self->{port} == $default ? $host : "$host:$self->{port}";
    my $path = $self->{path_style} ? "/$self->{bucket}" : '';
    $path .= '/' . ($key // '');
    $path = '/' . $self->{bucket} if $self->{path_style} && !defined($key);
    return ($hostport, $path);
}

sub _url {
    my ($self, $hostport, $path, $query) = @_;
    my $url = ($self->{use_ssl} ? 'https' : 'http') . "://$hostport" . uri_escape($path, 1);
    my $qs = join('&', map { uri_escape($_->[0]) . '=' . uri_escape($_->[1]) } @$query);
    return $qs eq '' ? $url : "$url?$qs";
}

# Reads [offset, offset + length) of a file in pieces of up to 1 MiB; a hole of a sparse file is
# not read, a shared buffer of zeros stands in for it. A fresh reader per pass.
sub _range_reader {
    my ($spec) = @_;
    open(my $fh, '<:raw', $spec->{file}) or die "cannot open '$spec->{file}': $!\n";
    my ($pos, $left) = ($spec->{offset} // 0, $spec->{length});
    return sub {
        return '' if $left <= 0;
        my $want = $left < CHUNK ? $left : CHUNK;
        my $buf;
        if (_hole($fh, $pos, $want)) {
            $buf = $want == CHUNK ? ZEROS : "\0" x $want;
        } else {
            sysseek($fh, $pos, 0) // die "cannot seek '$spec->{file}': $!\n";
            my $n = sysread($fh, $buf, $want);
            die "read error on '$spec->{file}': $!\n" if !defined($n);
            die "'$spec->{file}' ended early (shrunk while uploading)\n" if $n == 0;
        }
        $pos += length($buf);
        $left -= length($buf);
        return $buf;
    };
}

# Body generators: a fresh one per attempt so a retry re-sends from the start.
sub _file_body {
    my ($self, $spec, $md5) = @_;
    my $next = _range_reader($spec);
    return sub {
        my $buf = $next->();
        $md5->add($buf) if $md5;
        $self->_throttle(length($buf));
        return $buf;
    };
}

# True when [$pos, $pos + $len) lies in a hole of a sparse file (within its current size): the
# zeros are then not read, which saves the kernel's copy of them (about 1 s per GiB here).
sub _hole {
    my ($fh, $pos, $len) = @_;
    return 0 if $pos + $len > (stat($fh))[7];
    my $data = sysseek($fh, $pos, SEEK_DATA);
    return defined($data) ? $data >= $pos + $len : $!{ENXIO};
}

sub _throttle {
    my ($self, $n) = @_;
    my $limit = $self->{bwlimit} or return;
    my $t = $self->{throttle} //= { start => time(), bytes => 0 };
    $t->{bytes} += $n;
    my $ahead = $t->{bytes} / ($limit * 1024) - (time() - $t->{start});
    sleep($ahead) if $ahead > 0;
}

# CRC32 as S3 writes it (x-amz-checksum-crc32): base64 of the four big-endian bytes.
sub crc32_base64 { encode_base64(pack('N', $_[0]), '') }

# S3's composite checksum of a multipart object from its parts' CRC32s (base64, in order): the
# CRC32 of the raw part checksums, then "-<parts>".
sub crc32_composite {
    my (@parts) = @_;
    my $raw = join('', map { decode_base64($_) } @parts);
    return crc32_base64(Compress::Raw::Zlib::crc32($raw)) . '-' . scalar(@parts);
}

# One pass over a file range: sha256 (hex) and md5 (raw) of it for a signed payload, and/or its
# CRC32 (base64) for x-amz-checksum-crc32. Pieces of zeros (holes) are joined without hashing.
sub hash_range {
    my ($spec, %want) = @_;
    my $sha = $want{sha} ? Digest::SHA->new(256) : undef;
    my $md5 = $want{md5} ? Digest::MD5->new : undef;
    my $crc = 0;
    my $next = _range_reader($spec);
    while (length(my $buf = $next->())) {
        $sha->add($buf) if $sha;
        $md5->add($buf) if $md5;
        next if !$want{crc32};
        $crc = length($buf) == CHUNK && $buf eq ZEROS
            ? Compress::Raw::Zlib::crc32_combine($crc, ZEROS_CRC32, CHUNK)
            : Compress::Raw::Zlib::crc32($buf, $crc);
    }
    return { sha => $sha && $sha->hexdigest, md5 => $md5 && $md5->digest,
        crc32 => $want{crc32} ? crc32_base64($crc) : undef };
}

sub _retryable {
    my ($status) = @_;
    return $status == 599 || $status == 429 || $status >= 500;
}

=head3 request

    my $res = $client->request(op => 'put', method => 'PUT', key => $key, query => [[k, v]],
        headers => {...}, body => $string | { file, offset, length }, checksum => 1,
        sink => $fh, digest => 'md5' | 'crc32', ok => [200, 204], timeout => 2, retries => 0);

Returns C<{ status, headers, content, md5, crc32 }>. With C<digest> md5 (the default), C<md5> is
the hex digest of what went to C<sink> or of a file body, computed on the way. With C<digest>
crc32, C<crc32> (base64, as S3 writes it) is that of what went to C<sink>; a file body is then
not hashed while it is sent, its CRC32 goes out as x-amz-checksum-crc32 for the server to check,
as with C<checksum>, and is returned as C<crc32>. Dies with an S3Plugin::Error after the retries
are used up.

=cut

sub request {
    my ($self, %r) = @_;
    my $op = $r{op} // lc($r{method});
    my $retries = $r{retries} // $self->{retries};
    my ($hostport, $path) = $self->_target($r{key});
    my $query = $r{query} // [];
    my %headers = %{ $r{headers} // {} };
    my ($payload_hash, $body_len) = (Digest::SHA::sha256_hex(''), 0);
    my $body = $r{body};
    my $want_crc = ($r{digest} // 'md5') eq 'crc32';
    my $checksum = $r{checksum} || ($want_crc && ref($body) eq 'HASH');
    if (ref($body) eq 'HASH') {
        $body_len = $body->{length};
        # File bodies go out in one pass: unsigned payload, MD5 computed while sending and
        # compared with the ETag afterwards (or, with digest crc32, the server checks the CRC32).
        # sign_payload and the CRC32 add a hashing pass first.
        my $sign = $self->{sign_payload};
        my $h = $sign || $checksum
            ? hash_range($body, sha => $sign, md5 => $sign, crc32 => $checksum) : {};
        $payload_hash = $h->{sha} // UNSIGNED_PAYLOAD;
        $headers{'content-md5'} = encode_base64($h->{md5}, '') if $h->{md5};
        $headers{'x-amz-checksum-crc32'} = $h->{crc32} if $h->{crc32};
    } elsif (defined($body)) {
        utf8::encode($body) if utf8::is_utf8($body);
        $body_len = length($body);
        $payload_hash = Digest::SHA::sha256_hex($body);
        $headers{'content-md5'} = encode_base64(Digest::MD5::md5($body), '');
        $headers{'x-amz-checksum-crc32'} = crc32_base64(Compress::Raw::Zlib::crc32($body))
            if $checksum;
    }
    $headers{'content-length'} = $body_len if defined($body) || $r{method} =~ /^(PUT|POST)$/;
    my $url = $self->_url($hostport, $path, $query);
    my $http = $self->_http($r{timeout});
    my ($attempt, $res, $md5, $crc, $t0) = (0, undef, undef, 0, time());
    my $bytes_in = 0;
    while (1) {
        my $signed = sign_request({
            method => $r{method}, path => $path, query => $query,
            headers => { %headers, host => $hostport }, payload_hash => $payload_hash,
            content_sha256_header => 1, access_key => $self->{access_key},
            secret_key => $self->{secret_key}, region => $self->{region}, service => 's3',
            time => int(time()),
        });
        my %opts = (headers => { %headers, %{ $signed->{headers} } });
        ($md5, $crc) = (Digest::MD5->new, 0);
        if (ref($body) eq 'HASH') {
            $opts{content} = $self->_file_body($body, $want_crc ? undef : $md5);
        } elsif (defined($body)) {
            $opts{content} = $body;
        }
        if (my $sink = $r{sink}) {
            sysseek($sink, $r{sink_offset} // 0, 0);
            truncate($sink, $r{sink_offset} // 0) if $r{sink_truncate};
            $res = $self->_stream_get($url, $opts{headers}, $r{timeout}, sub {
                my $off = 0;
                while ($off < length($_[0])) {
                    my $w = syswrite($sink, $_[0], length($_[0]) - $off, $off);
                    die "write error: $!\n" if !defined($w);
                    $off += $w;
                }
                if ($want_crc) {
                    $crc = Compress::Raw::Zlib::crc32($_[0], $crc);
                } else {
                    $md5->add($_[0]);
                }
                $bytes_in += length($_[0]);
                $self->_throttle(length($_[0]));
            });
        } else {
            $res = eval { $http->request($r{method}, $url, \%opts) };
            $res = { status => 599, reason => 'Internal Exception', content => $@, headers => {} }
                if !$res;
        }
        last if !_retryable($res->{status}) || $attempt >= $retries;
        $attempt++;
        my $delay = $self->{backoff} * 2**($attempt - 1);
        $delay = 8 if $delay > 8;
        sleep($delay * (0.5 + rand()));
        delete $self->{http}->{$$}; # drop a possibly broken keep-alive connection
        $http = $self->_http($r{timeout});
    }
    my $ok = $r{ok} ? (grep { $_ == $res->{status} } @{ $r{ok} }) : $res->{status} =~ /^2/;
    $bytes_in += length($res->{content} // '') if !$r{sink};
    if (my $m = $self->{metrics}) {
        $m->record($op,
            error => !$ok, retries => $attempt, seconds => time() - $t0, bytes_in => $bytes_in,
            bytes_out => ($ok ? $body_len : 0));
    }
    die $self->_error($op, $res, \%r) if !$ok;
    $res->{md5} = $md5->hexdigest if !$want_crc && ($r{sink} || ref($body) eq 'HASH');
    $res->{crc32} = $r{sink} ? ($want_crc ? crc32_base64($crc) : undef)
        : $headers{'x-amz-checksum-crc32'};
    return $res;
}

sub _error {
    my ($self, $op, $res, $r) = @_;
    my %f = (
        op => $r->{what} // $op, status => $res->{status}, host => $self->{endpoint},
        port => $self->{port}, bucket => $self->{bucket}, key => $r->{key},
        bucket_level => !defined($r->{key}), region => $self->{region},
        access_key => $self->{access_key}, timeout => $r->{timeout} // $self->{timeout},
    );
    my $h = $res->{headers} // {};
    $f{actual_region} = $h->{'x-amz-bucket-region'};
    if ($res->{status} == 599) {
        $f{message} = $res->{content};
        $f{fingerprint} = $self->{fingerprint};
        $f{presented_fingerprint} = $self->presented_fingerprint()
            if $self->{use_ssl} && $f{message} =~ /certificate|SSL|verify/i;
    } elsif (($res->{content} // '') =~ /<Error>/) {
        my $doc = eval { parse_xml($res->{content}) };
        if ($doc) {
            $f{code} = xml_text($doc, 'Code');
            $f{message} = xml_text($doc, 'Message');
            $f{actual_region} //= xml_text($doc, 'Region');
        }
    } else {
        $f{message} = $res->{reason};
    }
    $f{actual_region} = undef
        if $f{actual_region} && $res->{status} !~ /^(301|307|400)$/;
    return PVE::Storage::Custom::S3Plugin::Error->new(%f);
}

1;
