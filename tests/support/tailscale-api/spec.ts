// Schema validation for the fake Tailscale API: every request and response the fake handles is
// checked against Tailscale's published OpenAPI document (JSON Schema 2020-12 dialect), reduced to
// the operations the fake serves (openapi/README.md: provenance, licence, how to regenerate).
// The document is data and is never edited by hand; where it disagrees with what the real API and
// Tailscale's own clients do, the differences are listed in SPEC_SUPPLEMENTS below, in one place,
// so that a refreshed document that fixes a gap shows up as a diff here.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";

/**
 * The OpenAPI document the fake validates against. It lives in the repository, beside this file, so
 * a fresh clone and CI read exactly the bytes that were reviewed; it is not configurable from the
 * environment, so no caller's settings can change what the tests check. Regenerate it with
 * scripts/derive-tailscale-openapi.mjs (see openapi/README.md).
 */
export const OPENAPI_PATH = path.join(__dirname, "openapi", "openapi.json");

/**
 * The explicit list of places where the fake deliberately departs from the OpenAPI document (the
 * document's known gaps are described in openapi/README.md). Anything not listed here follows it.
 */
export const SPEC_SUPPLEMENTS = {
  /** G1: the OAuth client-credentials endpoint is not in the document; its shapes are hand-written. */
  oauthTokenPath: "/oauth/token",
  /** G1: nor is workload identity federation's token exchange; its shapes are hand-written too. */
  tokenExchangePath: "/oauth/token-exchange",
  /** G2: Tailscale's Go clients call `/vip-services`; validated with the documented `/services` operations. */
  pathAliases: [
    { alias: "/tailnet/{tailnet}/vip-services", specPath: "/tailnet/{tailnet}/services" },
    {
      alias: "/tailnet/{tailnet}/vip-services/{serviceName}",
      specPath: "/tailnet/{tailnet}/services/{serviceName}",
    },
  ],
  /** G3: `annotations` on a Service body validates already (no additionalProperties:false); nothing to relax. */
  serviceAnnotationsAllowed: true,
  /** G4: `all` on GET /keys is declared required, but clients omit it when false. */
  optionalQueryParams: [{ specPath: "/tailnet/{tailnet}/keys", method: "get", name: "all" }],
  /** G5: the device-list filter is declared with a literal name; real calls send arbitrary `?<field>=<value>`. */
  freeFormQuery: [
    { specPath: "/tailnet/{tailnet}/devices", method: "get", declaredName: "<field>=<value> filters" },
  ],
  /**
   * G7/G8: status codes an operation does not declare (401 everywhere, 403/404/429 on some operations)
   * are still answered by the real API with the shared Error body; validate them against it.
   */
  undeclaredErrorSchema: "#/components/schemas/Error",
} as const;

type Json = any;

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

/** A query or path parameter after `$ref` resolution. */
export interface SpecParameter {
  name: string;
  in: "query" | "path" | "header";
  required: boolean;
  schema: Json;
  validate: ValidateFunction;
}

/** Validators for one (path, method) operation of the document. */
export interface SpecOperation {
  specPath: string;
  method: string;
  operationId: string;
  parameters: SpecParameter[];
  bodyRequired: boolean;
  validateBody?: ValidateFunction;
  /** Declared response: a validator for its JSON body, or `null` when it declares no body. */
  responses: Map<string, ValidateFunction | null>;
}

