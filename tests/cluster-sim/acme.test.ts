import assert from "node:assert/strict";
import { AcmeSim, environmentFromEnv } from "../support/cluster-sim";
import { newAccountKeyPem } from "../support/cluster-sim/acme";

describe("ACME simulation: accounts, renewals and Let's Encrypt limits", () => {
  const now = new Date("2026-11-26T12:00:00Z");
  const order = (acme: AcmeSim, domain: string, accountKeyPem: string, at = now, replaces = false) =>
    acme.order({
      namespace: "tailscale",
      podName: "p-0",
      domains: [domain],
      environment: "production",
      accountKeyPem,
      now: at,
      replaces,
    });

  it("exempts ARI renewals by the same account from every limit; other renewals count per set of names, 5 a week", () => {
    const acme = new AcmeSim();
    const web = "web.tailnet-1234.ts.net";
    const account = newAccountKeyPem();
    const first = order(acme, web, account).issuance;
    assert.deepEqual([first.renewal, first.ari], [false, false]);
    for (let i = 0; i < 6; i++) {
      const r = order(acme, web, account, now, true);
      assert.ok(r.cert, "an ARI renewal is never limited");
      assert.deepEqual([r.issuance.renewal, r.issuance.ari], [true, true]);
    }
    // `replaces` from another account is no ARI renewal (tailscaled sends it only for its own).
    assert.equal(order(acme, web, newAccountKeyPem(), now, true).issuance.ari, false);
    // Forced renewals and fresh accounts: renewals by the names, 5 per week with the first.
    for (let i = 0; i < 3; i++) assert.ok(order(acme, web, i % 2 ? account : newAccountKeyPem()).cert);
    const sixth = order(acme, web, account);
    assert.equal(sixth.cert, undefined);
    assert.equal(sixth.issuance.error, "rate-limited");
    const nextWeek = new Date(now.getTime() + 8 * 24 * 3600 * 1000);
    assert.ok(order(acme, web, newAccountKeyPem(), nextWeek).cert, "the window refills");
  });

  it("renewals are exempt from the per-domain limit", () => {
    const acme = new AcmeSim({
      production: { newCertificatesPerWeek: 2, duplicateCertificatesPerWeek: 5 },
      staging: { newCertificatesPerWeek: 2, duplicateCertificatesPerWeek: 5 },
    });
    assert.ok(order(acme, "a.tailnet-1.ts.net", newAccountKeyPem()).cert);
    assert.ok(order(acme, "b.tailnet-1.ts.net", newAccountKeyPem()).cert);
    assert.ok(
      order(acme, "a.tailnet-1.ts.net", newAccountKeyPem()).cert,
      "a renewal of a, by another account",
    );
    assert.equal(order(acme, "c.tailnet-1.ts.net", newAccountKeyPem()).issuance.error, "rate-limited");
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
