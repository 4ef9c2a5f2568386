package PVE::Storage;

# Test stand-in for the parts of pve-storage's PVE::Storage that drive a plugin: loading a custom
# plugin with the real version checks, activate_storage (check_connection, then activate_storage),
# storage_info's status handling, volume_list, path, vdisk_free, prune_backups, and
# update_volume_attribute with its max-protected-backups check. Same call order and messages as
# pve-storage 9.1.7; written for the tests.

use strict;
use warnings;

use PVE::Storage::Plugin;

use constant APIVER => 15;
use constant APIAGE => 6;

sub load_custom_plugin {
    my ($module) = @_;
    (my $file = "$module.pm") =~ s!::!/!g;
    require $file;
    die "$module does not derive from PVE::Storage::Plugin\n"
        if !$module->isa('PVE::Storage::Plugin');
    die "$module has no api()\n" if !$module->can('api');
    my $v = $module->api();
    die "$module implements storage API $v, accepted: " . (APIVER - APIAGE) . ".." . APIVER . "\n"
        if $v > APIVER || $v < APIVER - APIAGE;
    $module->register();
    return $module;
}

sub parse_volume_id {
    my ($volid) = @_;
    return ($1, $2) if $volid =~ m/^([a-z][a-z0-9\-\_\.]*[a-z0-9]):(.+)$/i;
    die "unable to parse volume ID '$volid'\n";
}

sub storage_config {
    my ($cfg, $storeid) = @_;
    return $cfg->{ids}->{$storeid} // die "storage '$storeid' does not exist\n";
}

sub _plugin {
    my ($scfg) = @_;
    return PVE::Storage::Plugin->lookup($scfg->{type});
}

sub activate_storage {
    my ($cfg, $storeid, $cache) = @_;
    $cache //= {};
    return if $cache->{activated}->{$storeid};
    my $scfg = storage_config($cfg, $storeid);
    my $plugin = _plugin($scfg);
    if (!eval { $plugin->check_connection($storeid, $scfg) }) {
        die "connection check for storage '$storeid' failed - $@\n" if $@;
        die "storage '$storeid' is not online\n";
    }
    $plugin->activate_storage($storeid, $scfg, $cache);
    $cache->{activated}->{$storeid} = 1;
}

# One storage's row of storage_info: warnings are collected instead of printed.
sub storage_status {
    my ($cfg, $storeid, $warnings) = @_;
    my $scfg = storage_config($cfg, $storeid);
    my $info = { total => 0, avail => 0, used => 0, active => 0 };
    my $cache = {};
    eval { activate_storage($cfg, $storeid, $cache) };
    if (my $err = $@) {
        push @$warnings, $err;
        return $info;
    }
    my ($total, $avail, $used, $active) = eval { _plugin($scfg)->status($storeid, $scfg, $cache) };
    push @$warnings, $@ if $@;
    return $info if !$active;
    @$info{qw(total avail used active)} = (int($total), int($avail), int($used), $active);
    return $info;
}

sub path {
    my ($cfg, $volid, $snapname) = @_;
    my ($storeid, $volname) = parse_volume_id($volid);
    my $scfg = storage_config($cfg, $storeid);
    return _plugin($scfg)->path($scfg, $volname, $storeid, $snapname);
}

sub activate_volumes {
    my ($cfg, $volids) = @_;
    my $cache = {};
    for my $volid (@$volids) {
        my ($storeid, $volname) = parse_volume_id($volid);
        activate_storage($cfg, $storeid, $cache);
        my $scfg = storage_config($cfg, $storeid);
        _plugin($scfg)->activate_volume($storeid, $scfg, $volname, undef, $cache);
    }
}

sub volume_list {
    my ($cfg, $storeid, $vmid, $content) = @_;
    my $scfg = storage_config($cfg, $storeid);
    activate_storage($cfg, $storeid);
    my @types = $content ? ($content) : qw(images rootdir vztmpl iso backup snippets import);
    my $res = _plugin($scfg)->list_volumes($storeid, $scfg, $vmid, \@types);
    return [sort { $a->{volid} cmp $b->{volid} } @$res];
}

sub vdisk_free {
    my ($cfg, $volid) = @_;
    my ($storeid, $volname) = parse_volume_id($volid);
    my $scfg = storage_config($cfg, $storeid);
    my $plugin = _plugin($scfg);
    activate_storage($cfg, $storeid);
    my (undef, undef, undef, undef, undef, $isBase, $format) = $plugin->parse_volname($volname);
    $plugin->free_image($storeid, $scfg, $volname, $isBase, $format);
}

sub get_volume_attribute {
    my ($cfg, $volid, $attribute) = @_;
    my ($storeid, $volname) = parse_volume_id($volid);
    my $scfg = storage_config($cfg, $storeid);
    return _plugin($scfg)->get_volume_attribute($scfg, $storeid, $volname, $attribute);
}

sub update_volume_attribute {
    my ($cfg, $volid, $attribute, $value) = @_;
    my ($storeid, $volname) = parse_volume_id($volid);
    my $scfg = storage_config($cfg, $storeid);
    my $plugin = _plugin($scfg);
    my ($vtype, undef, $vmid) = $plugin->parse_volname($volname);
    my $max = $scfg->{'max-protected-backups'} // -1;
    if ($vtype eq 'backup' && $vmid && $attribute eq 'protected' && $value
        && !$plugin->get_volume_attribute($scfg, $storeid, $volname, 'protected') && $max > -1)
    {
        my $backups = $plugin->list_volumes($storeid, $scfg, $vmid, ['backup']);
        my ($btype) = map { $_->{subtype} } grep { $_->{volid} eq $volid } @$backups;
        my $count = grep {
            $_->{protected} && (!$btype || ($_->{subtype} && $_->{subtype} eq $btype))
        } @$backups;
        die "The number of protected backups per guest is limited to $max on storage "
            . "'$storeid'\n" if $max <= $count;
    }
    return $plugin->update_volume_attribute($scfg, $storeid, $volname, $attribute, $value);
}

sub prune_backups {
    my ($cfg, $storeid, $keep, $vmid, $type, $dryrun, $logfunc) = @_;
    my $scfg = storage_config($cfg, $storeid);
    activate_storage($cfg, $storeid);
    return _plugin($scfg)->prune_backups($scfg, $storeid, $keep, $vmid, $type, $dryrun, $logfunc);
}

1;