function esc(s: string): string {
  return s.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Loads the document once and compiles validators lazily per operation. */
export class TailscaleSpec {
  readonly doc: Json;
  private readonly ajv: Ajv2020;
  private readonly ops = new Map<string, SpecOperation>();
  private errorValidator?: ValidateFunction;

  constructor(file = OPENAPI_PATH) {
    this.doc = JSON.parse(readFileSync(file, "utf8"));
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ ...this.doc, $id: "tailscale-openapi" });
  }

  /** True when the document has this operation. */
  has(specPath: string, method: string): boolean {
    return Boolean(this.doc.paths[specPath]?.[method]);
  }

  private resolve(node: Json): { node: Json; pointer?: string } {
    let pointer: string | undefined;
    while (node && typeof node.$ref === "string" && node.$ref.startsWith("#/")) {
      const ref: string = node.$ref.slice(1);
      pointer = ref;
      node = ref
        .split("/")
        .slice(1)
        .reduce((o: Json, k: string) => o?.[k.replaceAll("~1", "/").replaceAll("~0", "~")], this.doc);
    }
    return { node, pointer };
  }

  private compileAt(pointer: string): ValidateFunction {
    return this.ajv.compile({ $ref: `tailscale-openapi#${pointer}` });
  }

  /** The compiled operation for a documented path and lower-case method. */
  operation(specPath: string, method: string): SpecOperation {
    const key = `${method} ${specPath}`;
    const cached = this.ops.get(key);
    if (cached) return cached;
    const pathItem = this.doc.paths[specPath];
    const op = pathItem?.[method];
    if (!op) throw new Error(`the OpenAPI document has no operation ${method.toUpperCase()} ${specPath}`);
    const base = `/paths/${esc(specPath)}/${method}`;
    const params: SpecParameter[] = [];
    for (const raw of [...(pathItem.parameters ?? []), ...(op.parameters ?? [])]) {
      const { node } = this.resolve(raw);
      const optional = SPEC_SUPPLEMENTS.optionalQueryParams.some(
        (o) => o.specPath === specPath && o.method === method && o.name === node.name,
      );
      const freeForm = SPEC_SUPPLEMENTS.freeFormQuery.some(
        (o) => o.specPath === specPath && o.method === method && o.declaredName === node.name,
      );
      if (freeForm) continue;
      params.push({
        name: node.name,
        in: node.in,
        required: Boolean(node.required) && !optional,
        schema: node.schema ?? {},
        validate: this.ajv.compile(node.schema ?? {}),
      });
    }
    const responses = new Map<string, ValidateFunction | null>();
    for (const [code, raw] of Object.entries<Json>(op.responses ?? {})) {
      const { node, pointer } = this.resolve(raw);
      const hasJson = Boolean(node?.content?.["application/json"]?.schema);
      const at = pointer ?? `${base}/responses/${code}`;
      responses.set(code, hasJson ? this.compileAt(`${at}/content/application~1json/schema`) : null);
    }
    const body = op.requestBody?.content?.["application/json"]?.schema;
    const compiled: SpecOperation = {
      specPath,
      method,
      operationId: op.operationId,
      parameters: params,
      bodyRequired: Boolean(op.requestBody?.required),
      validateBody: body ? this.compileAt(`${base}/requestBody/content/application~1json/schema`) : undefined,
      responses,
    };
    this.ops.set(key, compiled);
    return compiled;
  }

  /** Compiles one of the hand-written supplement schemas (G1). */
  compileSupplement(schema: Json): ValidateFunction {
    return this.ajv.compile(schema);
  }

  /** Validator for error statuses an operation does not declare (SPEC_SUPPLEMENTS.undeclaredErrorSchema). */
  errorBody(): ValidateFunction {
    this.errorValidator ??= this.compileAt(SPEC_SUPPLEMENTS.undeclaredErrorSchema.slice(1));
    return this.errorValidator;
  }
}

/** Formats Ajv errors as one line for a `{"message": ...}` body. */
export function formatAjvErrors(v: ValidateFunction, where: string): string {
  return (v.errors ?? [])
    .map((e) => `${where}${e.instancePath || ""} ${e.message ?? "is invalid"}`.trim())
    .slice(0, 5)
    .join("; ");
}

/** Lower-case HTTP methods the document uses. */
export const SPEC_METHODS: readonly string[] = METHODS;

/** G1 supplement: the hand-written schema of the OAuth token response (not in the document). */
export const OAUTH_TOKEN_RESPONSE_SCHEMA = {
  type: "object",
  required: ["access_token", "token_type", "expires_in", "tags"],
  properties: {
    access_token: { type: "string", pattern: "^tskey-api-" },
    token_type: { const: "Bearer" },
    expires_in: { type: "integer", minimum: 1 },
    scope: { type: "string" },
    tags: { type: "array", items: { type: "string", pattern: "^tag:" } },
  },
} as const;

/**
 * G1 supplement: the token exchange's response, the fields Tailscale's Go client reads
 * (tailscale/tailscale-client-go-v2@4f50555a identityfederation.go:23-29). Whether it also lists tags, as the
 * OAuth token response does, is not known; the fake sends none.
 */
export const OAUTH_TOKEN_EXCHANGE_RESPONSE_SCHEMA = {
  type: "object",
  required: ["access_token", "token_type", "expires_in"],
  properties: {
    access_token: { type: "string", pattern: "^tskey-api-" },
    token_type: { const: "Bearer" },
    expires_in: { type: "integer", minimum: 1 },
    scope: { type: "string" },
  },
} as const;
