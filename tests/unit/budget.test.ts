// The Let's Encrypt budget: what counts, what an update adds, when a preview fails or warns.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type BudgetIngress,
  certificateWarnings,
  evaluateBudget,
  type LedgerEntry,
  nextCertificateHistory,
} from "../../provider/plan/budget";
import { UNKNOWN } from "../../provider/plan/inputs";
import { acmeAccountId, acmeAccountIdFromFingerprint } from "../../provider/resources/certificate";

const NOW = "2026-11-26T12:00:00.000Z";
const hoursAgo = (h: number) => new Date(Date.parse(NOW) - h * 3600_000).toISOString();

function entries(
  stack: string,
  n: number,
  hostname = (i: number) => `${stack.split("/")[1]}-${i}`,
): LedgerEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    stack,
    resource: `urn:${stack}:${i}`,
    hostname: hostname(i),
    environment: "production" as const,
    issuedAt: hoursAgo(1 + i),
  }));
}

const planned = (hostname: string, extra: Partial<BudgetIngress> = {}): BudgetIngress => ({
  resource: `urn:new:${hostname}`,
  id: UNKNOWN,
  hostname,
  staging: UNKNOWN as never,
  issuances: UNKNOWN as never,
  certificate: UNKNOWN as never,
  ...extra,
});

const existing = (
  hostname: string,
  issuedAt: string[],
  extra: Partial<BudgetIngress> = {},
): BudgetIngress => ({
  resource: `urn:old:${hostname}`,
  id: `web/ts-${hostname}`,
  hostname,
  staging: false,
  issuances: issuedAt,
  certificate: { state: "issued", domain: `${hostname}.t.ts.net`, notAfter: hoursAgo(-24 * 80) },
  ...extra,
});

const tailnet = (r: ReturnType<typeof evaluateBudget>, env = "production") =>
  r.report.usage.find((u) => u.scope === "tailnet" && u.environment === env)!;

