/** Text-request answers in the full feature phase (RFC 7143 §12.3, Appendix C): SendTargets. Pure. */

export interface TextContext {
  sessionType: "Discovery" | "Normal";
  /** The session's own target (normal sessions). */
  targetName: string;
  allTargets: string[];
  /** Portal the initiator reached, announced as "host:port,1". */
  portal: string;
}

export function answerTextKeys(keys: [string, string][], ctx: TextContext): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of keys) {
    if (k !== "SendTargets") {
      out.push([k, "NotUnderstood"]);
      continue;
    }
    // A normal session may only learn about its own target.
    const visible = ctx.sessionType === "Discovery" ? ctx.allTargets : [ctx.targetName];
    const names = v === "All" ? visible : v === "" ? [ctx.targetName] : visible.filter((n) => n === v);
    for (const name of names) out.push(["TargetName", name], ["TargetAddress", `${ctx.portal},1`]);
  }
  return out;
}
