// Transport, identities and RBAC of the local API server, against what the real kube-apiserver does
// (kubernetes/apiserver@v0.36.3 pkg/endpoints/request/requestinfo.go; https://kubernetes.io/docs/reference/access-authn-authz/rbac/): TLS with the cluster CA, tokens, ServiceAccount tokens and client
// certificates, request attributes and rule matching as the RBAC authorizer derives them, the 403 bodies,
// the escalation and bind checks, the self-reviews, impersonation and the bootstrap roles.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import * as k8s from "@kubernetes/client-node";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";
import { type PolicyRule, requestAttributes, ruleAllows } from "../support/kube-api/rbac";
import { failure, raw } from "./helpers";

const RBAC = "rbac.authorization.k8s.io";

describe("kube-api: TLS, identities and RBAC", function () {
  this.timeout(30_000);
  let server: KubeApiServer;

  before(async () => {
    server = await startKubeApiServer();
    server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team" } });
  });
  after(() => server.stop());

  function clients(kubeconfig: string) {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfig);
    return {
      core: kc.makeApiClient(k8s.CoreV1Api),
      rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
      authz: kc.makeApiClient(k8s.AuthorizationV1Api),
      authn: kc.makeApiClient(k8s.AuthenticationV1Api),
    };
  }

  /** A user with exactly these rules in `namespace` (none but the bootstrap ones when rules is empty). */
  function user(name: string, rules: PolicyRule[], namespace = "team") {
    if (rules.length > 0) {
      server.seed({ apiVersion: `${RBAC}/v1`, kind: "Role", metadata: { namespace, name }, rules });
      server.seed({
        apiVersion: `${RBAC}/v1`,
        kind: "RoleBinding",
        metadata: { namespace, name },
        roleRef: { apiGroup: RBAC, kind: "Role", name },
        subjects: [{ kind: "User", name }],
      });
    }
    return clients(server.kubeconfig({ user: name, groups: [] }));
  }

  const tokenOf = (kubeconfig: string) => /token: (\S+)/.exec(kubeconfig)![1]!;

  describe("transport and authentication", () => {
    it("serves HTTPS only, with a certificate the kubeconfig's CA verifies", async () => {
      const kc = server.kubeconfig();
      assert.ok(server.url.startsWith("https://127.0.0.1:"));
      assert.match(kc, /certificate-authority-data: /);
      assert.doesNotMatch(kc, /insecure-skip-tls-verify/);
      // Another CA: client-node refuses the server.
      const other = await startKubeApiServer();
      const wrongCa = kc.replace(
        /certificate-authority-data: \S+/,
        `certificate-authority-data: ${Buffer.from(other.ca).toString("base64")}`,
      );
      await other.stop();
      await assert.rejects(clients(wrongCa).core.listNamespace(), /certificate|self.signed|verify/i);
      // Plain HTTP on the TLS port is not served.
      const plain = await new Promise<number | string>((resolve) => {
        const r = httpRequest(server.url.replace("https:", "http:"), (res) => resolve(res.statusCode ?? 0));
        r.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        r.end();
      });
      assert.notEqual(plain, 200);
    });

    it("maps a client certificate's CN and O to the user and groups, and refuses one from another CA", async () => {
      const who = await clients(
        server.kubeconfig({ user: "carol", groups: ["ops", "dev"], auth: "certificate" }),
      ).authn.createSelfSubjectReview({ body: {} });
      assert.deepEqual(JSON.parse(JSON.stringify(who.status?.userInfo)), {
        username: "carol",
        groups: ["ops", "dev", "system:authenticated"],
      });
      const other = await startKubeApiServer();
      const foreign = other.kubeconfig({ user: "mallory", groups: ["system:masters"], auth: "certificate" });
      await other.stop();
      const ca = /certificate-authority-data: \S+/.exec(server.kubeconfig())![0];
      const forged = foreign
        .replace(/certificate-authority-data: \S+/, ca)
        .replace(/server: \S+/, `server: ${server.url}`);
      const { code } = await failure(clients(forged).core.listNamespace());
      assert.equal(code, 401);
    });

    it("authenticates a ServiceAccount token only while its ServiceAccount exists, and a Pod-bound token while its Pod does", async () => {
      server.seed({ apiVersion: "v1", kind: "ServiceAccount", metadata: { namespace: "team", name: "bot" } });
      const kc = server.kubeconfig({ serviceAccount: { namespace: "team", name: "bot" } });
      const who = await clients(kc).authn.createSelfSubjectReview({ body: {} });
      assert.equal(who.status?.userInfo?.username, "system:serviceaccount:team:bot");
      assert.deepEqual(who.status?.userInfo?.groups, [
        "system:serviceaccounts",
        "system:serviceaccounts:team",
        "system:authenticated",
      ]);
      server.seed({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { namespace: "team", name: "p" },
        spec: { serviceAccountName: "bot", containers: [{ name: "c", image: "busybox:1" }] },
      });
      const pod = server.getObject("v1", "Pod", "team", "p");
      const tr = await clients(server.kubeconfig()).core.createNamespacedServiceAccountToken({
        namespace: "team",
        name: "bot",
        body: {
          spec: {
            audiences: [],
            boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "p", uid: pod.metadata.uid },
          },
        },
      });
      const bound = kc.replace(tokenOf(kc), tr.status!.token);
      const boundWho = await clients(bound).authn.createSelfSubjectReview({ body: {} });
      assert.deepEqual(boundWho.status?.userInfo?.extra?.["authentication.kubernetes.io/pod-name"], ["p"]);
      server.remove("v1", "Pod", "team", "p");
      assert.equal((await failure(clients(bound).core.listNamespace())).code, 401);
      server.remove("v1", "ServiceAccount", "team", "bot");
      assert.equal((await failure(clients(kc).core.listNamespace())).code, 401);
    });
  });

  describe("request attributes and rule matching (requestinfo.go, rbac.go)", () => {
    const u = { name: "u", groups: [] };
    const attrs = (method: string, path: string, query = "") =>
      requestAttributes(u, method, path, new URLSearchParams(query));

    it("derives verbs, names, namespaces and subresources as the API server does", () => {
      const pick = (a: ReturnType<typeof attrs>) =>
        [a.verb, a.namespace, a.resource, a.subresource, a.name].join("|");
      assert.equal(pick(attrs("GET", "/api/v1/namespaces/ns/secrets/s")), "get|ns|secrets||s");
      assert.equal(pick(attrs("GET", "/api/v1/namespaces/ns/secrets")), "list|ns|secrets||");
      assert.equal(pick(attrs("GET", "/api/v1/namespaces/ns/secrets", "watch=true")), "watch|ns|secrets||");
      assert.equal(
        pick(attrs("GET", "/api/v1/namespaces/ns/secrets", "watch=1&fieldSelector=metadata.name%3Ds")),
        "watch|ns|secrets||s",
      );
      assert.equal(pick(attrs("GET", "/api/v1/watch/namespaces/ns/secrets")), "watch|ns|secrets||");
      assert.equal(pick(attrs("POST", "/api/v1/namespaces/ns/secrets")), "create|ns|secrets||");
      assert.equal(pick(attrs("DELETE", "/api/v1/namespaces/ns/secrets")), "deletecollection|ns|secrets||");
      assert.equal(
        pick(attrs("PATCH", "/apis/apps/v1/namespaces/ns/statefulsets/a/scale")),
        "patch|ns|statefulsets|scale|a",
      );
      assert.equal(
        pick(attrs("GET", "/api/v1/namespaces/kube-system")),
        "get|kube-system|namespaces||kube-system",
      );
      assert.equal(pick(attrs("PUT", "/api/v1/namespaces/x/finalize")), "update|x|namespaces|finalize|x");
      assert.equal(pick(attrs("GET", "/api/v1/namespaces")), "list||namespaces||");
      assert.equal(attrs("GET", "/apis/apps/v1").resourceRequest, false);
      assert.equal(attrs("GET", "/healthz").verb, "get");
    });

    it("matches verbs, groups, resources with wildcards and subresources, resourceNames and URLs", () => {
      const a = attrs("GET", "/apis/apps/v1/namespaces/ns/statefulsets/a/scale");
      assert.ok(ruleAllows(a, { verbs: ["get"], apiGroups: ["apps"], resources: ["statefulsets/scale"] }));
      assert.ok(ruleAllows(a, { verbs: ["*"], apiGroups: ["*"], resources: ["*/scale"] }));
      assert.ok(!ruleAllows(a, { verbs: ["get"], apiGroups: ["apps"], resources: ["statefulsets"] }));
      assert.ok(!ruleAllows(a, { verbs: ["get"], apiGroups: [""], resources: ["statefulsets/scale"] }));
      assert.ok(
        ruleAllows(a, { verbs: ["get"], apiGroups: ["apps"], resources: ["*"], resourceNames: ["a"] }),
      );
      assert.ok(
        !ruleAllows(a, { verbs: ["get"], apiGroups: ["apps"], resources: ["*"], resourceNames: ["b"] }),
      );
      // resourceNames never authorize a create, nor a list without the name's field selector.
      const named = {
        verbs: ["create", "list"],
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["s"],
      };
      assert.ok(!ruleAllows(attrs("POST", "/api/v1/namespaces/ns/secrets"), named));
      assert.ok(!ruleAllows(attrs("GET", "/api/v1/namespaces/ns/secrets", "labelSelector=a%3Db"), named));
      assert.ok(
        ruleAllows(attrs("GET", "/api/v1/namespaces/ns/secrets", "fieldSelector=metadata.name%3Ds"), named),
      );
      const url = { verbs: ["get"], nonResourceURLs: ["/apis/*"] };
      assert.ok(ruleAllows(attrs("GET", "/apis/apps/v1"), url));
      assert.ok(!ruleAllows(attrs("GET", "/api"), url));
    });
  });

  describe("authorization", () => {
    it("answers a denied request with the real 403 body, naming user, verb, resource and scope", async () => {
      const nobody = user("nobody", []);
      const secret = await failure(nobody.core.readNamespacedSecret({ namespace: "team", name: "s" }));
      assert.equal(secret.code, 403);
      assert.deepEqual(secret.status, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'secrets "s" is forbidden: User "nobody" cannot get resource "secrets" in API group "" in the namespace "team"',
        reason: "Forbidden",
        details: { name: "s", kind: "secrets" },
        code: 403,
      });
      const crs = await failure(nobody.rbac.listClusterRole());
      assert.equal(
        crs.status.message,
        'clusterroles.rbac.authorization.k8s.io is forbidden: User "nobody" cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope',
      );
      assert.deepEqual(crs.status.details, { group: RBAC, kind: "clusterroles" });
      const path = await raw(
        server,
        "GET",
        "/metrics",
        undefined,
        "application/json",
        tokenOf(server.kubeconfig({ user: "nobody", groups: [] })),
      );
      assert.equal(path.status, 403);
      assert.equal(path.json.message, 'forbidden: User "nobody" cannot get path "/metrics"');
      assert.deepEqual(path.json.details, {});
      assert.equal(path.headers.get("x-content-type-options"), "nosniff");
      // Discovery and the self-reviews are every authenticated user's (system:discovery, system:basic-user).
      assert.equal(
        (
          await raw(
            server,
            "GET",
            "/apis",
            undefined,
            "application/json",
            tokenOf(server.kubeconfig({ user: "nobody", groups: [] })),
          )
        ).status,
        200,
      );
    });

    it("adds the resolution error of a binding whose role is missing to the reason", async () => {
      server.seed({
        apiVersion: `${RBAC}/v1`,
        kind: "RoleBinding",
        metadata: { namespace: "team", name: "dangling" },
        roleRef: { apiGroup: RBAC, kind: "Role", name: "gone" },
        subjects: [{ kind: "User", name: "dangler" }],
      });
      const { status } = await failure(user("dangler", []).core.listNamespacedPod({ namespace: "team" }));
      assert.equal(
        status.message,
        'pods is forbidden: User "dangler" cannot list resource "pods" in API group "" in the namespace "team": RBAC: role.rbac.authorization.k8s.io "gone" not found',
      );
    });

    it("authorizes a server-side apply that creates as a create too; patch alone updates only", async () => {
      const patcher = user("patcher", [{ apiGroups: [""], resources: ["configmaps"], verbs: ["patch"] }]);
      const cm = (name: string) => ({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace: "team" },
        data: { k: "v" },
      });
      const applyCm = (name: string) =>
        patcher.core.patchNamespacedConfigMap(
          { name, namespace: "team", body: cm(name), fieldManager: "patcher" },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
        );
      const { code, status } = await failure(applyCm("new-cm"));
      assert.equal(code, 403);
      assert.equal(
        status.message,
        'configmaps "new-cm" is forbidden: User "patcher" cannot create resource "configmaps" in API group "" in the namespace "team"',
      );
      server.seed(cm("old-cm"));
      const updated = await applyCm("old-cm");
      assert.equal(updated.data?.k, "v");
    });

    it("grants a Namespace to a Role in it, since a Namespace is its own namespace", async () => {
      const reader = user("ns-reader", [{ apiGroups: [""], resources: ["namespaces"], verbs: ["get"] }]);
      assert.equal((await reader.core.readNamespace({ name: "team" })).metadata?.name, "team");
      assert.equal((await failure(reader.core.readNamespace({ name: "kube-system" }))).code, 403);
    });
  });

  describe("escalation and bind checks", () => {
    const eventsRule = { apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] };

    it("refuses a Role granting what its creator lacks, listing the missing rules, as ConfirmNoEscalation does", async () => {
      const writer = user("role-writer", [
        {
          apiGroups: [RBAC],
          resources: ["roles", "rolebindings"],
          verbs: ["create", "get", "update", "patch"],
        },
        { apiGroups: [""], resources: ["events"], verbs: ["get"] },
      ]);
      const { code, status } = await failure(
        writer.rbac.createNamespacedRole({
          namespace: "team",
          body: {
            metadata: { name: "proxy" },
            rules: [
              eventsRule,
              { apiGroups: [""], resources: ["secrets"], resourceNames: ["a"], verbs: ["get"] },
            ],
          },
        }),
      );
      assert.equal(code, 403);
      assert.equal(
        status.message,
        'roles.rbac.authorization.k8s.io "proxy" is forbidden: user "role-writer" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
          '{APIGroups:[""], Resources:["events"], Verbs:["create" "patch"]}\n' +
          '{APIGroups:[""], Resources:["secrets"], ResourceNames:["a"], Verbs:["get"]}',
      );
      assert.deepEqual(status.details, { name: "proxy", group: RBAC, kind: "roles" });
    });

    it("allows it to one holding the permissions, or the escalate verb; a label change still needs them", async () => {
      const holder = user("holder", [
        {
          apiGroups: [RBAC],
          resources: ["roles", "rolebindings"],
          verbs: ["create", "get", "update", "patch"],
        },
        eventsRule,
      ]);
      await holder.rbac.createNamespacedRole({
        namespace: "team",
        body: { metadata: { name: "ev" }, rules: [eventsRule] },
      });
      const escalator = user("escalator", [
        { apiGroups: [RBAC], resources: ["roles"], verbs: ["create", "escalate", "patch"] },
      ]);
      await escalator.rbac.createNamespacedRole({
        namespace: "team",
        body: { metadata: { name: "wide" }, rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }] },
      });
      const lacking = user("lacking", [{ apiGroups: [RBAC], resources: ["roles"], verbs: ["patch", "get"] }]);
      const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
      const labelled = await failure(
        lacking.rbac.patchNamespacedRole(
          { namespace: "team", name: "ev", body: { metadata: { labels: { a: "b" } } } },
          merge,
        ),
      );
      assert.equal(labelled.code, 403);
      // Only ownerReferences or finalizers: not checked (IsOnlyMutatingGCFields).
      await lacking.rbac.patchNamespacedRole(
        { namespace: "team", name: "ev", body: { metadata: { finalizers: ["example.com/keep"] } } },
        merge,
      );
    });

    it("refuses a RoleBinding to a role with more than its creator holds unless it may bind it; a missing role is 404", async () => {
      const binder = user("binder", [
        { apiGroups: [RBAC], resources: ["rolebindings"], verbs: ["create"] },
        { apiGroups: [RBAC], resources: ["roles"], verbs: ["bind"], resourceNames: ["wide"] },
      ]);
      const rb = (name: string, role: string) => ({
        metadata: { name },
        roleRef: { apiGroup: RBAC, kind: "Role", name: role },
        subjects: [{ kind: "User", name: "someone", apiGroup: RBAC }],
      });
      const refused = await failure(
        binder.rbac.createNamespacedRoleBinding({ namespace: "team", body: rb("to-ev", "ev") }),
      );
      assert.equal(refused.code, 403);
      assert.match(
        refused.status.message,
        /^rolebindings.rbac.authorization.k8s.io "to-ev" is forbidden: user "binder" \(groups=\["system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["events"\], Verbs:\["create" "patch" "get"\]\}$/,
      );
      await binder.rbac.createNamespacedRoleBinding({ namespace: "team", body: rb("to-wide", "wide") });
      const missing = await failure(
        binder.rbac.createNamespacedRoleBinding({ namespace: "team", body: rb("to-none", "none") }),
      );
      assert.equal(missing.code, 404);
      assert.equal(missing.status.message, 'roles.rbac.authorization.k8s.io "none" not found');
    });
  });

  describe("self-reviews and impersonation", () => {
    it("answers SelfSubjectAccessReview and SelfSubjectRulesReview from the same rules", async () => {
      const me = user("reviewer", [
        { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["mine"] },
      ]);
      const ask = (name: string) =>
        me.authz.createSelfSubjectAccessReview({
          body: {
            spec: { resourceAttributes: { namespace: "team", verb: "get", resource: "secrets", name } },
          },
        });
      const yes = await ask("mine");
      assert.equal(yes.status?.allowed, true);
      assert.equal(
        yes.status?.reason,
        'RBAC: allowed by RoleBinding "reviewer/team" of Role "reviewer" to User "reviewer"',
      );
      assert.equal((await ask("other")).status?.allowed, false);
      const rules = await me.authz.createSelfSubjectRulesReview({ body: { spec: { namespace: "team" } } });
      assert.ok(
        rules.status?.resourceRules.some(
          (r) => r.resources?.[0] === "secrets" && r.resourceNames?.[0] === "mine" && r.verbs[0] === "get",
        ),
      );
      assert.ok(rules.status?.resourceRules.some((r) => r.resources?.includes("selfsubjectaccessreviews")));
      const invalid = await failure(me.authz.createSelfSubjectAccessReview({ body: { spec: {} } }));
      assert.equal(invalid.code, 422);
    });

    it("impersonates only with the impersonate verb, and refuses as the real filter does", async () => {
      const plain = tokenOf(server.kubeconfig({ user: "plain", groups: [] }));
      const refused = await raw(server, "GET", "/api/v1/namespaces", undefined, "application/json", plain, {
        "Impersonate-User": "admin",
      });
      assert.equal(refused.status, 403);
      assert.equal(
        refused.json.message,
        'users "admin" is forbidden: User "plain" cannot impersonate resource "users" in API group "" at the cluster scope',
      );
      const noUser = await raw(server, "GET", "/api/v1/namespaces", undefined, "application/json", plain, {
        "Impersonate-Group": "system:masters",
      });
      assert.equal(noUser.status, 400);
      assert.match(noUser.json.message, /without impersonating a user$/);
      server.seed({
        apiVersion: `${RBAC}/v1`,
        kind: "ClusterRole",
        metadata: { name: "impersonator" },
        rules: [{ apiGroups: [""], resources: ["serviceaccounts"], verbs: ["impersonate"] }],
      });
      server.seed({
        apiVersion: `${RBAC}/v1`,
        kind: "ClusterRoleBinding",
        metadata: { name: "impersonator" },
        roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "impersonator" },
        subjects: [{ kind: "User", name: "plain", apiGroup: RBAC }],
      });
      const as = await raw(
        server,
        "POST",
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
        "application/json",
        plain,
        { "Impersonate-User": "system:serviceaccount:team:builder" },
      );
      assert.equal(as.status, 201);
      assert.deepEqual(as.json.status.userInfo, {
        username: "system:serviceaccount:team:builder",
        groups: ["system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated"],
      });
      assert.equal(server.requests.at(-1)?.impersonatedUser, "system:serviceaccount:team:builder");
    });
  });

  describe("bootstrap policy", () => {
    it("serves cluster-admin, view, edit and admin, the last three aggregated from their parts", async () => {
      const admin = clients(server.kubeconfig()).rbac;
      const edit = await admin.readClusterRole({ name: "edit" });
      const has = (role: k8s.V1ClusterRole, resource: string, verb: string) =>
        (role.rules ?? []).some((r) => r.resources?.includes(resource) && r.verbs.includes(verb));
      // Writes on events since kubernetes/kubernetes#102858; pods/exec both ways.
      assert.ok(has(edit, "events", "create") && has(edit, "events", "patch"));
      assert.ok(has(edit, "pods/exec", "get") && has(edit, "pods/exec", "create"));
      assert.ok(has(edit, "secrets", "list"), "edit includes view, and view's pods/list");
      const adminRole = await admin.readClusterRole({ name: "admin" });
      assert.ok(has(adminRole, "rolebindings", "create") && has(adminRole, "statefulsets", "patch"));
      assert.ok(
        !has(await admin.readClusterRole({ name: "view" }), "secrets", "get"),
        "view does not read Secrets",
      );
      // A new aggregated role flows into view (and so edit and admin).
      await admin.createClusterRole({
        body: {
          metadata: {
            name: "widgets-view",
            labels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
          },
          rules: [{ apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] }],
        },
      });
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(has(await admin.readClusterRole({ name: "admin" }), "widgets", "get"));
      const bindings = (await admin.listClusterRoleBinding()).items.map(
        (b) => `${b.metadata?.name}:${b.subjects?.map((s) => s.name).join(",")}`,
      );
      assert.ok(bindings.includes("cluster-admin:system:masters"));
      assert.ok(bindings.includes("system:basic-user:system:authenticated"));
    });
  });
});
