import assert from "node:assert/strict";
import { ADMIN, contentMd5, createHarness, errorCode, READER } from "../_testing/harness.ts";

const TAGS = "<Tagging><TagSet><Tag><Key>owner</Key><Value>pve-admins</Value></Tag>" +
  "<Tag><Key>tier</Key><Value>backup</Value></Tag></TagSet></Tagging>";

Deno.test("PutBucketTagging, GetBucketTagging and DeleteBucketTagging round-trip", async () => {
  const h = createHarness();
  await h.request({ method: "PUT", path: "/web" });
  let r = await h.text({ path: "/web", query: { tagging: "" } });
  assert.equal(errorCode(r.body), "NoSuchTagSet");
  const put = (as = ADMIN) =>
    h.text({
      method: "PUT",
      path: "/web",
      query: { tagging: "" },
      body: TAGS,
      headers: { "content-md5": contentMd5(TAGS) },
      as,
    });
  r = await put(READER);
  assert.equal(r.res.status, 403);
  r = await put();
  assert.equal(r.res.status, 204, r.body);
  r = await h.text({ path: "/web", query: { tagging: "" } });
  assert.match(
    r.body,
    /<Tagging xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><TagSet><Tag><Key>owner<\/Key><Value>pve-admins<\/Value><\/Tag><Tag><Key>tier<\/Key><Value>backup<\/Value><\/Tag><\/TagSet><\/Tagging>/,
  );
  r = await h.text({ method: "DELETE", path: "/web", query: { tagging: "" } });
  assert.equal(r.res.status, 204);
  r = await h.text({ path: "/web", query: { tagging: "" } });
  assert.equal(errorCode(r.body), "NoSuchTagSet");
});
