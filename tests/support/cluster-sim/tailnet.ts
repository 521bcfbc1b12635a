// What a proxy's tailscaled does with one HTTP request from a tailnet client, given the serve config
// it applied: which port it listens on for the name, which handler serves the path, and what that
// handler answers (a redirect, a text, or the backend URL its reverse proxy requests). Follows
// tailscale/tailscale@de9ec7ee ipn/ipnlocal/serve.go (getServeHandler, serveWebHandler, webServerConfig,
// proxyHandlerForBackend) and net/http/httputil's ReverseProxy SetURL. Pure.

type Json = any;

/** What the proxy answered. A `proxy` answer is the request tailscaled sends on to the backend. */
export type ServeAnswer =
  | { kind: "proxy"; target: string }
  | { kind: "redirect"; status: number; location: string }
  | { kind: "text"; status: number; body: string };

/** Why a request never got an HTTP answer from the proxy (the connection failed). */
export class TailnetConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TailnetConnectError";
  }
}

/**
 * The web server config for `fqdn:port`: of Tailscale Service `service` (its `Services` entry), or
 * the node's own (top level) when `service` is undefined. Undefined when nothing listens there.
 */
export function listener(
  serve: Json,
  fqdn: string,
  port: number,
  service: string | undefined,
): { tcp: Json; web: Json } | undefined {
  const scope = service ? serve?.Services?.[service] : serve;
  const tcp = scope?.TCP?.[String(port)];
  if (!tcp) return undefined;
  return { tcp, web: scope?.Web?.[`${fqdn}:${port}`] };
}

/**
 * The handler for `path` (getServeHandler): the exact mount point, else walking up the path, each
 * step trying `<dir>/` then `<dir>`, down to `/`.
 */
export function findHandler(
  handlers: Record<string, Json> | null | undefined,
  path: string,
): { handler: Json; mount: string } | undefined {
  const h = handlers ?? {};
  if (h[path]) return { handler: h[path], mount: path };
  let p = cleanPath(path);
  if (!p.startsWith("/")) return undefined;
  for (;;) {
    const withSlash = p === "/" ? "/" : `${p}/`;
    if (h[withSlash]) return { handler: h[withSlash], mount: withSlash };
    if (h[p]) return { handler: h[p], mount: p };
    if (p === "/") return undefined;
    p = parentDir(p);
  }
}

/** Go's path.Clean for absolute paths: no empty, `.` or `..` segments, no trailing slash. */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return p.startsWith("/") ? `/${out.join("/")}` : out.join("/") || ".";
}

function parentDir(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

/** httputil's singleJoiningSlash. */
function joinSlash(a: string, b: string): string {
  const as = a.endsWith("/");
  const bs = b.startsWith("/");
  if (as && bs) return a + b.slice(1);
  if (!as && !bs) return `${a}/${b}`;
  return a + b;
}

/**
 * What `handler`, found at `mount`, answers to a request for `requestUri` with Host header `host`
 * (serveWebHandler). A proxy strips the mount point (without its trailing slash) from any path but
 * `/`, then joins what is left to the target's path; an exact match of a mount point is sent to the
 * target's path itself.
 */
export function answer(handler: Json, mount: string, host: string, requestUri: string): ServeAnswer {
  const [path, query] = splitQuery(requestUri);
  if (typeof handler?.Text === "string" && handler.Text !== "") {
    return { kind: "text", status: 200, body: handler.Text };
  }
  if (typeof handler?.Redirect === "string" && handler.Redirect !== "") {
    const m = /^(\d{3}):(.*)$/.exec(handler.Redirect);
    const to = (m ? m[2]! : handler.Redirect)
      .replaceAll("$" + "{HOST}", host)
      .replaceAll("$" + "{REQUEST_URI}", requestUri);
    return { kind: "redirect", status: m ? Number(m[1]) : 302, location: to };
  }
  if (typeof handler?.Proxy === "string" && handler.Proxy !== "") {
    // expandProxyArg: `https+insecure://` is HTTPS without verifying the backend's certificate.
    const spec = handler.Proxy.replace(/^https\+insecure:\/\//, "https://");
    const url = spec.includes("://") ? spec : `http://${spec}`;
    // Split by hand: Go keeps the host as written (`:80` too) and an absent path empty, where WHATWG
    // URLs drop a default port and say "/".
    const m = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?/i.exec(url)!;
    const target = { protocol: m[1]!, host: m[2]!, search: m[4] ?? "" };
    const targetPath = m[3]!;
    let out = path;
    if (path !== "/") {
      const prefix = mount.endsWith("/") ? mount.slice(0, -1) : mount;
      out = path.startsWith(prefix) ? path.slice(prefix.length) : path;
    }
    const joined = out === "" && targetPath !== "" ? targetPath : joinSlash(targetPath, out);
    const q = [target.search, query].filter(Boolean).join("&");
    return { kind: "proxy", target: `${target.protocol}//${target.host}${joined}${q ? `?${q}` : ""}` };
  }
  return { kind: "text", status: 500, body: "empty handler" };
}

function splitQuery(uri: string): [string, string] {
  const i = uri.indexOf("?");
  return i < 0 ? [uri, ""] : [uri.slice(0, i), uri.slice(i + 1)];
}
