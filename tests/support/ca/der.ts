// A minimal ASN.1 DER encoder: just the types an X.509 v3 certificate needs.
// node:crypto can parse and verify certificates but cannot build them, hence this.

/** An encoded DER element (tag + length + contents). */
export type Der = Buffer;

/** Encodes a DER length: short form below 128, long form otherwise. */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Wraps contents in a tag-length-value element. */
export function tlv(tag: number, contents: Buffer): Der {
  return Buffer.concat([Buffer.from([tag]), derLength(contents.length), contents]);
}

/** SEQUENCE of already-encoded elements. */
export function sequence(...items: Der[]): Der {
  return tlv(0x30, Buffer.concat(items));
}

/** SET OF already-encoded elements (DER sorts SET OF members by their encoding). */
export function set(...items: Der[]): Der {
  return tlv(0x31, Buffer.concat([...items].sort(Buffer.compare)));
}

/** INTEGER from a non-negative bigint or a big-endian unsigned byte string. */
export function integer(v: bigint | number | Buffer): Der {
  let bytes: Buffer;
  if (Buffer.isBuffer(v)) {
    bytes = v;
  } else {
    let n = BigInt(v);
    if (n < 0n) throw new Error("integer: negative values are not needed here and not supported");
    const out: number[] = [];
    do {
      out.unshift(Number(n & 0xffn));
      n >>= 8n;
    } while (n > 0n);
    bytes = Buffer.from(out);
  }
  // Minimal encoding: strip leading zeros, then add one back if the high bit would read as negative.
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  bytes = bytes.subarray(i);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

/** BOOLEAN. */
export function boolean(v: boolean): Der {
  return tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
}

/** NULL. */
export function nullValue(): Der {
  return Buffer.from([0x05, 0x00]);
}

/** OBJECT IDENTIFIER from dotted notation. */
export function oid(dotted: string): Der {
  const parts = dotted.split(".").map((p) => {
    if (!/^\d+$/.test(p)) throw new Error(`oid: "${dotted}" is not a dotted OID`);
    return BigInt(p);
  });
  if (parts.length < 2) throw new Error(`oid: "${dotted}" needs at least two arcs`);
  const arcs = [parts[0]! * 40n + parts[1]!, ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(Number(v & 0x7fn));
      v >>= 7n;
    } while (v > 0n);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** OCTET STRING. */
export function octetString(b: Buffer): Der {
  return tlv(0x04, b);
}

/** BIT STRING with whole bytes (unused bits 0), as used for keys and signatures. */
export function bitString(b: Buffer, unusedBits = 0): Der {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), b]));
}

/**
 * BIT STRING of named bits (bit 0 = most significant bit of the first byte), DER-minimal:
 * trailing zero bits are dropped, as X.509 KeyUsage requires.
 */
export function namedBits(bits: number[]): Der {
  if (bits.length === 0) return bitString(Buffer.alloc(0));
  const max = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)]! |= 0x80 >> (bit % 8);
  const unused = 7 - (max % 8);
  return bitString(bytes, unused);
}

/** UTF8String. */
export function utf8String(s: string): Der {
  return tlv(0x0c, Buffer.from(s, "utf8"));
}

/** PrintableString (checked against its character set). */
export function printableString(s: string): Der {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s))
    throw new Error(`printableString: "${s}" has characters outside the set`);
  return tlv(0x13, Buffer.from(s, "latin1"));
}

/** IA5String (ASCII), used by dNSName. */
export function ia5String(s: string): Der {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: IA5 is exactly the 7-bit range
  if (!/^[\x00-\x7f]*$/.test(s)) throw new Error(`ia5String: "${s}" is not ASCII`);
  return tlv(0x16, Buffer.from(s, "ascii"));
}

/**
 * X.509 Time: UTCTime for years 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5).
 * Sub-second precision is dropped, as RFC 5280 requires.
 */
export function time(d: Date): Der {
  const y = d.getUTCFullYear();
  const p = (n: number) => String(n).padStart(2, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${p(y % 100)}${rest}`, "ascii"));
  return tlv(0x18, Buffer.from(`${String(y).padStart(4, "0")}${rest}`, "ascii"));
}

/** Context-specific EXPLICIT tag [n] around one element. */
export function explicit(n: number, inner: Der): Der {
  return tlv(0xa0 | n, inner);
}

/** Context-specific IMPLICIT primitive tag [n] with raw contents. */
export function implicitPrimitive(n: number, contents: Buffer): Der {
  return tlv(0x80 | n, contents);
}
