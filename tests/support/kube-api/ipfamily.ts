/**
 * IP families of a cluster's Service and Pod networks: which families an address belongs to, whether it
 * lies in a CIDR, and the allocatable addresses of a CIDR, for IPv4 and IPv6 alike.
 */

/** A Service or Pod IP family (`spec.ipFamilies[]` of a Service). */
export type IPFamily = "IPv4" | "IPv6";

/** The family of an address (IPv6 when it has a colon, as netutils.IsIPv6String decides). */
export function familyOf(ip: string): IPFamily {
  return ip.includes(":") ? "IPv6" : "IPv4";
}

/** The other family: IPv6 for IPv4 and the reverse. */
export function otherFamily(f: IPFamily): IPFamily {
  return f === "IPv4" ? "IPv6" : "IPv4";
}

/** An address as an integer (IPv4: 32 bits, IPv6: 128 bits), or undefined when it is not an address. */
export function ipToBigInt(ip: string): bigint | undefined {
  if (!ip.includes(":")) {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
    if (!m) return undefined;
    const parts = m.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return parts.reduce((acc, p) => (acc << 8n) + BigInt(p), 0n);
  }
  const halves = ip.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) + BigInt(Number.parseInt(g, 16));
  }
  return n;
}

/** The text of an address as Go's net.IP.String() writes it (IPv6: lower case, longest zero run as `::`). */
export function bigIntToIp(n: bigint, family: IPFamily): string {
  if (family === "IPv4") return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join(".");
  const g = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => Number((n >> s) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/** A parsed CIDR: its family, first address and size. */
export interface Cidr {
  /** The CIDR as written, e.g. `10.96.0.0/12` or `fd00:10:96::/112`. */
  text: string;
  family: IPFamily;
  base: bigint;
  size: bigint;
}

/** Parses `addr/bits`; throws on anything else (a stand-in's own configuration, so a bug to fix). */
export function parseCidr(text: string): Cidr {
  const [addr, bits] = text.split("/");
  const base = ipToBigInt(addr ?? "");
  const family = familyOf(addr ?? "");
  const width = family === "IPv4" ? 32 : 128;
  if (base === undefined || !/^\d+$/.test(bits ?? "") || Number(bits) > width) {
    throw new Error(`"${text}" is not a CIDR; write it as address/prefix-length, e.g. 10.96.0.0/12`);
  }
  return { text, family, base, size: 1n << BigInt(width - Number(bits)) };
}

/**
 * Whether an address is allocatable in the CIDR. The allocator reserves the network address, and for
 * IPv4 the broadcast address (`kubernetes/kubernetes pkg/registry/core/service/ipallocator/bitmap.go`
 * NewAllocatorCIDRRange: the range starts at base+1, and IPv4 excludes the last address).
 */
export function inCidrRange(ip: string, cidr: Cidr): boolean {
  if (familyOf(ip) !== cidr.family) return false;
  const n = ipToBigInt(ip);
  if (n === undefined) return false;
  const last = cidr.family === "IPv4" ? cidr.base + cidr.size - 1n : cidr.base + cidr.size;
  return n > cidr.base && n < last;
}
