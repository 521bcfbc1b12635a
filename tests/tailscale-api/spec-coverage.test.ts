// The reduced OpenAPI document (tests/support/tailscale-api/openapi/) must cover every documented
// operation the fake routes: a reduction that dropped one would otherwise only surface as a 500 in
// whichever test first hits that route. The fake's route table is private, so the routes are found by
// asking the fake itself: every candidate path is probed with every method, without credentials.
// A routed operation answers 401 once its operation is found in the document (the lookup happens before
// authentication), 500 when the document lacks it, and 404/405 when the fake does not route it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { OPENAPI_PATH, SPEC_SUPPLEMENTS, startTailscaleApi } from "../support/tailscale-api";
import { TailscaleSpec } from "../support/tailscale-api/spec";

const ROOT = path.resolve(__dirname, "../..");
const SCRIPT = path.join(ROOT, "scripts", "derive-tailscale-openapi.mjs");
const SERVER_SOURCE = path.join(ROOT, "tests", "support", "tailscale-api", "server.ts");
const README = path.join(path.dirname(OPENAPI_PATH), "README.md");
const LICENSE = path.join(path.dirname(OPENAPI_PATH), "LICENSE");
const METHODS = ["get", "put", "post", "delete", "patch"] as const;

interface Operation {
  method: string;
  path: string;
}

const key = (o: Operation) => `${o.method.toUpperCase()} ${o.path}`;

function documentedOperations(doc: any): string[] {
  const out: string[] = [];
  for (const [p, item] of Object.entries<any>(doc.paths)) {
    for (const m of METHODS) if (item[m]) out.push(key({ method: m, path: p }));
  }
  return out.sort();
}

/** `#/a/b` resolved in `doc`, or undefined. */
function pointer(doc: any, ref: string): unknown {
  return ref
    .slice(2)
    .split("/")
    .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"))
    .reduce((o: any, k) => o?.[k], doc);
}

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const v of node) refs(v, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

/**
 * Paths the fake might route: the API path templates written in server.ts, each with all of its
 * `/`-prefixes (so a route built by appending to a literal is still probed), and their aliases.
 */
function candidatePaths(kept: readonly Operation[]): string[] {
  const source = readFileSync(SERVER_SOURCE, "utf8");
  const literals = [...source.matchAll(/["'`](\/(?:tailnet|device)\/[^"'`\s]*)["'`]/g)].map((m) => m[1]!);
  const out = new Set<string>();
  for (const p of [...literals, ...kept.map((o) => o.path)]) {
    const segs = p.split("/");
    for (let n = 2; n <= segs.length; n++) out.add(segs.slice(0, n).join("/"));
  }
  for (const p of [...out]) {
    for (const a of SPEC_SUPPLEMENTS.pathAliases) {
      if (p === a.specPath || p.startsWith(`${a.specPath}/`)) out.add(a.alias + p.slice(a.specPath.length));
    }
  }
  return [...out].sort();
}

/** The documented path an alias stands for (SPEC_SUPPLEMENTS.pathAliases), else the path itself. */
function specPathOf(p: string): string {
  for (const a of SPEC_SUPPLEMENTS.pathAliases) {
    if (p === a.alias || p.startsWith(`${a.alias}/`)) return a.specPath + p.slice(a.alias.length);
  }
  return p;
}

describe("tailscale-api reduced OpenAPI document", () => {
  let kept: readonly Operation[];
  let doc: any;
  let reduce: (doc: any, kept?: readonly Operation[]) => any;

  before(async () => {
    const script = await import(pathToFileURL(SCRIPT).href);
    kept = script.KEPT_OPERATIONS;
    reduce = script.reduce;
    doc = JSON.parse(readFileSync(OPENAPI_PATH, "utf8"));
  });

  it("holds exactly the operations listed in the derivation script", () => {
    assert.deepEqual(documentedOperations(doc), kept.map(key).sort());
  });

  it("has every operation the fake routes, and the script lists no operation the fake does not route", async () => {
    const ts = await startTailscaleApi();
    const routed = new Set<string>();
    const problems: string[] = [];
    try {
      for (const p of candidatePaths(kept)) {
        const concrete = p.replace(/\{tailnet\}/g, "-").replace(/\{[^}]+\}/g, "probe");
        for (const m of METHODS) {
          const r = await fetch(`${ts.url}/api/v2${concrete}`, { method: m.toUpperCase() });
          const text = await r.text();
          if (r.status === 404 || r.status === 405) continue;
          const op = key({ method: m, path: specPathOf(p) });
          routed.add(op);
          if (r.status !== 401) problems.push(`${m.toUpperCase()} ${p} -> ${r.status} ${text.slice(0, 200)}`);
        }
      }
    } finally {
      await ts.stop();
    }
    assert.deepEqual(problems, [], "routes the reduced document cannot validate");
    assert.deepEqual([...routed].sort(), kept.map(key).sort());
    assert.deepEqual(ts.schemaViolations, []);
  });

  it("resolves every $ref inside itself and compiles a validator for each kept operation", () => {
    const dangling = [...new Set(refs(doc))].filter(
      (r) => !r.startsWith("#/") || pointer(doc, r) === undefined,
    );
    assert.deepEqual(dangling, []);
    const spec = new TailscaleSpec(OPENAPI_PATH);
    for (const o of kept) assert.equal(spec.operation(o.path, o.method).specPath, o.path);
    // server.ts reads these directly: undeclared error statuses and device-list filter names.
    assert.equal(typeof spec.errorBody(), "function");
    assert.equal(typeof doc.components.schemas.Device.properties, "object");
  });

  it("is a fixed point of the reduction (nothing missing from the reference closure)", () => {
    const { "x-derived-from": _recorded, ...rest } = doc;
    assert.deepEqual(reduce(rest, kept), rest);
  });

  it("keeps the upstream licence, version and provenance", () => {
    assert.match(doc.info.license.name, /BSD/);
    assert.equal(doc.info.version, "v2");
    assert.equal(doc.openapi, "3.1.0");
    assert.deepEqual(Object.keys(doc.components.securitySchemes), ["bearerAuth"]);
    const recorded = doc["x-derived-from"];
    assert.match(recorded.sha256, /^[0-9a-f]{64}$/);
    const readme = readFileSync(README, "utf8");
    assert.ok(
      readme.includes(recorded.sha256),
      `${path.relative(ROOT, README)} must state the upstream sha256`,
    );
    assert.ok(
      readme.includes(recorded.bytes.toLocaleString("en-US")),
      `${path.relative(ROOT, README)} must state the upstream size`,
    );
    assert.match(readFileSync(LICENSE, "utf8"), /BSD 3-Clause[\s\S]*Copyright \(c\) \d{4} Tailscale Inc/);
  });
});
