package PVE::Storage::Custom::S3Plugin::Metrics;

# Per-operation counters (requests, errors, retries, bytes in/out, multipart parts) and a latency
# histogram, kept in memory and merged into <dir>/metrics.json + <dir>/metrics.prom on flush.
# Several processes (pvedaemon workers, pvestatd, the helper) flush into the same files, so a
# flush adds this process' deltas to what is there under an flock, then writes tmp + rename.

use strict;
use warnings;

use Fcntl qw(:flock);
use JSON;

our @BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60);

sub new {
    my ($class, %opt) = @_;
    return bless { dir => $opt{dir}, storeid => $opt{storeid}, ops => {} }, $class;
}

sub _op {
    my ($self, $op) = @_;
    return $self->{ops}->{$op} //= {
        requests => 0, errors => 0, retries => 0, bytes_in => 0, bytes_out => 0, parts => 0,
        seconds_sum => 0, buckets => [(0) x (@BUCKETS + 1)],
    };
}

# One finished HTTP request (after its retries).
sub record {
    my ($self, $op, %r) = @_;
    my $m = $self->_op($op);
    $m->{requests}++;
    $m->{errors}++ if $r{error};
    $m->{retries} += $r{retries} // 0;
    $m->{bytes_in} += $r{bytes_in} // 0;
    $m->{bytes_out} += $r{bytes_out} // 0;
    my $s = $r{seconds} // 0;
    $m->{seconds_sum} += $s;
    my $i = 0;
    $i++ while $i < @BUCKETS && $s > $BUCKETS[$i];
    $m->{buckets}->[$i]++;
}

sub add_parts {
    my ($self, $op, $n) = @_;
    $self->_op($op)->{parts} += $n;
}

# Fold another snapshot (e.g. from a forked part worker) into this one.
sub merge {
    my ($self, $other_ops) = @_;
    for my $op (keys %$other_ops) {
        my ($dst, $src) = ($self->_op($op), $other_ops->{$op});
        for my $k (qw(requests errors retries bytes_in bytes_out parts seconds_sum)) {
            $dst->{$k} += $src->{$k} // 0;
        }
        $dst->{buckets}->[$_] += $src->{buckets}->[$_] // 0 for 0 .. $#BUCKETS + 1;
    }
}

sub take {
    my ($self) = @_;
    my $ops = $self->{ops};
    $self->{ops} = {};
    return $ops;
}

sub _atomic_write {
    my ($file, $data) = @_;
    my $tmp = "$file.tmp.$$";
    open(my $fh, '>', $tmp) or die "cannot write '$tmp': $!\n";
    print {$fh} $data or die "cannot write '$tmp': $!\n";
    close($fh) or die "cannot write '$tmp': $!\n";
    rename($tmp, $file) or die "cannot rename '$tmp': $!\n";
}

sub flush {
    my ($self) = @_;
    return if !$self->{dir} || !%{ $self->{ops} };
    my $dir = $self->{dir};
    open(my $lock, '>>', "$dir/metrics.lock") or return;
    flock($lock, LOCK_EX) or return;
    my $total = {};
    if (open(my $fh, '<', "$dir/metrics.json")) {
        local $/;
        $total = eval { decode_json(<$fh>)->{operations} } // {};
    }
    my $sum = __PACKAGE__->new();
    $sum->merge($total);
    $sum->merge($self->take());
    my $doc = { storage => $self->{storeid}, updated => time(), operations => $sum->{ops} };
    _atomic_write("$dir/metrics.json", JSON->new->canonical->encode($doc));
    _atomic_write("$dir/metrics.prom", prometheus_text($self->{storeid}, $sum->{ops}));
    close($lock);
}

sub prometheus_text {
    my ($storeid, $ops) = @_;
    my $out = '';
    my %help = (
        requests => 'S3 requests sent',
        errors => 'S3 requests that failed after retries',
        retries => 'S3 request retries',
        bytes_in => 'bytes downloaded',
        bytes_out => 'bytes uploaded',
        parts => 'multipart parts uploaded',
    );
    for my $k (sort keys %help) {
        $out .= "# HELP pve_s3_${k}_total $help{$k}\n# TYPE pve_s3_${k}_total counter\n";
        $out .= "pve_s3_${k}_total{storage=\"$storeid\",op=\"$_\"} $ops->{$_}->{$k}\n"
            for sort keys %$ops;
    }
    $out .= "# HELP pve_s3_request_seconds S3 request latency\n"
        . "# TYPE pve_s3_request_seconds histogram\n";
    for my $op (sort keys %$ops) {
        my ($m, $cum) = ($ops->{$op}, 0);
        my $l = "storage=\"$storeid\",op=\"$op\"";
        for my $i (0 .. $#BUCKETS) {
            $cum += $m->{buckets}->[$i];
            $out .= "pve_s3_request_seconds_bucket{$l,le=\"$BUCKETS[$i]\"} $cum\n";
        }
        $cum += $m->{buckets}->[-1];
        $out .= "pve_s3_request_seconds_bucket{$l,le=\"+Inf\"} $cum\n";
        $out .= "pve_s3_request_seconds_sum{$l} $m->{seconds_sum}\n";
        $out .= "pve_s3_request_seconds_count{$l} $m->{requests}\n";
    }
    return $out;
}

1;
