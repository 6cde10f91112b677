import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { secretForms } from "../../lib/core/redact";
import { closeStore, openStore } from "../../lib/store/db";
import { listTeacherCalls } from "../../lib/store/teacher-calls";
import { startFakeLlm, type FakeLlm } from "../fake-llm-server";
import { runCli } from "./run-cli";

const KEY = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";

/** Run `rra label` in this process with the live teacher's environment set for the call only. */
async function label(args: string[], env: Record<string, string>) {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await runCli(["label", ...args]);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe("rra label with a live teacher that answers 401 (issue 15 item 11)", function () {
  this.timeout(60_000);
  let server: FakeLlm;
  let dir: string;
  const masked = `${KEY.slice(0, 8)}${"*".repeat(28)}${KEY.slice(-4)}`;
  before(async () => {
    // the endpoint's message echoes the key masked the OpenAI way, and base64 of the header it received
    server = await startFakeLlm({
      fault: ({ body }) => ({ kind: "status", status: 401, message: `Incorrect API key provided: ${masked}. (debug: ${Buffer.from(`Bearer ${KEY}`).toString("base64")}) model ${body?.model}` }),
    });
    dir = mkdtempSync(join(tmpdir(), "rra-label-401-"));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints the HTTP status and the endpoint's message, redacted, and stores no encoding of the key", async () => {
    const db = join(dir, "store.sqlite");
    const r = await label(["--dataset", "dl19", "--teacher", "live:fake-ranker", "--limit", "2", "--db", db],
      { RRA_LLM_BASE_URL: server.baseUrl, RRA_LLM_API_KEY: KEY, RRA_DB_URL: "" });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /2 of 2 windows failed \(not stored; a rerun retries them\):\n\[label\] {3}2 window\(s\): live:fake-ranker: POST http:\/\/127\.0\.0\.1:\d+\/v1\/chat\/completions failed after 1 attempt\(s\): HTTP 401: "Incorrect API key provided: \*\*\*\. \(debug: \*\*\*/);
    const store = await openStore(db);
    try {
      const calls = await listTeacherCalls(store, { teacher: "live:fake-ranker" });
      assert.equal(calls.length, 2);
      for (const text of [r.stdout + r.stderr, ...calls.map((c) => `${c.error} ${c.response ?? ""} ${JSON.stringify(c.request)}`)]) {
        for (const form of secretForms(KEY)) assert.ok(!text.includes(form), `the key (${form}) leaks into: ${text.slice(0, 300)}`);
        assert.ok(!text.includes(KEY.slice(-4) + "."), "the masked key's tail is gone");
      }
      assert.match(calls[0].error ?? "", /HTTP 401: "Incorrect API key provided: \*\*\*/);
    } finally {
      await closeStore(store);
    }
  });
});
