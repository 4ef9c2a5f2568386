import assert from "node:assert/strict";
import { xmlDocument } from "../_testing/xml_document.ts";
import { lifecycleConfigurationXml, parseLifecycleConfiguration } from "./lifecycle_xml.ts";
import { buildXml, parseXml } from "./xml.ts";

const { parse, refused } = xmlDocument("LifecycleConfiguration", parseLifecycleConfiguration);

Deno.test("LifecycleConfiguration: filters, legacy prefixes, expirations and aborts are read and written back", () => {
  const rules = parse(
    "<Rule><ID>dumps</ID><Filter><Prefix>dump/</Prefix></Filter><Status>Enabled</Status>" +
      "<Expiration><Days>30</Days></Expiration>" +
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>" +
      "<Rule><Prefix>tmp/</Prefix><Status>Disabled</Status><Expiration><Date>2027-01-01T00:00:00.000Z</Date></Expiration></Rule>" +
      "<Rule><ID>big</ID><Filter><And><Prefix>iso/</Prefix><ObjectSizeGreaterThan>1048576</ObjectSizeGreaterThan>" +
      "<ObjectSizeLessThan>4294967296</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>" +
      "<Expiration><Days>365</Days></Expiration></Rule>" +
      "<Rule><Filter></Filter><Status>Enabled</Status><Expiration><Date>2027-02-01</Date></Expiration></Rule>",
  );
  assert.deepEqual(rules, [
    { id: "dumps", enabled: true, prefix: "dump/", expiration: { days: 30 }, abortIncompleteUploadDays: 2 },
    { enabled: false, prefix: "tmp/", legacyPrefix: true, expiration: { date: new Date("2027-01-01T00:00:00Z") } },
    {
      id: "big",
      enabled: true,
      prefix: "iso/",
      sizeGreaterThan: 1048576,
      sizeLessThan: 4294967296,
      expiration: { days: 365 },
    },
    { enabled: true, prefix: "", expiration: { date: new Date("2027-02-01T00:00:00Z") } },
  ]);
  const xml = buildXml("LifecycleConfiguration", lifecycleConfigurationXml(rules));
  assert.match(xml, /<Rule><ID>dumps<\/ID><Filter><Prefix>dump\/<\/Prefix><\/Filter><Status>Enabled<\/Status>/);
  assert.match(xml, /<Filter><And><Prefix>iso\/<\/Prefix><ObjectSizeGreaterThan>1048576<\/ObjectSizeGreaterThan>/);
  assert.match(xml, /<Date>2027-01-01T00:00:00.000Z<\/Date>/);
  assert.match(
    xml,
    /<Rule><Prefix>tmp\/<\/Prefix><Status>Disabled<\/Status>/,
    "a rule-level Prefix is answered as given",
  );
  assert.deepEqual(parseLifecycleConfiguration(parseXml(xml)), rules, "what is written reads back the same");
});

Deno.test("LifecycleConfiguration: tag filters, alone or with a prefix and sizes in an And, read and written back", () => {
  const rules = parse(
    "<Rule><ID>one</ID><Filter><Tag><Key>kind</Key><Value>tmp</Value></Tag></Filter><Status>Enabled</Status>" +
      "<Expiration><Days>1</Days></Expiration></Rule>" +
      "<Rule><ID>and</ID><Filter><And><Prefix>dump/</Prefix><Tag><Key>kind</Key><Value>tmp</Value></Tag>" +
      "<Tag><Key>team</Key><Value>ops</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter>" +
      "<Status>Enabled</Status><Expiration><Days>7</Days></Expiration></Rule>",
  );
  assert.deepEqual(rules, [
    { id: "one", enabled: true, prefix: "", tags: { kind: "tmp" }, expiration: { days: 1 } },
    {
      id: "and",
      enabled: true,
      prefix: "dump/",
      tags: { kind: "tmp", team: "ops" },
      sizeGreaterThan: 10,
      expiration: { days: 7 },
    },
  ]);
  const xml = buildXml("LifecycleConfiguration", lifecycleConfigurationXml(rules));
  assert.match(xml, /<Filter><Tag><Key>kind<\/Key><Value>tmp<\/Value><\/Tag><\/Filter>/);
  assert.deepEqual(parseLifecycleConfiguration(parseXml(xml)), rules, "what is written reads back the same");
});

