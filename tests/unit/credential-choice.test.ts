// Which Tailscale credential a set of places yields (provider/credentials.ts chooseTailscaleCredential), and
// what the client checks of an identity token before exchanging it (provider/tailscale/identityToken.ts):
// both pure, table-tested.
import assert from "node:assert/strict";
import {
  chooseTailscaleCredential,
  MissingCredentialsError,
  type TailscaleLayer,
  type TailscaleSetting,
} from "../../provider/credentials";
import {
  checkIdentityToken,
  decodeIdentityToken,
  describeClaims,
  IdentityTokenError,
} from "../../provider/tailscale/identityToken";

type Place = "resource credentials" | "provider config" | "environment";

/** A place holding the given settings, each named `<place>.<setting>` so a message shows which was meant. */
function place(source: Place, values: Partial<Record<TailscaleSetting, string>>): TailscaleLayer {
  const settings: TailscaleLayer["settings"] = {};
  for (const [k, v] of Object.entries(values)) {
    settings[k as TailscaleSetting] = { value: v, setting: `${source}.${k}` };
  }
  return { source, settings };
}

describe("chooseTailscaleCredential", () => {
  const chosen: [string, TailscaleLayer[], { kind: string; source: Place }][] = [
    [
      "an OAuth client",
      [place("environment", { oauthClientId: "k1", oauthClientSecret: "s" })],
      { kind: "oauth", source: "environment" },
    ],
    [
      "a federated identity with a token",
      [place("provider config", { oauthClientId: "k1", identityToken: "file:/t" })],
      { kind: "federated", source: "provider config" },
    ],
    [
      "a federated identity with only an audience (GitHub Actions)",
      [place("environment", { oauthClientId: "k1", audience: "aud" })],
      { kind: "federated", source: "environment" },
    ],
    [
      "a token and an audience together (the audience is checked)",
      [place("environment", { oauthClientId: "k1", identityToken: "t", audience: "aud" })],
      { kind: "federated", source: "environment" },
    ],
    [
      "an API key",
      [place("resource credentials", { apiKey: "tskey-api-x" })],
      { kind: "apiKey", source: "resource credentials" },
    ],
    [
      "a federated identity over an API key in the same place",
      [place("environment", { apiKey: "tskey-api-x", oauthClientId: "k1", identityToken: "t" })],
      { kind: "federated", source: "environment" },
    ],
    [
      "the first place that has a secret, whatever the later ones hold",
      [
        place("resource credentials", { tailnet: "T1" }),
        place("provider config", { oauthClientId: "k1", identityToken: "t" }),
        place("environment", { oauthClientId: "k2", oauthClientSecret: "s" }),
      ],
      { kind: "federated", source: "provider config" },
    ],
  ];
  for (const [what, ls, want] of chosen) {
    it(`chooses ${what}`, () => {
      const c = chooseTailscaleCredential(ls);
      assert.deepEqual({ kind: c.kind, source: c.layer.source }, want);
    });
  }

  const refused: [string, TailscaleLayer[], RegExp][] = [
    [
      "a secret and an identity token in one place",
      [place("environment", { oauthClientId: "k", oauthClientSecret: "s", identityToken: "t" })],
      /Both an OAuth client secret \(environment.oauthClientSecret\) and an identity token \(environment.identityToken\)/,
    ],
    [
      "a secret and an audience in one place",
      [place("provider config", { oauthClientId: "k", oauthClientSecret: "s", audience: "a" })],
      /Both an OAuth client secret .* and an audience \(provider config.audience\)/,
    ],
    [
      "an identity token without its client id",
      [place("environment", { identityToken: "t" }), place("environment", { oauthClientId: "k" })],
      /identity token is set in the environment \(environment.identityToken\) but its client id is not.*federated identity's ID/,
    ],
    [
      "a client id alone",
      [place("provider config", { oauthClientId: "k" })],
      /client id is set in the provider config \(provider config.oauthClientId\) but neither its OAuth client secret nor an identity token/,
    ],
    [
      "nothing, listing every place with the federated settings",
      [place("environment", { tailnet: "T" })],
      /No Tailscale credentials were found.*tailscaleIdentityToken.*tailscale:identityToken file:<path>.*TAILSCALE_IDENTITY_TOKEN/,
    ],
  ];
  for (const [what, ls, message] of refused) {
    it(`refuses ${what}, naming the settings but no value`, () => {
      assert.throws(
        () => chooseTailscaleCredential(ls),
        (e: unknown) =>
          e instanceof MissingCredentialsError && message.test(e.message) && !/"s"|"t"/.test(e.message),
      );
    });
  }

  it("says why a variable named by identityTokenEnvironmentVariableName gave nothing", () => {
    const l = {
      ...place("provider config", { oauthClientId: "k" }),
      notes: ["… names CI_TOKEN, which is not set"],
    };
    assert.throws(() => chooseTailscaleCredential([l]), /\(… names CI_TOKEN, which is not set\)/);
  });
});

