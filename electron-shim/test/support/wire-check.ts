/**
 * Every envelope on the wire, checked against the protocol's JSON Schema (protocol/schema/,
 * exported from the models) with ajv's 2020-12 validator. Plugged into the client through
 * its `onMessage` observer (the supervisors of support/sidecar.ts get one by default), so the
 * tests that talk to the real sidecar check everything it sends and everything the shim sends:
 *
 * - a request: `envelope.request.json`, and its params against `<method>.params.json`;
 * - a reply: `envelope.reply.json`, and its result against `<method>.result.json` (the method
 *   of the request with that id);
 * - an error: `envelope.error.json` and `error.json`; its code must be one the method declares
 *   in index.json, or one that any request may get (index.json's `anyMethodErrors`);
 * - an event: `envelope.event.json`, and its data against `event.<name>.json`.
 *
 * Violations are collected (an observer must not throw into the client); the tests assert
 * there are none after each test (`assertClean`).
 */

import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";

import type { MessageObserver } from "../../src/client";
import { loadSchema, schemaIndex } from "./schema";

export interface WireCounts {
  /** Envelopes checked, both ways. */
  messages: number;
  /** Schema validations run (envelope + body: two per message). */
  validations: number;
  sent: number;
  received: { reply: number; error: number; event: number };
  /** How many requests / results / events of each name were checked. */
  params: Record<string, number>;
  results: Record<string, number>;
  errors: Record<string, number>;
  events: Record<string, number>;
}

interface Compiled {
  envelope: Record<"request" | "reply" | "error" | "event", ValidateFunction>;
  errorBody: ValidateFunction;
  params: Map<string, ValidateFunction>;
  results: Map<string, ValidateFunction>;
  events: Map<string, ValidateFunction>;
}

let compiledOnce: Compiled | null = null;