Deno.test("LifecycleConfiguration: actions on versions are kept and answered back, as S3 keeps them on an unversioned bucket", () => {
  const rules = parse(
    "<Rule><ID>markers</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>" +
      "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>" +
      "<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions>" +
      "</NoncurrentVersionExpiration>" +
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>" +
      "<Rule><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>" +
      "</NoncurrentVersionExpiration></Rule>",
  );
  assert.deepEqual(rules, [
    {
      id: "markers",
      enabled: true,
      prefix: "logs/",
      versionActions: { expiredObjectDeleteMarker: true, noncurrentDays: 30, newerNoncurrentVersions: 3 },
      abortIncompleteUploadDays: 7,
    },
    { enabled: true, prefix: "", versionActions: { noncurrentDays: 1 } },
  ]);
  const xml = buildXml("LifecycleConfiguration", lifecycleConfigurationXml(rules));
  assert.match(xml, /<Expiration><ExpiredObjectDeleteMarker>true<\/ExpiredObjectDeleteMarker><\/Expiration>/);
  assert.match(xml, /<NoncurrentVersionExpiration><NoncurrentDays>30<\/NoncurrentDays><NewerNoncurrentVersions>3</);
  assert.deepEqual(parseLifecycleConfiguration(parseXml(xml)), rules, "what is written reads back the same");
});

Deno.test("LifecycleConfiguration: what S3 refuses is refused; what needs storage classes is NotImplemented", () => {
  const on = "<Status>Enabled</Status>";
  const days = "<Expiration><Days>1</Days></Expiration>";
  refused("", "MalformedXML", /between 1 and 1000 rules/);
  refused(`<Rule><Filter/>${days}</Rule>`, "MalformedXML", /Status/);
  refused(`<Rule><Filter/><Status>On</Status>${days}</Rule>`, "MalformedXML", /Status/);
  refused(`<Rule><Filter/>${on}</Rule>`, "InvalidRequest", /At least one action/);
  refused(`<Rule><Filter/>${on}<Expiration><Days>0</Days></Expiration></Rule>`, "InvalidArgument", /positive integer/);
  refused(
    `<Rule><Filter/>${on}<Expiration><Days>1</Days><Date>2027-01-01</Date></Expiration></Rule>`,
    "MalformedXML",
    /either Days or Date/,
  );
  refused(
    `<Rule><Filter/>${on}<Expiration><Date>2027-01-01T12:00:00Z</Date></Expiration></Rule>`,
    "InvalidArgument",
    /midnight/,
  );
  refused(`<Rule><Filter/>${on}<Expiration><Date>soon</Date></Expiration></Rule>`, "InvalidArgument", /midnight/);
  refused(
    `<Rule><Filter/>${on}<AbortIncompleteMultipartUpload><DaysAfterInitiation>x</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`,
    "InvalidArgument",
    /DaysAfterInitiation/,
  );
  refused(`<Rule><Filter/><Prefix>a</Prefix>${on}${days}</Rule>`, "MalformedXML", /either a Filter or a Prefix/);
  refused(
    `<Rule><Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>${on}${days}</Rule>`,
    "MalformedXML",
    /And/,
  );
  refused(
    `<Rule><Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter>${on}${days}</Rule>`,
    "InvalidArgument",
    /less than/,
  );
  refused(
    `<Rule><ID>a</ID><Filter/>${on}${days}</Rule><Rule><ID>a</ID><Filter/>${on}${days}</Rule>`,
    "InvalidArgument",
    /unique/,
  );
  refused(`<Rule><Filter/>${on}${days}<Expire/></Rule>`, "MalformedXML", /Expire/);
  refused(
    `<Rule><Filter/>${on}<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`,
    "NotImplemented",
    /storage class/,
  );
  refused(
    `<Rule><Filter/>${on}<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition></Rule>`,
    "NotImplemented",
    /storage class/,
  );
  refused(
    `<Rule><Filter/>${on}<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration></Rule>`,
    "InvalidArgument",
    /NoncurrentDays/,
  );
  refused(
    `<Rule><Filter/>${on}<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`,
    "InvalidArgument",
    /NewerNoncurrentVersions/,
  );
  const tag = (k: string, v = "x") => `<Tag><Key>${k}</Key><Value>${v}</Value></Tag>`;
  refused(
    `<Rule><Filter><And>${tag("a")}${tag("a", "y")}</And></Filter>${on}${days}</Rule>`,
    "InvalidRequest",
    /Duplicate/,
  );
  refused(`<Rule><Filter>${tag("aws:x")}</Filter>${on}${days}</Rule>`, "InvalidTag", /System tags/);
  refused(`<Rule><Filter>${tag("a")}${tag("b")}</Filter>${on}${days}</Rule>`, "MalformedXML", /And/);
  refused(
    `<Rule><Filter>${
      tag("a")
    }</Filter>${on}<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`,
    "InvalidRequest",
    /cannot be specified with Tags/,
  );
  const marker = "<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>";
  refused(`<Rule><Filter/>${on}<Expiration>${marker}<Days>1</Days></Expiration></Rule>`, "MalformedXML", /Days/);
  refused(`<Rule><Filter>${tag("a")}</Filter>${on}<Expiration>${marker}</Expiration></Rule>`, "InvalidRequest", /Tags/);
  refused(
    `<Rule><Filter/>${on}<Expiration><ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker></Expiration></Rule>`,
    "MalformedXML",
    /true or false/,
  );
});
