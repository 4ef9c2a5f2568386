#!/usr/bin/perl
use strict;
use warnings;

use Test::More;

use PVE::Storage::Custom::S3Plugin::XML qw(parse_xml xml_child xml_children xml_text xml_escape);

my $doc = parse_xml(<<'XML');
<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><IsTruncated>true</IsTruncated>
  <NextContinuationToken>1/a+b=</NextContinuationToken>
  <Contents><Key>dump/a &amp; b &lt;1&gt; &#x263A; &#233;.vma</Key><Size>12</Size>
    <ETag>&quot;abc&quot;</ETag></Contents>
  <Contents><Key><![CDATA[x <y> & z]]></Key><Size>0</Size></Contents>
  <Contents><Key>café</Key><Empty/></Contents>
</ListBucketResult>
XML
is($doc->{name}, 'ListBucketResult', 'root element');
is(xml_text($doc, 'IsTruncated'), 'true', 'child text');
my @c = xml_children($doc, 'Contents');
is(scalar(@c), 3, 'repeated elements');
is(xml_text($c[0], 'Key'), "dump/a & b <1> \x{263A} \x{e9}.vma", 'entities and character references');
is(xml_text($c[0], 'ETag'), '"abc"', 'quot entity');
is(xml_text($c[1], 'Key'), 'x <y> & z', 'CDATA kept verbatim');
is(xml_text($c[2], 'Key'), "caf\x{e9}", 'UTF-8 decoded');
ok(xml_child($c[2], 'Empty'), 'self-closing element');
is(xml_text($doc, 'Missing'), undef, 'absent child is undef');
is(parse_xml('<s3:Error xmlns:s3="x"><s3:Code>A</s3:Code></s3:Error>')->{name}, 'Error', 'namespace prefix dropped');

for my $bad (['', qr/empty/], ['<a><b></a>', qr/closes/], ['<a>', qr/unclosed/],
    ['<a/><b/>', qr/more than one root/], ['<a>&bogus;</a>', qr/unknown entity/],
    ['text', qr/outside/], ['<a><</a>', qr/malformed/], ["<a>\xff</a>", qr/./])
{
    eval { parse_xml($bad->[0]) };
    like($@, $bad->[1], "rejects '$bad->[0]'");
}
is(xml_escape(qq{a&b<c>"d'\x01}), 'a&amp;b&lt;c&gt;&quot;d&apos;&#x1;', 'escaping');
is(parse_xml('<k>' . xml_escape("x & <y>") . '</k>')->{text}, 'x & <y>', 'escape round-trip');

done_testing();
