// A fresh clone must build, test and demo with nothing but its own files: CI and users have no
// directory beside the checkout, and a developer machine's layout is not the project's. This test
// scans every file the repository holds for references that leave it.
// Markdown prose is exempt except for README files, which readers follow as instructions.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { OPENAPI_PATH } from "../support/tailscale-api";

const ROOT = path.resolve(__dirname, "../..");
/** Folders that are never part of a clone: dependencies, build output, git itself, scratch space. */
const SKIP_DIRS = new Set(["node_modules", "dist", ".git", ".tmp"]);

interface Finding {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/** Whether `dir` is the top of its own git checkout (not a folder inside some other repository). */
function isCheckoutRoot(dir: string): boolean {
  try {
    const top = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd: dir, encoding: "utf8" }).trim();
    return realpathSync(top) === realpathSync(dir);
  } catch {
    return false;
  }
}

/**
 * The tracked files, relative to the root. Untracked files are left out on purpose: on a developer
 * machine they include scratch files that will never be committed; a new file is checked once added.
 */
function gitFiles(): string[] | undefined {
  if (!isCheckoutRoot(ROOT)) return undefined;
  const out = execFileSync("git", ["ls-files", "-z"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return [...new Set(out.split("\0").filter(Boolean))].sort();
}

/** Whether git would leave `file` out of a commit (so it could never reach a clone). */
function ignored(file: string): boolean {
  try {
    execFileSync("git", ["check-ignore", "-q", "--no-index", file], { cwd: ROOT, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Fallback when git is missing or the folder is not its own checkout (an unpacked archive). */
function walkFiles(dir = ROOT, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walkFiles(full, out);
    } else if (entry.isFile()) {
      out.push(path.relative(ROOT, full).split(path.sep).join("/"));
    }
  }
  return out.sort();
}

function repoFiles(): string[] {
  // Files deleted in the work tree but still in the index are not part of the next commit.
  return (gitFiles() ?? walkFiles()).filter((f) => {
    const full = path.join(ROOT, f);
    return existsSync(full) && statSync(full).isFile();
  });
}

/** Line number (1-based) of an offset, from the offsets where lines start. */
function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/**
 * Where a relative path lands, as root-relative segments, or `undefined` when it climbs above the
 * repository root. `fromDir` is root-relative, `""` for the root.
 */
function land(fromDir: string, rel: string): string[] | undefined {
  const stack = fromDir === "" ? [] : fromDir.split("/");
  for (const seg of rel.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (stack.length === 0) return undefined;
      stack.pop();
    } else stack.push(seg);
  }
  return stack;
}

const inRepo = (segs: string[]) => existsSync(path.join(ROOT, ...segs));

/** Whether a cited path names an existing file, read from the citing file's folder or from the root. */
function cited(fromDir: string, rel: string): boolean {
  return [land(fromDir, rel), land("", rel)].some((segs) => segs !== undefined && inRepo(segs));
}

// The patterns are spelled with character classes so that this file does not match itself.
/** The sibling directory the project was developed beside, by absolute or bare relative path. */
const SHARED_ABSOLUTE = /(?<![\w.\\}-])[/]shared[/][\w.-]/g;
const SHARED_BARE = /(?<![\w./\\@-])shared[/][\w.-]+(?:[/][\w.-]+)*/g;
/** The developer machine's workspace, and home folders on Linux, macOS and Windows. */
const WORKSPACE = /(?<![\w.~-])[/]work[/][\w.-]/g;
const HOME = /(?<![\w.~-])[/](?:home|Users)[/][\w.-]+|\b[A-Za-z]:\\{1,2}Users\\/g;
/**
 * A relative path that starts with `./` or `../` steps (or is a bare `..`), with the rest of the
 * path-like token after it. The spread operator `...x` is excluded by the lookahead.
 */
const RELATIVE = /(?<![\w./\\-])(?:\.\.?[/])*\.\.(?![\w.])(?:[/][^\s"'`)\]},;:*<>|]*)?/g;
/** `path.join(__dirname, "..", "..")`-style calls: the string arguments after the anchor. */
const JOINED =
  /(__dirname|import\.meta\.dirname|process\.cwd\(\))\s*,\s*((?:(["'`])[^"'`\n]*\3\s*,\s*)*(["'`])[^"'`\n]*\4)/g;
/** A cited Markdown file by a relative path with at least one folder, e.g. in a comment. */
const MD_CITATION = /(?<![\w./\\:@-])(?:[\w.-]+[/])+[\w.-]+\.md\b/g;

/** Whether column `col` of `line` lies in a comment: a comment line, or after `//` on the line. */
function inComment(line: string, col: number): boolean {
  const trimmed = line.trimStart();
  if (/^(?:\/\/|\/?\*|#)/.test(trimmed)) return true;
  const slashes = line.indexOf("//");
  return slashes >= 0 && slashes < col && !/["'`]/.test(line.slice(slashes, col));
}

function scanSource(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  const lines = text.split("\n");
  const dir = path.posix.dirname(file) === "." ? "" : path.posix.dirname(file);
  // One finding per line, naming every rule it breaks.
  const add = (offset: number, rule: string) => {
    const line = lineOf(starts, offset);
    const same = findings.find((f) => f.line === line);
    if (!same) findings.push({ file, line, rule, text: lines[line - 1]!.trim().slice(0, 160) });
    else if (!same.rule.split("; ").includes(rule)) same.rule += `; ${rule}`;
  };

  for (const m of text.matchAll(SHARED_ABSOLUTE)) add(m.index, "absolute path into a shared/ folder");
  for (const m of text.matchAll(WORKSPACE)) add(m.index, "absolute path into the developer workspace");
  for (const m of text.matchAll(HOME)) add(m.index, "absolute path into a home folder");
  for (const m of text.matchAll(SHARED_BARE)) {
    if (!cited(dir, m[0])) add(m.index, "names a shared/ folder that is not in the repository");
  }
  for (const m of text.matchAll(MD_CITATION)) {
    // A citation is prose: only comments cite. A path in code (for example a tarball
    // entry inside the package) names something else.
    if (!inComment(lines[lineOf(starts, m.index) - 1]!, m.index - starts[lineOf(starts, m.index) - 1]!))
      continue;
    if (!cited(dir, m[0])) add(m.index, "cites a Markdown file that is not in the repository");
  }
  // package-lock.json repeats each workspace's dependencies with paths relative to that workspace,
  // not to the lock file; the workspaces' own package.json files are checked instead.
  if (path.posix.basename(file) !== "package-lock.json") {
    for (const m of text.matchAll(RELATIVE)) {
      const landed = land(dir, m[0]);
      if (!landed) add(m.index, "relative path climbs above the repository root");
      else if (/(?:^|[/])\.\.[/](?:[^/]+[/])*shared[/]/.test(m[0]) && !inRepo(landed)) {
        add(m.index, "relative path into a shared/ folder that is not in the repository");
      }
    }
    for (const m of text.matchAll(JOINED)) {
      const parts = [...m[2]!.matchAll(/(["'`])([^"'`\n]*)\1/g)].map((p) => p[2]!);
      const from = m[1] === "process.cwd()" ? "" : dir;
      if (!land(from, parts.join("/")))
        add(m.index, "path built from separate segments climbs above the root");
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

/** README files are instructions: they must not send readers to a folder beside the checkout. */
const README_OUTSIDE =
  /(?:\.\.[/](?:\.\.[/])*shared\b|(?<![\w.~-])[/]work[/][\w.-]|(?<![\w./-])shared[/](?:tailscale-api|reference)\b)/g;

function scanReadme(file: string, text: string): Finding[] {
  const lines = text.split("\n");
  const findings: Finding[] = [];
  lines.forEach((l, i) => {
    if (l.match(README_OUTSIDE)) {
      findings.push({
        file,
        line: i + 1,
        rule: "README points outside the repository",
        text: l.trim().slice(0, 160),
      });
    }
  });
  return findings;
}

function isText(buf: Buffer): boolean {
  return !buf.subarray(0, 8000).includes(0);
}

function scan(files: string[]): Finding[] {
  const findings: Finding[] = [];
  for (const file of files) {
    const buf = readFileSync(path.join(ROOT, file));
    if (!isText(buf)) continue;
    const text = buf.toString("utf8");
    if (file.endsWith(".md")) {
      if (path.posix.basename(file).toLowerCase() === "readme.md") findings.push(...scanReadme(file, text));
    } else findings.push(...scanSource(file, text));
  }
  return findings;
}

const format = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}: ${f.rule}: ${f.text}`).join("\n");

describe("repository is self-contained", () => {
  let files: string[];
  before(() => {
    files = repoFiles();
  });

  it("lists the repository's files from its root, and the derived OpenAPI document can be committed", function () {
    assert.ok(files.includes("package.json"), "the file listing must start at the repository root");
    assert.ok(!files.some((f) => f.split("/").some((s) => SKIP_DIRS.has(s))));
    if (!isCheckoutRoot(ROOT)) this.skip();
    const derived = path.relative(ROOT, OPENAPI_PATH).split(path.sep).join("/");
    assert.ok(!ignored(derived), `${derived} is ignored by git, so a clone would not have it`);
  });

  it("has no source, config or data file that refers outside the repository", () => {
    const findings = scan(files.filter((f) => !f.endsWith(".md")));
    assert.equal(findings.length, 0, `references outside the repository:\n${format(findings)}`);
  });

  it("has no README that tells readers to look outside the repository", () => {
    const findings = scan(files.filter((f) => path.posix.basename(f).toLowerCase() === "readme.md"));
    assert.equal(findings.length, 0, `README references outside the repository:\n${format(findings)}`);
  });

  it("scans the derived OpenAPI document like any other file", () => {
    const derived = path.relative(ROOT, OPENAPI_PATH).split(path.sep).join("/");
    assert.deepEqual(scanSource(derived, readFileSync(OPENAPI_PATH, "utf8")), []);
  });

  it("finds the same files by walking the tree as git lists, for checkouts without git", function () {
    const listed = gitFiles();
    if (!listed) this.skip();
    const walked = new Set(walkFiles());
    assert.deepEqual(
      listed.filter((f) => existsSync(path.join(ROOT, f)) && !walked.has(f)),
      [],
    );
  });

  it("detects the references it is meant to catch, and leaves in-repo paths alone", () => {
    const dots = "..";
    const probe = [
      `const a = "${[dots, dots, dots, dots, "shared", "tailscale-api", "openapi.json"].join("/")}";`,
      `const b = path.resolve(__dirname, "${dots}", "${dots}", "${dots}", "${dots}");`,
      `const c = "${["", "work", "x"].join("/")}";`,
      `const d = "${["", "home", "someone", "x"].join("/")}";`,
      `// see ${["reference", "nowhere.md"].join("/")}`,
      `import { x } from "${dots}/${dots}/provider/index";`,
      `const e = path.resolve(__dirname, "${dots}/${dots}");`,
      `const f = [...rest];`,
    ].join("\n");
    const rules = scanSource("tests/support/tailscale-api/probe.ts", probe).map((f) => f.line);
    assert.deepEqual([...new Set(rules)], [1, 2, 3, 4, 5]);
    const readme = [`Read ${[dots, "shared", "x"].join("/")} first.`, `See ${[dots, "spec.ts"].join("/")}.`];
    assert.deepEqual(
      scanReadme("README.md", readme.join("\n")).map((f) => f.line),
      [1],
    );
  });
});
