import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { getCa, issueCertificate } from "../support/ca";
import { derLength, integer, namedBits, oid, time } from "../support/ca/der";

describe("ASN.1 DER builder", () => {
  it("encodes lengths in short and long form", () => {
    assert.deepEqual([...derLength(5)], [5]);
    assert.deepEqual([...derLength(127)], [127]);
    assert.deepEqual([...derLength(128)], [0x81, 0x80]);
    assert.deepEqual([...derLength(300)], [0x82, 0x01, 0x2c]);
  });

  it("encodes integers minimally and keeps them positive", () => {
    assert.equal(integer(0).toString("hex"), "020100");
    assert.equal(integer(127).toString("hex"), "02017f");
    assert.equal(integer(128).toString("hex"), "02020080");
    assert.equal(integer(256).toString("hex"), "02020100");
    assert.equal(integer(Buffer.from([0, 0, 0x05])).toString("hex"), "020105");
    assert.equal(integer(Buffer.from([0xff])).toString("hex"), "020200ff");
  });

  it("encodes object identifiers with base-128 arcs", () => {
    assert.equal(oid("2.5.4.3").toString("hex"), "0603550403");
    assert.equal(oid("1.2.840.113549.1.1.11").toString("hex"), "06092a864886f70d01010b");
    assert.throws(() => oid("1"));
  });

  it("encodes KeyUsage bits without trailing zero bits", () => {
    assert.equal(namedBits([0]).toString("hex"), "03020780");
    assert.equal(namedBits([5, 6]).toString("hex"), "03020106");
  });

  it("uses UTCTime before 2050 and GeneralizedTime from 2050", () => {
    assert.equal(time(new Date("2026-11-26T21:08:48.123Z")).toString("latin1").slice(2), "261126210848Z");
    assert.equal(time(new Date("2050-01-01T00:00:00Z")).toString("latin1").slice(2), "20500101000000Z");
  });
});

describe("local Let's Encrypt CAs", () => {
  it("issues leaf certificates that node:crypto parses and verifies against the right CA", () => {
    const prod = getCa("production");
    const staging = getCa("staging");
    assert.equal(prod.cert.ca, true);
    assert.ok(prod.cert.verify(prod.publicKey), "the CA is self-signed");
    const now = new Date("2026-11-26T12:00:00Z");
    const leaf = issueCertificate({ ca: staging, domains: ["web.tailnet-1234.ts.net"], now });
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(cert.subjectAltName, "DNS:web.tailnet-1234.ts.net");
    assert.match(cert.issuer, /CN=\(STAGING\) Sim Let's Encrypt R3/);
    assert.match(cert.subject, /CN=web.tailnet-1234.ts.net/);
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(staging.publicKey));
    assert.equal(cert.verify(prod.publicKey), false);
    assert.ok(cert.checkIssued(staging.cert));
    assert.equal(new Date(cert.validFrom).getTime(), now.getTime());
    assert.equal(new Date(cert.validTo).getTime() - now.getTime(), 90 * 24 * 3600 * 1000);
    assert.equal(cert.serialNumber, leaf.serial);
    assert.ok(cert.checkPrivateKey(createPrivateKey(leaf.keyPem)));
    assert.ok(cert.checkHost("web.tailnet-1234.ts.net"));
    assert.equal(cert.checkHost("other.tailnet-1234.ts.net"), undefined);
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
  });

  it("puts every domain into subjectAltName", () => {
    const leaf = issueCertificate({
      ca: getCa("production"),
      domains: ["a.example.ts.net", "b.example.ts.net"],
    });
    const cert = new X509Certificate(leaf.certPem);
    assert.equal(cert.subjectAltName, "DNS:a.example.ts.net, DNS:b.example.ts.net");
    assert.match(cert.issuer, /CN=Sim Let's Encrypt R3/);
  });
});
