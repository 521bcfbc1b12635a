import assert from "node:assert/strict";
import { failure, type Harness, harness, merge, raw, statefulSet } from "./helpers";

describe("kube-api: defaulting, validation and immutability", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  describe("defaults", () => {
    it("Secret: type Opaque, stringData folded into data and never returned", async () => {
      const s = await h.core.createNamespacedSecret({
        namespace: "default",
        body: {
          metadata: { name: "sd" },
          data: { a: Buffer.from("old").toString("base64") },
          stringData: { a: "new", b: "x" },
        },
      });
      assert.equal(s.type, "Opaque");
      assert.equal(s.stringData, undefined);
      assert.deepEqual(s.data, {
        a: Buffer.from("new").toString("base64"),
        b: Buffer.from("x").toString("base64"),
      });
      const raw1 = await raw(h.server, "GET", "/api/v1/namespaces/default/secrets/sd");
      assert.equal("stringData" in raw1.json, false);
    });

    it("StatefulSet: apps/v1, pod template and container defaults", async () => {
      const body = statefulSet("defaults");
      body.spec!.template.spec!.containers.push({
        name: "latest",
        image: "nginx",
        ports: [{ containerPort: 80 }],
      });
      body.spec!.volumeClaimTemplates = [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ];
      body.spec!.template.spec!.containers[0].volumeMounts = [{ name: "data", mountPath: "/data" }];
      body.spec!.template.spec!.serviceAccountName = "proxies";
      const r = await raw(h.server, "POST", "/apis/apps/v1/namespaces/default/statefulsets", body);
      assert.equal(r.status, 201);
      const spec = r.json.spec;
      assert.equal(spec.podManagementPolicy, "OrderedReady");
      assert.deepEqual(spec.updateStrategy, { type: "RollingUpdate", rollingUpdate: { partition: 0 } });
      assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, {
        whenDeleted: "Retain",
        whenScaled: "Retain",
      });
      assert.equal(spec.replicas, 1);
      assert.equal(spec.revisionHistoryLimit, 10);
      const pod = spec.template.spec;
      assert.equal(pod.restartPolicy, "Always");
      assert.equal(pod.dnsPolicy, "ClusterFirst");
      assert.equal(pod.terminationGracePeriodSeconds, 30);
      assert.equal(pod.schedulerName, "default-scheduler");
      assert.deepEqual(pod.securityContext, {});
      assert.equal(pod.serviceAccount, "proxies");
      const [tagged, latest] = pod.containers;
      assert.equal(tagged.imagePullPolicy, "IfNotPresent");
      assert.equal(latest.imagePullPolicy, "Always");
      assert.equal(tagged.terminationMessagePath, "/dev/termination-log");
      assert.equal(tagged.terminationMessagePolicy, "File");
      assert.deepEqual(tagged.resources, {});
      assert.equal(latest.ports[0].protocol, "TCP");
      assert.equal(spec.volumeClaimTemplates[0].spec.volumeMode, "Filesystem");
      assert.equal(spec.volumeClaimTemplates[0].kind, "PersistentVolumeClaim");
      assert.equal(r.json.metadata.generation, 1);
      assert.deepEqual(r.json.status, { replicas: 0, availableReplicas: 0 });
    });

    it("Service: allocated clusterIP(s), families, protocol, targetPort; headless keeps None", async () => {
      const svc = await h.core.createNamespacedService({
        namespace: "default",
        body: {
          metadata: { name: "web" },
          spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
        },
      });
      const spec = svc.spec!;
      assert.equal(spec.type, "ClusterIP");
      assert.equal(spec.sessionAffinity, "None");
      assert.match(spec.clusterIP ?? "", /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
      assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
      assert.deepEqual(spec.ipFamilies, ["IPv4"]);
      assert.equal(spec.ipFamilyPolicy, "SingleStack");
      assert.equal(spec.internalTrafficPolicy, "Cluster");
      assert.equal(spec.ports![0].protocol, "TCP");
      assert.equal(spec.ports![0].targetPort, 80);
      const headless = await h.core.createNamespacedService({
        namespace: "default",
        body: {
          metadata: { generateName: "ts-web-" },
          spec: { clusterIP: "None", selector: { app: "web" } },
        },
      });
      assert.equal(headless.spec?.clusterIP, "None");
      assert.deepEqual(headless.spec?.clusterIPs, ["None"]);
      assert.notEqual(
        (
          await h.core.createNamespacedService({
            namespace: "default",
            body: { metadata: { name: "web2" }, spec: { ports: [{ port: 81 }] } },
          })
        ).spec?.clusterIP,
        spec.clusterIP,
      );
    });

    it("RBAC: roleRef.apiGroup and subjects' apiGroup", async () => {
      const rb = await h.rbac.createNamespacedRoleBinding({
        namespace: "default",
        body: {
          metadata: { name: "rb" },
          roleRef: { kind: "Role", name: "r" } as any,
          subjects: [
            { kind: "ServiceAccount", name: "sa", namespace: "default" },
            { kind: "User", name: "alice" },
          ],
        },
      });
      assert.equal(rb.roleRef.apiGroup, "rbac.authorization.k8s.io");
      assert.equal(rb.subjects![0].apiGroup, "");
      assert.equal(rb.subjects![1].apiGroup, "rbac.authorization.k8s.io");
    });

    it("Pod: pod defaults and what admission adds", async () => {
      const pod = await h.core.createNamespacedPod({
        namespace: "default",
        body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "busybox:1.36" }] } },
      });
      assert.equal(pod.spec?.serviceAccountName, "default");
      assert.equal(pod.spec?.enableServiceLinks, true);
      assert.equal(pod.status?.phase, "Pending");
      assert.equal(pod.status?.qosClass, "BestEffort");
    });
  });

  describe("validation (422 with causes)", () => {
    it("names: DNS-1123 subdomain for Secrets, DNS-1035 label for Services", async () => {
      const { code, status } = await failure(
        h.core.createNamespacedSecret({ namespace: "default", body: { metadata: { name: "Bad_Name" } } }),
      );
      assert.equal(code, 422);
      assert.equal(status.reason, "Invalid");
      const msg =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
      assert.equal(
        status.message,
        `Secret "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${msg}`,
      );
      assert.deepEqual(status.details, {
        name: "Bad_Name",
        kind: "Secret",
        causes: [
          {
            reason: "FieldValueInvalid",
            message: `Invalid value: "Bad_Name": ${msg}`,
            field: "metadata.name",
          },
        ],
      });
      const svc = await failure(
        h.core.createNamespacedService({
          namespace: "default",
          body: { metadata: { name: "1svc" }, spec: { ports: [{ port: 80 }] } },
        }),
      );
      assert.equal(svc.code, 422);
      assert.match(
        svc.status.message,
        /^Service "1svc" is invalid: metadata.name: Invalid value: "1svc": a DNS-1035 label/,
      );
    });

    it("labels, annotations and data keys", async () => {
      const lbl = await failure(
        h.core.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: "l", labels: { ok: "has space" } } },
        }),
      );
      assert.equal(lbl.code, 422);
      assert.match(
        lbl.status.details.causes[0].message,
        /^Invalid value: "has space": a valid label must be an empty string/,
      );
      assert.equal(lbl.status.details.causes[0].field, "metadata.labels");
      const ann = await failure(
        h.core.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: "a", annotations: { big: "x".repeat(262145) } } },
        }),
      );
      assert.equal(ann.status.details.causes[0].message, "Too long: must have at most 262144 bytes");
      const key = await failure(
        h.core.createNamespacedSecret({
          namespace: "default",
          body: { metadata: { name: "k" }, stringData: { "bad key": "v" } },
        }),
      );
      assert.equal(key.status.details.causes[0].field, "data[bad key]");
      const overlap = await failure(
        h.core.createNamespacedConfigMap({
          namespace: "default",
          body: { metadata: { name: "o" }, data: { k: "v" }, binaryData: { k: "dg==" } },
        }),
      );
      assert.equal(
        overlap.status.message,
        'ConfigMap "o" is invalid: data[k]: Invalid value: "k": duplicate of key present in binaryData',
      );
    });

    it("Secret size limit and typed Secrets' required keys", async () => {
      const big = await failure(
        h.core.createNamespacedSecret({
          namespace: "default",
          body: { metadata: { name: "big" }, data: { k: Buffer.alloc(1024 * 1024 + 1).toString("base64") } },
        }),
      );
      assert.equal(
        big.status.message,
        'Secret "big" is invalid: data: Too long: must have at most 1048576 bytes',
      );
      const tls = await failure(
        h.core.createNamespacedSecret({
          namespace: "default",
          body: { metadata: { name: "tls" }, type: "kubernetes.io/tls", stringData: { "tls.crt": "x" } },
        }),
      );
      assert.equal(tls.status.message, 'Secret "tls" is invalid: data[tls.key]: Required value');
    });

    it("StatefulSet: selector required and matching, restartPolicy, containers, env, volumes", async () => {
      const noSel = statefulSet("nosel");
      delete (noSel.spec as any).selector;
      const a = await failure(h.apps.createNamespacedStatefulSet({ namespace: "default", body: noSel }));
      assert.equal(a.code, 422);
      assert.equal(a.status.message, 'StatefulSet.apps "nosel" is invalid: spec.selector: Required value');
      assert.deepEqual(
        { group: a.status.details.group, kind: a.status.details.kind },
        { group: "apps", kind: "StatefulSet" },
      );
      const mismatch = statefulSet("mismatch");
      mismatch.spec!.selector = { matchLabels: { app: "other" } };
      const b = await failure(h.apps.createNamespacedStatefulSet({ namespace: "default", body: mismatch }));
      assert.equal(
        b.status.message,
        'StatefulSet.apps "mismatch" is invalid: spec.template.metadata.labels: Invalid value: {"app":"mismatch"}: `selector` does not match template `labels`',
      );
      const bad = statefulSet("bad");
      const pod = bad.spec!.template.spec!;
      pod.restartPolicy = "Never";
      pod.containers = [
        { name: "", image: "" } as any,
        {
          name: "c",
          image: "i:1",
          env: [{ name: "A=B", value: "x" }],
          volumeMounts: [{ name: "nope", mountPath: "/x" }],
        },
      ];
      pod.volumes = [
        { name: "v", emptyDir: {} },
        { name: "v", emptyDir: {} },
      ];
      const c = await failure(h.apps.createNamespacedStatefulSet({ namespace: "default", body: bad }));
      const fields = c.status.details.causes.map((x: any) => `${x.reason} ${x.field}`);
      assert.deepEqual(fields.sort(), [
        "FieldValueDuplicate spec.template.spec.volumes[1].name",
        "FieldValueInvalid spec.template.spec.containers[1].env[0].name",
        "FieldValueNotFound spec.template.spec.containers[1].volumeMounts[0].name",
        "FieldValueNotSupported spec.template.spec.restartPolicy",
        "FieldValueRequired spec.template.spec.containers[0].image",
        "FieldValueRequired spec.template.spec.containers[0].name",
      ]);
    });

    it("StatefulSet: the Pod's nodeName and DNS settings", async () => {
      const none = statefulSet("dns-none");
      none.spec!.template.spec!.dnsPolicy = "None";
      const a = await failure(h.apps.createNamespacedStatefulSet({ namespace: "default", body: none }));
      assert.equal(
        a.status.message,
        'StatefulSet.apps "dns-none" is invalid: spec.template.spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None',
      );
      const bad = statefulSet("dns-bad");
      Object.assign(bad.spec!.template.spec!, {
        nodeName: "Node_1",
        dnsPolicy: "None",
        dnsConfig: {
          nameservers: ["1.1.1.1", "8.8.8.8", "9.9.9.9", "x"],
          searches: ["a.example."],
          options: [{}],
        },
      });
      const b = await failure(h.apps.createNamespacedStatefulSet({ namespace: "default", body: bad }));
      assert.deepEqual(
        b.status.details.causes.map((x: any) => `${x.reason} ${x.field}`),
        [
          "FieldValueInvalid spec.template.spec.nodeName",
          "FieldValueInvalid spec.template.spec.dnsConfig.nameservers",
          "FieldValueInvalid spec.template.spec.dnsConfig.nameservers[3]",
          "FieldValueRequired spec.template.spec.dnsConfig.options[0]",
        ],
      );
      const ok = statefulSet("dns-ok");
      Object.assign(ok.spec!.template.spec!, {
        nodeName: "node-a",
        dnsPolicy: "None",
        dnsConfig: { nameservers: ["1.1.1.1"], searches: ["example.com."] },
      });
      const made = await h.apps.createNamespacedStatefulSet({ namespace: "default", body: ok });
      assert.equal(made.spec?.template.spec?.dnsPolicy, "None");
    });

    it("RoleBinding roleRef and subjects; Role verbs", async () => {
      const rb = await failure(
        h.rbac.createNamespacedRoleBinding({
          namespace: "default",
          body: { metadata: { name: "rb-bad" }, subjects: [{ kind: "Robot", name: "r2" }] } as any,
        }),
      );
      assert.equal(rb.code, 422);
      assert.deepEqual(
        rb.status.details.causes.map((x: any) => x.field),
        ["roleRef.kind", "roleRef.name", "subjects[0].kind"],
      );
      assert.equal(
        rb.status.details.causes[2].message,
        'Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      );
      const role = await failure(
        h.rbac.createNamespacedRole({
          namespace: "default",
          body: { metadata: { name: "r-bad" }, rules: [{ resources: ["secrets"], verbs: [] }] },
        }),
      );
      assert.deepEqual(
        role.status.details.causes.map((x: any) => `${x.field}: ${x.message}`),
        [
          "rules[0].verbs: Required value: verbs must contain at least one value",
          "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
        ],
      );
    });

    it("Service status: ingress ip must be an IP, hostname must not be one", async () => {
      await h.core.createNamespacedService({
        namespace: "default",
        body: { metadata: { name: "lb" }, spec: { ports: [{ port: 443 }] } },
      });
      const { code, status } = await failure(
        h.core.replaceNamespacedServiceStatus({
          name: "lb",
          namespace: "default",
          body: {
            metadata: { name: "lb" },
            status: { loadBalancer: { ingress: [{ ip: "invalid IP" }, { hostname: "100.64.0.1" }] } },
          },
        }),
      );
      assert.equal(code, 422);
      assert.deepEqual(
        status.details.causes.map((x: any) => `${x.field}: ${x.message}`),
        [
          'status.loadBalancer.ingress[0].ip: Invalid value: "invalid IP": must be a valid IP address',
          'status.loadBalancer.ingress[1].hostname: Invalid value: "100.64.0.1": must be a DNS name, not an IP address',
        ],
      );
    });

    it("Service node ports: within 30000-32767, not another Service's, on create and on update; port names are DNS labels", async () => {
      const np = (name: string, nodePort?: number) => ({
        metadata: { name },
        spec: {
          type: "NodePort",
          ports: [{ name: "static-endpoint-port", port: 41641, protocol: "UDP", nodePort }],
        },
      });
      const first = await h.core.createNamespacedService({ namespace: "default", body: np("np-a", 30500) });
      assert.equal(first.spec?.ports?.[0]?.nodePort, 30500);
      const causes = async (p: Promise<unknown>) => {
        const { code, status } = await failure(p);
        assert.equal(code, 422);
        return [status.message, ...status.details.causes.map((x: any) => `${x.field}: ${x.message}`)];
      };
      assert.deepEqual(
        await causes(h.core.createNamespacedService({ namespace: "default", body: np("np-b", 30500) })),
        [
          'Service "np-b" is invalid: spec.ports[0].nodePort: Invalid value: 30500: provided port is already allocated',
          "spec.ports[0].nodePort: Invalid value: 30500: provided port is already allocated",
        ],
      );
      assert.deepEqual(
        await causes(h.core.createNamespacedService({ namespace: "default", body: np("np-b", 40000) })),
        [
          'Service "np-b" is invalid: spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
          "spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767",
        ],
      );
      await h.core.createNamespacedService({ namespace: "default", body: np("np-b", 30501) });
      const moved = (nodePort: number) =>
        h.core.patchNamespacedService(
          {
            name: "np-b",
            namespace: "default",
            body: { spec: { ports: [{ ...np("x").spec.ports[0], nodePort }] } },
          },
          merge,
        );
      assert.deepEqual((await causes(moved(30500))).slice(1), [
        "spec.ports[0].nodePort: Invalid value: 30500: provided port is already allocated",
      ]);
      assert.equal((await moved(30502)).spec?.ports?.[0]?.nodePort, 30502, "a free port is taken on update");
      // Its own port is no conflict: an update that keeps it passes.
      assert.equal((await moved(30502)).spec?.ports?.[0]?.nodePort, 30502);
    });

    it("ownerReferences need apiVersion, kind, name and uid", async () => {
      const { status } = await failure(
        h.core.createNamespacedConfigMap({
          namespace: "default",
          body: {
            metadata: {
              name: "owned",
              ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "x", uid: "" }],
            },
          },
        }),
      );
      assert.equal(
        status.message,
        'ConfigMap "owned" is invalid: metadata.ownerReferences.uid: Invalid value: "": must not be empty',
      );
    });

    it("type errors fail decoding (400) as for a built-in; schema-required fields are 422", async () => {
      const body = statefulSet("typed") as any;
      body.spec.replicas = "x";
      const r = await raw(h.server, "POST", "/apis/apps/v1/namespaces/default/statefulsets", body);
      assert.equal(r.status, 400);
      assert.equal(
        r.json.message,
        'StatefulSet in version "v1" cannot be handled as a StatefulSet: json: cannot unmarshal string into Go struct field StatefulSetSpec.spec.replicas of type int32',
      );
      const noTemplate = statefulSet("notemplate") as any;
      delete noTemplate.spec.template.spec;
      const t = await raw(h.server, "POST", "/apis/apps/v1/namespaces/default/statefulsets", noTemplate);
      assert.equal(t.status, 422);
      const b64 = await raw(h.server, "POST", "/api/v1/namespaces/default/secrets", {
        metadata: { name: "b64" },
        data: { k: "not base64!!" },
      });
      assert.equal(b64.status, 400);
      assert.match(
        b64.json.message,
        /^Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte \d+$/,
      );
    });

    it("unknown fields: Warning header by default, 400 with fieldValidation=Strict", async () => {
      const body = { metadata: { name: "unk" }, bogus: 1, data: { a: "b" } };
      const warn = await raw(h.server, "POST", "/api/v1/namespaces/default/configmaps", body);
      assert.equal(warn.status, 201);
      assert.equal(warn.headers.get("warning"), '299 - "unknown field \\"bogus\\""');
      assert.equal(warn.json.bogus, undefined);
      const strict = await raw(
        h.server,
        "POST",
        "/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        {
          ...body,
          metadata: { name: "unk2" },
          spec: { x: 1 },
        },
      );
      assert.equal(strict.status, 400);
      assert.equal(strict.json.message, 'strict decoding error: unknown field "bogus", unknown field "spec"');
    });
  });

  describe("immutability on update (422)", () => {
    it("StatefulSet spec beyond the mutable fields is Forbidden", async () => {
      const sts = await h.apps.createNamespacedStatefulSet({
        namespace: "default",
        body: statefulSet("frozen"),
      });
      sts.spec!.serviceName = "changed";
      const { code, status } = await failure(
        h.apps.replaceNamespacedStatefulSet({ name: "frozen", namespace: "default", body: sts }),
      );
      assert.equal(code, 422);
      assert.equal(
        status.message,
        "StatefulSet.apps \"frozen\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      );
      sts.spec!.serviceName = "frozen";
      sts.spec!.template.spec!.containers[0].image = "tailscale/tailscale:v1.82.0";
      const ok = await h.apps.replaceNamespacedStatefulSet({
        name: "frozen",
        namespace: "default",
        body: sts,
      });
      assert.equal(ok.metadata?.generation, 2);
    });

    it("RoleBinding roleRef cannot change", async () => {
      const rb = await h.rbac.createNamespacedRoleBinding({
        namespace: "default",
        body: {
          metadata: { name: "rr" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "a" },
        },
      });
      rb.roleRef.name = "b";
      const { status } = await failure(
        h.rbac.replaceNamespacedRoleBinding({ name: "rr", namespace: "default", body: rb }),
      );
      assert.equal(
        status.message,
        'RoleBinding.rbac.authorization.k8s.io "rr" is invalid: roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"b"}: cannot change roleRef',
      );
    });

    it("immutable Secret data, Secret type and Service clusterIP", async () => {
      const s = await h.core.createNamespacedSecret({
        namespace: "default",
        body: { metadata: { name: "imm" }, immutable: true, stringData: { a: "1" } },
      });
      const d = await failure(
        h.core.replaceNamespacedSecret({
          name: "imm",
          namespace: "default",
          body: { ...s, stringData: { a: "2" } },
        }),
      );
      assert.equal(
        d.status.message,
        'Secret "imm" is invalid: data: Forbidden: field is immutable when `immutable` is set',
      );
      const typed = await h.core.createNamespacedSecret({
        namespace: "default",
        body: { metadata: { name: "typ" } },
      });
      const t = await failure(
        h.core.replaceNamespacedSecret({
          name: "typ",
          namespace: "default",
          body: { ...typed, type: "kubernetes.io/basic-auth", stringData: { username: "u" } },
        }),
      );
      assert.equal(
        t.status.message,
        'Secret "typ" is invalid: type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
      );
      const svc = await h.core.createNamespacedService({
        namespace: "default",
        body: { metadata: { name: "fixed" }, spec: { ports: [{ port: 80 }] } },
      });
      const c = await failure(
        h.core.replaceNamespacedService({
          name: "fixed",
          namespace: "default",
          body: { ...svc, spec: { ...svc.spec, clusterIP: "None", clusterIPs: ["None"] } },
        }),
      );
      assert.equal(
        c.status.message,
        'Service "fixed" is invalid: spec.clusterIPs[0]: Invalid value: ["None"]: may not change once set',
      );
      const kept = await h.core.replaceNamespacedService({
        name: "fixed",
        namespace: "default",
        body: { metadata: { name: "fixed" }, spec: { ports: [{ port: 8080 }] } },
      });
      assert.equal(
        kept.spec?.clusterIP,
        svc.spec?.clusterIP,
        "an update that omits clusterIP keeps the allocation",
      );
    });
  });
});