/** Every schema of protocol/schema/, compiled once per process (strict: an unknown keyword throws). */
function compiled(): Compiled {
  if (compiledOnce) return compiledOnce;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const compile = (file: string): ValidateFunction => ajv.compile(loadSchema<object>(file));
  const index = loadSchema<{ envelopes: Record<"request" | "reply" | "error" | "event", string>; errorBody: string }>("index.json");
  const methods = schemaIndex().methods;
  compiledOnce = {
    envelope: {
      request: compile(index.envelopes.request),
      reply: compile(index.envelopes.reply),
      error: compile(index.envelopes.error),
      event: compile(index.envelopes.event),
    },
    errorBody: compile(index.errorBody),
    params: new Map(Object.entries(methods).map(([m, e]) => [m, compile(e.params)])),
    results: new Map(Object.entries(methods).map(([m, e]) => [m, compile(e.result)])),
    events: new Map(Object.entries(schemaIndex().events).map(([n, e]) => [n, compile(e.data)])),
  };
  return compiledOnce;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export class WireCheck {
  private readonly index = schemaIndex();
  private readonly envelope: Compiled["envelope"];
  private readonly errorBody: ValidateFunction;
  private readonly params: Map<string, ValidateFunction>;
  private readonly results: Map<string, ValidateFunction>;
  private readonly events: Map<string, ValidateFunction>;
  /** id → method of the requests sent and not yet answered. */
  private readonly pending = new Map<string, string>();
  private violations: string[] = [];
  readonly counts: WireCounts = {
    messages: 0,
    validations: 0,
    sent: 0,
    received: { reply: 0, error: 0, event: 0 },
    params: {},
    results: {},
    errors: {},
    events: {},
  };

  constructor() {
    ({ envelope: this.envelope, errorBody: this.errorBody, params: this.params, results: this.results, events: this.events } = compiled());
  }

  /** The observer to give a client or supervisor (`onMessage`). */
  readonly observe: MessageObserver = (direction, envelope) => {
    try {
      if (direction === "send") this.checkSent(envelope);
      else this.checkReceived(envelope);
    } catch (err) {
      this.violation(`${direction}: the check itself failed: ${String(err)}`, envelope);
    }
  };

  /** The violations so far, cleared. */
  take(): string[] {
    const out = this.violations;
    this.violations = [];
    return out;
  }

  /** Throws (listing them) if any message broke the schema since the last call. */
  assertClean(): void {
    const found = this.take();
    if (found.length) throw new Error(`${found.length} message(s) broke protocol/schema/:\n${found.join("\n")}`);
  }

  summary(): string {
    const c = this.counts;
    return (
      `${c.messages} messages validated against protocol/schema/ (${c.validations} schema checks): ` +
      `${c.sent} requests, ${c.received.reply} replies, ${c.received.error} errors, ${c.received.event} events`
    );
  }

  // ------------------------------------------------------------------ checks

  private checkSent(env: unknown): void {
    this.counts.messages++;
    this.counts.sent++;
    if (!this.validate(this.envelope.request, env, "send request envelope", env)) return;
    const req = env as Obj & { id: string; method: string };
    const check = this.params.get(req.method);
    if (!check) {
      this.violation(`send: ${req.method} is not a protocol method`, env);
      return;
    }
    this.pending.set(req.id, req.method);
    bump(this.counts.params, req.method);
    this.validate(check, req["params"] ?? {}, `send ${req.method} params`, env);
  }

  private checkReceived(env: unknown): void {
    this.counts.messages++;
    const type = isObj(env) ? env["type"] : undefined;
    switch (type) {
      case "reply": {
        this.counts.received.reply++;
        if (!this.validate(this.envelope.reply, env, "receive reply envelope", env)) return;
        const reply = env as Obj & { id: string; result: unknown };
        const method = this.answered(reply.id, env);
        if (!method) return;
        bump(this.counts.results, method);
        this.validate(this.results.get(method)!, reply.result, `receive ${method} result`, env);
        return;
      }
      case "error": {
        this.counts.received.error++;
        if (!this.validate(this.envelope.error, env, "receive error envelope", env)) return;
        const error = env as Obj & { id: string | null; error: { code: string } };
        this.validate(this.errorBody, error.error, "receive error body", env);
        bump(this.counts.errors, error.error.code);
        if (error.id === null) return; // answers a message too broken to carry an id
        const method = this.answered(error.id, env);
        if (!method) return;
        const declared = this.index.methods[method]?.errors ?? [];
        if (!declared.includes(error.error.code) && !this.index.anyMethodErrors.includes(error.error.code)) {
          this.violation(`receive: ${method} answered ${error.error.code}, which index.json does not declare for it (declared: ${declared.join(", ") || "none"})`, env);
        }
        return;
      }
      case "event": {
        this.counts.received.event++;
        if (!this.validate(this.envelope.event, env, "receive event envelope", env)) return;
        const event = env as Obj & { event: string; data: unknown };
        const check = this.events.get(event.event);
        if (!check) {
          this.violation(`receive: event ${event.event} is not in protocol/schema/index.json`, env);
          return;
        }
        bump(this.counts.events, event.event);
        this.validate(check, event.data, `receive ${event.event} data`, env);
        return;
      }
      default:
        this.violation(`receive: an envelope of type ${JSON.stringify(type)}`, env);
    }
  }

  /** The method of the request `id` answers (each request is answered once). */
  private answered(id: string, env: unknown): string | undefined {
    const method = this.pending.get(id);
    if (method === undefined) {
      this.violation(`receive: an answer to ${id}, which is not a pending request`, env);
      return undefined;
    }
    this.pending.delete(id);
    return method;
  }

  private validate(check: ValidateFunction, value: unknown, what: string, env: unknown): boolean {
    this.counts.validations++;
    if (check(value)) return true;
    this.violation(`${what}: ${describe(check.errors ?? [])}`, env);
    return false;
  }

  private violation(message: string, env: unknown): void {
    this.violations.push(`- ${message}\n    ${preview(env)}`);
  }
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function describe(errors: ErrorObject[]): string {
  return errors.map((e) => `${e.instancePath || "(root)"} ${e.message ?? e.keyword}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ""}`).join("; ");
}

function preview(env: unknown): string {
  const text = JSON.stringify(env, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.byteLength} bytes>` : v));
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}

let shared: WireCheck | null = null;

/** One checker per test process (node's runner runs each test file in its own process). */
export function wireCheck(): WireCheck {
  shared ??= new WireCheck();
  return shared;
}
