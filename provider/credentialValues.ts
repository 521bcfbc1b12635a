/**
 * Credential values that are read when they are used, not when they are set: `file:` paths, and the
 * identity token of workload identity federation.
 *
 * `file:<path>` is accepted where @pulumi/tailscale (bridged from tailscale/terraform-provider-tailscale@0a85227d
 * tailscale/provider_framework.go:201-216, `resolveValueFromFile`) accepts it: the API key, the OAuth client
 * ID and secret, the identity token and the audience; the file's content, trimmed, is the value. Terraform
 * reads it once when the provider is configured; here it is read every time a client is looked up, and the
 * identity token at every exchange, because the files that hold identity tokens are rewritten while a
 * command runs (a projected ServiceAccount token is refreshed by the kubelet). Messages name the setting and
 * the file, never the content.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { backoffMs, parseRetryAfter } from "./retry";

/** The prefix that makes a setting's value a path. */
export const FILE_PREFIX = "file:";

/** A credential value that cannot be read: a `file:` setting's file, or GitHub Actions' token endpoint. */
export class CredentialReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CredentialReadError";
  }
}

function unreadable(setting: string, file: string, err: unknown): CredentialReadError {
  const code = (err as { code?: unknown })?.code;
  const why =
    code === "ENOENT"
      ? "it does not exist"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EISDIR"
          ? "it is a directory"
          : `${String(code ?? (err as Error)?.message ?? err)}`;
  return new CredentialReadError(
    `${setting} names the file ${file} ("${FILE_PREFIX}" prefix), which cannot be read: ${why}. Make it ` +
      "readable by the user running pulumi, or set the value itself instead of a path",
  );
}

function contentOf(setting: string, file: string, text: string): string {
  const value = text.trim();
  if (value === "") {
    throw new CredentialReadError(
      `${setting} names the file ${file} ("${FILE_PREFIX}" prefix), which is empty: write the value into it`,
    );
  }
  return value;
}

/** The path of a `file:` value, or undefined for a plain value. */
export function filePathOf(value: string): string | undefined {
  return value.startsWith(FILE_PREFIX) ? value.slice(FILE_PREFIX.length) : undefined;
}

/** A setting's value: the value itself, or the trimmed content of the file a `file:` value names. */
export function settingValue(value: string, setting: string): string {
  const file = filePathOf(value);
  if (file === undefined) return value;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw unreadable(setting, file, err);
  }
  return contentOf(setting, file, text);
}

/**
 * Where the identity token of a federated identity comes from. `setting` names where the user set it
 * (`tailscale:identityToken`, `TAILSCALE_IDENTITY_TOKEN`, `credentials.tailscaleIdentityToken`, or the
 * audience that made the provider ask GitHub Actions).
 */
export type IdentityTokenSource =
  | { from: "value"; value: string; setting: string }
  | { from: "file"; file: string; setting: string }
  | { from: "github-actions"; requestUrl: string; requestToken: string; audience: string; setting: string };

/** The identity token source a setting's value means. */
export function identityTokenSetting(value: string, setting: string): IdentityTokenSource {
  const file = filePathOf(value);
  return file === undefined ? { from: "value", value, setting } : { from: "file", file, setting };
}

/** Where the token comes from, as a message names it. */
export function identityTokenOrigin(s: IdentityTokenSource): string {
  switch (s.from) {
    case "value":
      return s.setting;
    case "file":
      return `the file ${s.file} (${s.setting})`;
    case "github-actions":
      return `GitHub Actions' OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL, audience ${JSON.stringify(s.audience)} from ${s.setting})`;
  }
}

