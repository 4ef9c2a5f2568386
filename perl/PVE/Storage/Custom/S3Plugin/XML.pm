package PVE::Storage::Custom::S3Plugin::XML;

# A small, strict parser for the XML documents S3 returns (elements, text, entities, CDATA;
# attributes and namespaces are read past). Builds a tree of
# { name => 'Key', text => '...', kids => [ ... ] } with text decoded to Perl characters.

use strict;
use warnings;

use Encode qw(decode);

use Exporter qw(import);
our @EXPORT_OK = qw(parse_xml xml_child xml_children xml_text xml_escape);

my %ENTITY = (amp => '&', lt => '<', gt => '>', quot => '"', apos => "'");

sub _unescape {
    my ($s) = @_;
    $s =~ s{&(#x[0-9A-Fa-f]+|#[0-9]+|[a-z]+);}{
        my $e = $1;
        $e =~ /^#x(.+)$/ ? chr(hex($1))
            : $e =~ /^#(\d+)$/ ? chr($1)
            : exists $ENTITY{$e} ? $ENTITY{$e}
            : die "XML: unknown entity '&$e;'\n"
    }ge;
    return $s;
}

sub xml_escape {
    my ($s) = @_;
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    $s =~ s/"/&quot;/g;
    $s =~ s/'/&apos;/g;
    $s =~ s/([\x00-\x08\x0B\x0C\x0E-\x1F\x7F])/sprintf('&#x%X;', ord($1))/ge;
    return $s;
}

sub parse_xml {
    my ($bytes) = @_;
    die "XML: empty document\n" if !defined($bytes) || $bytes !~ /\S/;
    my $doc = utf8::is_utf8($bytes) ? $bytes : decode('UTF-8', $bytes, Encode::FB_CROAK);
    my $root;
    my @stack;
    pos($doc) = 0;
    while (pos($doc) < length($doc)) {
        if ($doc =~ m/\G<\?.*?\?>/gcs || $doc =~ m/\G<!--.*?-->/gcs || $doc =~ m/\G<!DOCTYPE[^>]*>/gcs) {
            next;
        } elsif ($doc =~ m/\G<!\[CDATA\[(.*?)\]\]>/gcs) {
            die "XML: CDATA outside an element\n" if !@stack;
            $stack[-1]->{text} .= $1;
        } elsif ($doc =~ m{\G</([A-Za-z_][\w.:-]*)\s*>}gc) {
            my $name = $1;
            $name =~ s/^[\w.-]+://;
            my $node = pop(@stack) // die "XML: unexpected closing tag </$name>\n";
            die "XML: </$name> closes <$node->{name}>\n" if $node->{name} ne $name;
        } elsif ($doc =~ m{\G<([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(/?)>}gc) {
            my ($name, $empty) = ($1, $3);
            $name =~ s/^[\w.-]+://; # drop a namespace prefix
            my $node = { name => $name, text => '', kids => [] };
            if (@stack) {
                push @{ $stack[-1]->{kids} }, $node;
            } else {
                die "XML: more than one root element\n" if $root;
                $root = $node;
            }
            push @stack, $node if !$empty;
        } elsif ($doc =~ m/\G([^<]+)/gc) {
            my $text = $1;
            if (@stack) {
                $stack[-1]->{text} .= _unescape($text);
            } elsif ($text =~ /\S/) {
                die "XML: text outside the root element\n";
            }
        } else {
            die "XML: malformed markup at offset " . pos($doc) . "\n";
        }
    }
    die "XML: unclosed element <$stack[-1]->{name}>\n" if @stack;
    die "XML: no root element\n" if !$root;
    return $root;
}

sub xml_children {
    my ($node, $name) = @_;
    return grep { $_->{name} eq $name } @{ $node->{kids} };
}

sub xml_child {
    my ($node, $name) = @_;
    my ($first) = xml_children($node, $name);
    return $first;
}

# Text of the named child, or undef when it is absent.
sub xml_text {
    my ($node, $name) = @_;
    my $child = xml_child($node, $name);
    return $child ? $child->{text} : undef;
}

1;
