package PVE::Storage::Custom::S3Plugin;

# Storage type `s3`: backups, ISO images, container templates, snippets and import files kept as
# objects in an S3 bucket (below an optional per-cluster prefix), with a local cache at `path`
# that PVE's upload, download-url and vzdump write into and that restores read from.

use strict;
use warnings;

use File::Path qw(make_path remove_tree);

use PVE::Storage::Plugin;

use PVE::Storage::Custom::S3Plugin::Cache;
use PVE::Storage::Custom::S3Plugin::Config qw(
    state_dir read_json write_json read_secrets write_secrets delete_secrets object_key backup_info
    client decode_notes
);
use PVE::Storage::Custom::S3Plugin::Health;
use PVE::Storage::Custom::S3Plugin::Listing;
use PVE::Storage::Custom::S3Plugin::Prune;
use PVE::Storage::Custom::S3Plugin::Schema;

use base qw(PVE::Storage::Plugin);


# Configuration

sub api { return 15 }

sub type { return 's3' }

sub plugindata {
    return {
        content => [
            { backup => 1, iso => 1, vztmpl => 1, snippets => 1, import => 1, none => 1 },
            { backup => 1, iso => 1, vztmpl => 1 },
        ],
        format => [{ raw => 1 }, 'raw'],
        'sensitive-properties' => { 'access-key' => 1, 'secret-key' => 1 },
    };
}

sub properties { return PVE::Storage::Custom::S3Plugin::Schema::properties() }

sub options { return PVE::Storage::Custom::S3Plugin::Schema::options() }

# Helpers

sub check_config {
    my ($class, $sectionId, $config, $create, $skipSchemaCheck) = @_;
    $config->{path} = "/var/lib/pve-s3plugin/cache/$sectionId" if $create && !$config->{path};
    return $class->SUPER::check_config($sectionId, $config, $create, $skipSchemaCheck);
}

sub _s3 {
    my ($storeid, $scfg) = @_;
    return client($storeid, $scfg);
}

