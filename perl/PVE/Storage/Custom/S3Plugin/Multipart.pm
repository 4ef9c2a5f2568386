package PVE::Storage::Custom::S3Plugin::Multipart;

# Streaming multipart upload of one local file: fixed-size parts, N parts in flight (one forked
# worker per part, each reading its own range from the file, so memory stays bounded whatever the
# file size), per-part retry, resume of an interrupted upload from a state file checked against
# ListParts, abort on failure, size verification at the end and the md5-of-md5s ETag or, where
# the server keeps checksums (it confirms the CRC32 algorithm), the parts' composite CRC32.
#
# With `follow`, the file may still be growing (a vzdump archive being written): a part is sent
# once the file has grown past its end, and the last part once `follow` reports the writer done.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use JSON;

use PVE::Storage::Custom::S3Plugin::Client;
use PVE::Storage::Custom::S3Plugin::Workers qw(spawn_worker collect_workers stop_workers);
use Time::HiRes qw(sleep time);

use constant MIN_PART => 5 * 1024 * 1024;
use constant MAX_PART => 5 * 1024 * 1024 * 1024;
use constant MAX_PARTS => 10000;
use constant PART_ATTEMPTS => 3;

sub _load_state {
    my ($file) = @_;
    return undef if !$file || !-e $file;
    open(my $fh, '<', $file) or return undef;
    local $/;
    return eval { decode_json(<$fh>) };
}

sub _save_state {
    my ($file, $state) = @_;
    return if !$file;
    my $tmp = "$file.tmp";
    open(my $fh, '>', $tmp) or die "cannot write upload state '$tmp': $!\n";
    print {$fh} encode_json($state);
    close($fh) or die "cannot write upload state '$tmp': $!\n";
    rename($tmp, $file) or die "cannot rename '$tmp': $!\n";
}

# Peak resident set size of this process (VmHWM), in KiB.
sub peak_rss_kb {
    open(my $fh, '<', '/proc/self/status') or return 0;
    while (my $line = <$fh>) {
        return $1 if $line =~ /^VmHWM:\s+(\d+)/;
    }
    return 0;
}

sub expected_etag {
    my (@md5_hex) = @_;
    return md5_hex(join('', map { pack('H*', $_) } @md5_hex)) . '-' . scalar(@md5_hex);
}

sub _part_size_for {
    my ($size, $want) = @_;
    my $ps = $want // 64 * 1024 * 1024;
    $ps = MIN_PART if $ps < MIN_PART;
    $ps *= 2 while defined($size) && $size / $ps > MAX_PARTS;
    die "file too large for a multipart upload\n" if $ps > MAX_PART;
    return $ps;
}

# Resume: keep only parts the server still has with the ETag we recorded.
sub _resume {
    my ($s3, $state, $log) = @_;
    my $remote = eval { $s3->list_parts($state->{key}, $state->{upload_id}) };
    if (my $err = $@) {
        die $err if ref($err) && $err->is_not_found; # the upload is gone: start over
        $log->("ListParts not available ($err), trusting the local upload state");
        return;
    }
    my %have = map { ($_->{n} => $_->{etag}) } @$remote;
    for my $n (keys %{ $state->{parts} }) {
        delete $state->{parts}->{$n}
            if !$have{$n} || $have{$n} ne $state->{parts}->{$n}->{etag};
    }
    $log->("resuming upload of '$state->{key}': " . scalar(keys %{ $state->{parts} })
        . " parts already on the server");
}

=head3 upload

    my $res = upload(s3 => $objects, key => $key, file => $path, part_size => $bytes,
        concurrency => 4, state_file => $path, follow => sub { $writer_done }, log => sub { });

Returns C<{ etag, size, parts, resumed_parts }>.

=cut

