/**
 * Response-body chunks handed to Deno's HTTP server without leaving their memory to V8's garbage collector.
 *
 * `Deno.serve` passes each chunk of a JavaScript body stream to Rust without copying it and keeps the memory until
 * the chunk is sent. The chunk's ArrayBuffer, though, stays counted as V8 external memory until a GC finds it dead,
 * so a large download allocates its whole size that way, and V8 counts external memory against the same limit as
 * its old generation: with the appliance's small heap, a download could run 40–66 mark-compacts per GiB (3–5 ms of
 * CPU per MiB instead of ~1.4). A producer that reads into a fresh buffer per chunk marks the chunk `disposable`;
 * `handOff` detaches such a chunk once the server asks for the next one (Deno.serve writes a chunk to Rust before it
 * reads the next), which takes it out of V8's accounting while Rust still holds the memory.
 *
 * @module
 */

/** Buffers whose only user is the consumer of the chunk that views them. */
const disposable = new WeakSet<ArrayBufferLike>();

/** Marks `chunk` (a view of a buffer nothing else uses) as one a server may detach once it has sent it. */
export function markDisposable(chunk: Uint8Array): Uint8Array {
  disposable.add(chunk.buffer);
  return chunk;
}

/** Detaches `chunk`'s buffer if it is disposable: for a server once the chunk's bytes are sent (or handed to Rust). */
export function releaseSent(chunk: Uint8Array): void {
  if (disposable.delete(chunk.buffer)) (chunk.buffer as ArrayBuffer).transfer(0);
}

/**
 * Passes `body` through to `Deno.serve`, detaching each disposable chunk when the server reads the next one. Only
 * for a body handed to the server as it is: a consumer that keeps chunks (e.g. `Response.arrayBuffer()`) would find
 * them emptied.
 */
export function handOff(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let sent: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent !== undefined) releaseSent(sent);
      sent = undefined;
      try {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        sent = value;
        controller.enqueue(value);
      } catch (err) {
        controller.error(err);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