# Run an S3 call and keep the cached health in step with what it saw.
sub _talk {
    my ($storeid, $s3, $code) = @_;
    my @res = eval { $code->() };
    my $err = $@;
    $s3->metrics->flush() if $s3->metrics;
    if ($err) {
        PVE::Storage::Custom::S3Plugin::Health::record($storeid, 0, $err)
            if ref($err) && ($err->{status} // 0) == 599;
        die $err;
    }
    return wantarray ? @res : $res[0];
}

sub _validate_connection {
    my ($storeid, $scfg, $secrets) = @_;
    my $s3 = client($storeid, $scfg, secrets => $secrets,
        client => { timeout => 10, retries => 1 });
    eval { $s3->check_bucket };
    die "storage '$storeid': $@" if $@;
}

sub on_add_hook {
    my ($class, $storeid, $scfg, %sensitive) = @_;
    my %secrets = map { ($_ => $sensitive{$_}) } grep { defined $sensitive{$_} } qw(access-key secret-key);
    die "storage '$storeid': 'access-key' and 'secret-key' are required\n"
        if !$secrets{'access-key'} || !$secrets{'secret-key'};
    _validate_connection($storeid, $scfg, \%secrets);
    write_secrets($storeid, \%secrets);
    return undef;
}

sub on_update_hook_full {
    my ($class, $storeid, $scfg, $update, $delete, $sensitive) = @_;
    return undef if !$sensitive || !%$sensitive;
    my $secrets = read_secrets($storeid);
    for my $k (qw(access-key secret-key)) {
        next if !exists($sensitive->{$k});
        die "storage '$storeid': '$k' cannot be removed, only replaced\n"
            if !defined($sensitive->{$k}) || $sensitive->{$k} eq '';
        $secrets->{$k} = $sensitive->{$k};
    }
    _validate_connection($storeid, { %$scfg, %{ $update // {} } }, $secrets);
    write_secrets($storeid, $secrets);
    return undef;
}

sub on_update_hook {
    my ($class, $storeid, $scfg, %param) = @_;
    return $class->on_update_hook_full($storeid, $scfg, {}, [], \%param);
}

sub on_delete_hook {
    my ($class, $storeid, $scfg) = @_;
    delete_secrets($storeid);
    remove_tree(state_dir($storeid));
    return undef;
}

# Storage implementation

sub check_connection {
    my ($class, $storeid, $scfg) = @_;
    return PVE::Storage::Custom::S3Plugin::Health::current($storeid, $scfg)->{online};
}

sub activate_storage {
    my ($class, $storeid, $scfg, $cache) = @_;
    my $path = $scfg->{path} // die "storage '$storeid': no cache 'path' configured\n";
    for my $vtype (sort keys %PVE::Storage::Custom::S3Plugin::Config::SUBDIR) {
        my $dir = $class->get_subdir($scfg, $vtype);
        make_path($dir) if !-d $dir;
    }
    my $state = state_dir($storeid, 1);
    my %public = map { ($_ => $scfg->{$_}) } grep { $_ !~ /^(access-key|secret-key)$/ } keys %$scfg;
    write_json("$state/config.json", { storeid => $storeid, scfg => \%public });
    my $h = PVE::Storage::Custom::S3Plugin::Health::current($storeid, $scfg);
    die "storage '$storeid' is offline: " . ($h->{error} // "unknown error\n") if !$h->{online};
    return 1;
}

sub deactivate_storage {
    my ($class, $storeid, $scfg, $cache) = @_;
    return 1;
}

sub status {
    my ($class, $storeid, $scfg, $cache) = @_;
    my $h = PVE::Storage::Custom::S3Plugin::Health::current($storeid, $scfg);
    my $usage = read_json(state_dir($storeid) . '/usage.json') // {};
    my $used = $usage->{bytes} // 0;
    my $total = $scfg->{capacity} ? $scfg->{capacity} * 1024**3 : $used + 1024**5;
    my $avail = $total > $used ? $total - $used : 0;
    return ($total, $avail, $used, $h->{online} ? 1 : 0);
}

sub parse_volname {
    my ($class, $volname) = @_;
    my ($vtype, $name, $vmid, $format) = PVE::Storage::Custom::S3Plugin::Config::parse_volname($volname);
    return ($vtype, $name, $vmid, undef, undef, undef, $format);
}

sub filesystem_path {
    my ($class, $scfg, $volname, $snapname) = @_;
    die "volume snapshots are not supported on s3 storage\n" if defined($snapname);
    my ($vtype, $name, $vmid) = $class->parse_volname($volname);
    my $path = $class->get_subdir($scfg, $vtype) . "/$name";
    return wantarray ? ($path, $vmid, $vtype) : $path;
}

sub path {
    my ($class, $scfg, $volname, $storeid, $snapname) = @_;
    return $class->filesystem_path($scfg, $volname, $snapname);
}

sub activate_volume {
    my ($class, $storeid, $scfg, $volname, $snapname, $cache, $hints) = @_;
    my ($path, undef, $vtype) = $class->filesystem_path($scfg, $volname, $snapname);
    my (undef, $name) = $class->parse_volname($volname);
    my $s3 = _s3($storeid, $scfg);
    _talk($storeid, $s3, sub {
        PVE::Storage::Custom::S3Plugin::Cache::fetch($s3, $storeid, $vtype, $name, $path,
            object_key($scfg, $vtype, $name),
            concurrency => $scfg->{'multipart-concurrency'}, # unset: Cache::fetch's download default
            chunk => ($scfg->{'multipart-part-size'} // 64) * 1024 * 1024);
    });
    return 1;
}

sub deactivate_volume {
    my ($class, $storeid, $scfg, $volname, $snapname, $cache) = @_;
    return 1;
}

sub list_volumes {
    my ($class, $storeid, $scfg, $vmid, $content_types) = @_;
    my $s3 = _s3($storeid, $scfg);
    return _talk($storeid, $s3, sub {
        PVE::Storage::Custom::S3Plugin::Listing::list($class, $s3, $storeid, $scfg, $vmid,
            $content_types);
    });
}

sub _sidecar_key {
    my ($scfg, $name, $what) = @_;
    return object_key($scfg, 'backup', "$name.$what");
}

sub get_volume_attribute {
    my ($class, $scfg, $storeid, $volname, $attribute) = @_;
    my ($vtype, $name) = $class->parse_volname($volname);
    return undef if $vtype ne 'backup';
    my $s3 = _s3($storeid, $scfg);
    if ($attribute eq 'protected') {
        my $h = _talk($storeid, $s3, sub { $s3->head_object(_sidecar_key($scfg, $name, 'protected')) });
        return $h ? 1 : 0;
    }
    if ($attribute eq 'notes') {
        my $h = _talk($storeid, $s3, sub { $s3->head_object(_sidecar_key($scfg, $name, 'notes')) });
        return undef if !$h;
        my $notes = _talk($storeid, $s3, sub { $s3->get_object(_sidecar_key($scfg, $name, 'notes')) });
        return decode_notes($notes);
    }
    return undef;
}

sub update_volume_attribute {
    my ($class, $scfg, $storeid, $volname, $attribute, $value) = @_;
    my ($vtype, $name) = $class->parse_volname($volname);
    die "attribute '$attribute' is not supported for '$volname' on storage type 's3'\n"
        if $vtype ne 'backup' || ($attribute ne 'notes' && $attribute ne 'protected');
    my $s3 = _s3($storeid, $scfg);
    my $key = object_key($scfg, 'backup', $name);
    my $exists = -e $class->filesystem_path($scfg, $volname)
        || _talk($storeid, $s3, sub { $s3->head_object($key) });
    die "volume '$storeid:$volname' does not exist\n" if !$exists;
    my $side = _sidecar_key($scfg, $name, $attribute);
    my $set = $attribute eq 'protected' ? $value : defined($value) && $value ne '';
    _talk($storeid, $s3, sub {
        if (!$set) {
            $s3->delete_object($side);
        } else {
            $s3->put_object($side, content => $attribute eq 'protected' ? '1' : $value);
        }
    });
    return undef;
}

sub volume_size_info {
    my ($class, $scfg, $storeid, $volname, $timeout) = @_;
    my ($path, undef, $vtype) = $class->filesystem_path($scfg, $volname);
    my (undef, $name) = $class->parse_volname($volname);
    my $s3 = _s3($storeid, $scfg);
    my $h = _talk($storeid, $s3, sub { $s3->head_object(object_key($scfg, $vtype, $name)) });
    my ($size, $ctime) = $h ? ($h->{size}, $h->{mtime}) : (stat($path))[7, 10];
    die "volume '$storeid:$volname' does not exist\n" if !defined($size);
    return wantarray ? ($size, 'raw', $size, undef, $ctime) : $size;
}

sub free_image {
    my ($class, $storeid, $scfg, $volname, $isBase, $format) = @_;
    die "cannot remove protected volume '$volname' on '$storeid'\n"
        if $class->get_volume_attribute($scfg, $storeid, $volname, 'protected');
    my ($path, undef, $vtype) = $class->filesystem_path($scfg, $volname);
    my (undef, $name) = $class->parse_volname($volname);
    my $s3 = _s3($storeid, $scfg);
    # vzdump's task log is <archive name without its extension>.log
    (my $log = $name) =~ s/\.(?:vma|tar|tgz)(?:\.[^.]+)?$/.log/;
    my @keys = (object_key($scfg, $vtype, $name));
    push @keys, map { _sidecar_key($scfg, $name, $_) } qw(notes protected) if $vtype eq 'backup';
    push @keys, object_key($scfg, 'backup', $log) if $vtype eq 'backup' && $log ne $name;
    my @failed = _talk($storeid, $s3, sub { $s3->delete_objects(@keys) });
    die "removing '$volname' failed: " . join('; ', @failed) . "\n" if @failed;
    my @local = ($path);
    push @local, "$path.notes", "$path.protected", $path =~ s/[^\/]+$/$log/r if $vtype eq 'backup';
    for my $p (@local) {
        unlink($p) or $!{ENOENT} or die "cannot remove '$p': $!\n";
    }
    PVE::Storage::Custom::S3Plugin::Cache::unmark($storeid, $vtype, $name);
    return undef;
}

sub prune_backups {
    my ($class, $scfg, $storeid, $keep, $vmid, $type, $dryrun, $logfunc) = @_;
    $logfunc //= sub { print "$_[1]\n" };
    my $backups = $class->list_volumes($storeid, $scfg, $vmid, ['backup']);
    my @list = PVE::Storage::Custom::S3Plugin::Prune::mark_backups($backups, $keep, $type);
    return \@list if $dryrun;
    my $failed;
    for my $e (grep { $_->{mark} eq 'remove' } @list) {
        $logfunc->('info', "removing backup '$e->{volid}'");
        my ($volname) = $e->{volid} =~ m!^[^:]+:(.+)$!;
        eval { $class->free_image($storeid, $scfg, $volname) };
        if (my $err = $@) {
            $logfunc->('err', "error when removing backup '$e->{volid}' - $err");
            $failed = 1;
        }
    }
    die "error pruning backups - check log\n" if $failed;
    return \@list;
}

1;
