import assert from "node:assert/strict";
import { createHarness, errorCode, WRITER } from "../_testing/harness.ts";

const policy = (grants: string) =>
  '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>s3plugin</ID></Owner>' +
  `<AccessControlList>${grants}</AccessControlList></AccessControlPolicy>`;
const grant = (grantee: string, permission: string) =>
  `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ${grantee}</Grantee>` +
  `<Permission>${permission}</Permission></Grant>`;
const OWNER = 'xsi:type="CanonicalUser"><ID>s3plugin</ID>';
const ALL_USERS = 'xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>';

Deno.test("PutBucketAcl and PutObjectAcl accept the owner's full control alone and refuse any other grant", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/shared" });
  await h.request({ method: "PUT", path: "/shared/team/a.txt", body: "a" });
  const put = (path: string, init: { headers?: Record<string, string>; body?: string; as?: typeof WRITER } = {}) =>
    h.text({ method: "PUT", path, query: { acl: "" }, ...init });
  const accepted = [
    put("/shared", { headers: { "x-amz-acl": "private" } }),
    put("/shared", { body: policy(grant(OWNER, "FULL_CONTROL")) }),
    put("/shared/team/a.txt", { headers: { "x-amz-acl": "bucket-owner-full-control" } }),
    put("/shared/team/a.txt", { body: policy(grant(OWNER, "FULL_CONTROL")), as: WRITER }),
  ];
  for (const pending of accepted) {
    const r = await pending;
    assert.equal(r.res.status, 200, r.body);
  }
  const refused: [Promise<{ res: Response; body: string }>, number, string][] = [
    [put("/shared", { headers: { "x-amz-acl": "public-read" } }), 400, "AccessControlListNotSupported"],
    [
      put("/shared", { headers: { "x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' } }),
      400,
      "AccessControlListNotSupported",
    ],
    [
      put("/shared/team/a.txt", { body: policy(grant(OWNER, "FULL_CONTROL") + grant(ALL_USERS, "READ")) }),
      400,
      "AccessControlListNotSupported",
    ],
    [put("/shared/team/a.txt", { body: policy(grant(OWNER, "READ")) }), 400, "AccessControlListNotSupported"],
    [put("/shared/team/a.txt", { body: "<AccessControlPolicy" }), 400, "MalformedXML"],
    [put("/shared"), 400, "MissingSecurityHeader"],
    [put("/shared", { headers: { "x-amz-acl": "private" }, as: WRITER }), 403, "AccessDenied"],
    [put("/shared/other/b.txt", { headers: { "x-amz-acl": "private" }, as: WRITER }), 403, "AccessDenied"],
    [put("/shared/team/missing.txt", { headers: { "x-amz-acl": "private" } }), 404, "NoSuchKey"],
    [put("/missing", { headers: { "x-amz-acl": "private" } }), 404, "NoSuchBucket"],
  ];
  for (const [pending, status, code] of refused) {
    const r = await pending;
    assert.equal(r.res.status, status, r.body);
    assert.equal(errorCode(r.body), code, r.body);
  }
  const acl = await h.text({ path: "/shared/team/a.txt", query: { acl: "" } });
  assert.match(
    acl.body,
    /<Permission>FULL_CONTROL<\/Permission><\/Grant><\/AccessControlList>/,
    "still the owner's alone",
  );
});
