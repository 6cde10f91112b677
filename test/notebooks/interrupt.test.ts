import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { KernelClient, type KernelMessage, type NbOutput } from "../../lib/notebooks/kernel";

const NOTEBOOKS = resolve(__dirname, "..", "..", "notebooks");

/** Cell 1: a long loop of synchronous 20 ms steps, as a training epoch, with its progress bar and interrupt check. */
const SETUP = `
import { interruptCheck } from "./lib/core/interrupt";
import { createProgress } from "./lib/core/progress";
const state = { steps: 0, sigintAt: 0, stoppedAt: 0, error: "" };
process.on("SIGINT", () => { if (!state.sigintAt) state.sigintAt = Date.now(); });
async function longLoop(total: number): Promise<void> {
  const interrupt = interruptCheck(() => "test loop at step " + state.steps + " of " + total + " (nothing stored)");
  const bar = createProgress({ label: "loop", total: total, unit: "steps" });
  try {
    for (let i = 0; i < total; i++) {
      await interrupt.check();
      const t = Date.now();
      while (Date.now() - t < 20) { /* 20 ms of synchronous work */ }
      state.steps++;
      bar.tick(1, "step " + i);
    }
    bar.done();
  } catch (e) {
    state.stoppedAt = Date.now();
    state.error = (e as Error).message;
    throw e;
  }
}
`;

/** Text of the display outputs of a cell. */
function displays(outputs: NbOutput[]): string[] {
  return outputs.flatMap((o) => (o.output_type === "display_data" ? [String(o.data["text/plain"] ?? "")] : []));
}

describe("Interrupt in a real tslab kernel (issue 14 item 3)", function () {
  this.timeout(120_000);
  let kernel: KernelClient;
  before(async () => { kernel = await KernelClient.start({ cwd: NOTEBOOKS }); });
  after(async () => { await kernel?.shutdown(1000); });

  it("stops a long async cell's work within 2 s of SIGINT (tslab alone only abandoned the await), with one updating progress line and the report of where it stopped", async () => {
    const setup = await kernel.execute(SETUP, 60_000);
    assert.equal(setup.status, "ok", JSON.stringify(setup.outputs));

    // the cell's late outputs (after its reply) are seen here too: the report of where the work stopped
    const late: KernelMessage[] = [];
    const handlers = (kernel as unknown as { iopubHandlers: Map<string, (m: KernelMessage) => void> }).iopubHandlers;
    const set = handlers.set.bind(handlers);
    let cellId = "";
    handlers.set = (id, fn) => { if (!cellId) cellId = id; return set(id, (m) => { late.push(m); fn(m); }); };
    const running = kernel.execute("await longLoop(3000);", 60_000); // 60 s of work
    handlers.set = set;
    await new Promise((r) => setTimeout(r, 2500));
    const t0 = Date.now();
    kernel.interrupt();
    const cell = await running;
    const replied = Date.now() - t0;
    assert.equal(cell.status, "error");
    assert.ok(replied < 2000, `the cell was reported interrupted ${replied} ms after SIGINT`);
    set(cellId, (m) => late.push(m)); // keep listening to the interrupted cell
    await new Promise((r) => setTimeout(r, 1500));

    const check = await kernel.execute("console.log(JSON.stringify(state));", 30_000);
    handlers.delete(cellId);
    const stream = check.outputs.find((o) => o.output_type === "stream");
    assert.ok(stream && stream.output_type === "stream", JSON.stringify(check.outputs));
    const state = JSON.parse(stream.text) as { steps: number; sigintAt: number; stoppedAt: number; error: string };
    assert.ok(state.sigintAt > 0 && state.stoppedAt > 0, JSON.stringify(state));
    const latency = state.stoppedAt - state.sigintAt;
    assert.ok(latency >= 0 && latency < 2000, `the loop stopped ${latency} ms after SIGINT`);
    assert.ok(state.steps > 10 && state.steps < 3000, `stopped after ${state.steps} of 3000 steps`);
    assert.match(state.error, /^interrupted: test loop at step \d+ of 3000 \(nothing stored\)$/);
    const again = await kernel.execute("console.log(state.steps);", 30_000);
    assert.deepEqual(again.outputs, [{ output_type: "stream", name: "stdout", text: `${state.steps}\n` }], "no step ran after the stop");

    // progress: one display output, rewritten in place; nothing on stderr
    const lines = displays(cell.outputs);
    assert.equal(lines.length, 1, JSON.stringify(cell.outputs));
    assert.match(lines[0], /^loop \[[#.]{24}\] \d+\/3000 steps \d+% [\d.]+\/s ETA \S+ \| step \d+$/);
    assert.ok(!cell.outputs.some((o) => o.output_type === "stream" && o.name === "stderr" && /loop \[/.test(o.text)), "no progress on stderr");
    const updates = late.filter((m) => m.header.msg_type === "update_display_data");
    assert.ok(updates.length >= 5, `the line was updated in place (${updates.length} updates)`);
    const report = late.filter((m) => m.header.msg_type === "display_data").map((m) => String((m.content.data as Record<string, unknown>)["text/plain"]));
    assert.ok(report.some((t) => /^Stopped: test loop at step \d+ of 3000 \(nothing stored\)\.$/.test(t)), `the cell says where the work stopped: ${JSON.stringify(report)}`);
  });
});
