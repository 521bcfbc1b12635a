// Local certificate authorities standing in for Let's Encrypt production and staging, so the
// cluster simulator can put real, verifiable X.509 certificates into state Secrets.
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from "node:crypto";
import {
  bitString,
  boolean,
  type Der,
  explicit,
  ia5String,
  implicitPrimitive,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  printableString,
  sequence,
  set,
  time,
  utf8String,
} from "./der";

/** Which Let's Encrypt environment a certificate imitates. */
export type CaEnvironment = "production" | "staging";

/** The ACME directory URL that selects the staging CA (TS_DEBUG_ACME_DIRECTORY_URL). */
export const LE_STAGING_DIRECTORY_URL = "https://acme-staging-v02.api.letsencrypt.org/directory";

/** A certificate authority with its key. */
export interface LocalCa {
  environment: CaEnvironment;
  /** Issuer common name, e.g. `Sim Let's Encrypt R3` or `(STAGING) Sim Let's Encrypt R3`. */
  commonName: string;
  certPem: string;
  cert: X509Certificate;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** A leaf certificate and its private key, PEM. */
export interface IssuedCert {
  certPem: string;
  keyPem: string;
  /** Serial number, upper-case hex. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  domains: string[];
}

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  country: "2.5.4.6",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

const DAY_MS = 24 * 3600 * 1000;

function name(parts: { c?: string; o?: string; cn: string }): Der {
  const rdns: Der[] = [];
  if (parts.c) rdns.push(set(sequence(oid(OID.country), printableString(parts.c))));
  if (parts.o) rdns.push(set(sequence(oid(OID.organization), utf8String(parts.o))));
  rdns.push(set(sequence(oid(OID.commonName), utf8String(parts.cn))));
  return sequence(...rdns);
}

function signatureAlgorithm(key: KeyObject): Der {
  if (key.asymmetricKeyType === "ec") return sequence(oid(OID.ecdsaWithSha256));
  if (key.asymmetricKeyType === "rsa") return sequence(oid(OID.sha256WithRsa), nullValue());
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType}`);
}

/** An X.509 extension (id, critical flag, DER value). */
export function extension(id: string, critical: boolean, value: Der): Der {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

/** A key identifier: SHA-1 of the public key's SPKI DER. */
export function keyId(pub: KeyObject): Buffer {
  return createHash("sha1")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest();
}

/** A random positive 16-byte certificate serial number. */
export function serialBytes(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive and no leading zero byte
  return b;
}

/** DER as PEM with the given label. */
export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})/g, "$1\n");
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END ${label}-----\n`;
}

/** Builds and signs an X.509 v3 certificate; returns its DER. */
export function buildCertificate(o: {
  serial: Buffer;
  issuer: Der;
  subject: Der;
  notBefore: Date;
  notAfter: Date;
  subjectPublicKey: KeyObject;
  extensions: Der[];
  signingKey: KeyObject;
}): Buffer {
  const algo = signatureAlgorithm(o.signingKey);
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(o.serial),
    algo,
    o.issuer,
    sequence(time(o.notBefore), time(o.notAfter)),
    o.subject,
    o.subjectPublicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(...o.extensions)),
  );
  const signature = sign("sha256", tbs, o.signingKey);
  return sequence(tbs, algo, bitString(signature));
}

const cas = new Map<CaEnvironment, LocalCa>();

/** The process-wide CA for an environment (created on first use, RSA 2048 like LE's R3). */
export function getCa(environment: CaEnvironment): LocalCa {
  const existing = cas.get(environment);
  if (existing) return existing;
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const commonName = environment === "staging" ? "(STAGING) Sim Let's Encrypt R3" : "Sim Let's Encrypt R3";
  const subject = name({
    c: "US",
    o: environment === "staging" ? "(STAGING) Sim Let's Encrypt" : "Sim Let's Encrypt",
    cn: commonName,
  });
  const now = Date.now();
  const der = buildCertificate({
    serial: serialBytes(),
    issuer: subject,
    subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 5 * 365 * DAY_MS),
    subjectPublicKey: publicKey,
    signingKey: privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true))),
      extension(OID.keyUsage, true, namedBits([5, 6])), // keyCertSign, cRLSign
      extension(OID.subjectKeyIdentifier, false, octetString(keyId(publicKey))),
    ],
  });
  const certPem = toPem("CERTIFICATE", der);
  const ca: LocalCa = {
    environment,
    commonName,
    certPem,
    cert: new X509Certificate(certPem),
    publicKey,
    privateKey,
  };
  cas.set(environment, ca);
  return ca;
}

/**
 * Issues a TLS server certificate for `domains` (first one is the subject CN), valid for 90 days
 * from `now`, with a fresh ECDSA P-256 key unless `privateKey` is given (a renewal may keep its key).
 */
export function issueCertificate(o: {
  ca: LocalCa;
  domains: string[];
  now?: Date;
  validityDays?: number;
  privateKey?: KeyObject;
}): IssuedCert {
  if (o.domains.length === 0) throw new Error("issueCertificate: at least one domain is required");
  const privateKey = o.privateKey ?? generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
  const publicKey = createPublicKey(privateKey);
  const notBefore = new Date(Math.floor((o.now ?? new Date()).getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + (o.validityDays ?? 90) * DAY_MS);
  const serial = serialBytes();
  const der = buildCertificate({
    serial,
    issuer: name({
      c: "US",
      o: o.ca.environment === "staging" ? "(STAGING) Sim Let's Encrypt" : "Sim Let's Encrypt",
      cn: o.ca.commonName,
    }),
    subject: name({ cn: o.domains[0]! }),
    notBefore,
    notAfter,
    subjectPublicKey: publicKey,
    signingKey: o.ca.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, namedBits([0])), // digitalSignature
      extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectKeyIdentifier, false, octetString(keyId(publicKey))),
      extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId(o.ca.publicKey)))),
      extension(OID.subjectAltName, false, sequence(...o.domains.map((d) => implicitDnsName(d)))),
    ],
  });
  return {
    certPem: toPem("CERTIFICATE", der),
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    serial: serial.toString("hex").toUpperCase(),
    notBefore,
    notAfter,
    issuer: o.ca.commonName,
    domains: [...o.domains],
  };
}

function implicitDnsName(d: string): Der {
  // GeneralName dNSName is [2] IMPLICIT IA5String: take the IA5 contents, retag as context 2.
  const ia5 = ia5String(d);
  return implicitPrimitive(2, ia5.subarray(ia5.length - Buffer.byteLength(d, "ascii")));
}
