/**
 * PostObject: a browser-based upload, an HTML form posted as `multipart/form-data` to the bucket. The form carries
 * the key, the object's headers and metadata, a policy and a SigV4 signature over that policy; the request has no
 * other authentication. The signer needs write access to the key, the form must meet the policy
 * (`wire/post_policy.ts`), and the file streams into the store while it arrives, within the policy's
 * `content-length-range`. Nothing is stored unless all of it holds.
 *
 * @module
 */
import { mayAccess } from "../credentials.ts";
import { mapReader } from "../request_headers.ts";
import { withIds } from "../request_ids.ts";
import { S3Error } from "../s3_errors.ts";
import { formBoundary, readFormUpload } from "../wire/form_data.ts";
import { checkPostPolicy, parsePostPolicy } from "../wire/post_policy.ts";
import { MAX_OBJECT_TAGS, parseTagging } from "../wire/tagging_xml.ts";
import { buildXml, parseXml } from "../wire/xml.ts";
import { bucketOf, type RequestContext } from "./_context.ts";
import { headerValueOfText, isStoredHeader, putOptionsFrom } from "./_object_headers.ts";
import { emptyResponse, objectUrl } from "./_respond.ts";
import { writeFeatures } from "./_write_features.ts";
import { type S3Answer, s3Answer } from "../answer.ts";

const FIELD_HEADERS: Record<string, string> = { acl: "x-amz-acl" };

/** Passes `file` through, failing it when it exceeds `maxBytes` or ends below `minBytes`. */
function sizeChecked(file: ReadableStream<Uint8Array>, minBytes: number, maxBytes: number) {
  let size = 0;
  return file.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          throw new S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", {
            fields: { MaxSizeAllowed: String(maxBytes) },
          });
        }
        controller.enqueue(chunk);
      },
      flush() {
        if (size < minBytes) {
          throw new S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", {
            fields: { MinSizeAllowed: String(minBytes), ProposedSize: String(size) },
          });
        }
      },
    }),
  );
}

export async function postObject(ctx: RequestContext): Promise<S3Answer> {
  const bucket = bucketOf(ctx);
  const boundary = formBoundary(ctx.headers.get("content-type"));
  if (boundary === undefined) throw new S3Error("MalformedPOSTRequest", "The POST body must be multipart/form-data");
  const form = await readFormUpload(ctx.payload({ checksumHeadersDescribeBody: false }).stream, boundary);
  try {
    const identity = await ctx.signPostForm(form.fields);
    const policy = parsePostPolicy(form.fields.get("policy")!);
    const named = form.fields.get("key");
    if (!named) throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'");
    const key = named.replaceAll("${filename}", form.filename ?? "");
    ctx.event.key = key;
    const { minBytes, maxBytes } = checkPostPolicy(
      policy,
      new Map([...form.fields, ["key", key], ["bucket", bucket]]),
      ctx.clock.now(),
    );
    if (!mayAccess(identity, { bucket, key, permission: "write" })) throw new S3Error("AccessDenied");
    // The form's `acl` field is what the header `x-amz-acl` is to a PUT; its `tagging` field is a Tagging document.
    // A field stored as a header is held as that header would be: its value's UTF-8 bytes.
    const fields = mapReader(
      new Map([...form.fields].map(([k, v]) => {
        const name = FIELD_HEADERS[k] ?? k;
        return [name, isStoredHeader(name) ? headerValueOfText(v, k) : v];
      })),
    );
    const tagging = form.fields.get("tagging");
    const options = {
      ...putOptionsFrom(fields),
      ...writeFeatures(ctx, fields),
      ...(tagging !== undefined ? { tags: taggingField(tagging) } : {}),
    };
    const info = await ctx.store.putObject(bucket, key, sizeChecked(form.file, minBytes, maxBytes), options);
    Object.assign(ctx.event, { size: info.size, etag: info.etag });
    return answer(ctx, form.fields, { bucket, key, etag: info.etag });
  } catch (err) {
    await form.file.cancel(err).catch(() => {});
    throw err;
  }
}

/** The tags of a form's `tagging` field: a `Tagging` XML document, as S3 takes it there. */
function taggingField(xml: string): Record<string, string> {
  let root;
  try {
    root = parseXml(xml);
  } catch {
    throw new S3Error("MalformedXML", "The form's tagging field is not a well-formed Tagging document");
  }
  if (root.name !== "Tagging") throw new S3Error("MalformedXML", "The form's tagging field must be a Tagging document");
  return Object.fromEntries(parseTagging(root, MAX_OBJECT_TAGS).map((t) => [t.key, t.value]));
}

/** S3's answers: a redirect when the form asks for one, else the form's `success_action_status` (default 204). */
function answer(ctx: RequestContext, fields: Map<string, string>, o: { bucket: string; key: string; etag: string }) {
  const location = objectUrl(ctx.url, o.bucket, o.key);
  const redirect = fields.get("success_action_redirect") ?? fields.get("redirect");
  if (redirect) {
    try {
      const to = new URL(redirect);
      to.searchParams.set("bucket", o.bucket);
      to.searchParams.set("key", o.key);
      to.searchParams.set("etag", o.etag);
      return s3Answer(null, 303, withIds(ctx.ids, { location: to.href, etag: o.etag }));
    } catch {
      // S3 ignores a redirect that is not a URL and answers with the status instead.
    }
  }
  const status = fields.get("success_action_status");
  if (status === "201") {
    const xml = buildXml("PostResponse", { Location: location, Bucket: o.bucket, Key: o.key, ETag: o.etag });
    return s3Answer(xml, 201, withIds(ctx.ids, { "content-type": "application/xml", etag: o.etag, location }));
  }
  return emptyResponse(ctx.ids, status === "200" ? 200 : 204, { etag: o.etag, location });
}