describe("CertificateBudget evaluation (pure)", () => {
  it("fails a preview that would exceed 50 new certificates per tailnet, naming the numbers and the stacks", () => {
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [planned("grafana"), planned("api")],
      peers: { "org/infra/a": entries("infra/a", 30), "org/infra/b": entries("infra/b", 19) },
      previousLedger: [],
      now: NOW,
    });
    assert.deepEqual(
      { used: tailnet(r).used, planned: tailnet(r).planned, remaining: tailnet(r).remaining },
      { used: 49, planned: 2, remaining: -1 },
    );
    assert.equal(r.report.violations.length, 1);
    assert.match(
      r.report.violations[0],
      /^Let's Encrypt production limit of 50 new certificates for the tailnet per 168 h: 49 used \(infra\/a: 30, infra\/b: 19\) \+ 2 planned by this update \(grafana, api\) = 51 > 50\./,
    );
    assert.match(r.report.violations[0], /next slot frees at 2026-12-02T06:00:00.000Z/);
  });

  it("warns from 80 % and passes within the limit", () => {
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [planned("grafana")],
      peers: { a: entries("infra/a", 39) },
      previousLedger: [],
      now: NOW,
    });
    assert.deepEqual(r.report.violations, []);
    assert.equal(r.report.warnings.length, 1);
    assert.match(r.report.warnings[0], /39 used \(infra\/a: 39\) \+ 1 planned .* = 40: 10 left/);
  });

  it("counts a re-created ingress whose outputs are all unknown in the environment of its last issuance", () => {
    // The delete-before-replace cascade of a ProxyGroup: the ingress's certificate and ProxyClass are unknown.
    const resource = "urn:new:web";
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [planned("web", { proxyClass: UNKNOWN as never })],
      peers: {},
      previousLedger: [
        { stack: "infra/c", resource, hostname: "web", environment: "staging", issuedAt: hoursAgo(2) },
      ],
      limits: { staging: { perHostname: 1 } },
      now: NOW,
    });
    const staging = r.report.usage.find((u) => u.environment === "staging" && u.scope === "web")!;
    assert.deepEqual([staging.used, staging.planned], [1, 1]);
    assert.equal(r.report.usage.filter((u) => u.environment === "production" && u.planned > 0).length, 0);
    assert.match(r.report.violations[0] ?? "", /staging limit of 1 certificates for the name "web"/);
  });

  it("counts a replacement as a duplicate of the same name (5 per 168 h)", () => {
    const history = entries("infra/c", 5, () => "grafana");
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [planned("grafana")],
      peers: {},
      previousLedger: history,
      now: NOW,
    });
    const name = r.report.usage.find((u) => u.scope === "grafana")!;
    assert.deepEqual(
      { used: name.used, planned: name.planned, limit: name.limit },
      { used: 5, planned: 1, limit: 5 },
    );
    assert.equal(r.report.violations.length, 1);
    assert.match(
      r.report.violations[0],
      /certificates for the name "grafana" per 168 h: 5 used \(infra\/c: 5\) \+ 1 planned/,
    );
  });

  it("does not count an ingress updated in place (its id stays known), nor issuances older than 168 h", () => {
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [existing("grafana", [hoursAgo(200), hoursAgo(2)], { issuances: UNKNOWN as never })],
      peers: { a: [{ ...entries("infra/a", 1)[0], issuedAt: hoursAgo(169) }] },
      previousLedger: [
        {
          stack: "infra/c",
          resource: "urn:old:grafana",
          hostname: "grafana",
          environment: "production",
          issuedAt: hoursAgo(2),
        },
      ],
      now: NOW,
    });
    assert.deepEqual({ used: tailnet(r).used, planned: tailnet(r).planned }, { used: 1, planned: 0 });
    assert.deepEqual(r.report.violations, []);
  });

  it("keeps the ledger across a replacement and drops what left the window", () => {
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [existing("web", [hoursAgo(3)])],
      peers: {},
      previousLedger: [
        {
          stack: "infra/c",
          resource: "urn:gone",
          hostname: "old",
          environment: "production",
          issuedAt: hoursAgo(10),
        },
        {
          stack: "infra/c",
          resource: "urn:gone",
          hostname: "older",
          environment: "production",
          issuedAt: hoursAgo(170),
        },
      ],
      now: NOW,
    });
    assert.deepEqual(
      r.ledger.map((e) => e.hostname),
      ["old", "web"],
    );
  });

  it("counts staging certificates against the staging limits only", () => {
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [planned("ci-1", { proxyClass: { useLetsEncryptStagingEnvironment: true } })],
      peers: { a: entries("infra/a", 50) },
      previousLedger: [],
      now: NOW,
    });
    assert.deepEqual(r.report.violations, []);
    assert.equal(tailnet(r, "staging").planned, 1);
    assert.equal(tailnet(r, "staging").limit, 30_000);
    assert.equal(tailnet(r).planned, 0);
  });

  it("warns about certificates expiring within 14 days or failing", () => {
    const soon = certificateWarnings(
      "soon",
      { state: "issued", domain: "soon.t.ts.net", notAfter: hoursAgo(-24 * 5) },
      NOW,
    );
    assert.equal(soon.length, 1);
    assert.match(soon[0], /soon\.t\.ts\.net expires at .* \(in 5 days\)/);
    const broken = certificateWarnings(
      "broken",
      { state: "failed", domain: "broken.t.ts.net", error: "rate limited" },
      NOW,
    );
    assert.deepEqual(broken, [
      "the certificate of broken.t.ts.net could not be obtained or renewed: rate limited",
    ]);
    assert.deepEqual(
      certificateWarnings(
        "fine",
        { state: "issued", domain: "fine.t.ts.net", notAfter: hoursAgo(-24 * 60) },
        NOW,
      ),
      [],
    );
  });

  it("honours lower limits given by the program", () => {
    const r = evaluateBudget({
      stack: "infra/c",
      ingresses: [planned("x")],
      peers: { a: entries("infra/a", 3) },
      previousLedger: [],
      limits: { production: { perDomain: 3 } },
      now: NOW,
    });
    assert.match(r.report.violations[0], /limit of 3 new certificates/);
  });
});

describe("renewals in the budget: exempt from the per-domain limit, counted per name", () => {
  const name = (r: ReturnType<typeof evaluateBudget>, h: string) =>
    r.report.usage.find((u) => u.scope === h)!;
  const renewals = [hoursAgo(10), hoursAgo(20), hoursAgo(30), hoursAgo(40)];

  it("an ingress's renewals count against its name only, and go into the ledger marked", () => {
    const r = evaluateBudget({
      stack: "infra/a",
      ingresses: [existing("web", [hoursAgo(50)], { renewals }), planned("api")],
      peers: { "org/infra/b": entries("infra/b", 44) },
      previousLedger: [],
      now: NOW,
    });
    assert.equal(tailnet(r).used, 45, "44 of the peer and web's one new certificate; no renewal");
    assert.equal(name(r, "web").used, 5);
    assert.deepEqual(
      r.ledger.filter((e) => e.renewal).map((e) => e.issuedAt),
      [...renewals].sort(),
    );
    assert.deepEqual(r.report.violations, []);
  });

  it("renewals fill the per-name limit a re-creation of the name needs", () => {
    const r = evaluateBudget({
      stack: "infra/a",
      ingresses: [planned("web")],
      peers: {},
      previousLedger: existingLedger("infra/a", "web", [hoursAgo(50)], renewals),
      now: NOW,
    });
    assert.equal(name(r, "web").used, 5);
    assert.match(
      r.report.violations[0] ?? "",
      /certificates for the name "web" per 168 h: 5 used .* = 6 > 5/,
    );
    assert.equal(tailnet(r).used, 1);
  });

  it("a peer's renewals count against the names, not the tailnet", () => {
    const peer = existingLedger("infra/b", "db", [], renewals);
    const r = evaluateBudget({
      stack: "infra/a",
      ingresses: [],
      peers: { b: peer },
      previousLedger: [],
      now: NOW,
    });
    assert.equal(tailnet(r).used, 0);
    assert.equal(name(r, "db").used, 4);
  });
});

