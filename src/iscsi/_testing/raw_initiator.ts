/** A minimal hand-driven initiator for protocol tests: build any PDU, including malformed ones, and read replies. */
import { BHS_LENGTH, type Digests, encodeFrame, frameLength } from "../pdu/bhs.ts";
import { decodeTextKeys, encodeTextKeys } from "../pdu/text_keys.ts";

export interface Reply {
  bhs: Uint8Array;
  opcode: number;
  data: Uint8Array;
  u32(offset: number): number;
}

export class RawInitiator {
  #conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  digests: Digests = { header: false, data: false };
  cmdSN = 1;
  itt = 1;

  private constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }

  static async connect(address: string): Promise<RawInitiator> {
    const [hostname, port] = address.split(":");
    return new RawInitiator(await Deno.connect({ hostname: hostname!, port: Number(port) }));
  }

  /** Frame (with the negotiated digests) and send a PDU. */
  async send(bhs: Uint8Array, data: Uint8Array = new Uint8Array(0)): Promise<void> {
    const frame = encodeFrame(bhs, data, this.digests);
    for (let off = 0; off < frame.length;) off += await this.#conn.write(frame.subarray(off));
  }

  async sendRaw(bytes: Uint8Array): Promise<void> {
    for (let off = 0; off < bytes.length;) off += await this.#conn.write(bytes.subarray(off));
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#buf.length < n) {
      const chunk = new Uint8Array(65536);
      const got = await this.#conn.read(chunk);
      if (got === null) return false;
      const next = new Uint8Array(this.#buf.length + got);
      next.set(this.#buf);
      next.set(chunk.subarray(0, got), this.#buf.length);
      this.#buf = next;
    }
    return true;
  }

  /** Next PDU from the target, or undefined when the connection closed. */
  async read(): Promise<Reply | undefined> {
    if (!(await this.#fill(BHS_LENGTH))) return undefined;
    const total = frameLength(this.#buf, this.digests, 0xffffff);
    if (!(await this.#fill(total))) return undefined;
    const bhs = this.#buf.slice(0, BHS_LENGTH);
    const dsl = (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
    const start = BHS_LENGTH + bhs[4]! * 4 + (this.digests.header ? 4 : 0);
    const data = this.#buf.slice(start, start + dsl);
    this.#buf = this.#buf.slice(total);
    const view = new DataView(bhs.buffer);
    return { bhs, opcode: bhs[0]! & 0x3f, data, u32: (o) => view.getUint32(o) };
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed */ }
  }
}

export function bhs(opcode: number, flags: number, fields: Record<number, number> = {}): Uint8Array {
  const b = new Uint8Array(BHS_LENGTH);
  b[0] = opcode;
  b[1] = flags;
  const v = new DataView(b.buffer);
  for (const [off, val] of Object.entries(fields)) v.setUint32(Number(off), val >>> 0);
  return b;
}

export function keys(text: Uint8Array): Map<string, string> {
  return new Map(decodeTextKeys(text));
}

export { encodeTextKeys };
