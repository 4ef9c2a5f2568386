/**
 * A BlockDevice over a plain local file, so conformance runs and benchmarks compare this target with tgtd on the
 * same kind of backing store. Positioned I/O uses synchronous calls: on a page-cached file they take microseconds,
 * far less than a round trip through the async file API, and keep seek+read/write pairs atomic.
 */
import type { BlockDevice } from "../../blockdev/block_device.ts";

const ZERO_CHUNK = 1024 * 1024;

export async function openFileBlockDevice(
  path: string,
  options: { id: string; sizeBytes: number; blockSize?: number },
): Promise<BlockDevice> {
  const blockSize = options.blockSize ?? 512;
  if (options.sizeBytes % blockSize !== 0) {
    throw new RangeError(`Cannot open device: size ${options.sizeBytes} is not a multiple of ${blockSize}`);
  }
  const file = await Deno.open(path, { read: true, write: true, create: true });
  await file.truncate(options.sizeBytes);

  function check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > options.sizeBytes) {
      throw new RangeError(`Cannot access bytes ${offset}+${length}: device has ${options.sizeBytes}`);
    }
  }

  function writeAt(offset: number, data: Uint8Array): void {
    file.seekSync(offset, Deno.SeekMode.Start);
    for (let done = 0; done < data.length;) done += file.writeSync(data.subarray(done));
  }

  return {
    id: options.id,
    blockSize,
    sizeBytes: options.sizeBytes,
    readOnly: false,
    read(offset, length) {
      check(offset, length);
      file.seekSync(offset, Deno.SeekMode.Start);
      const out = new Uint8Array(length);
      for (let got = 0; got < length;) {
        const n = file.readSync(out.subarray(got));
        if (n === null) break; // beyond the written end of a sparse file: zeros
        got += n;
      }
      return Promise.resolve(out);
    },
    async write(offset, data, opts) {
      check(offset, data.length);
      writeAt(offset, data);
      if (opts?.fua) await file.syncData();
    },
    unmap(offset, length) {
      check(offset, length);
      const zeros = new Uint8Array(Math.min(length, ZERO_CHUNK));
      for (let done = 0; done < length; done += zeros.length) {
        writeAt(offset + done, zeros.subarray(0, Math.min(zeros.length, length - done)));
      }
      return Promise.resolve();
    },
    flush: () => file.syncData(),
    close() {
      file.close();
      return Promise.resolve();
    },
  };
}
