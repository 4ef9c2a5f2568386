package PVE::Storage::Plugin;

# Test stand-in for pve-storage's base class (9.1.7, storage API 15): the same method names and
# argument orders as the real PVE::Storage::Plugin, with its registration rules enforced (a
# property name may be defined by one plugin only; options may only name known properties;
# check_config validates types, ranges, patterns and non-optional options) so that a plugin
# that would break on a real node breaks here too. Written for the tests; no code is shared.

use strict;
use warnings;

our %PROPERTIES;   # name => { schema, owner }
our %PLUGINS;      # type => class

# Properties the real base class and the built-in plugins already define (pve-storage 9.1.7).
my @BUILTIN = qw(
    type storage nodes content disable prune-backups max-protected-backups shared subdir format
    preallocation content-dirs options port snapshot-as-volume-chain
    authsupported base blocksize bwlimit create-base-path create-subdirs data-pool datastore
    domain encryption-key export fingerprint fs-name fuse iscsiprovider keyring krbd
    master-pubkey mkdir monhost mountpoint namespace nocow nowritecache password path pool
    portal saferemove saferemove-stepsize server share skip-cert-verification smbversion sparse
    target thinpool username vgname zfs-base-path
);
my %BUILTIN_SCHEMA = (
    nodes => { type => 'string' },
    content => { type => 'string' },
    disable => { type => 'boolean' },
    shared => { type => 'boolean' },
    port => { type => 'integer', minimum => 1, maximum => 65535 },
    path => { type => 'string', pattern => '/.*' },
    fingerprint => { type => 'string', pattern => '([A-Fa-f0-9]{2}:){31}[A-Fa-f0-9]{2}' },
    'prune-backups' => { type => 'string' },
    'max-protected-backups' => { type => 'integer', minimum => -1 },
);
$PROPERTIES{$_} = { schema => $BUILTIN_SCHEMA{$_} // { type => 'string' }, owner => 'builtin' }
    for @BUILTIN;

sub register {
    my ($class) = @_;
    my $type = $class->type();
    die "storage type '$type' already registered\n" if $PLUGINS{$type};
    my $props = $class->can('properties') ? $class->properties() : {};
    for my $name (keys %$props) {
        die "duplicate property '$name'\n" if $PROPERTIES{$name};
    }
    $PROPERTIES{$_} = { schema => $props->{$_}, owner => $type } for keys %$props;
    for my $name (keys %{ $class->options() }) {
        die "undefined property '$name' in options of '$type'\n" if !$PROPERTIES{$name};
    }
    $PLUGINS{$type} = $class;
}

# Reset registrations between tests.
sub unregister_all {
    delete $PROPERTIES{$_} for grep { $PROPERTIES{$_}->{owner} ne 'builtin' } keys %PROPERTIES;
    %PLUGINS = ();
}

sub lookup {
    my ($class, $type) = @_;
    return $PLUGINS{$type} // die "unknown section type '$type'\n";
}

sub plugindata { return {} }

sub sensitive_properties {
    my ($type) = @_;
    my $data = $PLUGINS{$type} ? $PLUGINS{$type}->plugindata() : {};
    return [sort keys %{ $data->{'sensitive-properties'} }] if $data->{'sensitive-properties'};
    return [qw(encryption-key keyring master-pubkey password)];
}

sub _check_value {
    my ($name, $schema, $value) = @_;
    my $t = $schema->{type} // 'string';
    if ($t eq 'boolean') {
        die "property '$name': type check ('boolean') failed - got '$value'\n"
            if $value !~ /^(0|1|on|off|yes|no|true|false)$/i;
    } elsif ($t eq 'integer') {
        die "property '$name': type check ('integer') failed - got '$value'\n"
            if $value !~ /^-?\d+$/;
        die "property '$name': value must have a minimum value of $schema->{minimum}\n"
            if defined($schema->{minimum}) && $value < $schema->{minimum};
        die "property '$name': value may have a maximum value of $schema->{maximum}\n"
            if defined($schema->{maximum}) && $value > $schema->{maximum};
    } elsif (defined($schema->{pattern})) {
        die "property '$name': value does not match the regex pattern\n"
            if $value !~ /^(?:$schema->{pattern})$/;
    }
    if (my $enum = $schema->{enum}) {
        die "property '$name': value '$value' does not have a value in the enumeration\n"
            if !grep { $_ eq $value } @$enum;
    }
}

sub check_config {
    my ($class, $sectionId, $config, $create, $skipSchemaCheck) = @_;
    my $opts = $class->options();
    my %out;
    for my $name (keys %$config) {
        next if $name eq 'type';
        my $value = $config->{$name};
        die "property '$name' is not allowed for type '" . $class->type() . "'\n"
            if !$opts->{$name};
        die "property '$name' is fixed and cannot be changed\n" if !$create && $opts->{$name}->{fixed};
        _check_value($name, $PROPERTIES{$name}->{schema}, $value) if !$skipSchemaCheck;
        $out{$name} = $value;
    }
    if ($create) {
        for my $name (keys %$opts) {
            die "property '$name' is missing\n" if !$opts->{$name}->{optional} && !defined($out{$name});
        }
    }
    return \%out;
}

sub on_add_hook { return undef }
sub on_update_hook { return undef }

sub on_update_hook_full {
    my ($class, $storeid, $scfg, $update, $delete, $sensitive) = @_;
    return $class->on_update_hook($storeid, $update, %$sensitive);
}

sub on_delete_hook { return undef }

my %VTYPE_SUBDIRS = (
    images => 'images', rootdir => 'private', iso => 'template/iso', vztmpl => 'template/cache',
    backup => 'dump', snippets => 'snippets', import => 'import',
);

sub get_vtype_subdirs { return \%VTYPE_SUBDIRS }

sub get_subdir {
    my ($class, $scfg, $vtype) = @_;
    my $path = $scfg->{path} or die "storage definition has no path\n";
    die "unknown vtype '$vtype'\n" if !exists($VTYPE_SUBDIRS{$vtype});
    return "$path/" . ($scfg->{'content-dirs'}->{$vtype} // $VTYPE_SUBDIRS{$vtype});
}

sub get_formats {
    my ($class, $scfg, $storeid) = @_;
    my $f = $class->plugindata()->{format} // [{ raw => 1 }, 'raw'];
    return { default => $f->[1], valid => { %{ $f->[0] } } };
}

sub check_connection { return 1 }
sub activate_storage { return 1 }
sub deactivate_storage { return 1 }
sub deactivate_volume { return 1 }
sub volume_has_feature { return undef }

sub activate_volume {
    my ($class, $storeid, $scfg, $volname, $snapname, $cache, $hints) = @_;
    my $path = $class->filesystem_path($scfg, $volname, $snapname);
    die "volume '$storeid:$volname' does not exist\n" if !-e $path;
}

sub get_volume_attribute { return undef }

sub update_volume_attribute {
    my ($class, $scfg, $storeid, $volname, $attribute, $value) = @_;
    die "attribute '$attribute' is not supported for storage type '$scfg->{type}'\n";
}

sub free_image {
    my ($class, $storeid, $scfg, $volname, $isBase, $format) = @_;
    die "cannot remove protected volume '$volname' on '$storeid'\n"
        if $class->get_volume_attribute($scfg, $storeid, $volname, 'protected');
    my $path = $class->filesystem_path($scfg, $volname);
    unlink($path) or die "unlink '$path' failed - $!\n";
    return undef;
}

1;
