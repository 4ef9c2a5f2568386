#!/usr/bin/perl
# HTTPS for real: the appliance gateway speaking HTTPS itself (--s3-tls-cert/--s3-tls-key, with
# certificates made by openssl here), reached by the plugin's client through both of its HTTP paths
# (HTTP::Tiny for requests, S3Plugin::Stream for downloads): a certificate from a custom CA with
# 'ca-file', a self-signed one refused without a pin, accepted with the right fingerprint, refused
# with a wrong one (naming the presented fingerprint), and accepted with verify-ssl 0.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use File::Temp qw(tempdir);
use Test::More;

use PVE::Storage::Custom::S3Plugin::Cache;
use PVE::Storage::Custom::S3Plugin::Multipart;
use PVE::Storage::Custom::S3Plugin::Objects;
use S3Test;

die "openssl is required for the TLS tests\n" if system('openssl version >/dev/null 2>&1') != 0;
my $tmp = tempdir('s3plugin-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);
$ENV{S3PLUGIN_STATE_DIR} = "$tmp/state";
delete $ENV{$_} for qw(SSL_CERT_FILE SSL_CERT_DIR);
my $certs = S3Test::make_certs($tmp);
my $signed = S3Test::start_gateway(tls => $certs->{server});
my $self_signed = S3Test::start_gateway(tls => $certs->{self});

sub client {
    my ($gw, %o) = @_;
    return PVE::Storage::Custom::S3Plugin::Objects->new(endpoint => '127.0.0.1', port => $gw->{port},
        use_ssl => 1, bucket => $gw->{bucket}, access_key => $gw->{access_key},
        secret_key => $gw->{secret_key}, retries => 0, timeout => 10, %o);
}

# Upload (HTTP::Tiny, multipart), ranged parallel download (Stream) and a whole-object download.
sub round_trip {
    my ($s3, $name) = @_;
    my $file = "$tmp/$name.bin";
    open(my $fh, '>:raw', $file) or die;
    print {$fh} join('', map { md5_hex("$name$_") } 1 .. 400_000); # 12.8 MB -> 3 parts
    close($fh);
    my $up = PVE::Storage::Custom::S3Plugin::Multipart::upload(s3 => $s3, key => "tls/$name.bin",
        file => $file, part_size => 5 * 1024 * 1024, concurrency => 2);
    is($up->{parts}, 3, "$name: multipart upload over TLS");
    my $got = "$tmp/$name.down";
    PVE::Storage::Custom::S3Plugin::Cache::fetch($s3, 'tls', 'iso', "$name.down", $got,
        "tls/$name.bin", chunk => 5 * 1024 * 1024, concurrency => 2);
    open($fh, '<:raw', $got) or die;
    my $down = Digest::MD5->new->addfile($fh)->hexdigest;
    open($fh, '<:raw', $file) or die;
    is($down, Digest::MD5->new->addfile($fh)->hexdigest, "$name: ranged download over TLS is intact");
    open(my $out, '+>', "$tmp/$name.single") or die;
    my $one = $s3->get_object("tls/$name.bin", fh => $out);
    is($one->{size}, -s $file, "$name: single-stream download over TLS");
}

my $ok = eval {
    # A custom CA, configured with ca-file.
    my $ca = client($signed, ca_file => $certs->{ca});
    ok($ca->check_bucket, 'ca-file: certificate signed by the configured CA is trusted');
    round_trip($ca, 'ca');

    # The same certificate without its CA: refused, for requests and for downloads.
    my $no_ca = client($signed);
    eval { $no_ca->check_bucket };
    like($@, qr/TLS certificate of 127\.0\.0\.1:$signed->{port} is not trusted \(it presents SHA-256 fingerprint \Q$certs->{fingerprint}->{server}\E\): set 'ca-file'/,
        'without its CA the certificate is refused, explained');
    open(my $sink, '+>', "$tmp/refused") or die;
    eval { $no_ca->get_object('tls/ca.bin', fh => $sink) };
    like($@, qr/is not trusted/, 'the download path refuses it too');

    # Self-signed: refused without a pin, even with a CA file that did not sign it.
    for my $o ([], [ca_file => $certs->{ca}]) {
        eval { client($self_signed, @$o)->check_bucket };
        like($@, qr/TLS certificate of 127\.0\.0\.1:\d+ is not trusted/,
            'self-signed certificate refused without fingerprint' . (@$o ? ' (other CA configured)' : ''));
    }

    # The right fingerprint pins it (with or without colons, any case).
    my $fp = $certs->{fingerprint}->{self};
    my $pinned = client($self_signed, fingerprint => $fp);
    ok($pinned->check_bucket, 'right fingerprint accepted');
    round_trip($pinned, 'pinned');
    (my $bare = lc($fp)) =~ s/://g;
    ok(client($self_signed, fingerprint => $bare)->check_bucket,
        'fingerprint without colons, lower case, accepted');

    # A wrong fingerprint: refused with the one the server presents, on both paths.
    my $wrong = client($self_signed, fingerprint => $certs->{fingerprint}->{server});
    eval { $wrong->check_bucket };
    like($@, qr/TLS certificate of 127\.0\.0\.1:\d+ does not match the configured fingerprint \Q$certs->{fingerprint}->{server}\E \(it presents SHA-256 fingerprint \Q$fp\E\)/,
        'wrong fingerprint refused, naming the presented one');
    eval { $wrong->get_object('tls/pinned.bin', fh => $sink) };
    like($@, qr/does not match the configured fingerprint/, 'wrong fingerprint refused on the download path');
    # As with PVE's other fingerprint options, the pin is for certificates the node does not
    # trust: one the configured CA signed is accepted whatever the fingerprint says.
    ok(client($signed, fingerprint => $fp, ca_file => $certs->{ca})->check_bucket,
        'a certificate trusted through ca-file is accepted even with another fingerprint set');

    # verify-ssl 0 accepts the self-signed certificate without a pin.
    my $noverify = client($self_signed, verify_ssl => 0);
    ok($noverify->check_bucket, 'verify-ssl 0 accepts a self-signed certificate');
    open($sink, '+>', "$tmp/noverify") or die;
    is($noverify->get_object('tls/pinned.bin', fh => $sink)->{size}, 12_800_000,
        'verify-ssl 0: download path too');
    1;
};
fail("TLS tests died: $@") if !$ok;
$_->{stop}->() for $signed, $self_signed;
done_testing();
