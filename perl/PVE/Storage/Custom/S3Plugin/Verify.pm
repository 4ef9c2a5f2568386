package PVE::Storage::Custom::S3Plugin::Verify;

# Checks a downloaded file against what the server says the object is. When the server keeps the
# object's S3 CRC32 (the plugin sends one with every upload; HEAD asks for it), the downloaders
# compute CRC32s while writing, which costs a seventh of the CPU time of MD5: a full-object
# checksum is checked by joining the ranges' CRC32s (crc32_combine), a composite one ("...-N", a
# multipart upload) from the parts' CRC32s when the ranges are the parts. Otherwise MD5 against
# the ETag: plain, or md5-of-md5s for a multipart object whose part size is known.

use strict;
use warnings;

use Compress::Raw::Zlib ();
use Digest::MD5;
use MIME::Base64 qw(decode_base64);

use PVE::Storage::Custom::S3Plugin::Client;
use PVE::Storage::Custom::S3Plugin::Multipart;

=head3 algorithm

    my $alg = algorithm($head, $range_size); # 'crc32' or 'md5'

The digest the downloaders compute for an object (C<$head> from head_object), downloaded in
ranges of C<$range_size> bytes (undef: one stream).

=cut

sub algorithm {
    my ($head, $range_size) = @_;
    my $crc = $head->{crc32} // return 'md5';
    return 'crc32' if $crc !~ /-\d+$/;
    my $ps = $head->{meta}->{'s3plugin-part-size'};
    return $ps && $range_size && $ps == $range_size ? 'crc32' : 'md5';
}

=head3 check

    check($key, $file, $head, $alg, [[$digest, $length], ...], $range_size);

Dies with a plain message unless C<$file> (the whole download, already of the right size) is the
object. The ranges' digests are those of C<$alg>, in order (one range for one stream).

=cut

sub check {
    my ($key, $file, $head, $alg, $ranges, $range_size) = @_;
    if ($alg eq 'crc32') {
        my $want = $head->{crc32};
        my $got = $want =~ /-(\d+)$/ ? _composite($ranges) : _combined($ranges);
        die "download of '$key' is corrupt: CRC32 $got, the server's checksum is $want\n"
            if $got ne $want;
        return;
    }
    my $etag = $head->{etag} // '';
    my $ps = $head->{meta}->{'s3plugin-part-size'};
    if ($etag =~ /^[0-9a-f]{32}$/) {
        my $md5 = @$ranges == 1 ? $ranges->[0]->[0] : _md5_file($file);
        die "download of '$key' is corrupt: MD5 $md5, ETag $etag\n" if $md5 ne $etag;
    } elsif ($etag =~ /-\d+$/ && $ps) {
        # Ranges aligned with the upload's parts hash to the part MD5s: no second read.
        my $got = $range_size && $ps == $range_size
            ? PVE::Storage::Custom::S3Plugin::Multipart::expected_etag(map { $_->[0] } @$ranges)
            : _md5_of_parts($file, $ps);
        die "download of '$key' is corrupt: parts hash to $got, ETag $etag\n" if $got ne $etag;
    }
}

sub _crc_value { unpack('N', decode_base64($_[0])) }

sub _combined {
    my ($ranges) = @_;
    my $crc = 0;
    $crc = Compress::Raw::Zlib::crc32_combine($crc, _crc_value($_->[0]), $_->[1]) for @$ranges;
    return PVE::Storage::Custom::S3Plugin::Client::crc32_base64($crc);
}

sub _composite {
    my ($ranges) = @_;
    return PVE::Storage::Custom::S3Plugin::Client::crc32_composite(map { $_->[0] } @$ranges);
}

sub _md5_file {
    my ($file) = @_;
    open(my $fh, '<:raw', $file) or die "cannot read '$file': $!\n";
    return Digest::MD5->new->addfile($fh)->hexdigest;
}

sub _md5_of_parts {
    my ($file, $part_size) = @_;
    open(my $fh, '<:raw', $file) or die "cannot read '$file': $!\n";
    my @md5;
    while (1) {
        my ($d, $left) = (Digest::MD5->new, $part_size);
        my $got = 0;
        while ($left > 0) {
            my $n = sysread($fh, my $buf, $left < 1048576 ? $left : 1048576);
            die "read error on '$file': $!\n" if !defined($n);
            last if !$n;
            $d->add($buf);
            ($left, $got) = ($left - $n, $got + $n);
        }
        last if !$got;
        push @md5, $d->hexdigest;
    }
    return PVE::Storage::Custom::S3Plugin::Multipart::expected_etag(@md5);
}

1;
