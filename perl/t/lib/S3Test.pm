package S3Test;

# Real S3 servers for the plugin tests: s3rver (npm, run under Deno) and Ceph RGW
# (../shared/tools/radosgw/start.sh). Each server is started by the test on 127.0.0.1 with a free
# port and stopped again by PID (or by the RGW stop script for the PIDs it recorded).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use JSON;
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

# SIGTERM, then SIGKILL if the process has not exited after $grace seconds.
sub stop_pid {
    my ($pid, $grace) = @_;
    kill('TERM', $pid);
    for (1 .. ($grace // 15) * 10) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep(0.1);
    }
    kill('KILL', $pid);
    waitpid($pid, 0);
}

# Runs perl/t/tools/<tool>.ts and waits for its port file: (pid, port, its temp dir).
sub _start_tool {
    my ($tool, @args) = @_;
    my $dir = tempdir("s3plugin-$tool-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    my $port_file = "$dir/port";
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        chdir($ROOT);
        open(STDOUT, '>', "$dir/stdout.log");
        open(STDERR, '>', "$dir/stderr.log");
        exec(deno_bin(), 'run', '-A', "$ROOT/perl/t/tools/$tool.ts", map({ s/^DIR/$dir/r } @args),
            $port_file) or die "cannot exec deno: $!";
    }
    for (1 .. 600) {
        last if -s $port_file;
        if (waitpid($pid, WNOHANG) == $pid) {
            my $log = `cat $dir/stderr.log`;
            die "$tool exited before listening: $log";
        }
        sleep(0.1);
    }
    if (!-s $port_file) {
        stop_pid($pid);
        die "$tool did not start within 60 s\n";
    }
    return ($pid, scalar(`cat $port_file`) + 0, $dir);
}

# Returns { endpoint, port, access_key, secret_key, bucket, data_dir, stop => sub }.
sub start_s3rver {
    my (@buckets) = @_;
    my ($pid, $port, $dir) = _start_tool('s3rver', 'DIR/data', map { "--bucket=$_" } @buckets);
    return {
        name => 's3rver', endpoint => '127.0.0.1', port => $port, data_dir => "$dir/data",
        access_key => 'S3RVER',
        secret_key => 'S3RVER', bucket => $buckets[0], region => 'us-east-1', pid => $pid,
        stop => sub { stop_pid($pid) },
    };
}

# A multipart sink that hashes and discards the bytes (DiscardS3, a forked Perl server).
sub start_discard {
    require DiscardS3;
    my $dir = tempdir('s3plugin-discard-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my ($pid, $port) = DiscardS3::start($dir);
    return {
        name => 'discard', endpoint => '127.0.0.1', port => $port, access_key => 'ANY',
        secret_key => 'ANY', bucket => 'sink', region => 'us-east-1', pid => $pid,
        stop => sub { stop_pid($pid) },
    };
}

sub _port_in_use {
    my ($port) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
    return $sock ? 1 : 0;
}

# A lab RGW that is already running on this machine: start.sh binds its monitor to the fixed
# ports 3300/6789, so only one lab cluster can run at a time and a second start.sh would join
# the first one's monitor. Returns the RGW port from the running radosgw's ceph.conf.
sub _running_rgw_port {
    opendir(my $dh, '/proc') or return undef;
    for my $pid (grep { /^\d+$/ } readdir($dh)) {
        open(my $fh, '<', "/proc/$pid/cmdline") or next;
        my @argv = split(/\0/, do { local $/; <$fh> } // '');
        next if !@argv || $argv[0] !~ /(^|\/)radosgw$/;
        my ($conf) = map { $argv[$_ + 1] } grep { $argv[$_] eq '-c' } 0 .. $#argv - 1;
        open(my $cf, '<', $conf // next) or next;
        while (my $line = <$cf>) {
            return $1 if $line =~ /beast endpoint=127\.0\.0\.1:(\d+)/;
        }
    }
    return undef;
}

# Ceph RGW for a test: our own throw-away cluster on a free port when none runs, otherwise the
# running lab gateway (used with its standard test user and a bucket of our own; left running).
sub start_rgw {
    my %keys = (
        name => 'rgw', endpoint => '127.0.0.1', region => 'us-east-1', checks_signatures => 1,
        access_key => 'RGWTESTACCESSKEY0001',
        secret_key => 'rgw-test-secret-key-0001-xxxxxxxxxxxxxxxx',
    );
    my $script = abs_path("$ROOT/../shared/tools/radosgw/start.sh");
    die "radosgw start script not found at $ROOT/../shared/tools/radosgw/start.sh\n"
        if !$script || !-x $script;
    my $last_err = '';
    for my $try (1 .. 90) {
        if (_port_in_use(3300)) {
            my $port = _running_rgw_port();
            return { %keys, port => $port, stop => sub { } } if $port && _port_in_use($port);
            sleep(2); # another lab cluster is starting or stopping
            next;
        }
        my $lab = tempdir('s3plugin-rgw-XXXXXX', TMPDIR => 1, CLEANUP => 0);
        rmdir($lab);
        my $port = free_port();
        local $ENV{CEPH_LAB} = $lab;
        local $ENV{RGW_PORT} = $port;
        my $out = `$script 2>&1`;
        if ($? == 0) {
            return {
                %keys, port => $port, lab => $lab,
                stop => sub {
                    local $ENV{CEPH_LAB} = $lab;
                    system(dirname($script) . "/stop.sh >/dev/null 2>&1");
                },
            };
        }
        $last_err = $out;
        system(dirname($script) . "/stop.sh >/dev/null 2>&1"); # only what our lab recorded
        sleep(2);
    }
    die "RGW could not be started or reused within 3 minutes:\n$last_err";
}

# The appliance gateway (src/main.ts serve); with tls => [cert, key] (PEM files) it speaks HTTPS.
sub start_gateway {
    my (%opts) = @_;
    my $dir = tempdir('s3plugin-gw-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        chdir($ROOT);
        @ENV{qw(S3PLUGIN_S3_TLS_CERT S3PLUGIN_S3_TLS_KEY)} = @{ $opts{tls} } if $opts{tls};
        open(STDOUT, '>', "$dir/stdout.log");
        open(STDERR, '>', "$dir/stderr.log");
        exec(deno_bin(), 'run', '-A', 'src/main.ts', 'serve', '--data-dir', "$dir/data",
            '--api-listen', '127.0.0.1:0', '--s3-listen', '127.0.0.1:0', '--iscsi-listen',
            '127.0.0.1:0') or die "cannot exec deno: $!";
    }
    my ($listen, $creds);
    for (1 .. 900) {
        if (-s "$dir/data/listen.json" && -s "$dir/data/admin-credentials.json") {
            $listen = eval { decode_json(scalar(`cat $dir/data/listen.json`)) };
            $creds = eval { decode_json(scalar(`cat $dir/data/admin-credentials.json`)) };
            last if $listen && $creds;
        }
        if (waitpid($pid, WNOHANG) == $pid) {
            die "gateway exited before listening: " . `cat $dir/stderr.log`;
        }
        sleep(0.1);
    }
    if (!$listen) {
        stop_pid($pid);
        die "gateway did not start within 90 s\n";
    }
    my $s3 = $listen->{s3} // $listen->{s3Listen} // die "listen.json has no s3 address\n";
    $s3 = "$s3->{hostname}:$s3->{port}" if ref($s3);
    my ($host, $port) = $s3 =~ m/^(?:https?:\/\/)?([^:\/]+):(\d+)/;
    return {
        name => 'gateway', endpoint => $host, port => $port, data_dir => "$dir/data",
        access_key => $creds->{accessKeyId}, secret_key => $creds->{secretAccessKey},
        bucket => $creds->{bucket}, region => 'us-east-1', pid => $pid,
        stop => sub { stop_pid($pid) },
    };
}

# Certificates for TLS tests, made with openssl in $dir: a CA, a server certificate it signed, and
# a self-signed one (both for 127.0.0.1 / localhost). Returns paths and SHA-256 fingerprints.
sub make_certs {
    my ($dir) = @_;
    my $ext = "$dir/san.ext";
    open(my $fh, '>', $ext) or die "cannot write $ext: $!";
    print {$fh} "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
    close($fh);
    my @cmds = (
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=s3plugin-test-ca "
            . "-keyout $dir/ca.key -out $dir/ca.pem",
        "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout $dir/server.key "
            . "-out $dir/server.csr",
        "openssl x509 -req -days 2 -in $dir/server.csr -CA $dir/ca.pem -CAkey $dir/ca.key "
            . "-CAcreateserial -extfile $ext -out $dir/server.pem",
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
            . "-addext subjectAltName=IP:127.0.0.1 -keyout $dir/self.key -out $dir/self.pem",
    );
    for my $cmd (@cmds) {
        my $out = `$cmd 2>&1`;
        die "openssl failed ($cmd): $out" if $?;
    }
    my %fp;
    for my $name (qw(server self)) {
        my $out = `openssl x509 -noout -fingerprint -sha256 -in $dir/$name.pem`;
        ($fp{$name}) = $out =~ /=([0-9A-F:]+)/ or die "no fingerprint for $name: $out";
    }
    return {
        ca => "$dir/ca.pem", server => ["$dir/server.pem", "$dir/server.key"],
        self => ["$dir/self.pem", "$dir/self.key"], fingerprint => \%fp,
    };
}

1;
