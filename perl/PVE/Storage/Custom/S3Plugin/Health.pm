package PVE::Storage::Custom::S3Plugin::Health;

# Cached reachability of a storage's bucket, so pvestatd never waits on a dead endpoint: the
# helper (and any plugin call that talks to S3) records the outcome in <state>/health.json;
# readers use it while fresh and otherwise probe once with a hard 2 s ceiling.

use strict;
use warnings;

use Time::HiRes qw(alarm time);

use PVE::Storage::Custom::S3Plugin::Config;

use constant FRESH => 30;
use constant PROBE_CEILING => 2;

sub _file {
    my ($storeid) = @_;
    return PVE::Storage::Custom::S3Plugin::Config::state_dir($storeid, 1) . '/health.json';
}

sub read_health {
    my ($storeid) = @_;
    return PVE::Storage::Custom::S3Plugin::Config::read_json(_file($storeid));
}

sub record {
    my ($storeid, $online, $error) = @_;
    my $h = { online => $online ? 1 : 0, checked => time() };
    $h->{error} = "$error" if defined($error);
    eval { PVE::Storage::Custom::S3Plugin::Config::write_json(_file($storeid), $h) };
    return $h;
}

sub probe {
    my ($storeid, $scfg) = @_;
    my $ok = eval {
        local $SIG{ALRM} = sub { die "endpoint $scfg->{endpoint} did not answer within "
            . PROBE_CEILING . " s\n" };
        alarm(PROBE_CEILING);
        my $s3 = PVE::Storage::Custom::S3Plugin::Config::client($storeid, $scfg,
            client => { timeout => 1.5, retries => 0 });
        $s3->check_bucket;
        alarm(0);
        1;
    };
    alarm(0);
    return record($storeid, $ok, $ok ? undef : $@);
}

# Health no older than FRESH seconds, probing when the cached state is stale.
sub current {
    my ($storeid, $scfg, $max_age) = @_;
    my $h = read_health($storeid);
    return $h if $h && time() - $h->{checked} <= ($max_age // FRESH);
    return probe($storeid, $scfg);
}

1;
