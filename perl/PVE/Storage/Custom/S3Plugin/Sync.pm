package PVE::Storage::Custom::S3Plugin::Sync;

# One pass of the node helper over one storage: upload cache files that are finished (and follow
# vzdump's `<name>.dat` while it is being written), mark them synced, keep the used-bytes figure
# and the health file current, abort stale multipart uploads, and evict from the cache.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use Fcntl qw(:flock);

use PVE::Storage::Custom::S3Plugin::Cache;
use PVE::Storage::Custom::S3Plugin::Config qw(object_key state_dir read_json write_json key_prefix client);
use PVE::Storage::Custom::S3Plugin::Health;
use PVE::Storage::Custom::S3Plugin::Multipart;

use constant USAGE_REFRESH => 300;
use constant STALE_UPLOAD_AGE => 24 * 3600;


# True when some process holds $path open for writing (scans /proc/*/fd).
sub open_for_write {
    my ($path) = @_;
    my @st = stat($path) or return 0;
    for my $fd (glob('/proc/[0-9]*/fd/*')) {
        my @fst = stat($fd) or next;
        next if $fst[0] != $st[0] || $fst[1] != $st[1];
        my ($pid, $num) = $fd =~ m!^/proc/(\d+)/fd/(\d+)$! or next;
        open(my $fh, '<', "/proc/$pid/fdinfo/$num") or next;
        while (my $line = <$fh>) {
            return 1 if $line =~ /^flags:\s+([0-7]+)/ && (oct($1) & 3);
        }
    }
    return 0;
}

# vzdump writes <base>.vma.dat / <base>.tar.dat and renames it to <base>.vma[.zst|.gz|.lzo]
# when done; the compressor's magic bytes tell the final name before that.
sub final_name_of_dat {
    my ($path, $name) = @_;
    (my $base = $name) =~ s/\.dat$//;
    open(my $fh, '<:raw', $path) or return undef;
    sysread($fh, my $magic, 4) == 4 or return undef;
    return "$base.zst" if $magic eq "\x28\xB5\x2F\xFD";
    return "$base.gz" if substr($magic, 0, 2) eq "\x1F\x8B";
    return "$base.lzo" if $magic eq "\x89LZO";
    return $base;
}

sub _find_inode {
    my ($dir, $dev, $ino) = @_;
    opendir(my $dh, $dir) or return undef;
    for my $n (readdir($dh)) {
        my @st = stat("$dir/$n") or next;
        return $n if $st[0] == $dev && $st[1] == $ino && $n !~ /\.dat$/;
    }
    return undef;
}

