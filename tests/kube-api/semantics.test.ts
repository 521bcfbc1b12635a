// Encodings, OpenAPI, discovery extras and the smaller API semantics of a real API server (each case cites its source),
// each against the real server's answer.
import assert from "node:assert/strict";
import { failure, type Harness, harness, raw } from "./helpers";

const CM = "/api/v1/namespaces/default/configmaps";
const SVC = "/api/v1/namespaces/default/services";

describe("kube-api: encodings, OpenAPI, discovery and smaller semantics", function () {
  this.timeout(30_000);
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  describe("content negotiation", () => {
    it("answers a protobuf body with 415 listing the accepted types (negotiation/errors.go:78-85)", async () => {
      const r = await raw(h.server, "POST", CM, "k8s\u0000\n\u0004", "application/vnd.kubernetes.protobuf");
      assert.equal(r.status, 415);
      assert.deepEqual(r.json, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
        reason: "UnsupportedMediaType",
        code: 415,
      });
    });

    it("decodes a YAML body, and answers in YAML when asked", async () => {
      const made = await raw(
        h.server,
        "POST",
        CM,
        "metadata:\n  name: from-yaml\ndata:\n  a: b\n",
        "application/yaml",
      );
      assert.equal(made.status, 201);
      const y = await raw(h.server, "GET", `${CM}/from-yaml`, undefined, "application/json", h.server.token, {
        Accept: "application/yaml",
      });
      assert.equal(y.headers.get("content-type"), "application/yaml");
      assert.match(y.text, /^kind: ConfigMap$/m);
    });

    it("serves JSON to a client that accepts protobuf or JSON, and 406 to one that accepts only protobuf", async () => {
      const both = await raw(
        h.server,
        "GET",
        `${CM}/from-yaml`,
        undefined,
        "application/json",
        h.server.token,
        {
          Accept: "application/vnd.kubernetes.protobuf, application/json",
        },
      );
      assert.equal(both.status, 200);
      assert.equal(both.headers.get("content-type"), "application/json");
      const only = await raw(
        h.server,
        "GET",
        `${CM}/from-yaml`,
        undefined,
        "application/json",
        h.server.token,
        {
          Accept: "application/vnd.kubernetes.protobuf",
        },
      );
      assert.equal(only.status, 406);
      assert.deepEqual(only.json, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "only the following media types are accepted: application/json, application/yaml",
        reason: "NotAcceptable",
        code: 406,
      });
    });

    it("converts to a Table when asked, as kubectl get asks", async () => {
      const t = await raw(
        h.server,
        "GET",
        "/api/v1/namespaces",
        undefined,
        "application/json",
        h.server.token,
        {
          Accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        },
      );
      assert.equal(t.json.kind, "Table");
      assert.deepEqual(
        t.json.columnDefinitions.map((c: any) => c.name),
        ["Name", "Status", "Age"],
      );
      assert.ok(
        t.json.rows.some(
          (r: any) => r.cells[0] === "kube-system" && r.object.kind === "PartialObjectMetadata",
        ),
      );
    });
  });

  describe("strict decoding, list options and body size", () => {
    it("reports duplicate JSON keys as the strict decoder does: 400 with Strict, a warning by default", async () => {
      const body = '{"metadata":{"name":"dup","name":"dup"},"data":{"a":"1","a":"2"}}';
      const strict = await raw(h.server, "POST", `${CM}?fieldValidation=Strict`, body);
      assert.equal(strict.status, 400);
      assert.equal(
        strict.json.message,
        'strict decoding error: duplicate field "metadata.name", duplicate field "data.a"',
      );
      const warned = await raw(h.server, "POST", CM, body);
      assert.equal(warned.status, 201);
      assert.equal(warned.json.data.a, "2", "the last value wins, as in Go");
      assert.equal(
        warned.headers.get("warning"),
        '299 - "duplicate field \\"metadata.name\\"", 299 - "duplicate field \\"data.a\\""',
      );
    });

    it("refuses resourceVersionMatch without resourceVersion with the 422 on ListOptions", async () => {
      const r = await raw(h.server, "GET", `${CM}?resourceVersionMatch=NotOlderThan`);
      assert.equal(r.status, 422);
      assert.deepEqual(r.json, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
        reason: "Invalid",
        details: {
          group: "meta.k8s.io",
          kind: "ListOptions",
          causes: [
            {
              reason: "FieldValueForbidden",
              message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
              field: "resourceVersionMatch",
            },
          ],
        },
        code: 422,
      });
      assert.equal(
        (await raw(h.server, "GET", `${CM}?resourceVersionMatch=NotOlderThan&resourceVersion=1`)).status,
        200,
      );
    });

    it("refuses a body over 3 MiB with 413", async () => {
      const big = JSON.stringify({ metadata: { name: "big" }, data: { a: "x".repeat(3 * 1024 * 1024) } });
      const r = await raw(h.server, "POST", CM, big);
      assert.equal(r.status, 413);
      assert.deepEqual(r.json, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Request entity too large: limit is 3145728",
        reason: "RequestEntityTooLarge",
        code: 413,
      });
    });
  });

  describe("Service cluster IPs", () => {
    const svc = (name: string, spec: Record<string, unknown> = {}) => ({
      metadata: { name },
      spec: { ports: [{ port: 80 }], selector: { app: name }, ...spec },
    });

    it("refuses a change of clusterIP alone as the change of clusterIPs[0] it is", async () => {
      const made = await h.core.createNamespacedService({ namespace: "default", body: svc("fixed") });
      const was = made.spec!.clusterIP!;
      const r = await raw(
        h.server,
        "PATCH",
        `${SVC}/fixed`,
        { spec: { clusterIP: "10.96.9.9" } },
        "application/merge-patch+json",
      );
      assert.equal(r.status, 422);
      assert.equal(
        r.json.message,
        'Service "fixed" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.9.9"]: may not change once set',
      );
      assert.equal(h.server.getObject("v1", "Service", "default", "fixed").spec.clusterIP, was);
    });

    it("refuses clusterIPs[0] different from clusterIP, an IP outside the service CIDR, and a taken IP", async () => {
      const mismatch = await failure(
        h.core.createNamespacedService({
          namespace: "default",
          body: svc("mismatch", { clusterIP: "10.96.5.5", clusterIPs: ["10.96.5.6"] }),
        }),
      );
      assert.equal(mismatch.code, 422);
      assert.equal(
        mismatch.status.message,
        'Service "mismatch" is invalid: spec.clusterIPs: Invalid value: ["10.96.5.6"]: first value must match `clusterIP`',
      );
      const outside = await failure(
        h.core.createNamespacedService({
          namespace: "default",
          body: svc("outside", { clusterIP: "10.0.0.5" }),
        }),
      );
      assert.equal(
        outside.status.message,
        'Service "outside" is invalid: spec.clusterIPs: Invalid value: ["10.0.0.5"]: failed to allocate IP 10.0.0.5: provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12',
      );
      const taken = await failure(
        h.core.createNamespacedService({
          namespace: "default",
          body: svc("taken", { clusterIP: "10.96.0.1" }),
        }),
      );
      assert.equal(
        taken.status.message,
        'Service "taken" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.1"]: failed to allocate IP 10.96.0.1: provided IP is already allocated',
      );
      const chosen = await h.core.createNamespacedService({
        namespace: "default",
        body: svc("chosen", { clusterIP: "10.96.7.7" }),
      });
      assert.deepEqual(chosen.spec?.clusterIPs, ["10.96.7.7"]);
    });
  });

  describe("OpenAPI and discovery", () => {
    it("serves /openapi/v3 per group version, with hashed URLs, the kinds' schemas and fieldValidation on PATCH", async () => {
      const index = await raw(h.server, "GET", "/openapi/v3");
      const url = index.json.paths["apis/apps/v1"].serverRelativeURL as string;
      assert.match(url, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]+$/);
      const doc = await raw(h.server, "GET", url);
      assert.equal(doc.headers.get("cache-control"), "public, immutable");
      const sts = doc.json.components.schemas["io.k8s.api.apps.v1.StatefulSet"];
      assert.deepEqual(sts["x-kubernetes-group-version-kind"], [
        { group: "apps", kind: "StatefulSet", version: "v1" },
      ]);
      assert.equal(sts.properties.spec.$ref, "#/components/schemas/io.k8s.api.apps.v1.StatefulSetSpec");
      assert.deepEqual(doc.json.components.schemas["io.k8s.api.apps.v1.StatefulSetSpec"].required, [
        "selector",
        "template",
      ]);
      const patch = doc.json.paths["/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"].patch;
      assert.ok(patch.parameters.some((p: any) => p.name === "fieldValidation" && p.in === "query"));
      const stale = await raw(h.server, "GET", "/openapi/v3/apis/apps/v1?hash=0");
      assert.equal(stale.status, 301);
      assert.equal(stale.headers.get("location"), url);
    });

    it("serves /openapi/v2 as JSON, and 406 to a protobuf-only Accept", async () => {
      const v2 = await raw(h.server, "GET", "/openapi/v2", undefined, "application/json", h.server.token, {
        Accept: "application/json",
      });
      assert.equal(v2.json.swagger, "2.0");
      assert.ok(v2.json.definitions["io.k8s.api.core.v1.Secret"]);
      const pb = await raw(h.server, "GET", "/openapi/v2", undefined, "application/json", h.server.token, {
        Accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
      });
      assert.equal(pb.status, 406);
    });

    it("serves aggregated discovery to the Accept kubectl sends, and the legacy documents otherwise", async () => {
      const accept =
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
      const agg = await raw(h.server, "GET", "/apis", undefined, "application/json", h.server.token, {
        Accept: accept,
      });
      assert.equal(
        agg.headers.get("content-type"),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
      );
      const apps = agg.json.items.find((g: any) => g.metadata.name === "apps");
      const sts = apps.versions[0].resources.find((r: any) => r.resource === "statefulsets");
      assert.deepEqual(sts.categories, ["all"]);
      assert.deepEqual(sts.subresources.find((s: any) => s.subresource === "scale").responseKind, {
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
      });
      const core = await raw(h.server, "GET", "/api", undefined, "application/json", h.server.token, {
        Accept: accept,
      });
      assert.ok(core.json.items[0].versions[0].resources.some((r: any) => r.resource === "pods"));
      assert.equal((await raw(h.server, "GET", "/apis")).json.kind, "APIGroupList");
    });
  });
});
