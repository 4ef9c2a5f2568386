/**
 * Runs a session's commands in CmdSN order over the pure window of `session/cmdsn_window.ts`: in-order commands
 * run now, commands ahead of a gap wait for it, commands outside the window are ignored (RFC 7143 §3.2.2.1).
 */
import { accepted, admit, type CmdSnWindow, completed, createWindow } from "./session/cmdsn_window.ts";

export class CommandSequencer {
  #window: CmdSnWindow;
  #queued = new Map<number, () => Promise<void>>();
  readonly #depth: number;

  constructor(depth: number) {
    this.#depth = depth;
    this.#window = createWindow(0, depth);
  }

  get expCmdSN(): number {
    return this.#window.expCmdSN;
  }

  get maxCmdSN(): number {
    return this.#window.maxCmdSN;
  }

  /** Restart numbering at the CmdSN of the leading login request. */
  reset(cmdSN: number): void {
    this.#window = createWindow(cmdSN, this.#depth);
    this.#queued.clear();
  }

  /** Run `fn` in CmdSN order; resolves false when the command was outside the window and ignored. */
  async run(cmdSN: number, immediate: boolean, fn: () => Promise<void>): Promise<boolean> {
    const verdict = admit(this.#window, cmdSN, immediate);
    if (verdict === "drop") return false;
    if (verdict === "queue") {
      this.#queued.set(cmdSN, fn);
      return true;
    }
    if (!immediate) this.#window = accepted(this.#window);
    await fn();
    for (let next = this.#queued.get(this.expCmdSN); next; next = this.#queued.get(this.expCmdSN)) {
      this.#queued.delete(this.expCmdSN);
      this.#window = accepted(this.#window);
      await next();
    }
    return true;
  }

  /** A non-immediate command finished: its slot opens the window again. */
  release(immediate: boolean): void {
    if (!immediate) this.#window = completed(this.#window);
  }
}
