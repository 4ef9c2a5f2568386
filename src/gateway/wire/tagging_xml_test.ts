import assert from "node:assert/strict";
import { xmlDocument } from "../_testing/xml_document.ts";
import { MAX_BUCKET_TAGS, parseTagging, parseTaggingHeader, taggingXml } from "./tagging_xml.ts";
import { buildXml, parseXml } from "./xml.ts";

const { parse, refused } = xmlDocument("Tagging", parseTagging);
const tag = (key: string, value: string) => `<Tag><Key>${key}</Key><Value>${value}</Value></Tag>`;

Deno.test("Tagging: S3's characters are taken, in any script", () => {
  const root = parseXml(`<Tagging><TagSet>${tag("Projekt_Ünïcode 2", "a-b.c:d/e=f+g@h 日本")}</TagSet></Tagging>`);
  assert.deepEqual(parseTagging(root), [{ key: "Projekt_Ünïcode 2", value: "a-b.c:d/e=f+g@h 日本" }]);
  assert.deepEqual(parseTaggingHeader("Projekt=%C3%9C+1&k="), { Projekt: "Ü 1", k: "" });
  assert.throws(() => parseTaggingHeader("price=5%E2%82%AC"), { s3Code: "InvalidTag", message: /TagValue/ });
});

Deno.test("Tagging: tags are read in order and written back the same", () => {
  const tags = parse(
    `<TagSet>${tag("owner", "pve-admins")}${tag("cost-center", "")}${tag("ü".repeat(128), "x")}</TagSet>`,
  );
  assert.deepEqual(tags, [
    { key: "owner", value: "pve-admins" },
    { key: "cost-center", value: "" },
    { key: "ü".repeat(128), value: "x" },
  ]);
  assert.deepEqual(parse("<TagSet></TagSet>"), []);
  const xml = buildXml("Tagging", taggingXml(tags));
  assert.match(
    xml,
    /<TagSet><Tag><Key>owner<\/Key><Value>pve-admins<\/Value><\/Tag><Tag><Key>cost-center<\/Key><Value><\/Value>/,
  );
  assert.deepEqual(parseTagging(parseXml(xml)), tags);
});

Deno.test("Tagging: S3's limits are refused with InvalidTag, a malformed document with MalformedXML", () => {
  refused("", "MalformedXML", /one TagSet/);
  refused("<TagSet><Tag><Key>a</Key></Tag></TagSet>", "MalformedXML", /Key and a Value/);
  refused(`<TagSet>${tag("", "v")}</TagSet>`, "InvalidTag", /TagKey/);
  refused(`<TagSet>${tag("k".repeat(129), "v")}</TagSet>`, "InvalidTag", /TagKey/);
  refused(`<TagSet>${tag("k", "v".repeat(257))}</TagSet>`, "InvalidTag", /TagValue/);
  refused(`<TagSet>${tag("aws:createdBy", "me")}</TagSet>`, "InvalidTag", /System tags/);
  // Letters (any script), digits, white space and _ . : / = + - @ only, as in S3: a control character would also make
  // the tags unreadable to XML parsers.
  refused(`<TagSet>${tag("a!", "v")}</TagSet>`, "InvalidTag", /TagKey/);
  refused(`<TagSet>${tag("k", "v&#1;")}</TagSet>`, "InvalidTag", /TagValue/);
  refused(
    `<TagSet>${tag("k", "<v>".replaceAll("<", "&lt;").replaceAll(">", "&gt;"))}</TagSet>`,
    "InvalidTag",
    /TagValue/,
  );
  refused(`<TagSet>${tag("a", "1")}${tag("a", "2")}</TagSet>`, "InvalidTag", /same key/);
  const many = Array.from({ length: MAX_BUCKET_TAGS + 1 }, (_, i) => tag(`k${i}`, "v")).join("");
  refused(`<TagSet>${many}</TagSet>`, "InvalidTag", /at most 50/);
});
