import assert from "node:assert/strict";
import { AcmeSim, environmentFromEnv } from "../support/cluster-sim";
import { newAccountKeyPem } from "../support/cluster-sim/acme";

describe("ACME simulation: accounts, renewals and Let's Encrypt limits", () => {
  const now = new Date("2026-11-26T12:00:00Z");
  const order = (acme: AcmeSim, domain: string, accountKeyPem: string, at = now) =>
    acme.order({
      namespace: "tailscale",
      podName: "p-0",
      domains: [domain],
      environment: "production",
      accountKeyPem,
      now: at,
    });

  it("exempts renewals by the same account and rate-limits the sixth duplicate from fresh accounts in a week", () => {
    const acme = new AcmeSim();
    const account = newAccountKeyPem();
    assert.equal(order(acme, "web.tailnet-1234.ts.net", account).issuance.renewal, false);
    for (let i = 0; i < 3; i++) {
      const r = order(acme, "web.tailnet-1234.ts.net", account);
      assert.ok(r.cert);
      assert.equal(r.issuance.renewal, true);
    }
    // Fresh state (a new account) for the same name: each is a duplicate, 5 per week.
    for (let i = 0; i < 4; i++) assert.ok(order(acme, "web.tailnet-1234.ts.net", newAccountKeyPem()).cert);
    const sixth = order(acme, "web.tailnet-1234.ts.net", newAccountKeyPem());
    assert.equal(sixth.cert, undefined);
    assert.equal(sixth.issuance.error, "rate-limited");
    const nextWeek = new Date(now.getTime() + 8 * 24 * 3600 * 1000);
    assert.ok(
      order(acme, "web.tailnet-1234.ts.net", newAccountKeyPem(), nextWeek).cert,
      "the window refills",
    );
  });

  it("counts new certificates per tailnet domain against the weekly limit", () => {
    const acme = new AcmeSim({
      production: { newCertificatesPerWeek: 2, duplicateCertificatesPerWeek: 5 },
      staging: { newCertificatesPerWeek: 2, duplicateCertificatesPerWeek: 5 },
    });
    const account = newAccountKeyPem();
    assert.ok(order(acme, "a.tailnet-1.ts.net", account).cert);
    assert.ok(order(acme, "b.tailnet-1.ts.net", account).cert);
    assert.equal(order(acme, "c.tailnet-1.ts.net", account).issuance.error, "rate-limited");
    assert.ok(order(acme, "c.tailnet-2.ts.net", account).cert, "another tailnet has its own budget");
    assert.equal(acme.history.filter((i) => i.ok).length, 3);
  });

  it("selects staging only for the LE staging directory URL", () => {
    assert.equal(
      environmentFromEnv({
        TS_DEBUG_ACME_DIRECTORY_URL: "https://acme-staging-v02.api.letsencrypt.org/directory",
      }),
      "staging",
    );
    assert.equal(environmentFromEnv({}), "production");
  });
});
