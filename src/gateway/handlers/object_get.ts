/** GetObject. @module */
import type { RequestContext } from "./_context.ts";
import { serveObject } from "./_serve_object.ts";

export function getObject(ctx: RequestContext): Promise<Response> {
  return serveObject(ctx, { body: true });
}
