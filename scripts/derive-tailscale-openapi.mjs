// Derives tests/support/tailscale-api/openapi/openapi.json from a full copy of Tailscale's published
// OpenAPI document (https://api.tailscale.com/api/v2?outputOpenapiSchema=true).
//
//   node scripts/derive-tailscale-openapi.mjs /path/to/openapi.json
//
// The repository keeps only the part of the document the fake Tailscale API validates against
// (tests/support/tailscale-api/server.ts), so that tests read nothing from outside the checkout.
// The kept operations are listed once, in KEPT_OPERATIONS; everything else the output contains is
// computed from them. The output is a pure function of the input bytes, so a rerun on the same
// document is byte-identical and a refreshed document shows up as a reviewable diff.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Where the reduced document is written, relative to the repository root. */
export const OUTPUT = "tests/support/tailscale-api/openapi/openapi.json";

/**
 * Every documented operation that a route of the fake (server.ts `buildRoutes`) validates against.
 * The `/vip-services` routes are aliases validated with the `/services` operations
 * (SPEC_SUPPLEMENTS.pathAliases in tests/support/tailscale-api/spec.ts), so they need no entry here.
 * `/oauth/token` is not in the document at all (SPEC_SUPPLEMENTS.oauthTokenPath).
 */
export const KEPT_OPERATIONS = [
  { method: "get", path: "/tailnet/{tailnet}/keys" },
  { method: "post", path: "/tailnet/{tailnet}/keys" },
  { method: "get", path: "/tailnet/{tailnet}/keys/{keyId}" },
  { method: "delete", path: "/tailnet/{tailnet}/keys/{keyId}" },
  { method: "get", path: "/tailnet/{tailnet}/devices" },
  { method: "get", path: "/device/{deviceId}" },
  { method: "delete", path: "/device/{deviceId}" },
  { method: "post", path: "/device/{deviceId}/tags" },
  { method: "get", path: "/tailnet/{tailnet}/services" },
  { method: "get", path: "/tailnet/{tailnet}/services/{serviceName}" },
  { method: "put", path: "/tailnet/{tailnet}/services/{serviceName}" },
  { method: "delete", path: "/tailnet/{tailnet}/services/{serviceName}" },
  { method: "get", path: "/tailnet/{tailnet}/services/{serviceName}/devices" },
  { method: "get", path: "/tailnet/{tailnet}/services/{serviceName}/device/{deviceId}/approved" },
  { method: "post", path: "/tailnet/{tailnet}/services/{serviceName}/device/{deviceId}/approved" },
  { method: "get", path: "/tailnet/{tailnet}/settings" },
];

/**
 * Components kept although no kept operation references them: spec.ts validates error statuses an
 * operation does not declare against this schema (SPEC_SUPPLEMENTS.undeclaredErrorSchema).
 */
export const EXTRA_REFS = ["#/components/schemas/Error"];

/** Path-item keys that are operations (OpenAPI 3.1 §4.8.9); the others (parameters, summary, …) are kept. */
const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

function decodePointerToken(t) {
  return t.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** Every local `$ref` in a JSON value, in document order. */
function localRefs(node, out = []) {
  if (Array.isArray(node)) {
    for (const v of node) localRefs(v, out);
  } else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else localRefs(v, out);
    }
  }
  return out;
}

