/**
 * Content negotiation as `kubernetes/apiserver@v0.36.3 pkg/endpoints/handlers/negotiation` does it: the
 * request body's Content-Type picks the decoder (415 `UnsupportedMediaType` listing the accepted types
 * otherwise, `errors.go:78-85`), and the Accept header picks the encoding and any conversion
 * (`as=Table`, `as=PartialObjectMetadata[List]`), 406 `NotAcceptable` when nothing offered can be served
 * (`errors.go:27-47`).
 *
 * Deliberate limit: this server has no protobuf codec. A built-in type on a real server also reads and
 * writes `application/vnd.kubernetes.protobuf`; here a protobuf body gets the 415 and a protobuf-only
 * Accept the 406 that a real server gives for a type without protobuf support (a custom resource), both
 * listing what is served: JSON and YAML. A client offering JSON as well (client-go's default
 * `application/vnd.kubernetes.protobuf, application/json`) gets JSON.
 */
import * as yaml from "js-yaml";
import { badRequest, StatusError } from "./errors";

/** The media types bodies may be sent and answers received in. */
export const SERVED_MEDIA_TYPES = ["application/json", "application/yaml"];

/** What the client accepts for the answer. */
export interface OutputChoice {
  encoding: "json" | "yaml";
  /** A meta.k8s.io conversion the client asked for. */
  as?: "Table" | "PartialObjectMetadata" | "PartialObjectMetadataList";
  /** The Content-Type to answer with. */
  contentType: string;
}

interface Clause {
  type: string;
  subtype: string;
  params: Record<string, string>;
  q: number;
  index: number;
}

function parseAccept(header: string): Clause[] {
  const out: Clause[] = [];
  header.split(",").forEach((raw, index) => {
    const [mt, ...ps] = raw.split(";").map((s) => s.trim());
    if (!mt) return;
    const [type, subtype] = mt.toLowerCase().split("/");
    if (!type || !subtype) return;
    const params: Record<string, string> = {};
    let q = 1;
    for (const p of ps) {
      const eq = p.indexOf("=");
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim().toLowerCase();
      const v = p
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, "");
      if (k === "q") q = Number(v);
      else params[k] = v;
    }
    out.push({ type, subtype, params, q: Number.isFinite(q) ? q : 0, index });
  });
  // goautoneg: by q, then specific before wildcard, then as written.
  const specificity = (c: Clause) => (c.type === "*" ? 0 : c.subtype === "*" ? 1 : 2);
  return out
    .filter((c) => c.q > 0)
    .sort((a, b) => b.q - a.q || specificity(b) - specificity(a) || a.index - b.index);
}

/** The 406 of a failed Accept negotiation. */
export function notAcceptable(): StatusError {
  return new StatusError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `only the following media types are accepted: ${SERVED_MEDIA_TYPES.join(", ")}`,
    reason: "NotAcceptable",
    code: 406,
  });
}

/**
 * Picks the answer's encoding from an Accept header. `conversions` are the `as=` targets the endpoint
 * allows (Tables and partial metadata for reads of resources); a clause asking for another is skipped.
 */
export function negotiateOutput(
  accept: string | undefined,
  conversions: OutputChoice["as"][] = [],
): OutputChoice {
  if (!accept?.trim()) return { encoding: "json", contentType: "application/json" };
  for (const c of parseAccept(accept)) {
    if (c.type === "*" || (c.type === "application" && c.subtype === "*")) {
      return { encoding: "json", contentType: "application/json" };
    }
    if (c.type !== "application" || (c.subtype !== "json" && c.subtype !== "yaml")) continue;
    const encoding = c.subtype as "json" | "yaml";
    const as = c.params.as;
    if (as === undefined) return { encoding, contentType: `application/${encoding}` };
    const target = as as OutputChoice["as"];
    if (
      c.params.g === "meta.k8s.io" &&
      (c.params.v === "v1" || c.params.v === "v1beta1") &&
      conversions.includes(target)
    ) {
      return {
        encoding,
        as: target,
        contentType: `application/${encoding};as=${as};g=meta.k8s.io;v=${c.params.v}`,
      };
    }
  }
  throw notAcceptable();
}

/** The 415 of a body in a format the endpoint does not decode. */
export function unsupportedBody(): StatusError {
  return new StatusError({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `the body of the request was in an unknown format - accepted media types include: ${SERVED_MEDIA_TYPES.join(", ")}`,
    reason: "UnsupportedMediaType",
    code: 415,
  });
}

/** The decoder a create or update body gets, by Content-Type (empty: JSON, the first served type). */
export function bodyEncoding(contentType: string | undefined): "json" | "yaml" {
  const mt = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mt === "" || mt === "application/json") return "json";
  if (mt === "application/yaml") return "yaml";
  throw unsupportedBody();
}

/** Decodes a YAML body as the YAML serializer does (duplicate keys are the strict decoder's concern). */
export function parseYaml(text: string): unknown {
  try {
    return yaml.load(text, { json: true });
  } catch (e) {
    throw badRequest(`error converting YAML to JSON: ${(e as Error).message.split("\n")[0]}`);
  }
}

/** Encodes an answer. */
export function encode(body: unknown, choice: OutputChoice): string {
  return choice.encoding === "yaml" ? yaml.dump(body, { lineWidth: -1, noRefs: true }) : JSON.stringify(body);
}

/**
 * Duplicate keys in a JSON document, as field paths in the strict decoder's notation (`spec.replicas`,
 * `spec.containers[0].name`), in document order. Returns [] for invalid JSON (the parser reports that).
 */
export function duplicateFields(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = str();
        const p = path ? `${path}.${key}` : key;
        if (seen.has(key)) out.push(p);
        seen.add(key);
        ws();
        i++; // ':'
        value(p);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        i++; // '}'
        return;
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        i++;
        return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    while (i < text.length && !",]} \t\n\r".includes(text[i]!)) i++;
  };
  try {
    JSON.parse(text);
    value("");
  } catch {
    return [];
  }
  return out;
}
