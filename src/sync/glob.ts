/**
 * Include/exclude filters on object keys, with rclone's glob rules: `*` and `?` stop at `/`, `**` crosses it,
 * `[…]` classes, `{a,b}` alternatives; a pattern starting with `/` is anchored at the prefix root, any other
 * pattern matches the whole key or its tail after a `/` (so `*.iso` matches `a/b.iso`).
 *
 * @module
 */

/** Compiles one glob into a RegExp; throws a `SyntaxError` on an unbalanced `[` or `{`. */
export function globToRegExp(glob: string): RegExp {
  const anchored = glob.startsWith("/");
  const src = anchored ? glob.slice(1) : glob;
  let re = "";
  let braces = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === "*") {
      if (src[i + 1] === "*") {
        re += ".*";
        i++;
      } else {
        re += "[^/]*";
      }
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const end = src.indexOf("]", i + 2);
      if (end < 0) throw new SyntaxError(`Cannot parse glob "${glob}": unclosed "["`);
      let cls = src.slice(i + 1, end).replaceAll("\\", "\\\\");
      if (cls.startsWith("!")) cls = "^" + cls.slice(1);
      re += `[${cls}]`;
      i = end;
    } else if (c === "{") {
      braces++;
      re += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      re += ")";
    } else if (c === "," && braces > 0) {
      re += "|";
    } else if (c === "\\" && i + 1 < src.length) {
      re += escape(src[++i]!);
    } else {
      re += escape(c);
    }
  }
  if (braces > 0) throw new SyntaxError(`Cannot parse glob "${glob}": unclosed "{"`);
  return new RegExp((anchored ? "^" : "(?:^|/)") + re + "$", "su");
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? "\\" + c : c;
}

/** A key filter: included when it matches some include (or there are none) and no exclude. */
export type KeyFilter = (key: string) => boolean;

export function createKeyFilter(options: { include?: string[]; exclude?: string[]; reserved?: string }): KeyFilter {
  const include = (options.include ?? []).map(globToRegExp);
  const exclude = (options.exclude ?? []).map(globToRegExp);
  const reserved = options.reserved;
  return (key) => {
    if (reserved !== undefined && key.startsWith(reserved)) return false;
    if (include.length > 0 && !include.some((r) => r.test(key))) return false;
    return !exclude.some((r) => r.test(key));
  };
}