/** An unsigned JWT with these claims (the client cannot check signatures, so none is needed). */
function jwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.c2lnbmF0dXJl`;
}

describe("identity token checks", () => {
  const NOW = Date.parse("2026-09-01T12:00:00Z");
  const s = NOW / 1000;
  const good = {
    iss: "https://token.actions.githubusercontent.com",
    sub: "repo:acme/infra:ref:refs/heads/main",
  };
  const origin = "the file /run/token (TAILSCALE_IDENTITY_TOKEN)";
  const audience = { value: "api.tailscale.com/k1", setting: "TAILSCALE_AUDIENCE" };

  it("returns the claims of a usable token, with aud as a list", () => {
    const claims = checkIdentityToken(jwt({ ...good, aud: audience.value, exp: s + 60 }), {
      origin,
      nowMs: NOW,
      audience,
    });
    assert.deepEqual(claims, { ...good, aud: [audience.value], exp: s + 60, nbf: undefined });
    assert.equal(
      describeClaims(claims),
      'issuer "https://token.actions.githubusercontent.com", subject "repo:acme/infra:ref:refs/heads/main", ' +
        'audience ["api.tailscale.com/k1"], expiring 2026-09-01T12:01:00Z',
    );
  });

  const refused: [string, string, RegExp][] = [
    ["not a JWT", "tskey-client-abc", /from the file \/run\/token .* is not a JWT: it has 1 part/],
    [
      "claims that are not JSON",
      "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
      /not base64url-encoded JSON objects/,
    ],
    ["no expiry", jwt({ ...good, aud: audience.value }), /has no exp \(expiry\) claim/],
    [
      "expired",
      jwt({ ...good, aud: audience.value, exp: s }),
      /expired at 2026-09-01T12:00:00Z .*fetched again/,
    ],
    ["not valid yet", jwt({ ...good, aud: audience.value, exp: s + 60, nbf: s + 30 }), /not valid before/],
    [
      "another audience",
      jwt({ ...good, aud: ["sts.amazonaws.com"], exp: s + 60 }),
      /is for audience \["sts.amazonaws.com"\], but TAILSCALE_AUDIENCE expects "api.tailscale.com\/k1"/,
    ],
  ];
  for (const [what, token, message] of refused) {
    it(`refuses a token that is ${what}, without quoting it`, () => {
      assert.throws(
        () => checkIdentityToken(token, { origin, nowMs: NOW, audience }),
        (e: unknown) =>
          e instanceof IdentityTokenError && message.test(e.message) && !e.message.includes(token),
      );
    });
  }

  it("does not compare the audience when none was set", () => {
    const claims = checkIdentityToken(jwt({ ...good, aud: "anything", exp: s + 60 }), { origin, nowMs: NOW });
    assert.deepEqual(claims.aud, ["anything"]);
    assert.deepEqual(decodeIdentityToken("a.b"), {
      problem: 'is not a JWT: it has 2 part(s), a JWT has three separated by "."',
    });
  });
});
