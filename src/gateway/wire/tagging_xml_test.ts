import assert from "node:assert/strict";
import { xmlDocument } from "../_testing/xml_document.ts";
import { MAX_BUCKET_TAGS, parseTagging, taggingXml } from "./tagging_xml.ts";
import { buildXml, parseXml } from "./xml.ts";

const { parse, refused } = xmlDocument("Tagging", parseTagging);
const tag = (key: string, value: string) => `<Tag><Key>${key}</Key><Value>${value}</Value></Tag>`;

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
  refused(`<TagSet>${tag("a", "1")}${tag("a", "2")}</TagSet>`, "InvalidTag", /same key/);
  const many = Array.from({ length: MAX_BUCKET_TAGS + 1 }, (_, i) => tag(`k${i}`, "v")).join("");
  refused(`<TagSet>${many}</TagSet>`, "InvalidTag", /at most 50/);
});