function existingLedger(stack: string, hostname: string, issued: string[], renewed: string[]): LedgerEntry[] {
  const base = { stack, resource: `urn:old:${hostname}`, hostname, environment: "production" as const };
  return [
    ...issued.map((issuedAt) => ({ ...base, issuedAt })),
    ...renewed.map((issuedAt) => ({ ...base, issuedAt, renewal: true as const })),
  ];
}

describe("certificate issuances of one ingress", () => {
  const issued = (serial: string, notBefore: string, domain = "web.t.ts.net") => ({
    state: "issued" as const,
    domain,
    serialNumber: serial,
    notBefore,
  });

  const prev = {
    certificate: issued("01", "2026-11-01T00:00:00.000Z"),
    certificateIssuances: ["2026-11-01T00:00:00.000Z"],
    certificateAccount: "acct1",
  };
  const next = "2026-12-01T00:00:00.000Z";
  // Let's Encrypt: an ARI renewal is exempt from every limit; another order for the same names is a
  // renewal counted against the per-name limit only; anything else is new (plan/budget.ts).
  const cases: {
    name: string;
    previous?: typeof prev;
    cert: ReturnType<typeof issued> | { state: "pending"; domain: string };
    account?: string;
    ari: boolean;
    want: { issuances: string[]; renewals: string[] };
  }[] = [
    {
      name: "a first certificate is new",
      cert: issued("01", "2026-11-01T00:00:00.000Z"),
      account: "acct1",
      ari: true,
      want: { issuances: ["2026-11-01T00:00:00.000Z"], renewals: [] },
    },
    {
      name: "the same certificate again changes nothing",
      previous: prev,
      cert: issued("01", "2026-11-01T00:00:00.000Z"),
      account: "acct1",
      ari: false,
      want: { issuances: prev.certificateIssuances, renewals: [] },
    },
    {
      name: "renewed by the same account with ARI (shared ACME account): exempt, not recorded",
      previous: prev,
      cert: issued("02", next),
      account: "acct1",
      ari: true,
      want: { issuances: prev.certificateIssuances, renewals: [] },
    },
    {
      name: "renewed by the same account with renewals forced (every other proxy): a renewal",
      previous: prev,
      cert: issued("02", next),
      account: "acct1",
      ari: false,
      want: { issuances: prev.certificateIssuances, renewals: [next] },
    },
    {
      name: "re-issued by a new account (fresh state), even where ARI is on: a renewal, not new",
      previous: prev,
      cert: issued("03", next),
      account: "acct2",
      ari: true,
      want: { issuances: prev.certificateIssuances, renewals: [next] },
    },
    {
      name: "a certificate for another domain is new",
      previous: prev,
      cert: issued("04", next, "api.t.ts.net"),
      account: "acct1",
      ari: true,
      want: { issuances: [...prev.certificateIssuances, next], renewals: [] },
    },
    {
      name: "no certificate yet changes nothing",
      previous: prev,
      cert: { state: "pending", domain: "web.t.ts.net" },
      account: "acct1",
      ari: false,
      want: { issuances: prev.certificateIssuances, renewals: [] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(nextCertificateHistory(c.previous, c.cert, c.account, c.ari), c.want);
    });
  }
  it("keeps the renewals recorded before", () => {
    const before = { ...prev, certificateRenewals: ["2026-11-20T00:00:00.000Z"] };
    assert.deepEqual(nextCertificateHistory(before, issued("02", next), "acct1", false).renewals, [
      "2026-11-20T00:00:00.000Z",
      next,
    ]);
  });

  it("a ProxyGroup certificate names its ACME account by the 32 raw bytes replica 0 stores", () => {
    const pem = "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n";
    const raw = createHash("sha256").update(pem).digest();
    // The same identity as a standalone proxy's account key of the same PEM.
    assert.equal(
      acmeAccountIdFromFingerprint(raw.toString("base64")),
      acmeAccountId({ "acme-account.key.pem": pem }),
    );
    assert.equal(acmeAccountIdFromFingerprint(raw.toString("base64")), raw.toString("hex").slice(0, 16));
    // Hex text (not what kubestore writes), a short value, nothing: no identity.
    assert.equal(
      acmeAccountIdFromFingerprint(Buffer.from(raw.toString("hex")).toString("base64")),
      undefined,
    );
    assert.equal(acmeAccountIdFromFingerprint(Buffer.from("short").toString("base64")), undefined);
    assert.equal(acmeAccountIdFromFingerprint(undefined), undefined);
  });
});
