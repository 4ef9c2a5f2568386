package PVE::Storage::Custom::S3Plugin::Listing;

# list_volumes: objects under each content directory plus files in the cache that are not
# uploaded yet, in the shape PVE expects (volid, format, size, ctime, and for backups vmid,
# subtype, notes and protected from the sidecar objects).

use strict;
use warnings;

use PVE::Storage::Custom::S3Plugin::Config qw(object_key backup_info decode_notes);

sub _backup_entry {
    my ($storeid, $name, $size, $mtime) = @_;
    my ($format) = $name =~ $PVE::Storage::Custom::S3Plugin::Config::NAME_RE{backup};
    my $info = backup_info($name);
    my $e = { volid => "$storeid:backup/$name", format => $format, size => $size,
        ctime => $info->{ctime} // $mtime, subtype => $info->{type} // 'unknown' };
    $e->{vmid} = $info->{vmid} if defined($info->{vmid});
    return $e;
}

sub list {
    my ($plugin, $s3, $storeid, $scfg, $vmid, $content_types) = @_;
    my @res;
    for my $vtype (@$content_types) {
        my $subdir = $PVE::Storage::Custom::S3Plugin::Config::SUBDIR{$vtype} or next;
        next if defined($vmid) && $vtype ne 'backup';
        my $re = $PVE::Storage::Custom::S3Plugin::Config::NAME_RE{$vtype};
        my $base = object_key($scfg, $vtype, '');
        my ($objects) = $s3->list_objects($base, delimiter => '/');
        my %sidecar;
        my %items;
        for my $o (@$objects) {
            my $name = substr($o->{key}, length($base));
            if ($name =~ /^(.+)\.(notes|protected)$/) {
                $sidecar{$1}->{$2} = $o->{key};
                next;
            }
            next if $name !~ $re;
            $items{$name} = [$o->{size}, $o->{mtime}];
        }
        # Files written locally (upload, vzdump) and not uploaded yet are volumes too.
        my $dir = $plugin->get_subdir($scfg, $vtype);
        if (opendir(my $dh, $dir)) {
            for my $name (readdir($dh)) {
                next if $name =~ /^\./ || $name !~ $re || $items{$name} || !-f "$dir/$name";
                my @st = stat(_);
                $items{$name} = [$st[7], $st[9]];
            }
        }
        for my $name (sort keys %items) {
            my ($size, $mtime) = @{ $items{$name} };
            my $e;
            if ($vtype eq 'backup') {
                $e = _backup_entry($storeid, $name, $size, $mtime);
                next if defined($vmid) && ($e->{vmid} // -1) != $vmid;
                $e->{protected} = 1 if $sidecar{$name}->{protected};
                if (my $nk = $sidecar{$name}->{notes}) {
                    my $notes = $s3->get_object($nk);
                    $e->{notes} = decode_notes($notes);
                }
            } else {
                my $format = $vtype eq 'iso' ? 'iso' : $vtype eq 'snippets' ? 'snippet' : 'raw';
                if ($vtype eq 'vztmpl' || $vtype eq 'import') {
                    ($format) = $name =~ $re;
                    $format = "t$1" if $vtype eq 'vztmpl' && $format =~ /^tar\.(.+)$/;
                }
                $e = { volid => "$storeid:$vtype/$name", format => $format, size => $size,
                    ctime => $mtime };
            }
            $e->{content} = $vtype;
            push @res, $e;
        }
    }
    return \@res;
}

1;
