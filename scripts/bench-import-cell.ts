/**
 * Wall time of each notebook's import/setup cell in a cold tslab kernel (issue 14 item 7): for every
 * notebook, a new kernel in the notebook's folder (SMOKE=1, as `rra notebooks run`), then its first code
 * cell alone. A benchmark, not a test: it prints numbers (the kernel's start-up is printed apart). Next to
 * the wall time, the CPU time the kernel process spent on the cell (all its threads, garbage collector
 * and esbuild included; Linux /proc), which grows far less than the wall time with the machine's load.
 *
 *   npx tsx scripts/bench-import-cell.ts [NOTEBOOKS...] [--repeat N] [--source CODE]
 *
 * --repeat N   N cold kernels per notebook; the median is shown with every run (default 1)
 * --source     run CODE instead of each notebook's first code cell, e.g. the old entry:
 *              --source 'import * as rra from "./lib/index"'
 * The notebook types (lib/notebooks/types.ts) are brought up to date first and that time printed apart;
 * the machine's load average is printed too, since the numbers move with it.
 */
import { existsSync, readFileSync } from "fs";
import { loadavg } from "os";
import { basename, dirname, resolve } from "path";
import { parseArgs } from "util";
import { defaultNotebooks } from "../lib/notebooks/cli";
import { KernelClient } from "../lib/notebooks/kernel";
import { cellSource, readNotebook } from "../lib/notebooks/strip";
import { ensureNotebookTypes } from "../lib/notebooks/types";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { repeat: { type: "string", default: "1" }, source: { type: "string" } } });
const repeat = Number(values.repeat);
if (!(Number.isInteger(repeat) && repeat >= 1)) throw new Error(`--repeat expects a positive integer, got ${JSON.stringify(values.repeat)}`);
const files = positionals.length ? positionals.map((f) => resolve(f)) : defaultNotebooks();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");
/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN where there is no /proc. */
function cpuSeconds(pid: number): number {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return NaN;
  const fields = readFileSync(file, "utf8").replace(/^.*\) /s, "").split(" "); // after "pid (comm) "
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

async function main(): Promise<void> {
  const types = ensureNotebookTypes({ log: (l) => console.error(`[bench] ${l}`) });
  console.log(`notebook types: ${types.written ? `written in ${types.seconds.toFixed(1)} s (${types.status.reason})` : "up to date"}; load average ${load()}`);
  const medians: number[] = [];
  for (const file of files) {
    const cell = readNotebook(file).cells.find((c) => c.cell_type === "code" && cellSource(c).trim() !== "");
    const source = values.source ?? (cell ? cellSource(cell) : "");
    const starts: number[] = [];
    const cells: number[] = [];
    const cpus: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = Date.now();
      const kernel = await KernelClient.start({ cwd: dirname(file), env: { SMOKE: "1" } });
      starts.push((Date.now() - t0) / 1000);
      try {
        const cpu0 = cpuSeconds(kernel.pid);
        const r = await kernel.execute(source, 300_000);
        cpus.push(cpuSeconds(kernel.pid) - cpu0);
        if (r.status !== "ok") {
          const text = r.outputs.map((o) => (o.output_type === "stream" ? o.text : o.output_type === "error" ? `${o.ename}: ${o.evalue}` : "")).join("").trim();
          throw new Error(`${basename(file)}: the import cell ended with status ${r.status}: ${text.slice(0, 2000)}`);
        }
        cells.push(r.ms / 1000);
      } finally {
        await kernel.shutdown();
      }
    }
    medians.push(median(cells));
    console.log(`${basename(file).padEnd(32)} import cell ${median(cells).toFixed(1).padStart(5)} s (cpu ${median(cpus).toFixed(1)} s)` +
      (repeat > 1 ? ` (runs ${cells.map((c) => c.toFixed(1)).join(", ")})` : "") + `; kernel start ${median(starts).toFixed(1)} s; load ${load()}`);
  }
  if (files.length > 1) console.log(`import cell over ${files.length} notebooks: median ${median(medians).toFixed(1)} s, max ${Math.max(...medians).toFixed(1)} s`);
}

main().catch((e: Error) => {
  console.error(`bench-import-cell: ${e.message}`);
  process.exitCode = 1;
});