/** Reduces a parsed full document to the kept operations and what they reference. */
export function reduce(doc, kept = KEPT_OPERATIONS) {
  const paths = {};
  const missing = kept.filter((o) => !doc.paths?.[o.path]?.[o.method]);
  if (missing.length > 0) {
    const list = missing.map((o) => `${o.method.toUpperCase()} ${o.path}`).join(", ");
    throw new Error(`the source document lacks operations the fake routes: ${list}`);
  }
  // Source order for paths and for keys inside each path item, so the output order never depends
  // on how KEPT_OPERATIONS happens to be sorted.
  for (const [p, item] of Object.entries(doc.paths)) {
    const methods = new Set(kept.filter((o) => o.path === p).map((o) => o.method));
    if (methods.size === 0) continue;
    paths[p] = Object.fromEntries(
      Object.entries(item).filter(([k]) => !HTTP_METHODS.has(k) || methods.has(k)),
    );
  }

  // Transitive closure over `#/components/<type>/<name>` references.
  const needed = new Map();
  const queue = [...localRefs(paths), ...EXTRA_REFS];
  while (queue.length > 0) {
    const ref = queue.shift();
    const tokens = ref.startsWith("#/") ? ref.slice(2).split("/").map(decodePointerToken) : [];
    if (tokens[0] !== "components" || tokens.length < 3) {
      throw new Error(`unsupported $ref ${ref}: only #/components/<type>/<name>… is handled`);
    }
    const [, type, name] = tokens;
    const entry = doc.components?.[type]?.[name];
    if (entry === undefined) throw new Error(`dangling $ref ${ref} in the source document`);
    const names = needed.get(type) ?? new Set();
    needed.set(type, names);
    if (names.has(name)) continue;
    names.add(name);
    queue.push(...localRefs(entry));
  }

  const components = {};
  for (const [type, entries] of Object.entries(doc.components ?? {})) {
    // Security schemes are kept whole: `security` at the top level names them.
    if (type === "securitySchemes") {
      components[type] = entries;
      continue;
    }
    const names = needed.get(type);
    if (!names) continue;
    components[type] = Object.fromEntries(Object.entries(entries).filter(([n]) => names.has(n)));
  }

  const usedTags = new Set(
    Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => op?.tags ?? [])),
  );
  const out = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === "paths") out.paths = paths;
    else if (k === "components") out.components = components;
    else if (k === "tags") out.tags = v.filter((t) => usedTags.has(t.name));
    // Webhooks are not served by the fake, and their references are outside the closure above.
    else if (k === "webhooks") continue;
    else out[k] = v;
  }
  return out;
}

function countOperations(doc) {
  return Object.values(doc.paths ?? {}).reduce(
    (n, item) => n + Object.keys(item).filter((k) => HTTP_METHODS.has(k)).length,
    0,
  );
}

/** Formats like `biome check` does for this repository, so `npm run lint` accepts the output as is. */
function formatWithBiome(text) {
  const require = createRequire(import.meta.url);
  const biome = require.resolve("@biomejs/biome/bin/biome");
  return execFileSync(process.execPath, [biome, "format", `--stdin-file-path=${OUTPUT}`], {
    cwd: ROOT,
    input: text,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
}

function main(argv) {
  const source = argv[0];
  if (!source || argv.length !== 1) {
    console.error("usage: node scripts/derive-tailscale-openapi.mjs <path of the full openapi.json>");
    process.exit(2);
  }
  const bytes = readFileSync(source);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const doc = JSON.parse(bytes.toString("utf8"));
  const reduced = reduce(doc);
  // Recorded in the output as an OpenAPI specification extension, so the file states which upstream
  // bytes it came from even when read without its README.
  reduced["x-derived-from"] = {
    sha256,
    bytes: bytes.length,
    infoVersion: doc.info?.version,
    paths: Object.keys(doc.paths ?? {}).length,
    operations: countOperations(doc),
    script: "scripts/derive-tailscale-openapi.mjs",
  };
  const text = formatWithBiome(`${JSON.stringify(reduced, null, 2)}\n`);
  const target = path.join(ROOT, OUTPUT);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  const outSha = createHash("sha256").update(text).digest("hex");
  const schemaCount = Object.keys(reduced.components.schemas ?? {}).length;
  console.log(`source: ${bytes.length} bytes, sha256 ${sha256}`);
  console.log(
    `source: openapi ${doc.openapi}, info.version ${doc.info?.version}, ${Object.keys(doc.paths).length} paths, ${countOperations(doc)} operations`,
  );
  console.log(
    `wrote ${OUTPUT}: ${Buffer.byteLength(text)} bytes, sha256 ${outSha}, ${Object.keys(reduced.paths).length} paths, ${countOperations(reduced)} operations, ${schemaCount} schemas`,
  );
}

// Runs only as a command, so tests can import KEPT_OPERATIONS without writing anything.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
