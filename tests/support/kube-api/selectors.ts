/** Label and field selectors: the string syntax of list/watch queries and metav1.LabelSelector objects. */
import { badRequest } from "./errors";

/** One parsed requirement of a label selector. */
export interface Requirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!exists";
  values: string[];
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`; throws 400 on syntax errors. */
export function parseLabelSelector(s: string | undefined): Requirement[] {
  const out: Requirement[] = [];
  if (!s?.trim()) return out;
  let i = 0;
  const src = s;
  const ws = () => {
    while (i < src.length && src[i] === " ") i++;
  };
  const ident = () => {
    ws();
    const m = /^[A-Za-z0-9_./-]+/.exec(src.slice(i));
    if (!m) return "";
    i += m[0].length;
    return m[0];
  };
  const fail = (why: string) => badRequest(`unable to parse requirement: ${why}`);
  while (i < src.length) {
    ws();
    let neg = false;
    if (src[i] === "!") {
      neg = true;
      i++;
    }
    const key = ident();
    if (!key) throw fail(`found '${src[i] ?? ""}', expected: identifier`);
    ws();
    if (neg) {
      out.push({ key, op: "!exists", values: [] });
    } else if (i >= src.length || src[i] === ",") {
      out.push({ key, op: "exists", values: [] });
    } else if (src.startsWith("==", i)) {
      i += 2;
      out.push({ key, op: "=", values: [ident()] });
    } else if (src.startsWith("!=", i)) {
      i += 2;
      out.push({ key, op: "!=", values: [ident()] });
    } else if (src[i] === "=") {
      i += 1;
      out.push({ key, op: "=", values: [ident()] });
    } else {
      const word = /^(notin|in)\s*\(/.exec(src.slice(i));
      if (!word) throw fail(`found '${src.slice(i)}', expected: in, notin, =, ==, !=, gt, lt`);
      i += word[0].length;
      const close = src.indexOf(")", i);
      if (close < 0) throw fail("found '', expected: ')'");
      const values = src
        .slice(i, close)
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
      i = close + 1;
      out.push({ key, op: word[1] as "in" | "notin", values });
    }
    ws();
    if (i < src.length) {
      if (src[i] !== ",") throw fail(`found '${src[i]}', expected: ',' or 'end of string'`);
      i++;
    }
  }
  return out;
}

/** True when the labels satisfy every requirement. */
export function matchRequirements(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "=":
        return has && l[r.key] === r.values[0];
      case "!=":
        return !has || l[r.key] !== r.values[0];
      case "in":
        return has && r.values.includes(l[r.key]);
      case "notin":
        return !has || !r.values.includes(l[r.key]);
      case "exists":
        return has;
      case "!exists":
        return !has;
    }
    return false;
  });
}

/** Matches a metav1.LabelSelector object (matchLabels + matchExpressions). */
export function matchLabelSelector(sel: any, labels: Record<string, string> | undefined): boolean {
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries<string>(sel?.matchLabels ?? {}))
    reqs.push({ key: k, op: "=", values: [v] });
  for (const e of sel?.matchExpressions ?? []) {
    const op = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!exists" } as const)[
      e.operator as "In" | "NotIn" | "Exists" | "DoesNotExist"
    ];
    if (!op) return false;
    reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return matchRequirements(reqs, labels);
}

/** A parsed field selector: `metadata.name=x,metadata.namespace!=y`. */
export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** Parses a field selector, allowing only the fields the kind supports (400 otherwise, as the real server). */
export function parseFieldSelector(
  s: string | undefined,
  kindLabel: string,
  allowed: string[],
): FieldRequirement[] {
  if (!s?.trim()) return [];
  return s.split(",").map((part) => {
    const m = /^\s*([^=!]+?)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const field = m[1];
    if (!allowed.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    void kindLabel;
    return { field, op: m[2] === "!=" ? "!=" : "=", value: m[3] };
  });
}

function fieldValue(obj: any, field: string): string {
  let cur: any = obj;
  for (const p of field.split(".")) cur = cur?.[p];
  return cur === undefined || cur === null ? "" : String(cur);
}

/** True when the object satisfies every field requirement. */
export function matchFields(reqs: FieldRequirement[], obj: any): boolean {
  return reqs.every((r) =>
    r.op === "=" ? fieldValue(obj, r.field) === r.value : fieldValue(obj, r.field) !== r.value,
  );
}
