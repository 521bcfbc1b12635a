/**
 * The cluster's certificate authority, as kubeadm sets one up: a self-signed CA that signs the API
 * server's serving certificate and client certificates, whose subject CommonName is the user name and
 * whose Organizations are the groups (the x509 authenticator's mapping,
 * https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates).
 * ECDSA P-256 keys keep the per-request TLS handshakes cheap: client-node makes a new agent, so a new
 * TLS session, for every request (kubernetes-client/javascript@1.4.0 src/config.ts:231-270).
 */
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { isIP } from "node:net";
import { buildCertificate, extension, keyId, serialBytes, toPem } from "../ca";
import {
  boolean,
  type Der,
  ia5String,
  implicitPrimitive,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
  utf8String,
} from "../ca/der";

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
};

const DAY_MS = 24 * 3600 * 1000;

/** A key pair and its certificate, PEM. */
export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

/** The cluster CA: signs the serving certificate and client certificates. */
export interface ClusterCa extends KeyAndCert {
  /** Issues a client certificate: CN = user, one O per group. */
  issueClient(user: string, groups: string[]): KeyAndCert;
}

function distinguishedName(cn: string, organizations: string[] = []): Der {
  const rdns: Der[] = organizations.map((o) => set(sequence(oid(OID.organization), utf8String(o))));
  rdns.push(set(sequence(oid(OID.commonName), utf8String(cn))));
  return sequence(...rdns);
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  throw new Error(`only IPv4 SANs are supported, not ${ip}`);
}

/** subjectAltName entries: dNSName [2] IA5String, iPAddress [7] OCTET STRING. */
function altNames(names: string[]): Der {
  return sequence(
    ...names.map((n) => {
      if (isIP(n)) return implicitPrimitive(7, ipBytes(n));
      const ia5 = ia5String(n);
      return implicitPrimitive(2, ia5.subarray(ia5.length - Buffer.byteLength(n, "ascii")));
    }),
  );
}

/** Creates a CA (`kubernetes`, as kubeadm names it) and the API server's serving certificate. */
export function createClusterPki(serverNames: string[]): { ca: ClusterCa; serving: KeyAndCert } {
  const caKeys = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const caSubject = distinguishedName("kubernetes");
  const now = Date.now();
  const notBefore = new Date(now - DAY_MS);
  const notAfter = new Date(now + 3650 * DAY_MS);
  const caDer = buildCertificate({
    serial: serialBytes(),
    issuer: caSubject,
    subject: caSubject,
    notBefore,
    notAfter,
    subjectPublicKey: caKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true))),
      extension(OID.keyUsage, true, namedBits([0, 5, 6])), // digitalSignature, keyCertSign, cRLSign
      extension(OID.subjectKeyIdentifier, false, octetString(keyId(caKeys.publicKey))),
    ],
  });
  const leaf = (subject: Der, usage: string, sans?: string[]): KeyAndCert => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const publicKey = createPublicKey(privateKey);
    const extensions = [
      extension(OID.keyUsage, true, namedBits([0])), // digitalSignature
      extension(OID.extKeyUsage, false, sequence(oid(usage))),
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, keyId(caKeys.publicKey)))),
    ];
    if (sans) extensions.push(extension(OID.subjectAltName, false, altNames(sans)));
    const der = buildCertificate({
      serial: serialBytes(),
      issuer: caSubject,
      subject,
      notBefore,
      notAfter: new Date(now + 365 * DAY_MS),
      subjectPublicKey: publicKey,
      signingKey: caKeys.privateKey,
      extensions,
    });
    return {
      certPem: toPem("CERTIFICATE", der),
      keyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
  };
  const ca: ClusterCa = {
    certPem: toPem("CERTIFICATE", caDer),
    keyPem: caKeys.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    issueClient: (user, groups) => leaf(distinguishedName(user, groups), OID.clientAuth),
  };
  const serving = leaf(distinguishedName("kube-apiserver"), OID.serverAuth, serverNames);
  return { ca, serving };
}