sub _upload {
    my ($s3, $storeid, $scfg, $f, $log, %o) = @_;
    my $name = $o{name} // $f->{name};
    my $key = object_key($scfg, $f->{vtype}, $name);
    my $state = state_dir($storeid, 1) . '/uploads/' . md5_hex($key) . '.json';
    $log->("uploading $f->{vtype}/$name");
    return PVE::Storage::Custom::S3Plugin::Multipart::upload(
        s3 => $s3, key => $key, file => $f->{path}, state_file => $state,
        part_size => ($scfg->{'multipart-part-size'} // 64) * 1024 * 1024,
        concurrency => $scfg->{'multipart-concurrency'} // 4,
        follow => $o{follow}, log => $log, poll => $o{poll},
    );
}

sub _follow_dat {
    my ($s3, $storeid, $scfg, $f, $log, %o) = @_;
    my $guess = final_name_of_dat($f->{path}, $f->{name}) // return 0; # too short yet
    my ($dev, $ino) = (stat($f->{path}))[0, 1];
    my $dir = $f->{path} =~ s!/[^/]+$!!r;
    my $idle_since = time();
    my $last_size = -1;
    my $follow = sub {
        return 1 if !-e $f->{path};
        my $size = -s $f->{path};
        ($idle_since, $last_size) = (time(), $size) if $size != $last_size;
        return time() - $idle_since >= $o{settle} && !open_for_write($f->{path});
    };
    my $res = _upload($s3, $storeid, $scfg, $f, $log, name => $guess, follow => $follow,
        poll => $o{poll});
    my $final = _find_inode($dir, $dev, $ino);
    if (!$final) {
        $log->("$f->{name} finished without a rename; kept as $guess");
        return 1;
    }
    if ($final ne $guess) {
        my $from = object_key($scfg, 'backup', $guess);
        $s3->copy_object($from, object_key($scfg, 'backup', $final));
        $s3->delete_object($from);
    }
    PVE::Storage::Custom::S3Plugin::Cache::mark_synced($storeid, 'backup', $final, "$dir/$final",
        $res->{etag});
    return 1;
}

sub _refresh_usage {
    my ($s3, $storeid, $scfg, $added, $now) = @_;
    my $file = state_dir($storeid, 1) . '/usage.json';
    my $u = read_json($file);
    if ($u && $now - $u->{counted} < USAGE_REFRESH) {
        $u->{bytes} += $added;
    } else {
        my ($objects) = $s3->list_objects(key_prefix($scfg));
        my $bytes = 0;
        $bytes += $_->{size} for @$objects;
        $u = { bytes => $bytes, objects => scalar(@$objects), counted => $now };
    }
    write_json($file, $u);
}

=head3 sync_storage

    my @uploaded = sync_storage($plugin, $storeid, $scfg, settle => 5, log => sub { });

Returns nothing (and logs why) while another process runs a pass over the same storage.

=cut

sub sync_storage {
    my ($plugin, $storeid, $scfg, %o) = @_;
    my $log = $o{log} // sub { };
    my $settle = $o{settle} // 5;
    my $now = $o{now} // time();
    # One pass per storage at a time (the helper service and a helper started by hand): two would
    # upload the same files and evict what the other is still sending.
    my $lockfile = state_dir($storeid, 1) . '/sync.lock';
    open(my $lock, '>>', $lockfile) or die "cannot open '$lockfile': $!\n";
    if (!flock($lock, LOCK_EX | LOCK_NB)) {
        $log->('skipped: another s3plugin-helper is syncing this storage');
        return ();
    }
    my $s3 = client($storeid, $scfg);
    my (@done, $added);
    my $ok = eval {
        for my $f (@{ PVE::Storage::Custom::S3Plugin::Cache::cache_files($plugin, $scfg) }) {
            next if $f->{name} =~ /\.tmp$|\.s3part\.|\.(notes|protected)$/;
            next if PVE::Storage::Custom::S3Plugin::Cache::synced($storeid, $f->{vtype}, $f->{name},
                $f->{path});
            if ($f->{vtype} eq 'backup' && $f->{name} =~ /\.dat$/) {
                push @done, $f->{name} if _follow_dat($s3, $storeid, $scfg, $f, $log,
                    settle => $settle, poll => $o{poll});
                next;
            }
            my $mtime = (stat($f->{path}))[9] // next;
            # A file just written can carry an mtime a second ahead of time() (the kernel stamps
            # files from a finer clock than the coarse one time() reads): no age check at settle 0.
            next if ($settle > 0 && time() - $mtime < $settle) || open_for_write($f->{path});
            my $res = _upload($s3, $storeid, $scfg, $f, $log);
            PVE::Storage::Custom::S3Plugin::Cache::mark_synced($storeid, $f->{vtype}, $f->{name},
                $f->{path}, $res->{etag});
            $added += $res->{size};
            push @done, $f->{name};
        }
        _refresh_usage($s3, $storeid, $scfg, $added // 0, $now);
        if ($o{cleanup_uploads}) {
            $log->("aborted stale upload of $_") for PVE::Storage::Custom::S3Plugin::Multipart::cleanup_stale(
                $s3, key_prefix($scfg), STALE_UPLOAD_AGE, $now);
        }
        $log->("evicted $_") for PVE::Storage::Custom::S3Plugin::Cache::evict($plugin, $storeid,
            $scfg, $now);
        1;
    };
    my $err = $@;
    $s3->metrics->flush() if $s3->metrics;
    PVE::Storage::Custom::S3Plugin::Health::record($storeid, $ok || !(ref($err) && $err->{status}
        && $err->{status} == 599), $ok ? undef : $err);
    die $err if !$ok;
    return @done;
}

1;
