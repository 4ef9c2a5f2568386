package PluginSuite;

# Every plugin operation, driven the way PVE drives it (through the PVE::Storage stand-in),
# against one real S3 server. Used by plugin_s3rver.t, plugin_rgw.t and plugin_gateway.t.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use List::Util ();
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(time);

use PVE::Storage;
use PVE::Storage::Custom::S3Plugin::Config;
use PVE::Storage::Custom::S3Plugin::Multipart;
use PVE::Storage::Custom::S3Plugin::Sync;
use POSIX ();

my $PLUGIN = 'PVE::Storage::Custom::S3Plugin';

sub write_file {
    my ($path, $data) = @_;
    open(my $fh, '>:raw', $path) or die "cannot write $path: $!";
    print {$fh} $data;
    close($fh);
}

sub slurp {
    my ($path) = @_;
    open(my $fh, '<:raw', $path) or die "cannot read $path: $!";
    local $/;
    return scalar(<$fh>);
}

sub run {
    my ($srv, %opt) = @_;
    my $tmp = tempdir('s3plugin-suite-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    local $ENV{S3PLUGIN_PRIV_DIR} = "$tmp/priv";
    local $ENV{S3PLUGIN_STATE_DIR} = "$tmp/state";
    PVE::Storage::Plugin::unregister_all();
    PVE::Storage::load_custom_plugin($PLUGIN);

    my $bucket = $srv->{bucket} // "pve-$srv->{name}-" . int(rand(1e6));
    my %secrets = ('access-key' => $srv->{access_key}, 'secret-key' => $srv->{secret_key});
    my $storeid = 's3test';
    my $raw = {
        type => 's3', endpoint => $srv->{endpoint}, port => $srv->{port}, bucket => $bucket,
        region => $srv->{region}, prefix => 'cluster-a', 'use-ssl' => 0, 'path-style' => 1,
        content => 'backup,iso,vztmpl,snippets,import', 'multipart-part-size' => 5,
        'multipart-concurrency' => 3, 'max-protected-backups' => 1,
    };
    my $scfg = $PLUGIN->check_config($storeid, $raw, 1, 0);
    $scfg->{type} = 's3';
    $scfg->{path} = "$tmp/cache";
    eval { $PLUGIN->check_config('x', { %$raw, 'multipart-part-size' => 1 }, 1, 0) };
    like($@, qr/multipart-part-size/, "$srv->{name}: config rejects a part size below 5 MiB");
    eval { $PLUGIN->check_config('x', { %$raw, port => 70000 }, 1, 0) };
    like($@, qr/port/, "$srv->{name}: config rejects an out-of-range port");

    my $s3 = PVE::Storage::Custom::S3Plugin::Config::client($storeid, $scfg, secrets => \%secrets);
    $s3->create_bucket() if !$srv->{bucket};

    # on_add_hook: clear errors for wrong endpoint, missing bucket, bad credentials
    eval { $PLUGIN->on_add_hook($storeid, { %$scfg, bucket => 'no-such-bucket-here' }, %secrets) };
    like($@, qr/bucket 'no-such-bucket-here' does not exist/, "$srv->{name}: add: missing bucket explained");
    eval { $PLUGIN->on_add_hook($storeid, { %$scfg, port => S3Test::free_port() }, %secrets) };
    like($@, qr/cannot connect to endpoint 127\.0\.0\.1:\d+ \(connection refused\)/,
        "$srv->{name}: add: wrong endpoint explained");
    eval { $PLUGIN->on_add_hook($storeid, $scfg, %secrets, 'access-key' => 'NOSUCHKEY0000') };
    like($@, qr/access key 'NOSUCHKEY0000' rejected/, "$srv->{name}: add: unknown access key explained");
    if ($srv->{checks_signatures}) {
        eval { $PLUGIN->on_add_hook($storeid, $scfg, %secrets, 'secret-key' => 'wrong-secret') };
        like($@, qr/secret key rejected/, "$srv->{name}: add: wrong secret key explained");
    }
    if ($srv->{checks_region}) {
        eval { $PLUGIN->on_add_hook($storeid, { %$scfg, region => 'eu-central-1' }, %secrets) };
        like($@, qr/expects requests signed for region '\Q$srv->{region}\E', but the storage is configured for region 'eu-central-1' \(set region \Q$srv->{region}\E\)/,
            "$srv->{name}: add: wrong region explained with the region the server names");
        my $eu = PVE::Storage::Custom::S3Plugin::Config::client($storeid, { %$scfg, region => 'eu-central-1' },
            secrets => \%secrets);
        eval { $eu->list_objects('cluster-a/') };
        like($@, qr/listing of 'cluster-a\/' failed: .*set region \Q$srv->{region}\E/,
            "$srv->{name}: a listing signed for the wrong region fails with the same explanation");
    }
    ok(!-e PVE::Storage::Custom::S3Plugin::Config::secrets_file($storeid),
        "$srv->{name}: failed adds leave no secrets behind");
    eval { $PLUGIN->on_add_hook($storeid, $scfg, %secrets) };
    is($@, '', "$srv->{name}: on_add_hook succeeds");
    my $sf = PVE::Storage::Custom::S3Plugin::Config::secrets_file($storeid);
    is((stat($sf))[2] & 07777, 0600, "$srv->{name}: secrets file is mode 0600");
    ok(!exists($scfg->{'access-key'}) && !exists($scfg->{'secret-key'}),
        "$srv->{name}: the storage section (storage.cfg) holds no credentials");

    my $cfg = { ids => { $storeid => $scfg } };
    PVE::Storage::activate_storage($cfg, $storeid);
    ok(-d "$tmp/cache/template/iso" && -d "$tmp/cache/dump", "$srv->{name}: cache dirs prepared");
    unlike(slurp("$tmp/state/$storeid/config.json"), qr/\Q$srv->{secret_key}\E/,
        "$srv->{name}: the helper's config copy holds no secret");
    my @warn;
    my $st = PVE::Storage::storage_status($cfg, $storeid, \@warn);
    is($st->{active}, 1, "$srv->{name}: status active");
    cmp_ok($st->{total}, '>', 0, "$srv->{name}: status reports a total");

    # An ISO uploaded through the GUI lands in path/template/iso; the helper uploads it.
    my $iso = "my image \xc3\xbc.iso";
    my $iso_data = join('', map { chr(($_ * 7) % 256) } 1 .. 300_000);
    write_file("$tmp/cache/template/iso/$iso", $iso_data);
    my $vols = PVE::Storage::volume_list($cfg, $storeid, undef, 'iso');
    is_deeply([map { $_->{volid} } @$vols], ["$storeid:iso/$iso"], "$srv->{name}: pending ISO listed");
    my @up = PVE::Storage::Custom::S3Plugin::Sync::sync_storage($PLUGIN, $storeid, $scfg, settle => 0);
    is_deeply(\@up, [$iso], "$srv->{name}: helper pass uploads the ISO");
    unlink("$tmp/cache/template/iso/$iso");
    $vols = PVE::Storage::volume_list($cfg, $storeid, undef, 'iso');
    is($vols->[0]->{size}, length($iso_data), "$srv->{name}: ISO listed from S3 with its size");
    is($vols->[0]->{format}, 'iso', "$srv->{name}: ISO format");
    PVE::Storage::activate_volumes($cfg, ["$storeid:iso/$iso"]);
    my ($path) = PVE::Storage::path($cfg, "$storeid:iso/$iso");
    is($path, "$tmp/cache/template/iso/$iso", "$srv->{name}: path() is the cache path");
    is(md5_hex(slurp($path)), md5_hex($iso_data), "$srv->{name}: activate_volume downloads it");

    # ETag validation: the object changes remotely -> the cache copy is replaced.
    my $key = PVE::Storage::Custom::S3Plugin::Config::object_key($scfg, 'iso', $iso);
    $s3->put_object($key, content => "changed");
    PVE::Storage::activate_volumes($cfg, ["$storeid:iso/$iso"]);
    is(slurp($path), 'changed', "$srv->{name}: stale cache copy replaced after ETag change");

    # 0-byte file, big multipart file, snippets
    write_file("$tmp/cache/snippets/empty.yaml", '');
    my $big = join('', map { md5_hex($_) } 1 .. 400_000); # 12.8 MB -> 3 parts of 5 MiB
    write_file("$tmp/cache/template/cache/debian-12.tar.zst", $big);
    @up = sort(PVE::Storage::Custom::S3Plugin::Sync::sync_storage($PLUGIN, $storeid, $scfg, settle => 0));
    is_deeply(\@up, ['debian-12.tar.zst', 'empty.yaml'], "$srv->{name}: 0-byte and multipart files uploaded");
    unlink("$tmp/cache/snippets/empty.yaml", "$tmp/cache/template/cache/debian-12.tar.zst");
    PVE::Storage::activate_volumes($cfg, ["$storeid:snippets/empty.yaml", "$storeid:vztmpl/debian-12.tar.zst"]);
    is(-s "$tmp/cache/snippets/empty.yaml", 0, "$srv->{name}: 0-byte file restored");
    is(md5_hex(slurp("$tmp/cache/template/cache/debian-12.tar.zst")), md5_hex($big),
        "$srv->{name}: multipart object downloaded in parallel ranges intact");
    my ($tmpl) = grep { $_->{volid} =~ /debian/ } @{ PVE::Storage::volume_list($cfg, $storeid, undef, 'vztmpl') };
    is($tmpl->{format}, 'tzst', "$srv->{name}: vztmpl format as PVE names it");

    # Bad names
    for my $bad ('iso/../../etc/passwd.iso', 'snippets/..', 'backup/../x.vma', 'iso/a/b.iso') {
        eval { PVE::Storage::path($cfg, "$storeid:$bad") };
        like($@, qr/volume name/, "$srv->{name}: '$bad' rejected");
    }

    # Backups: vzdump writes .dat, renames, then notes/protected/prune
    my @names = map { sprintf('vzdump-qemu-100-2024_01_%02d-10_00_00.vma.zst', $_) } 1 .. 4;
    for my $n (@names) {
        write_file("$tmp/cache/dump/$n", "\x28\xB5\x2F\xFD" . "backup $n" x 100);
    }
    write_file("$tmp/cache/dump/vzdump-lxc-101-2024_01_05-10_00_00.tar.gz", "\x1F\x8B lxc");
    (my $log1 = $names[1]) =~ s/\.vma\.zst$/.log/;
    write_file("$tmp/cache/dump/$log1", "INFO: starting new backup job\n");
    PVE::Storage::Custom::S3Plugin::Sync::sync_storage($PLUGIN, $storeid, $scfg, settle => 0);
    ok($s3->head_object("cluster-a/dump/$log1"), "$srv->{name}: vzdump task log uploaded next to the archive");
    my $notes = "nightly \x{2603} run\nsecond line";
    PVE::Storage::update_volume_attribute($cfg, "$storeid:backup/$names[0]", 'notes', $notes);
    PVE::Storage::update_volume_attribute($cfg, "$storeid:backup/$names[0]", 'protected', 1);
    eval { PVE::Storage::update_volume_attribute($cfg, "$storeid:backup/$names[1]", 'protected', 1) };
    like($@, qr/limited to 1/, "$srv->{name}: max-protected-backups enforced from list_volumes");
    my $list = PVE::Storage::volume_list($cfg, $storeid, 100, 'backup');
    is(scalar(@$list), 4, "$srv->{name}: backups of VM 100 listed (not the lxc one)");
    my ($first) = grep { $_->{volid} =~ /$names[0]/ } @$list;
    is($first->{notes}, $notes, "$srv->{name}: notes round-trip (unicode, multi-line)");
    is($first->{protected}, 1, "$srv->{name}: protected listed");
    is($first->{vmid}, 100, "$srv->{name}: vmid from the name");
    is($first->{subtype}, 'qemu', "$srv->{name}: subtype");
    is($first->{format}, 'vma.zst', "$srv->{name}: backup format");
    is(PVE::Storage::get_volume_attribute($cfg, "$storeid:backup/$names[0]", 'notes'), $notes,
        "$srv->{name}: get_volume_attribute notes");
    eval { PVE::Storage::vdisk_free($cfg, "$storeid:backup/$names[0]") };
    like($@, qr/cannot remove protected volume/, "$srv->{name}: protected backup not removable");

    my $logs = [];
    my $marks = PVE::Storage::prune_backups($cfg, $storeid, { 'keep-last' => 1 }, 100, 'qemu', 1);
    my %m = map { ($_->{volid} =~ s/^.*\///r => $_->{mark}) } @$marks;
    is_deeply(\%m, { $names[0] => 'protected', $names[1] => 'remove', $names[2] => 'remove',
        $names[3] => 'keep' }, "$srv->{name}: prune dry run marks (protected ignored, keep-last 1)");
    PVE::Storage::prune_backups($cfg, $storeid, { 'keep-last' => 1 }, 100, 'qemu', 0,
        sub { push @$logs, $_[1] });
    $list = PVE::Storage::volume_list($cfg, $storeid, undef, 'backup');
    is_deeply([sort map { $_->{volid} =~ s/^.*\///r } @$list],
        [sort($names[0], $names[3], 'vzdump-lxc-101-2024_01_05-10_00_00.tar.gz')],
        "$srv->{name}: prune removed exactly the marked backups (S3 and cache)");
    is(scalar(@$logs), 2, "$srv->{name}: prune logged each removal");
    ok(!$s3->head_object("cluster-a/dump/$log1") && !-e "$tmp/cache/dump/$log1",
        "$srv->{name}: the task log went with its backup");

    PVE::Storage::update_volume_attribute($cfg, "$storeid:backup/$names[0]", 'protected', 0);
    PVE::Storage::vdisk_free($cfg, "$storeid:backup/$names[0]");
    my ($objs) = $s3->list_objects(PVE::Storage::Custom::S3Plugin::Config::key_prefix($scfg) . 'dump/');
    ok(!grep({ $_->{key} =~ /\Q$names[0]\E/ } @$objs), "$srv->{name}: free_image removed object and sidecars");

    # volume_size_info
    is(scalar($PLUGIN->volume_size_info($scfg, $storeid, "iso/$iso")), 7, "$srv->{name}: volume_size_info");

    # metrics were written
    my $metrics = PVE::Storage::Custom::S3Plugin::Config::read_json("$tmp/state/$storeid/metrics.json");
    is($metrics->{operations}->{mpu_part}->{parts}, 3, "$srv->{name}: metrics count the 3 parts");
    is($metrics->{operations}->{mpu_part}->{requests}, 3,
        "$srv->{name}: part requests counted once (workers report only their own)");
    my $h = $metrics->{operations}->{get}->{buckets};
    is(List::Util::sum(@$h), $metrics->{operations}->{get}->{requests},
        "$srv->{name}: latency histogram holds every request");
    ok(-s "$tmp/state/$storeid/metrics.prom", "$srv->{name}: prometheus textfile written");
    my $usage = PVE::Storage::Custom::S3Plugin::Config::read_json("$tmp/state/$storeid/usage.json");
    cmp_ok($usage->{bytes}, '>', 0, "$srv->{name}: used bytes tracked");

    $opt{more}->($cfg, $storeid, $scfg, $s3, $tmp) if $opt{more};

    # endpoint down -> offline fast and listing fails clearly
    my $down = { %$scfg, port => S3Test::free_port() };
    my $dcfg = { ids => { $storeid => $down } };
    unlink("$tmp/state/$storeid/health.json");
    my $t0 = time();
    my @w;
    my $ds = PVE::Storage::storage_status($dcfg, $storeid, \@w);
    my $took = time() - $t0;
    is($ds->{active}, 0, "$srv->{name}: status inactive when the endpoint is down");
    cmp_ok($took, '<', 2.5, "$srv->{name}: status answered in ${took}s");
    like(join('', @w), qr/not online/, "$srv->{name}: activation explains the storage is not online");
    eval { $PLUGIN->list_volumes($storeid, $down, undef, ['iso']) };
    like($@, qr/listing of .* failed: cannot connect to endpoint/, "$srv->{name}: listing fails clearly");

    $PLUGIN->on_delete_hook($storeid, $scfg);
    ok(!-e $sf, "$srv->{name}: on_delete_hook removes the secrets");
}

# Extra cases for servers with full multipart support (ListParts, ListMultipartUploads, AWS-style
# multipart ETags): resume after a killed upload, stale-upload cleanup, following a growing
# vzdump archive through its .dat -> final rename.
sub rgw_extras {
    my ($cfg, $storeid, $scfg, $s3, $tmp) = @_;
    my $name = $s3->{endpoint} . ':' . $s3->{port};
    my $file = "$tmp/resume.bin";
    write_file($file, join('', map { md5_hex("r$_") } 1 .. 700_000)); # 22.4 MB -> 5 parts
    my $state = "$tmp/resume.state";
    my $key = 'cluster-a/resume.bin';
    my $pid = fork() // die;
    if (!$pid) {
        my $c = PVE::Storage::Custom::S3Plugin::Config::client($storeid, $scfg,
            client => { bwlimit => 4096 }); # ~4 MiB/s so the kill lands mid-upload
        eval { PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $c, key => $key,
            file => $file, state_file => $state, part_size => 5 * 1024 * 1024, concurrency => 1) };
        POSIX::_exit(0);
    }
    my $parts = 0;
    for (1 .. 300) {
        my $st = PVE::Storage::Custom::S3Plugin::Config::read_json($state);
        $parts = $st ? scalar(keys %{ $st->{parts} }) : 0;
        last if $parts >= 2;
        Time::HiRes::sleep(0.1);
    }
    kill('KILL', $pid);
    waitpid($pid, 0);
    cmp_ok($parts, '>=', 2, "$name: upload interrupted after $parts parts");
    my $res = PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $s3, key => $key,
        file => $file, state_file => $state, part_size => 5 * 1024 * 1024, concurrency => 2);
    cmp_ok($res->{resumed_parts}, '>=', 2, "$name: resumed upload reused $res->{resumed_parts} parts");
    like($res->{etag}, qr/^[0-9a-f]{32}-5$/, "$name: final ETag is the verified md5-of-md5s");
    is(md5_hex($s3->get_object($key)), md5_hex(slurp($file)), "$name: resumed object is intact");
    ok(!-e $state, "$name: upload state removed after completion");

    my $id = $s3->create_multipart('cluster-a/stale.bin');
    my @aborted = PVE::Storage::Custom::S3Plugin::Multipart::cleanup_stale($s3, 'cluster-a/',
        3600, time() + 7200);
    ok((grep { $_ eq 'cluster-a/stale.bin' } @aborted), "$name: stale multipart upload aborted");
    ok(!grep({ $_->{upload_id} eq $id } @{ $s3->list_multipart_uploads('cluster-a/') }),
        "$name: no stale upload left");

    # vzdump: <name>.vma.dat grows, then is renamed to <name>.vma.zst
    my $base = 'vzdump-qemu-200-2024_02_01-03_00_00.vma';
    my $dat = "$tmp/cache/dump/$base.dat";
    my $writer = fork() // die;
    if (!$writer) {
        open(my $fh, '>:raw', $dat) or die;
        $fh->autoflush(1);
        print {$fh} "\x28\xB5\x2F\xFD";
        for my $i (1 .. 8) {
            print {$fh} join('', map { md5_hex("d$i-$_") } 1 .. 60_000); # ~1.9 MB a step
            Time::HiRes::sleep(0.4);
        }
        close($fh);
        rename($dat, "$tmp/cache/dump/$base.zst");
        POSIX::_exit(0);
    }
    Time::HiRes::sleep(0.2) until -s $dat;
    my @done = PVE::Storage::Custom::S3Plugin::Sync::sync_storage('PVE::Storage::Custom::S3Plugin',
        $storeid, $scfg, settle => 3, poll => 0.2);
    waitpid($writer, 0);
    is_deeply(\@done, ["$base.dat"], "$name: helper followed the growing archive");
    my $obj = $s3->head_object("cluster-a/dump/$base.zst");
    is($obj && $obj->{size}, -s "$tmp/cache/dump/$base.zst", "$name: archive uploaded under its final name");
    is(md5_hex($s3->get_object("cluster-a/dump/$base.zst")), md5_hex(slurp("$tmp/cache/dump/$base.zst")),
        "$name: followed upload is byte-identical");
    @done = PVE::Storage::Custom::S3Plugin::Sync::sync_storage('PVE::Storage::Custom::S3Plugin',
        $storeid, $scfg, settle => 0);
    is_deeply(\@done, [], "$name: finished archive is marked synced, not uploaded twice");
}

1;
