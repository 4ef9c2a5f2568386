package PVE::Storage::Custom::S3Plugin::Cache;

# The local cache below the storage's `path`: sync markers (which local files are known to equal
# an object, by size + mtime + ETag), download on demand with ETag validation (parallel ranged
# GETs for large objects, checked by S3Plugin::Verify), and eviction by size and age of synced
# files.

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Path qw(make_path);

use PVE::Storage::Custom::S3Plugin::Config qw(state_dir write_json read_json);
use PVE::Storage::Custom::S3Plugin::SigV4 qw(uri_escape);
use PVE::Storage::Custom::S3Plugin::Verify;
use PVE::Storage::Custom::S3Plugin::Workers qw(spawn_worker collect_workers stop_workers);


sub _marker {
    my ($storeid, $vtype, $name) = @_;
    return state_dir($storeid, 1) . "/synced/$vtype." . uri_escape($name) . '.json';
}

sub mark_synced {
    my ($storeid, $vtype, $name, $path, $etag) = @_;
    my @st = stat($path) or return;
    write_json(_marker($storeid, $vtype, $name),
        { size => $st[7], mtime => $st[9], etag => $etag });
}

sub unmark {
    my ($storeid, $vtype, $name) = @_;
    unlink(_marker($storeid, $vtype, $name));
}

# The marker if $path still is the file that was synced, else undef.
sub synced {
    my ($storeid, $vtype, $name, $path) = @_;
    my $m = read_json(_marker($storeid, $vtype, $name)) or return undef;
    my @st = stat($path) or return undef;
    return ($st[7] == $m->{size} && $st[9] == $m->{mtime}) ? $m : undef;
}

# [[digest, length], ...] of the ranges, in order. Worker k of N fetches ranges k, k + N, ... one
# after the other: one fork per worker rather than per range, which saves the copy-on-write
# faults of each new process (a tenth of the client's CPU time with one fork per range).
sub _download_parallel {
    my ($s3, $key, $tmp, $head, $chunk, $concurrency, $alg) = @_;
    open(my $fh, '>', $tmp) or die "cannot create '$tmp': $!\n";
    truncate($fh, $head->{size}) or die "cannot size '$tmp': $!\n";
    close($fh);
    my @ranges;
    for (my $off = 0; $off < $head->{size}; $off += $chunk) {
        my $end = $off + $chunk - 1;
        $end = $head->{size} - 1 if $end >= $head->{size};
        push @ranges, [$off, $end];
    }
    my $workers = $concurrency < @ranges ? $concurrency : scalar(@ranges);
    my (%running, @digests);
    for my $k (0 .. $workers - 1) {
        $running{ $k + 1 } = spawn_worker($k + 1, sub {
            open(my $out, '+<', $tmp) or die "cannot open '$tmp': $!\n";
            my @done;
            for (my $i = $k; $i < @ranges; $i += $workers) {
                my $r = $ranges[$i];
                my $got = $s3->get_object($key, fh => $out, offset => $r->[0], range => $r,
                    etag => $head->{etag}, digest => $alg);
                push @done, [$i, $got->{$alg}, $r->[1] - $r->[0] + 1];
            }
            close($out) or die "write error on '$tmp': $!\n";
            return { ranges => \@done };
        }, sub { { metrics => ($s3->metrics ? $s3->metrics->take() : undef) } }, $s3->metrics);
    }
    while (%running) {
        for my $msg (collect_workers(\%running, 5)) {
            $s3->metrics->merge($msg->{metrics}) if $s3->metrics && $msg->{metrics};
            if ($msg->{error}) {
                stop_workers(\%running);
                die $msg->{error};
            }
            $digests[ $_->[0] ] = [$_->[1], $_->[2]] for @{ $msg->{ranges} };
        }
    }
    return \@digests;
}

=head3 fetch

    my $etag = fetch($s3, $storeid, $vtype, $name, $path, $key, concurrency => 8, chunk => $bytes);

Makes C<$path> hold the current object: keeps a synced copy whose ETag still matches, keeps a
local file that was never uploaded (it is newer than anything remote), otherwise downloads to a
temporary file, verifies size and checksum (S3Plugin::Verify), and renames it into place; a failed
download leaves no file behind.

=cut