sub upload {
    my (%o) = @_;
    my ($s3, $key, $file) = @o{qw(s3 key file)};
    my $log = $o{log} // sub { };
    my $concurrency = $o{concurrency} || 4;
    open(my $fh, '<', $file) or die "cannot open '$file': $!\n";
    my $done_writing = !$o{follow};
    my $size = (stat($fh))[7];
    if ($done_writing && $size < _part_size_for($size, $o{part_size})) {
        unlink($o{state_file}) if $o{state_file};
        my $r = $s3->put_object($key, file => $file, length => $size, meta => $o{meta});
        my $head = $s3->head_object($key) // die "uploaded '$key' but the server does not list it\n";
        die "uploaded '$key' has size $head->{size} on the server, expected $size\n"
            if $head->{size} != $size;
        return { etag => $r->{etag}, size => $size, parts => 0 };
    }
    my ($dev, $ino) = (stat($fh))[0, 1];
    my $state = _load_state($o{state_file});
    if ($state && ($state->{key} ne $key || $state->{ino} != $ino || $state->{dev} != $dev)) {
        eval { $s3->abort_multipart($state->{key}, $state->{upload_id}) };
        $state = undef;
    }
    my $resumed = 0;
    if ($state) {
        eval { _resume($s3, $state, $log) };
        $state = undef if $@;
        $resumed = $state ? scalar(keys %{ $state->{parts} }) : 0;
    }
    if (!$state) {
        my $ps = _part_size_for($done_writing ? $size : undef, $o{part_size});
        my %meta = (%{ $o{meta} // {} }, 's3plugin-part-size' => $ps);
        my ($id, $crc32) = $s3->create_multipart($key, meta => \%meta);
        $state = { key => $key, dev => $dev, ino => $ino, part_size => $ps, parts => {},
            upload_id => $id, crc32 => $crc32 ? 1 : 0 };
        _save_state($o{state_file}, $state);
    }
    my $ps = $state->{part_size};
    my (%running, %attempts);
    my $worker_rss = 0;
    my $next = 1;
    my @retry;
    my $ok = eval {
        while (1) {
            $size = (stat($fh))[7];
            if (!$done_writing && $o{follow}->()) {
                $done_writing = 1;
                $size = (stat($fh))[7];
            }
            while (keys(%running) < $concurrency) {
                my $n = shift(@retry) // $next;
                my $offset = ($n - 1) * $ps;
                my $ready = $offset + $ps <= $size || ($done_writing && $offset < $size);
                last if !$ready;
                $next++ if $n == $next;
                next if $state->{parts}->{$n};
                die "'$file' needs more than " . MAX_PARTS . " parts of $ps bytes\n"
                    if $n > MAX_PARTS;
                my $len = $offset + $ps <= $size ? $ps : $size - $offset;
                # Through our open descriptor: the file may be renamed meanwhile (vzdump's .dat).
                my $src = '/proc/self/fd/' . fileno($fh);
                $running{$n} = spawn_worker($n, sub {
                    my $res = $s3->upload_part($state->{key}, $state->{upload_id}, $n,
                        { file => $src, offset => $offset, length => $len },
                        digest => $state->{crc32} ? 'crc32' : 'md5');
                    return { size => $len, etag => $res->{etag}, md5 => $res->{md5},
                        crc32 => $res->{crc32} };
                }, sub {
                    { metrics => ($s3->metrics ? $s3->metrics->take() : undef), rss_kb => peak_rss_kb() }
                }, $s3->metrics);
            }
            my $all_sent = $done_writing && ($next - 1) * $ps >= $size;
            last if !%running && !@retry && $all_sent;
            for my $msg (collect_workers(\%running, %running ? 1 : $o{poll} // 0.5)) {
                $s3->metrics->merge($msg->{metrics}) if $s3->metrics && $msg->{metrics};
                $worker_rss = $msg->{rss_kb} if ($msg->{rss_kb} // 0) > $worker_rss;
                if ($msg->{error}) {
                    die "part $msg->{id} of '$key' failed: $msg->{error}"
                        if ++$attempts{ $msg->{id} } >= PART_ATTEMPTS;
                    $log->("part $msg->{id} of '$key' failed, retrying: $msg->{error}");
                    push @retry, $msg->{id};
                    next;
                }
                $state->{parts}->{ $msg->{id} } =
                    { map { ($_ => $msg->{$_}) } qw(etag md5 crc32 size) };
                $s3->metrics->add_parts('mpu_part', 1) if $s3->metrics;
                _save_state($o{state_file}, $state);
            }
            sleep($o{poll} // 0.5) if !%running && !$done_writing;
        }
        1;
    };
    if (!$ok) {
        my $err = $@;
        stop_workers(\%running);
        eval { $s3->abort_multipart($key, $state->{upload_id}) };
        unlink($o{state_file}) if $o{state_file};
        die $err;
    }
    my @nums = sort { $a <=> $b } keys %{ $state->{parts} };
    if (!@nums) { # the followed file ended up empty
        $s3->abort_multipart($key, $state->{upload_id});
        unlink($o{state_file}) if $o{state_file};
        my $r = $s3->put_object($key, content => '', meta => $o{meta});
        return { etag => $r->{etag}, size => 0, parts => 0 };
    }
    my $etag = $s3->complete_multipart($key, $state->{upload_id},
        [map { [$_, @{ $state->{parts}->{$_} }{qw(etag crc32)}] } @nums]);
    unlink($o{state_file}) if $o{state_file};
    my $head = $s3->head_object($key) // die "completed '$key' but the server does not list it\n";
    die "uploaded '$key' has size $head->{size} on the server, expected $size\n"
        if $head->{size} != $size;
    # Some servers (RGW 16) leave the ETag of CompleteMultipartUploadResult empty.
    $etag = $head->{etag} if !defined($etag) || $etag eq '';
    if ($state->{crc32}) {
        my $expect = PVE::Storage::Custom::S3Plugin::Client::crc32_composite(
            map { $state->{parts}->{$_}->{crc32} } @nums);
        my $got = $head->{crc32} // 'none';
        die "upload of '$key' completed with CRC32 $got, expected $expect\n" if $got ne $expect;
    } else {
        my $expect = expected_etag(map { $state->{parts}->{$_}->{md5} } @nums);
        die "upload of '$key' completed with ETag $etag, expected $expect\n"
            if defined($etag) && $etag =~ /-\d+$/ && $etag ne $expect;
    }
    return { etag => $etag, size => $size, parts => scalar(@nums), resumed_parts => $resumed,
        worker_peak_rss_kb => $worker_rss, verified_by => $state->{crc32} ? 'crc32' : 'md5' };
}

# Abort multipart uploads under $prefix started more than $max_age seconds ago.
sub cleanup_stale {
    my ($s3, $prefix, $max_age, $now) = @_;
    $now //= time();
    my @aborted;
    for my $u (@{ $s3->list_multipart_uploads($prefix) }) {
        next if !defined($u->{initiated}) || $now - $u->{initiated} < $max_age;
        $s3->abort_multipart($u->{key}, $u->{upload_id});
        push @aborted, $u->{key};
    }
    return @aborted;
}

1;
