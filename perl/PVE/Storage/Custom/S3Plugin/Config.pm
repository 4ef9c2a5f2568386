package PVE::Storage::Custom::S3Plugin::Config;

# Where things live and how names map: secrets in the priv dir (mode 0600, never storage.cfg),
# per-storage state (health, usage, metrics, upload state, sync markers), volume name <-> object
# key mapping, and the S3 client built from a storage configuration.

use strict;
use warnings;

use Encode qw(decode);
use JSON;
use Time::Local qw(timelocal);

use PVE::Storage::Custom::S3Plugin::Metrics;
use PVE::Storage::Custom::S3Plugin::Objects;

use Exporter qw(import);
our @EXPORT_OK = qw(
    state_dir read_json write_json read_secrets write_secrets delete_secrets secrets_file key_prefix
    object_key backup_info client decode_notes
);

# Content type -> key prefix below the storage's prefix (and local subdir below `path`).
our %SUBDIR = (
    backup => 'dump',
    iso => 'template/iso',
    vztmpl => 'template/cache',
    snippets => 'snippets',
    import => 'import',
);

# Volume name rules, matching what PVE accepts for each content type.
our %NAME_RE = (
    iso => qr/^[^\/]+\.(?:iso|img)$/i,
    vztmpl => qr/^[^\/]+\.(tar|tar\.(?:gz|xz|zst|bz2))$/i,
    backup => qr/^[^\/]+\.(tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?)$/,
    snippets => qr/^[^\/]+$/,
    import => qr/^[ a-zA-Z0-9\-.+=_]+\.(ova|ovf|qcow2|raw|vmdk)$/,
);

sub priv_dir { $ENV{S3PLUGIN_PRIV_DIR} // '/etc/pve/priv/storage' }
sub state_root { $ENV{S3PLUGIN_STATE_DIR} // '/var/lib/pve-s3plugin' }

sub secrets_file {
    my ($storeid) = @_;
    return priv_dir() . "/$storeid.s3.json";
}

sub state_dir {
    my ($storeid, $create) = @_;
    my $dir = state_root() . "/$storeid";
    if ($create && !-d "$dir/uploads") {
        for my $d (state_root(), $dir, "$dir/uploads", "$dir/synced") {
            mkdir($d, 0700) or $!{EEXIST} or die "cannot create '$d': $!\n";
        }
    }
    return $dir;
}

sub read_json {
    my ($file) = @_;
    open(my $fh, '<', $file) or return undef;
    local $/;
    return eval { decode_json(<$fh>) };
}

sub write_json {
    my ($file, $data, $mode) = @_;
    my $tmp = "$file.tmp.$$";
    my $old = umask(0077);
    my $ok = open(my $fh, '>', $tmp);
    umask($old);
    die "cannot write '$tmp': $!\n" if !$ok;
    chmod($mode // 0644, $tmp);
    print {$fh} JSON->new->canonical->encode($data) or die "cannot write '$tmp': $!\n";
    close($fh) or die "cannot write '$tmp': $!\n";
    rename($tmp, $file) or die "cannot rename '$tmp' to '$file': $!\n";
}

sub read_secrets {
    my ($storeid) = @_;
    return read_json(secrets_file($storeid)) // {};
}

sub write_secrets {
    my ($storeid, $secrets) = @_;
    my $dir = priv_dir();
    mkdir($dir, 0700) or $!{EEXIST} or die "cannot create '$dir': $!\n";
    write_json(secrets_file($storeid), $secrets, 0600);
}

sub delete_secrets {
    my ($storeid) = @_;
    my $file = secrets_file($storeid);
    unlink($file) or $!{ENOENT} or die "cannot remove '$file': $!\n";
}

sub key_prefix {
    my ($scfg) = @_;
    my $p = $scfg->{prefix} // '';
    $p =~ s!^/+|/+$!!g;
    return $p eq '' ? '' : "$p/";
}

sub object_key {
    my ($scfg, $vtype, $name) = @_;
    return key_prefix($scfg) . "$SUBDIR{$vtype}/$name";
}

# (vtype, name, vmid, format) or die; rejects anything that could leave its directory.
sub parse_volname {
    my ($volname) = @_;
    my ($vtype, $name) = $volname =~ m!^(backup|iso|vztmpl|snippets|import)/(.+)$!
        or die "unable to parse s3 volume name '$volname'\n";
    die "invalid volume name '$volname'\n"
        if $name =~ m![/\0\n]! || $name eq '.' || $name eq '..' || $name =~ /^\./;
    my $re = $NAME_RE{$vtype};
    die "unable to parse s3 volume name '$volname'\n" if $name !~ $re;
    my $format = $vtype eq 'import' ? $1 : 'raw';
    my $vmid;
    $vmid = $1 if $vtype eq 'backup' && $name =~ m/^vzdump-(?:qemu|lxc|openvz)-(\d+)-/;
    return ($vtype, $name, $vmid, $format);
}

# Backup name facts PVE derives from vzdump names: type, vmid, ctime.
sub backup_info {
    my ($name) = @_;
    my ($type, $vmid, $y, $mo, $d, $h, $mi, $s) = $name =~
        m/^vzdump-(qemu|lxc|openvz)-([1-9][0-9]{2,8})-(\d{4})_(\d\d)_(\d\d)-(\d\d)_(\d\d)_(\d\d)\./;
    return {} if !$type && !(($type) = $name =~ m/^vzdump-(qemu|lxc|openvz)-/);
    my $info = { type => $type };
    if (defined($vmid)) {
        $info->{vmid} = int($vmid);
        $info->{ctime} = eval { timelocal($s, $mi, $h, $d, $mo - 1, $y) };
        $info->{is_std_name} = defined($info->{ctime}) ? 1 : 0;
    }
    return $info;
}

sub client {
    my ($storeid, $scfg, %opt) = @_;
    my $secrets = $opt{secrets} // read_secrets($storeid);
    die "storage '$storeid': no credentials found in " . secrets_file($storeid)
        . " (set access-key and secret-key)\n"
        if !$secrets->{'access-key'} || !$secrets->{'secret-key'};
    my $metrics = $opt{metrics} // PVE::Storage::Custom::S3Plugin::Metrics->new(
        dir => (-d state_dir($storeid) ? state_dir($storeid) : undef), storeid => $storeid);
    return PVE::Storage::Custom::S3Plugin::Objects->new(
        endpoint => $scfg->{endpoint},
        port => $scfg->{port},
        use_ssl => $scfg->{'use-ssl'} // 1,
        verify_ssl => $scfg->{'verify-ssl'} // 1,
        fingerprint => $scfg->{fingerprint},
        ca_file => $scfg->{'ca-file'},
        region => $scfg->{region},
        bucket => $scfg->{bucket},
        path_style => $scfg->{'path-style'} // 1,
        access_key => $secrets->{'access-key'},
        secret_key => $secrets->{'secret-key'},
        bwlimit => $scfg->{'transfer-bwlimit'},
        storage_class => $scfg->{'storage-class'},
        metrics => $metrics,
        %{ $opt{client} // {} },
    );
}

sub decode_notes {
    my ($bytes) = @_;
    return eval { decode('UTF-8', $bytes, 1) } // $bytes;
}

1;
