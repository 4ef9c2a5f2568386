#!/usr/bin/perl
# S3 Plugin benchmark: the plugin's Perl client vs /usr/bin/aws s3 cp against the same server in
# the same run (upload and download of one file), plus the cost of the metrics on the data path.
#
# Usage: perl bench/plugin.pl [--server gateway|rgw|s3rver] [--size-mib 2048] [--runs 3]
#     [--download-workers N] (default: the plugin's own default)
# Defaults from the environment: BENCH_PLUGIN_SIZE_MIB, BENCH_PLUGIN_RUNS.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl", "$FindBin::Bin/../perl/t/lib";

use Digest::MD5;
use File::Temp qw(tempdir);
use Getopt::Long;
use Time::HiRes qw(time);

use PVE::Storage::Custom::S3Plugin::Cache;
use PVE::Storage::Custom::S3Plugin::Metrics;
use PVE::Storage::Custom::S3Plugin::Multipart;
use PVE::Storage::Custom::S3Plugin::Objects;
use PVE::Storage::Custom::S3Plugin::Verify;
use S3Test;

my ($server, $size_mib, $runs, $down_workers) =
    ('gateway', $ENV{BENCH_PLUGIN_SIZE_MIB} // 2048, $ENV{BENCH_PLUGIN_RUNS} // 3);
GetOptions('server=s' => \$server, 'size-mib=i' => \$size_mib, 'runs=i' => \$runs,
    'download-workers=i' => \$down_workers) or die;
die "/usr/bin/aws is required\n" if !-x '/usr/bin/aws';

my $tmp = tempdir('s3plugin-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);
$ENV{S3PLUGIN_STATE_DIR} = "$tmp/state";
my $srv = $server eq 'rgw' ? S3Test::start_rgw() : $server eq 's3rver'
    ? S3Test::start_s3rver('bench') : S3Test::start_gateway();
my $bucket = $srv->{bucket} // 'bench';
my %conn = (endpoint => $srv->{endpoint}, port => $srv->{port}, use_ssl => 0, bucket => $bucket,
    access_key => $srv->{access_key}, secret_key => $srv->{secret_key}, region => 'us-east-1');
my $metrics = PVE::Storage::Custom::S3Plugin::Metrics->new(dir => $tmp, storeid => 'bench');
my $s3 = PVE::Storage::Custom::S3Plugin::Objects->new(%conn, metrics => $metrics);
my $bare = PVE::Storage::Custom::S3Plugin::Objects->new(%conn);
$s3->create_bucket() if !$srv->{bucket};

my $file = "$tmp/payload.bin";
system('sh', '-c', "head -c ${size_mib}M /dev/urandom > $file") == 0 or die "cannot create payload\n";
my $bytes = -s $file;
my $mib = $bytes / 1024 / 1024;
my $part = 64 * 1024 * 1024;

# CPU seconds of the server process so far (gateway, s3rver; undef for RGW, not our child).
sub server_cpu {
    open(my $fh, '<', "/proc/" . ($srv->{pid} // 'none') . "/stat") or return undef;
    my @f = split(' ', <$fh> =~ s/^.*\) //r);
    return ($f[11] + $f[12]) / 100;
}

# Wall time of $code; with a second argument, also records its CPU seconds in $cpu->{$name}:
# user and sys of this process and the children it waited for (part/range workers, aws), and of
# the server.
sub timed {
    my ($code, $cpu, $name) = @_;
    my ($t0, $s0, @c0) = (time(), server_cpu(), times());
    $code->();
    my @c1 = times();
    my $s1 = server_cpu();
    if ($cpu) {
        push @{ $cpu->{$name} }, { user => $c1[0] - $c0[0] + $c1[2] - $c0[2],
            sys => $c1[1] - $c0[1] + $c1[3] - $c0[3], server => defined($s0) ? $s1 - $s0 : undef };
    }
    return time() - $t0;
}

sub md5_file {
    open(my $fh, '<:raw', $_[0]) or die;
    return Digest::MD5->new->addfile($fh)->hexdigest;
}

my $want = md5_file($file);
my %aws_env = (AWS_ACCESS_KEY_ID => $srv->{access_key}, AWS_SECRET_ACCESS_KEY => $srv->{secret_key},
    AWS_DEFAULT_REGION => 'us-east-1', AWS_EC2_METADATA_DISABLED => 'true');
sub aws {
    local %ENV = (%ENV, %aws_env);
    my @cmd = ('/usr/bin/aws', '--endpoint-url', "http://$srv->{endpoint}:$srv->{port}", 's3', 'cp',
        '--only-show-errors', @_);
    system(@cmd) == 0 or die "aws s3 cp failed\n";
}

my (%all, %cpu, $calls, $verified_by);
for my $run (1 .. $runs) {
    my %t;
    $t{plugin_up} = timed(sub {
        PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $s3, key => 'bench/plugin.bin',
            file => $file, part_size => $part, concurrency => 4);
    }, \%cpu, 'plugin_up');
    $t{plugin_up_nometrics} = timed(sub {
        PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $bare, key => 'bench/plugin2.bin',
            file => $file, part_size => $part, concurrency => 4);
    });
    unlink("$tmp/down.bin");
    $verified_by = PVE::Storage::Custom::S3Plugin::Verify::algorithm(
        $s3->head_object('bench/plugin.bin'), $part);
    $t{plugin_down} = timed(sub {
        PVE::Storage::Custom::S3Plugin::Cache::fetch($s3, 'bench', 'iso', 'down.bin', "$tmp/down.bin",
            'bench/plugin.bin', chunk => $part, ($down_workers ? (concurrency => $down_workers) : ()));
    }, \%cpu, 'plugin_down');
    die "plugin download differs\n" if md5_file("$tmp/down.bin") ne $want;
    unlink("$tmp/down.bin");
    $t{aws_up} = timed(sub { aws($file, "s3://$bucket/bench/aws.bin") }, \%cpu, 'aws_up');
    $t{aws_down} = timed(sub { aws("s3://$bucket/bench/aws.bin", "$tmp/down.bin") }, \%cpu, 'aws_down');
    die "aws download differs\n" if md5_file("$tmp/down.bin") ne $want;
    unlink("$tmp/down.bin");
    $bare->delete_objects(map { "bench/$_" } qw(plugin.bin plugin2.bin aws.bin));
    printf "run %d: upload plugin %.0f / aws %.0f MiB/s (%.2fx), download plugin %.0f / aws %.0f MiB/s (%.2fx)\n",
        $run, $mib / $t{plugin_up}, $mib / $t{aws_up}, $t{aws_up} / $t{plugin_up},
        $mib / $t{plugin_down}, $mib / $t{aws_down}, $t{aws_down} / $t{plugin_down};
    push @{ $all{$_} }, $t{$_} for keys %t;
    $calls = 0;
    $calls += $_->{requests} for values %{ $metrics->{ops} };
}

# Cost of the metrics themselves: time one record() call and count the calls of a transfer.
my $m = PVE::Storage::Custom::S3Plugin::Metrics->new();
my $n = 200_000;
my $per_call = timed(sub { $m->record('mpu_part', seconds => 0.3, bytes_out => 67108864) for 1 .. $n }) / $n;
my $flush = timed(sub { $metrics->flush() });

my $gib = $mib / 1024;
sub median { my @s = sort { $a <=> $b } @_; return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2 }
sub range { my @s = sort { $a <=> $b } @_; return ($s[0], $s[-1]) }
my $load = do { open(my $fh, '<', '/proc/loadavg'); join(' ', (split(' ', <$fh>))[0 .. 2]) };
printf "server: %s, payload %d MiB, %d run(s), load average at the end %s; plugin: 64 MiB parts, "
    . "4 parts in parallel up, %s range workers down, download verified by %s; aws: its defaults\n\n",
    $server, $mib, $runs, $load, $down_workers // 8, uc($verified_by);
print "| transfer | plugin MiB/s, median (range) | aws MiB/s, median (range) | plugin / aws, median (range) |\n"
    . "| --- | --- | --- | --- |\n";
for my $dir (qw(up down)) {
    my ($p, $a) = ($all{"plugin_$dir"}, $all{"aws_$dir"});
    my @ratio = map { $a->[$_] / $p->[$_] } 0 .. $#$p;
    printf "| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2fx (%.2fx-%.2fx) |\n",
        $dir eq 'up' ? 'upload' : 'download', median(map { $mib / $_ } @$p), range(map { $mib / $_ } @$p),
        median(map { $mib / $_ } @$a), range(map { $mib / $_ } @$a), median(@ratio), range(@ratio);
}
# CPU seconds per GiB, median of the runs: the load-independent figures.
my $per_gib = sub {
    my ($name, $what) = @_;
    my @v = grep { defined } map { $_->{$what} } @{ $cpu{$name} };
    return @v ? sprintf('%.2f', median(@v) / $gib) : '-';
};
print "\n| CPU s per GiB (median) | client user | client sys | client total | server |\n"
    . "| --- | --- | --- | --- | --- |\n";
for my $name (qw(plugin_up aws_up plugin_down aws_down)) {
    my @tot = map { $_->{user} + $_->{sys} } @{ $cpu{$name} };
    printf "| %s | %s | %s | %.2f | %s |\n", $name =~ s/_/ /r, $per_gib->($name, 'user'),
        $per_gib->($name, 'sys'), median(@tot) / $gib, $per_gib->($name, 'server');
}
my ($up, $up_bare) = (median(@{ $all{plugin_up} }), median(@{ $all{plugin_up_nometrics} }));
printf "\nmetrics: upload with metrics %.2f s, without %.2f s, medians (difference %+.1f%%, run-to-run "
    . "noise included);\n", $up, $up_bare, 100 * ($up - $up_bare) / $up_bare;
my $transfer = $up + median(@{ $all{plugin_down} });
printf "direct cost: %.2f us per recorded request x %d requests (upload + download) + one flush %.1f ms "
    . "= %.4f%% of their time\n", $per_call * 1e6, $calls / $runs, $flush * 1000,
    100 * ($per_call * $calls / $runs + $flush) / $transfer;
$srv->{stop}->();
