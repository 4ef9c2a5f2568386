#!/usr/bin/perl
# S3 Plugin benchmark: the plugin's Perl client vs /usr/bin/aws s3 cp against the same server in
# the same run (upload and download of one file), plus the cost of the metrics on the data path.
#
# Usage: perl bench/plugin.pl [--server gateway|rgw|s3rver] [--size-mib 2048] [--runs 1]
#     [--download-workers N] (default: the plugin's own default)
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
use S3Test;

my ($server, $size_mib, $runs, $down_workers) = ('gateway', 2048, 1);
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

# Wall time of $code; with a second argument, also adds its CPU seconds (this process and the
# children it waited for: part/range workers, aws) to $cpu->{$name}.
sub timed {
    my ($code, $cpu, $name) = @_;
    my ($t0, @c0) = (time(), times());
    $code->();
    my @c1 = times();
    $cpu->{$name} += $c1[$_] - $c0[$_] for $cpu ? 0 .. 3 : ();
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

my (%best, %cpu, $calls);
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
    for my $k (keys %t) {
        $best{$k} = $t{$k} if !defined($best{$k}) || $t{$k} < $best{$k};
    }
    $calls = 0;
    $calls += $_->{requests} for values %{ $metrics->{ops} };
}

# Cost of the metrics themselves: time one record() call and count the calls of a transfer.
my $m = PVE::Storage::Custom::S3Plugin::Metrics->new();
my $n = 200_000;
my $per_call = timed(sub { $m->record('mpu_part', seconds => 0.3, bytes_out => 67108864) for 1 .. $n }) / $n;
my $flush = timed(sub { $metrics->flush() });

my $rate = sub { sprintf('%.0f MiB/s', $mib / $_[0]) };
printf "server: %s, payload %d MiB, part size 64 MiB, 4 parts in parallel (aws: its defaults), best of %d\n\n",
    $server, $mib, $runs;
# Client CPU seconds per GiB, averaged over the runs: the load-independent figure.
my $cpu_gib = sub { sprintf('%.2f', $cpu{ $_[0] } / $runs / ($mib / 1024)) };
print "| transfer | plugin client | aws s3 cp | plugin / aws | client CPU s/GiB plugin | aws |\n"
    . "|---|---|---|---|---|---|\n";
for my $dir (qw(up down)) {
    my ($p, $a) = ($best{"plugin_$dir"}, $best{"aws_$dir"});
    printf "| %s | %s (%.1f s) | %s (%.1f s) | %.2fx | %s | %s |\n", $dir eq 'up' ? 'upload' : 'download',
        $rate->($p), $p, $rate->($a), $a, $a / $p, $cpu_gib->("plugin_$dir"), $cpu_gib->("aws_$dir");
}
printf "\nmetrics: upload with metrics %.2f s, without %.2f s (difference %+.1f%%, run-to-run noise included);\n",
    $best{plugin_up}, $best{plugin_up_nometrics},
    100 * ($best{plugin_up} - $best{plugin_up_nometrics}) / $best{plugin_up_nometrics};
printf "direct cost: %.2f us per recorded request x %d requests + one flush %.1f ms = %.4f%% of the upload time\n",
    $per_call * 1e6, $calls / $runs, $flush * 1000,
    100 * ($per_call * $calls / $runs + $flush) / $best{plugin_up};
$srv->{stop}->();
