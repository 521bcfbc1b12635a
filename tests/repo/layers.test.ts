// The provider's layering, as docs/architecture.md describes it: provider/plan is pure (it imports
// only itself, node:crypto, and, as types only, client-node and the shape files of the Kubernetes and
// Tailscale clients), and no module of provider/ or sdk/ imports itself back through others.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/** Every .ts file below `dir`, root-relative. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** The modules a file imports or re-exports: `{ spec, typeOnly }`. */
function imports(file: string): { spec: string; typeOnly: boolean }[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^(import|export)\s+(type\s+)?(?:[^"';]*?\s+from\s+)?"([^"]+)";/gms)) {
    out.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  }
  for (const m of text.matchAll(/\brequire\("([^"]+)"\)|\bimport\("([^"]+)"\)/g)) {
    out.push({ spec: (m[1] ?? m[2])!, typeOnly: false });
  }
  return out;
}

/** The repository file a relative import names, or undefined for a package. */
function resolve(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = path.posix.join(path.posix.dirname(from), spec);
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) {
    if (fs.existsSync(path.join(ROOT, candidate))) return candidate;
  }
  throw new Error(`${from} imports ${spec}, which is no file`);
}

const TYPE_ONLY = ["provider/kube/types.ts", "provider/tailscale/types.ts"];

describe("layers", () => {
  it("provider/plan imports no I/O", () => {
    const wrong: string[] = [];
    for (const file of sources("provider/plan")) {
      for (const { spec, typeOnly } of imports(file)) {
        const target = resolve(file, spec);
        const ok =
          target === undefined
            ? spec === "node:crypto" || (typeOnly && spec === "@kubernetes/client-node")
            : target.startsWith("provider/plan/") || (typeOnly && TYPE_ONLY.includes(target));
        if (!ok) wrong.push(`${file} imports ${typeOnly ? "type " : ""}${spec}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it("provider/ and sdk/ have no circular imports", () => {
    const files = [...sources("provider"), ...sources("sdk")];
    const edges = new Map<string, string[]>();
    for (const file of files) {
      edges.set(
        file,
        imports(file)
          .map(({ spec }) => resolve(file, spec))
          .filter((t): t is string => t !== undefined),
      );
    }
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "open") {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(" → "));
        return;
      }
      state.set(file, "open");
      for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    assert.deepEqual(cycles, []);
  });
});