/** How to reach GitHub Actions' token endpoint; tests give their own transport, sleep and randomness. */
export interface IdentityTokenIo {
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

/**
 * Retries of the token request: attempts in all, the first backoff (doubled per retry, with jitter, up
 * to the cap) when the endpoint gives no Retry-After, and the most all the waits may add up to.
 */
const GITHUB_RETRY = { attempts: 5, initialBackoffMs: 500, maxBackoffMs: 5_000, maxWaitMs: 30_000 };

/**
 * A GitHub Actions job's OIDC token for `audience`: GET ACTIONS_ID_TOKEN_REQUEST_URL with the audience
 * and `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answered `{"value": "<jwt>"}` (what
 * Tailscale's own discovery sends, tailscale/tailscale@de9ec7ee wif/wif.go:120-167). A 429 (after its
 * Retry-After), a 5xx and a request that got no answer are retried (provider/retry.ts); any other
 * status is the job's configuration and fails at once. A GET changes nothing, so repeating it is safe.
 */
async function githubActionsToken(
  s: Extract<IdentityTokenSource, { from: "github-actions" }>,
  io: IdentityTokenIo,
): Promise<string> {
  const fetchFn = io.fetch ?? globalThis.fetch;
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const url = new URL(s.requestUrl);
  url.searchParams.set("audience", s.audience);
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    let problem: string;
    let retryAfterMs: number | undefined;
    try {
      const res = await fetchFn(url, {
        headers: { Authorization: `Bearer ${s.requestToken}`, Accept: "application/json" },
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (res.status === 200) return tokenFromAnswer(s, text);
      if (res.status !== 429 && res.status < 500) {
        const said = text.split(s.requestToken).join("[redacted]").trim().slice(0, 300);
        throw new CredentialReadError(
          `${identityTokenOrigin(s)} answered ${res.status}${said ? `: ${said}` : ""}. Give the workflow job ` +
            "`permissions: id-token: write`, or set the identity token yourself (TAILSCALE_IDENTITY_TOKEN or " +
            "tailscale:identityToken, its value or file:<path>)",
        );
      }
      problem = `answered ${res.status}`;
      retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), (io.now ?? Date.now)());
    } catch (err) {
      if (err instanceof CredentialReadError) throw err;
      problem = `got no answer (${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`;
    }
    const wait =
      retryAfterMs ??
      backoffMs(attempt, GITHUB_RETRY.initialBackoffMs, GITHUB_RETRY.maxBackoffMs, io.random ?? Math.random);
    if (attempt < GITHUB_RETRY.attempts && waited + wait <= GITHUB_RETRY.maxWaitMs) {
      waited += wait;
      await sleep(wait);
      continue;
    }
    const tooLong =
      attempt < GITHUB_RETRY.attempts
        ? `, and asked to wait ${Math.ceil(wait / 1000)} s more (Retry-After), past the ${GITHUB_RETRY.maxWaitMs / 1000} s we wait in all`
        : "";
    throw new CredentialReadError(
      `${identityTokenOrigin(s)} ${problem} after ${attempt} attempt(s) over ${Math.round(waited / 1000)} s${tooLong}. ` +
        "GitHub's token service may be unavailable or rate-limiting this job: run the job again later, or set the " +
        "identity token yourself (TAILSCALE_IDENTITY_TOKEN or tailscale:identityToken, its value or file:<path>)",
    );
  }
}

/** The token in the endpoint's 200 answer `{"value": "<jwt>"}`. */
function tokenFromAnswer(s: Extract<IdentityTokenSource, { from: "github-actions" }>, text: string): string {
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== "string" || value.trim() === "") {
    throw new CredentialReadError(`${identityTokenOrigin(s)} answered without a token ("value")`);
  }
  return value.trim();
}

/** Reads the identity token now: a file is read again every time (it may have been rotated). */
export async function readIdentityToken(s: IdentityTokenSource, io: IdentityTokenIo = {}): Promise<string> {
  switch (s.from) {
    case "value":
      return s.value.trim();
    case "file": {
      let text: string;
      try {
        text = await readFile(s.file, "utf8");
      } catch (err) {
        throw unreadable(s.setting, s.file, err);
      }
      return contentOf(s.setting, s.file, text);
    }
    case "github-actions":
      return githubActionsToken(s, io);
  }
}
