/**
 * Server-side tables (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), what `kubectl get`
 * prints (https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables).
 * Pods, Services, StatefulSets and Namespaces get the columns of the built-in printers
 * (`kubernetes/kubernetes pkg/printers/internalversion/printers.go`, the default columns only); every
 * other type gets the generic convertor's Name and Created At (`k8s.io/apiserver pkg/registry/rest/table.go`).
 */
import type { ResourceType } from "./resources";

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const col = (name: string, type: string, description: string, format = ""): Column => ({
  name,
  type,
  format,
  description,
  priority: 0,
});

const NAME = col(
  "Name",
  "string",
  "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  "name",
);
const AGE = col(
  "Age",
  "string",
  "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
);

/** translateTimestampSince: 5s, 3m, 2h, 4d, 1y. */
function age(ts: string | undefined): string {
  if (!ts) return "<unknown>";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  return d < 365 * 2 ? `${d}d` : `${Math.floor(d / 365)}y`;
}

type Printer = { columns: Column[]; cells: (o: any) => unknown[] };

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      NAME,
      col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
      col("Status", "string", "The aggregate status of the containers in this pod."),
      col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
      ),
      AGE,
    ],
    cells: (o) => {
      const cs: any[] = o.status?.containerStatuses ?? [];
      const total = (o.spec?.containers ?? []).length;
      const ready = cs.filter((c) => c.ready).length;
      const waiting = cs.find((c) => c.state?.waiting?.reason)?.state.waiting.reason;
      const status = o.metadata?.deletionTimestamp
        ? "Terminating"
        : (waiting ?? o.status?.phase ?? "Pending");
      const restarts = cs.reduce((n, c) => n + (c.restartCount ?? 0), 0);
      return [o.metadata.name, `${ready}/${total}`, status, restarts, age(o.metadata.creationTimestamp)];
    },
  },
  Service: {
    columns: [
      NAME,
      col("Type", "string", "The type of the service."),
      col("Cluster-IP", "string", "The IP address of the service."),
      col("External-IP", "string", "The external IP address of the service."),
      col("Port(s)", "string", "The ports of the service."),
      AGE,
    ],
    cells: (o) => {
      const spec = o.spec ?? {};
      const lb: any[] = o.status?.loadBalancer?.ingress ?? [];
      const external =
        spec.type === "ExternalName"
          ? spec.externalName
          : lb.length > 0
            ? lb.map((i) => i.ip || i.hostname).join(",")
            : spec.type === "LoadBalancer"
              ? "<pending>"
              : "<none>";
      const ports = (spec.ports ?? [])
        .map((p: any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
        .join(",");
      return [
        o.metadata.name,
        spec.type ?? "ClusterIP",
        spec.clusterIP || "<none>",
        external,
        ports || "<none>",
        age(o.metadata.creationTimestamp),
      ];
    },
  },
  StatefulSet: {
    columns: [NAME, col("Ready", "string", "Number of the pod with ready state"), AGE],
    cells: (o) => [
      o.metadata.name,
      `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 1}`,
      age(o.metadata.creationTimestamp),
    ],
  },
  Namespace: {
    columns: [NAME, col("Status", "string", "The status of the namespace"), AGE],
    cells: (o) => [o.metadata.name, o.status?.phase ?? "", age(o.metadata.creationTimestamp)],
  },
};

const GENERIC: Printer = {
  columns: [NAME, col("Created At", "date", AGE.description)],
  cells: (o) => [o.metadata.name, o.metadata.creationTimestamp],
};

function partial(t: ResourceType, o: any): any {
  void t;
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata };
}

/** A metav1.Table of `items`; `includeObject` as the query parameter (default PartialObjectMetadata). */
export function toTable(
  t: ResourceType,
  items: any[],
  listMeta: Record<string, unknown>,
  version: string,
  includeObject: string | undefined,
): any {
  const p = PRINTERS[t.kind] ?? GENERIC;
  return {
    kind: "Table",
    apiVersion: `meta.k8s.io/${version}`,
    metadata: listMeta,
    columnDefinitions: p.columns,
    rows: items.map((o) => {
      const row: any = { cells: p.cells(o) };
      if (includeObject === "Object") row.object = { apiVersion: o.apiVersion, kind: o.kind, ...o };
      else if (includeObject !== "None") row.object = partial(t, o);
      return row;
    }),
  };
}
