import assert from "node:assert/strict";
import { createHarness, errorCode, WRITER } from "../_testing/harness.ts";

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const block = (value: boolean) =>
  `<PublicAccessBlockConfiguration ${NS}><BlockPublicAcls>${value}</BlockPublicAcls>` +
  `<IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy>` +
  `<RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`;
const ownership = (value: string) =>
  `<OwnershipControls ${NS}><Rule><ObjectOwnership>${value}</ObjectOwnership></Rule></OwnershipControls>`;

Deno.test("writes of fixed settings: the state they already have is accepted, any other is NotImplemented", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/web" });
  const put = (query: string, body: string, as?: typeof WRITER) =>
    h.text({ method: "PUT", path: "/web", query: { [query]: "" }, body, ...(as ? { as } : {}) });
  const accepted: [string, string][] = [
    ["publicAccessBlock", block(true)],
    ["ownershipControls", ownership("BucketOwnerEnforced")],
    ["requestPayment", `<RequestPaymentConfiguration ${NS}><Payer>BucketOwner</Payer></RequestPaymentConfiguration>`],
    ["logging", `<BucketLoggingStatus ${NS}/>`],
    ["notification", `<NotificationConfiguration ${NS}></NotificationConfiguration>`],
  ];
  for (const [query, body] of accepted) {
    const r = await put(query, body);
    assert.equal(r.res.status, 200, `${query}: ${r.body}`);
  }
  const refused: [string, string, number, string, RegExp][] = [
    ["publicAccessBlock", block(false), 501, "NotImplemented", /always blocked/],
    [
      "publicAccessBlock",
      `<PublicAccessBlockConfiguration ${NS}><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>`,
      501,
      "NotImplemented",
      /always blocked/,
    ],
    ["ownershipControls", ownership("ObjectWriter"), 501, "NotImplemented", /BucketOwnerEnforced/],
    [
      "requestPayment",
      `<RequestPaymentConfiguration ${NS}><Payer>Requester</Payer></RequestPaymentConfiguration>`,
      501,
      "NotImplemented",
      /owner always pays/,
    ],
    [
      "logging",
      `<BucketLoggingStatus ${NS}><LoggingEnabled><TargetBucket>logs</TargetBucket><TargetPrefix>web/</TargetPrefix></LoggingEnabled></BucketLoggingStatus>`,
      501,
      "NotImplemented",
      /integrity journal/,
    ],
    ["ownershipControls", "<Ownership/>", 400, "MalformedXML", /OwnershipControls/],
  ];
  for (const [query, body, status, code, message] of refused) {
    const r = await put(query, body);
    assert.equal(r.res.status, status, `${query}: ${r.body}`);
    assert.equal(errorCode(r.body), code);
    assert.match(r.body, message);
  }
  let r = await put("publicAccessBlock", block(true), WRITER);
  assert.equal(r.res.status, 403, "an admin key's work, as creating the bucket");
  r = await h.text({ method: "PUT", path: "/missing", query: { publicAccessBlock: "" }, body: block(true) });
  assert.equal(errorCode(r.body), "NoSuchBucket");
  r = await h.text({ path: "/web", query: { publicAccessBlock: "" } });
  assert.match(r.body, /<BlockPublicAcls>true<\/BlockPublicAcls>/, "the state is what it was");
});
