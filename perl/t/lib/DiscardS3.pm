package DiscardS3;

# A sink that speaks just enough S3 for multipart uploads (create, upload part, complete, HEAD,
# abort, single PUT) and discards the bytes after hashing them, so very large uploads can be
# streamed without storing them. ETags are real: MD5 per part, MD5-of-MD5s for the completed
# object. No authentication; for tests only. One process per connection (keep-alive honoured),
# 4 MiB reads and one Digest::MD5 update per read, so the sink costs little more than the MD5
# itself; state (parts, objects) lives in files under a temporary directory.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX ();

use constant READ => 4 * 1024 * 1024;

# Forks the server; returns (pid, port). The caller stops it by PID.
sub start {
    my ($dir) = @_;
    my $srv = IO::Socket::INET->new(Listen => 32, LocalAddr => '127.0.0.1', LocalPort => 0,
        ReuseAddr => 1) or die "discard sink: listen: $!";
    my $port = $srv->sockport;
    my $pid = fork() // die "fork: $!";
    if (!$pid) {
        $SIG{PIPE} = 'IGNORE';
        $SIG{TERM} = sub { POSIX::_exit(0) };
        while (1) {
            my $c = $srv->accept or next;
            1 while waitpid(-1, POSIX::WNOHANG()) > 0; # finished connections
            my $h = fork() // next;
            if (!$h) {
                close($srv);
                $SIG{TERM} = 'DEFAULT';
                eval { _serve($c, $dir) };
                POSIX::_exit(0);
            }
            close($c);
        }
    }
    close($srv);
    return ($pid, $port);
}

sub _slurp { open(my $fh, '<', $_[0]) or return undef; local $/; return scalar(<$fh>) }

sub _spew {
    my ($path, $data) = @_;
    open(my $fh, '>', "$path.tmp") or die "cannot write $path: $!";
    print {$fh} $data;
    close($fh);
    rename("$path.tmp", $path) or die "cannot rename $path: $!";
}

sub _send {
    my ($c, $status, $headers, $body) = @_;
    $body //= '';
    my %h = (%{ $headers // {} });
    $h{'Content-Length'} //= length($body);
    my $out = "HTTP/1.1 $status\r\n" . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . "\r\n";
    $out .= $body;
    my $off = 0;
    while ($off < length($out)) {
        my $w = syswrite($c, $out, length($out) - $off, $off) // die "write: $!";
        $off += $w;
    }
}

sub _xml {
    my ($c, $status, $body) = @_;
    _send($c, $status, { 'Content-Type' => 'application/xml' },
        qq{<?xml version="1.0" encoding="UTF-8"?>$body});
}

sub _serve {
    my ($c, $dir) = @_;
    my $buf = '';
    while (1) {
        my $end;
        while (($end = index($buf, "\r\n\r\n")) < 0) {
            my $n = sysread($c, $buf, READ, length($buf));
            return if !$n;
        }
        my ($line, @lines) = split(/\r\n/, substr($buf, 0, $end));
        substr($buf, 0, $end + 4, '');
        my ($method, $target) = split(' ', $line);
        my %h = map { /^([^:]+):\s*(.*)$/ ? (lc($1) => $2) : () } @lines;
        my ($path, $query) = split(/\?/, $target, 2);
        my %q = map { my ($k, $v) = split(/=/, $_, 2); ($k => $v // '') } split(/&/, $query // '');
        # The body is hashed as it arrives (a completion's part list is read from the state files).
        my ($left, $md5) = ($h{'content-length'} // 0, Digest::MD5->new);
        my $size = $left;
        while ($left > 0) {
            if ($buf eq '') {
                my $n = sysread($c, $buf, $left < READ ? $left : READ);
                return if !$n;
            }
            if (length($buf) <= $left) {
                $md5->add($buf);
                $left -= length($buf);
                $buf = '';
            } else {
                $md5->add(substr($buf, 0, $left));
                substr($buf, 0, $left, '');
                $left = 0;
            }
        }
        my $key = md5_hex($path);
        my $upload = defined($q{uploadId}) ? "$dir/upload-" . ($q{uploadId} =~ s/\W//gr) : undef;
        if ($method eq 'POST' && exists($q{uploads})) {
            my $id = "$$" . int(rand(1e9));
            make_path("$dir/upload-$id");
            _xml($c, '200 OK', "<InitiateMultipartUploadResult><UploadId>$id</UploadId></InitiateMultipartUploadResult>");
        } elsif ($upload && !-d $upload && ($method eq 'PUT' || $method eq 'POST')) {
            _xml($c, '404 Not Found', '<Error><Code>NoSuchUpload</Code><Message>The specified upload '
                . 'does not exist.</Message></Error>');
        } elsif ($method eq 'PUT' && $upload) {
            my $hex = $md5->hexdigest;
            _spew("$upload/" . ($q{partNumber} + 0), "$hex $size");
            _send($c, '200 OK', { ETag => "\"$hex\"" });
        } elsif ($method eq 'POST' && $upload) {
            opendir(my $dh, $upload) or die;
            my @parts = sort { $a <=> $b } grep { /^\d+$/ } readdir($dh);
            my ($all, $total) = ('', 0);
            for my $n (@parts) {
                my ($hex, $bytes) = split(' ', _slurp("$upload/$n"));
                ($all, $total) = ($all . pack('H*', $hex), $total + $bytes);
            }
            my $etag = md5_hex($all) . '-' . scalar(@parts);
            _spew("$dir/object-$key", "$etag $total");
            remove_tree($upload);
            _xml($c, '200 OK', "<CompleteMultipartUploadResult><ETag>\"$etag\"</ETag></CompleteMultipartUploadResult>");
        } elsif ($method eq 'DELETE' && $upload) {
            remove_tree($upload);
            _send($c, '204 No Content');
        } elsif ($method eq 'PUT') {
            my $hex = $md5->hexdigest;
            _spew("$dir/object-$key", "$hex $size");
            _send($c, '200 OK', { ETag => "\"$hex\"" });
        } elsif ($method eq 'HEAD') {
            my ($etag, $bytes) = split(' ', _slurp("$dir/object-$key") // '');
            _send($c, $etag ? '200 OK' : '404 Not Found',
                { $etag ? (ETag => "\"$etag\"", 'Content-Length' => $bytes) : () });
        } else {
            _xml($c, '501 Not Implemented', '<Error><Code>NotImplemented</Code></Error>');
        }
        return if ($h{connection} // '') =~ /close/i;
    }
}

1;
