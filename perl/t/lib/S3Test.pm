package S3Test;

# Real S3 servers for the plugin tests: s3rver (npm, run under Deno) and Ceph RGW
# (../shared/tools/radosgw/start.sh). Each server is started by the test on 127.0.0.1 with a free
# port and stopped again by PID (or by the RGW stop script for the PIDs it recorded).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

my $ROOT = abs_path(dirname(__FILE__) . '/../../..');

sub repo_root { $ROOT }

sub free_port {
    my $sock = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "cannot bind: $!";
    my $port = $sock->sockport;
    close($sock);
    return $port;
}

sub deno_bin { $ENV{DENO_BIN} || 'deno' }

# Returns { endpoint, port, access_key, secret_key, bucket, stop => sub }.
sub start_s3rver {
    my (@buckets) = @_;
    my $dir = tempdir('s3plugin-s3rver-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $port_file = "$dir/port";
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        chdir($ROOT);
        open(STDOUT, '>', "$dir/stdout.log");
        open(STDERR, '>', "$dir/stderr.log");
        exec(deno_bin(), 'run', '-A', "$ROOT/perl/t/tools/s3rver.ts", "$dir/data", $port_file,
            @buckets) or die "cannot exec deno: $!";
    }
    for (1 .. 600) {
        last if -s $port_file;
        if (waitpid($pid, WNOHANG) == $pid) {
            my $log = `cat $dir/stderr.log`;
            die "s3rver exited before listening: $log";
        }
        sleep(0.1);
    }
    die "s3rver did not start within 60 s\n" if !-s $port_file;
    my $port = `cat $port_file` + 0;
    return {
        name => 's3rver', endpoint => '127.0.0.1', port => $port, access_key => 'S3RVER',
        secret_key => 'S3RVER', bucket => $buckets[0], region => 'us-east-1', pid => $pid,
        stop => sub { kill('TERM', $pid); waitpid($pid, 0); },
    };
}

# A throw-away Ceph cluster with RGW on a free port. Buckets are created with the client.
sub start_rgw {
    my $lab = tempdir('s3plugin-rgw-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    rmdir($lab);
    my $port = free_port();
    my $script = abs_path("$ROOT/../shared/tools/radosgw/start.sh")
        // die "radosgw start script not found next to the repository\n";
    local $ENV{CEPH_LAB} = $lab;
    local $ENV{RGW_PORT} = $port;
    my $out = `$script 2>&1`;
    die "RGW failed to start:\n$out" if $? != 0;
    return {
        name => 'rgw', endpoint => '127.0.0.1', port => $port,
        access_key => 'RGWTESTACCESSKEY0001',
        secret_key => 'rgw-test-secret-key-0001-xxxxxxxxxxxxxxxx',
        region => 'us-east-1', lab => $lab,
        stop => sub {
            local $ENV{CEPH_LAB} = $lab;
            my $stop = dirname($script) . '/stop.sh';
            system("$stop >/dev/null 2>&1");
        },
    };
}

# The appliance gateway (src/main.ts serve), once it exists.
sub start_gateway {
    my $dir = tempdir('s3plugin-gw-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        chdir($ROOT);
        open(STDOUT, '>', "$dir/stdout.log");
        open(STDERR, '>', "$dir/stderr.log");
        exec(deno_bin(), 'run', '-A', 'src/main.ts', 'serve', '--data-dir', "$dir/data",
            '--api-listen', '127.0.0.1:0', '--s3-listen', '127.0.0.1:0', '--iscsi-listen',
            '127.0.0.1:0') or die "cannot exec deno: $!";
    }
    my ($listen, $creds);
    for (1 .. 900) {
        if (-s "$dir/data/listen.json" && -s "$dir/data/admin-credentials.json") {
            $listen = eval { JSON::decode_json(`cat $dir/data/listen.json`) };
            $creds = eval { JSON::decode_json(`cat $dir/data/admin-credentials.json`) };
            last if $listen && $creds;
        }
        if (waitpid($pid, WNOHANG) == $pid) {
            die "gateway exited before listening: " . `cat $dir/stderr.log`;
        }
        sleep(0.1);
    }
    die "gateway did not start within 90 s\n" if !$listen;
    my $s3 = $listen->{s3} // $listen->{s3Listen} // die "listen.json has no s3 address\n";
    $s3 = "$s3->{hostname}:$s3->{port}" if ref($s3);
    my ($host, $port) = $s3 =~ m/^(?:https?:\/\/)?([^:\/]+):(\d+)/;
    return {
        name => 'gateway', endpoint => $host, port => $port,
        access_key => $creds->{accessKeyId}, secret_key => $creds->{secretAccessKey},
        bucket => $creds->{bucket}, region => 'us-east-1', pid => $pid,
        stop => sub { kill('TERM', $pid); waitpid($pid, 0); },
    };
}

1;
