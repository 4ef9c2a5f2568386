package PVE::Storage::Custom::S3Plugin::Prune;

# Retention marking for one backup group (same guest type and VMID), following the documented
# prune semantics: options are applied from the shortest interval (keep-last) to the longest
# (keep-yearly); each keeps the newest backup of each of the next N periods that no earlier
# option already covered; a period that holds a backup kept by an earlier option is skipped
# (it counts as covered, not against N). Protected backups are left out of the counting
# entirely; everything still unmarked at the end is removed.

use strict;
use warnings;

use POSIX qw(strftime);

use PVE::Storage::Custom::S3Plugin::Config qw(backup_info);

my @RULES = (
    ['keep-last', sub { "$_[0]" }],
    ['keep-hourly', sub { strftime('%Y-%m-%d %H', localtime($_[0])) }],
    ['keep-daily', sub { strftime('%Y-%m-%d', localtime($_[0])) }],
    ['keep-weekly', sub { strftime('%G-W%V', localtime($_[0])) }],
    ['keep-monthly', sub { strftime('%Y-%m', localtime($_[0])) }],
    ['keep-yearly', sub { strftime('%Y', localtime($_[0])) }],
);

sub keep_all {
    my ($keep) = @_;
    return 1 if !$keep || $keep->{'keep-all'};
    return !grep { ($keep->{ $_->[0] } // 0) > 0 } @RULES;
}

# $group: [ { ctime, mark? } ]; sets ->{mark} to keep/remove on entries without a mark.
sub mark_group {
    my ($group, $keep) = @_;
    my @open = grep { !defined($_->{mark}) } @$group;
    if (keep_all($keep)) {
        $_->{mark} = 'keep' for @open;
        return;
    }
    my @newest_first = sort { $b->{ctime} <=> $a->{ctime} } @open;
    for my $rule (@RULES) {
        my ($opt, $period_of) = @$rule;
        my $n = $keep->{$opt} // 0;
        next if $n <= 0;
        my %covered = map { ($period_of->($_->{ctime}) => 1) }
            grep { ($_->{mark} // '') eq 'keep' } @newest_first;
        my %taken;
        for my $b (@newest_first) {
            next if defined($b->{mark});
            my $period = $period_of->($b->{ctime});
            next if $covered{$period};
            if ($taken{$period}) {
                $b->{mark} = 'remove'; # an older backup of a period already kept here
                next;
            }
            last if keys(%taken) >= $n;
            $taken{$period} = 1;
            $b->{mark} = 'keep';
        }
    }
    $_->{mark} //= 'remove' for @open;
}

# Prune list for list_volumes output: groups by guest type and VMID, leaves backups without the
# standard vzdump name alone ('renamed') and protected ones ('protected'), marks the rest.
sub mark_backups {
    my ($backups, $keep, $type) = @_;
    my (%groups, @list);
    for my $b (@$backups) {
        my ($name) = $b->{volid} =~ m!^[^:]+:backup/(.+)$!;
        my $info = backup_info($name);
        my $btype = $info->{type} // 'unknown';
        next if defined($type) && $type ne $btype;
        my $e = { volid => $b->{volid}, type => $btype, ctime => $b->{ctime} };
        my $vmid = $info->{vmid} // $b->{vmid};
        $e->{vmid} = $vmid if defined($vmid);
        if ($info->{is_std_name}) {
            $e->{ctime} = $info->{ctime};
            push @{ $groups{"$btype/$vmid"} }, $e;
        } else {
            $e->{mark} = 'renamed';
        }
        $e->{mark} = 'protected' if $b->{protected};
        push @list, $e;
    }
    mark_group($_, $keep) for values %groups;
    return @list;
}

1;
