package PVE::Storage::Custom::S3Plugin::Stream;

# Streaming GET to a file over a plain socket: HTTP::Tiny hands a download over in 32 KiB pieces
# with a Perl callback for each; this reads up to 256 KiB per sysread and writes, hashes and
# throttles once per 256 KiB, which is most of the client's CPU time on a download. One request per
# connection (Connection: close); answers in HTTP::Tiny's shape so the retry and error paths of
# S3Plugin::Client treat both alike.

use strict;
use warnings;

use IO::Socket::INET;
use IO::Socket::SSL;
use Socket qw(SOL_SOCKET SO_RCVTIMEO SO_SNDTIMEO);

# 8 parallel 2 GiB downloads, A/B in 8 alternating pairs: 256 KiB cost 15-20 % less client CPU
# than 1 MiB (the piece is still in the CPU cache when it is hashed and written), 4 MiB more.
use constant BATCH => 256 * 1024;

sub _fail {
    my ($msg) = @_;
    return { status => 599, reason => 'Internal Exception', headers => {}, content => "$msg\n" };
}

sub _connect {
    my (%o) = @_;
    my %base = (PeerHost => $o{host}, PeerPort => $o{port}, Proto => 'tcp', Timeout => $o{timeout});
    my $sock;
    if ($o{use_ssl}) {
        $sock = IO::Socket::SSL->new(%base, SSL_hostname => $o{host}, %{ $o{ssl} })
            or return (undef, "SSL connect attempt failed " . IO::Socket::SSL::errstr());
    } else {
        $sock = IO::Socket::INET->new(%base)
            or return (undef, "Could not connect to '$o{host}:$o{port}': $@");
    }
    my $tv = pack('l!l!', $o{timeout}, 0);
    setsockopt($sock, SOL_SOCKET, SO_RCVTIMEO, $tv);
    setsockopt($sock, SOL_SOCKET, SO_SNDTIMEO, $tv);
    return ($sock);
}

sub _read_more {
    my ($sock, $bufref) = @_;
    my $n = sysread($sock, $$bufref, BATCH, length($$bufref));
    die "Timed out while waiting for socket to become ready for reading\n"
        if !defined($n) && ($!{EAGAIN} || $!{EWOULDBLOCK});
    die "read error: $!\n" if !defined($n);
    return $n;
}

=head3 get

    my $res = get(host => $h, port => $p, use_ssl => 0, ssl => {...}, timeout => 30,
        request => "GET /b/k HTTP/1.1\r\n...\r\n\r\n", sink => sub { $bytes });

Sends the request and streams a 2xx body to C<sink> in pieces of about 256 KiB. Returns
C<{ status, reason, headers, content }>; C<content> is the body of a non-2xx answer, or the
network error (status 599).

=cut

sub get {
    my (%o) = @_;
    my ($sock, $err) = _connect(%o);
    return _fail($err) if !$sock;
    my $res = eval { _exchange($sock, %o) } // _fail($@ =~ s/\n$//r);
    close($sock);
    return $res;
}

sub _exchange {
    my ($sock, %o) = @_;
    my $req = $o{request};
    my $off = 0;
    while ($off < length($req)) {
        my $w = syswrite($sock, $req, length($req) - $off, $off);
        die "write error: $!\n" if !defined($w);
        $off += $w;
    }
    my $buf = '';
    my $end;
    while (($end = index($buf, "\r\n\r\n")) < 0) {
        die "response header too large\n" if length($buf) > 65536;
        die "connection closed before the response header\n" if !_read_more($sock, \$buf);
    }
    my ($status_line, @lines) = split(/\r\n/, substr($buf, 0, $end));
    substr($buf, 0, $end + 4, '');
    my ($status, $reason) = $status_line =~ m{^HTTP/1\.[01] (\d{3}) ?(.*)$}
        or die "malformed status line '$status_line'\n";
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $h{ lc($k) } = $v;
    }
    my $res = { status => $status, reason => $reason, headers => \%h, content => '' };
    my $ok = $status =~ /^2/;
    my $deliver = $ok ? $o{sink} : sub { $res->{content} .= $_[0] };
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        _chunked($sock, \$buf, $deliver);
    } elsif (defined(my $left = $h{'content-length'})) {
        while (1) {
            my $take = length($buf) < $left ? length($buf) : $left;
            if ($take && ($take >= BATCH || $take == $left)) {
                $deliver->(length($buf) == $take ? $buf : substr($buf, 0, $take));
                $buf = '';
                $left -= $take;
            }
            last if $left <= 0;
            die "connection closed with $left bytes of the body missing\n"
                if !_read_more($sock, \$buf);
        }
    } else {
        while (_read_more($sock, \$buf)) {
            next if length($buf) < BATCH;
            $deliver->($buf);
            $buf = '';
        }
        $deliver->($buf) if length($buf);
    }
    return $res;
}

# Transfer-Encoding: chunked, re-batched into pieces of about 256 KiB.
sub _chunked {
    my ($sock, $bufref, $deliver) = @_;
    my $out = '';
    while (1) {
        my $eol;
        while (($eol = index($$bufref, "\r\n")) < 0) {
            die "connection closed inside a chunked body\n" if !_read_more($sock, $bufref);
        }
        my ($len) = substr($$bufref, 0, $eol) =~ /^([0-9a-fA-F]+)/
            or die "malformed chunk header\n";
        $len = hex($len);
        substr($$bufref, 0, $eol + 2, '');
        last if $len == 0;
        while (length($$bufref) < $len + 2) {
            die "connection closed inside a chunk\n" if !_read_more($sock, $bufref);
        }
        $out .= substr($$bufref, 0, $len);
        substr($$bufref, 0, $len + 2, '');
        if (length($out) >= BATCH) {
            $deliver->($out);
            $out = '';
        }
    }
    $deliver->($out) if length($out);
}

1;
