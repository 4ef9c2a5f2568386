import assert from "node:assert/strict";
import { AppError, type AppErrorCode } from "../errors.ts";
import { errorXml, S3Error, toS3Error } from "./s3_errors.ts";

Deno.test("toS3Error() maps AppError codes onto S3 codes and statuses", () => {
  const table: [AppErrorCode, string, number][] = [
    ["NoSuchBucket", "NoSuchBucket", 404],
    ["NoSuchKey", "NoSuchKey", 404],
    ["NoSuchUpload", "NoSuchUpload", 404],
    ["BucketAlreadyExists", "BucketAlreadyOwnedByYou", 409],
    ["BucketNotEmpty", "BucketNotEmpty", 409],
    ["InvalidBucketName", "InvalidBucketName", 400],
    ["KeyTooLong", "KeyTooLongError", 400],
    ["InvalidPart", "InvalidPart", 400],
    ["InvalidPartOrder", "InvalidPartOrder", 400],
    ["EntityTooSmall", "EntityTooSmall", 400],
    ["EntityTooLarge", "EntityTooLarge", 400],
    ["InvalidRange", "InvalidRange", 416],
    ["PreconditionFailed", "PreconditionFailed", 412],
    ["BadDigest", "BadDigest", 400],
    ["IncompleteBody", "IncompleteBody", 400],
    ["Forbidden", "AccessDenied", 403],
    ["NotImplemented", "NotImplemented", 501],
    ["Unavailable", "ServiceUnavailable", 503],
    ["Internal", "InternalError", 500],
  ];
  for (const [app, code, status] of table) {
    const s3 = toS3Error(new AppError(app, "m"));
    assert.deepEqual([s3.code, s3.status], [code, status], app);
  }
  assert.equal(toS3Error(new AppError("Internal", "secret detail")).message.includes("secret"), false);
  assert.deepEqual(toS3Error(new TypeError("x")).code, "InternalError");
  assert.equal(toS3Error(new S3Error("XAmzContentSHA256Mismatch")).status, 400);
  assert.equal(toS3Error(new S3Error("RequestTimeTooSkewed")).status, 403);
});

Deno.test("errorXml() renders the S3 error document with escaped values", () => {
  assert.equal(
    errorXml({ code: "NoSuchKey", message: "Key <a&b>" }, {
      resource: "/b/a&b",
      requestId: "R1",
      fields: { Key: "a&b" },
    }),
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>Key &lt;a&amp;b&gt;</Message>' +
      "<Key>a&amp;b</Key><Resource>/b/a&amp;b</Resource><RequestId>R1</RequestId></Error>",
  );
});
