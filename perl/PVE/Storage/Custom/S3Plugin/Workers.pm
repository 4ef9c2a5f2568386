package PVE::Storage::Custom::S3Plugin::Workers;

# Forked workers for parallel transfers: each worker runs one job (a part upload or a ranged
# download) and reports one JSON message through a pipe. The parent waits with select, so no
# data passes through it and memory stays bounded by the number of workers.

use strict;
use warnings;

use IO::Select;
use JSON;
use POSIX ();

use Exporter qw(import);
our @EXPORT_OK = qw(spawn_worker collect_workers stop_workers);

# $job returns a hashref; $extra (optional) adds fields on success and failure alike (metrics).
# $metrics (optional): the parent's metrics object, emptied in the child so that the worker
# reports only its own requests.
sub spawn_worker {
    my ($id, $job, $extra, $metrics) = @_;
    pipe(my $r, my $w) or die "pipe: $!\n";
    my $pid = fork() // die "fork: $!\n";
    if (!$pid) {
        close($r);
        $metrics->take() if $metrics;
        my $msg = eval { $job->() };
        $msg = { error => "$@" } if !$msg;
        $msg->{id} = $id;
        %$msg = (%$msg, %{ $extra->() }) if $extra;
        print {$w} encode_json($msg);
        close($w);
        POSIX::_exit(0);
    }
    close($w);
    return { pid => $pid, fh => $r, buf => '', id => $id };
}

# Wait up to $timeout seconds; returns the messages of the workers that finished.
sub collect_workers {
    my ($running, $timeout) = @_;
    my @fhs = map { $_->{fh} } values %$running;
    return () if !@fhs;
    my @done;
    for my $fh (IO::Select->new(@fhs)->can_read($timeout)) {
        my ($job) = grep { $_->{fh} == $fh } values %$running;
        my $got = sysread($fh, $job->{buf}, 65536, length($job->{buf}));
        next if $got;
        close($fh);
        waitpid($job->{pid}, 0);
        delete $running->{ $job->{id} };
        push @done, eval { decode_json($job->{buf}) }
            // { id => $job->{id}, error => "worker died (exit status $?)\n" };
    }
    return @done;
}

sub stop_workers {
    my ($running) = @_;
    for my $job (values %$running) {
        kill('TERM', $job->{pid});
        waitpid($job->{pid}, 0);
    }
    %$running = ();
}

1;
