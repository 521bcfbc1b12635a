/**
 * Decoding of the `application/vnd.kubernetes.protobuf` bodies kubectl sends for the review resources
 * (`kubectl auth can-i`, `auth can-i --list`, `auth whoami` create them with client-go's protobuf
 * default). The envelope is the 4-byte magic `k8s\0` and a `runtime.Unknown` (typeMeta 1, raw 2,
 * contentEncoding 3, contentType 4); the messages are those of `k8s.io/api/authorization/v1` and
 * `authentication/v1` `generated.proto` (SelfSubjectAccessReview: metadata 1, spec 2 with
 * resourceAttributes 1 {namespace 1, verb 2, group 3, version 4, resource 5, subresource 6, name 7} and
 * nonResourceAttributes 2 {path 1, verb 2}; SelfSubjectRulesReview: spec 2 {namespace 1}).
 * https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding
 */

/** One decoded field: a varint or the bytes of a length-delimited field. */
type Field = { n: number; varint?: bigint; bytes?: Buffer };

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let shift = 0n;
    let v = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error("truncated varint");
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const n = key >> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ n, varint: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      if (i + len > buf.length) throw new Error("truncated field");
      out.push({ n, bytes: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

function strings(buf: Buffer | undefined, names: Record<number, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields(buf ?? Buffer.alloc(0))) {
    const name = names[f.n];
    if (name && f.bytes) out[name] = f.bytes.toString("utf8");
  }
  return out;
}

function sub(buf: Buffer | undefined, n: number): Buffer | undefined {
  return fields(buf ?? Buffer.alloc(0)).find((f) => f.n === n)?.bytes;
}

/** Decodes a protobuf review body into its JSON form; undefined when it is not one (not protobuf). */
export function decodeReviewProtobuf(
  body: Buffer,
): { kind: string; apiVersion: string; value: any } | undefined {
  if (body.length < 4 || body.subarray(0, 4).toString("latin1") !== "k8s\u0000") return undefined;
  const unknown = body.subarray(4);
  const typeMeta = strings(sub(unknown, 1), { 1: "apiVersion", 2: "kind" });
  const raw = sub(unknown, 2);
  const kind = typeMeta.kind ?? "";
  const apiVersion = typeMeta.apiVersion ?? "";
  const spec = sub(raw, 2);
  if (kind === "SelfSubjectAccessReview") {
    const ra = sub(spec, 1);
    const na = sub(spec, 2);
    const value: any = { spec: {} };
    if (ra) {
      value.spec.resourceAttributes = strings(ra, {
        1: "namespace",
        2: "verb",
        3: "group",
        4: "version",
        5: "resource",
        6: "subresource",
        7: "name",
      });
    }
    if (na) value.spec.nonResourceAttributes = strings(na, { 1: "path", 2: "verb" });
    return { kind, apiVersion, value };
  }
  if (kind === "SelfSubjectRulesReview")
    return { kind, apiVersion, value: { spec: strings(spec, { 1: "namespace" }) } };
  if (kind === "SelfSubjectReview") return { kind, apiVersion, value: {} };
  return { kind, apiVersion, value: undefined };
}
