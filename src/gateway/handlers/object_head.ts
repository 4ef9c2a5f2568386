/** HeadObject: GetObject's headers without a body. @module */
import type { RequestContext } from "./_context.ts";
import { serveObject } from "./_serve_object.ts";

export function headObject(ctx: RequestContext): Promise<Response> {
  return serveObject(ctx, { body: false });
}
