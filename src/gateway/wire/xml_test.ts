import assert from "node:assert/strict";
import { buildXml, childrenNamed, childText, parseXml } from "./xml.ts";

Deno.test("buildXml() escapes text and repeats arrays", () => {
  const xml = buildXml("ListBucketResult", {
    Name: "b",
    Contents: [{ Key: "a&b<c>" }, { Key: "'q\"" }, { Key: "line\r\nend" }],
    Skipped: undefined,
    IsTruncated: false,
  });
  assert.equal(
    xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      "<Name>b</Name><Contents><Key>a&amp;b&lt;c&gt;</Key></Contents><Contents><Key>&apos;q&quot;</Key></Contents>" +
      "<Contents><Key>line&#13;&#10;end</Key></Contents>" +
      "<IsTruncated>false</IsTruncated></ListBucketResult>",
  );
});

Deno.test("parseXml() reads a CompleteMultipartUpload body with namespace and entities", () => {
  const root = parseXml(
    `<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part>
  <Part><PartNumber>2</PartNumber><ETag>"def"</ETag></Part>
</CompleteMultipartUpload>`,
  );
  assert.equal(root.name, "CompleteMultipartUpload");
  const parts = childrenNamed(root, "Part").map((p) => [childText(p, "PartNumber"), childText(p, "ETag")]);
  assert.deepEqual(parts, [["1", '"abc"'], ["2", '"def"']]);
});

Deno.test("parseXml() handles self-closing tags, comments, CDATA and prefixes", () => {
  const root = parseXml(
    "<s3:Delete><!-- c --><Quiet>true</Quiet><Object><Key><![CDATA[a<b]]></Key></Object><X/></s3:Delete>",
  );
  assert.equal(root.name, "Delete");
  assert.equal(childText(root, "Quiet"), "true");
  assert.equal(childText(childrenNamed(root, "Object")[0]!, "Key"), "a<b");
  assert.equal(childrenNamed(root, "X").length, 1);
});

Deno.test("parseXml() reads character references, and a carriage return written as one stays one", () => {
  assert.equal(parseXml("<Key>a&#13;&#10;b&#x1;&#x20AC;</Key>").text, "a\r\nb\u0001€");
  assert.equal(parseXml(buildXml("Key", { K: "x\ry" }, { namespace: false })).children[0]!.text, "x\ry");
});

Deno.test("buildXml() writes the characters XML 1.0 cannot hold as character references, as S3 does", () => {
  const key = "a\u0000b\u0001c\u0008\td\u000be\u001ff\u007fg\ufffeh\uffffi€";
  const xml = buildXml("Key", { K: key }, { namespace: false });
  assert.equal(
    xml.slice(xml.indexOf("<K>")),
    "<K>a&#x0;b&#x1;c&#x8;\td&#xB;e&#x1F;f\u007fg&#xFFFE;h&#xFFFF;i€</K></Key>",
  );
  // Read back as DeleteObjects keys are: all but the NUL, a character no XML document can name, not even by reference.
  assert.equal(parseXml(buildXml("Key", { K: key.slice(2) }, { namespace: false })).children[0]!.text, key.slice(2));
});

Deno.test("parseXml() rejects malformed documents", () => {
  for (
    const bad of [
      "",
      "<a>",
      "<a></b>",
      "<a></a><b></b>",
      "text<a/>",
      "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><a>&e;</a>",
      "<a>&bogus;</a>",
      "<1a/>",
      "<a><b>",
      "<a>&#0;</a>",
      "<a>&#xD800;</a>",
      "<a>&#x110000;</a>",
      "<a>&#99999999999;</a>",
    ]
  ) {
    assert.throws(() => parseXml(bad), SyntaxError, bad);
  }
});