sub fetch {
    my ($s3, $storeid, $vtype, $name, $path, $key, %o) = @_;
    my $head = $s3->head_object($key);
    if (-e $path) {
        my $m = synced($storeid, $vtype, $name, $path);
        return $m->{etag} if !$head && !$m; # local only, not uploaded yet
        return $m->{etag} if $m && $head && $m->{etag} eq $head->{etag};
        die "volume '$vtype/$name' has a local copy that differs from the object and is not "
            . "uploaded yet\n" if !$m && $head && !$o{replace_unsynced};
    }
    die "volume '$storeid:$vtype/$name' does not exist\n" if !$head;
    make_path(dirname($path));
    my $tmp = "$path.s3part.$$";
    my $chunk = $o{chunk} || $head->{meta}->{'s3plugin-part-size'} || 64 * 1024 * 1024;
    my $ok = eval {
        # Downloads default to more workers than uploads: each range is one part so that its
        # digest is the part's, and more ranges in flight keep the connection pipe full.
        my $workers = $o{concurrency} // 8;
        my $parallel = $workers > 1 && $head->{size} > 2 * $chunk;
        my $alg = PVE::Storage::Custom::S3Plugin::Verify::algorithm($head, $parallel ? $chunk : undef);
        my $ranges;
        if ($parallel) {
            $ranges = _download_parallel($s3, $key, $tmp, $head, $chunk, $workers, $alg);
        } else {
            open(my $fh, '>', $tmp) or die "cannot create '$tmp': $!\n";
            my $got = $s3->get_object($key, fh => $fh, etag => $head->{etag}, digest => $alg);
            close($fh) or die "write error on '$tmp': $!\n";
            $ranges = [[$got->{$alg}, $head->{size}]];
        }
        my $size = -s $tmp;
        die "download of '$key' is $size bytes, expected $head->{size}\n"
            if $size != $head->{size};
        PVE::Storage::Custom::S3Plugin::Verify::check($key, $tmp, $head, $alg, $ranges,
            $parallel ? $chunk : undef);
        rename($tmp, $path) or die "cannot rename '$tmp' to '$path': $!\n";
        1;
    };
    if (!$ok) {
        my $err = $@;
        unlink($tmp);
        die $err;
    }
    mark_synced($storeid, $vtype, $name, $path, $head->{etag});
    return $head->{etag};
}

# Files in the cache dirs: [ { vtype, name, path, size, atime } ].
sub cache_files {
    my ($plugin, $scfg) = @_;
    my @files;
    for my $vtype (sort keys %PVE::Storage::Custom::S3Plugin::Config::SUBDIR) {
        my $dir = eval { $plugin->get_subdir($scfg, $vtype) } or next;
        opendir(my $dh, $dir) or next;
        for my $name (readdir($dh)) {
            my $path = "$dir/$name";
            next if $name =~ /^\./ || !-f $path;
            my @st = stat(_);
            push @files, { vtype => $vtype, name => $name, path => $path, size => $st[7],
                atime => ($st[8] > $st[9] ? $st[8] : $st[9]) };
        }
    }
    return \@files;
}

# Delete synced files older than max-age, then the least recently used synced files until the
# cache fits max-size. Files not yet uploaded are never touched.
sub evict {
    my ($plugin, $storeid, $scfg, $now) = @_;
    $now //= time();
    my $max_size = $scfg->{'cache-max-size'} ? $scfg->{'cache-max-size'} * 1024 * 1024 : undef;
    my $max_age = $scfg->{'cache-max-age'} ? $scfg->{'cache-max-age'} * 3600 : undef;
    my $files = cache_files($plugin, $scfg);
    my $total = 0;
    $total += $_->{size} for @$files;
    my @removed;
    for my $f (sort { $a->{atime} <=> $b->{atime} } @$files) {
        my $old = $max_age && $now - $f->{atime} > $max_age;
        my $over = $max_size && $total > $max_size;
        next if !$old && !$over;
        next if $f->{name} =~ /\.(dat|tmp|log)$|\.s3part\./;
        next if !synced($storeid, $f->{vtype}, $f->{name}, $f->{path});
        unlink($f->{path}) or next;
        unmark($storeid, $f->{vtype}, $f->{name});
        $total -= $f->{size};
        push @removed, "$f->{vtype}/$f->{name}";
    }
    return @removed;
}

1;
