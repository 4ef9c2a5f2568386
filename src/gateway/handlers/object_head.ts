/** HeadObject: GetObject's headers without a body. @module */
import type { RequestContext } from "./_context.ts";
import { serveObject } from "./_serve_object.ts";
import type { S3Answer } from "../answer.ts";

export function headObject(ctx: RequestContext): Promise<S3Answer> {
  return serveObject(ctx, { body: false });
}
