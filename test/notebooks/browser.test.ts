/**
 * A researcher's session in a real browser: classic Jupyter Notebook (Debian's notebook 6) started by the
 * test on 127.0.0.1, headless Chromium through playwright-core, the project's tslab kernel. One notebook
 * (01, SMOKE-sized) runs cell by cell; then the page is reloaded and its charts must be drawn again (an
 * SVG inside every plotly div); outputs are cleared and a chart cell re-run, so the chart has to load
 * plotly.js itself (the kernel sent it once already); a middle cell is re-run after the last; a long
 * cell is interrupted (its work must stop: the kernel's CPU time is read from /proc). Screenshots go to test-artifacts/browser/ (git ignores it; CI keeps it).
 *
 * The notebook runs from a copy in a temporary folder under .cache/ (with `lib` and `assets` linked to the project's),
 * so nothing in notebooks/ is written; its figures go to a temporary folder (RRA_FIGURES_DIR).
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { createServer } from "net";
import { join } from "path";
import { chromium, type Browser, type Page } from "playwright-core";
import { projectPath } from "../../lib/core/paths";
import { ensureNotebookTypes } from "../../lib/notebooks/types";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const NOTEBOOK = "01_data_and_baselines.ipynb";
const ARTIFACTS = projectPath("test-artifacts", "browser");

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Classic notebook's page API, as the test reads it. */
interface CellState { type: string; running: boolean; prompt: unknown; errors: string[]; text: string }

const jupyterOk = spawnSync("jupyter", ["notebook", "--version"], { encoding: "utf8" }).status === 0;

describe("notebooks in a real browser (Jupyter Notebook + Chromium)", function () {
  this.timeout(900_000);
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let work: string;
  let base: string;
  let serverLog = "";

  before(async function () {
    if (!jupyterOk || !existsSync(CHROMIUM)) {
      if (process.env.CI || process.env.RRA_REQUIRE_BROWSER) throw new Error(`the browser test needs jupyter notebook and ${CHROMIUM} (scripts/setup-system.sh installs both)`);
      this.skip();
    }
    // inside the project (.cache is git-ignored): tslab type-checks lib/ through the link's path, and
    // TypeScript finds node_modules by walking up from there
    mkdirSync(projectPath(".cache"), { recursive: true });
    work = mkdtempSync(projectPath(".cache", "browser-test-"));
    const nbDir = join(work, "notebooks");
    mkdirSync(nbDir);
    copyFileSync(projectPath("notebooks", NOTEBOOK), join(nbDir, NOTEBOOK));
    symlinkSync(projectPath("lib"), join(nbDir, "lib"));
    symlinkSync(projectPath("notebooks", "assets"), join(nbDir, "assets"));
    mkdirSync(ARTIFACTS, { recursive: true });
    // as npm run notebook does (scripts/notebook.sh): the declarations cells are checked against, and the
    // preflight that refreshes them in every kernel
    ensureNotebookTypes({ log: () => undefined });
    const port = await freePort();
    const token = "rra-browser-test";
    base = `http://127.0.0.1:${port}`;
    const args = ["notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0", `--notebook-dir=${nbDir}`,
      `--NotebookApp.token=${token}`, "--NotebookApp.password="];
    if (process.getuid?.() === 0) args.push("--allow-root");
    server = spawn("jupyter", args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env, SMOKE: "1", RRA_FIGURES_DIR: join(work, "figures"), PYDEVD_DISABLE_FILE_VALIDATION: "1",
        JUPYTER_PATH: projectPath(".jupyter", "share", "jupyter"), JUPYTER_CONFIG_DIR: join(work, "jupyter-config"),
        JUPYTER_RUNTIME_DIR: join(work, "jupyter-runtime"), JUPYTER_DATA_DIR: join(work, "jupyter-data"),
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : ""}--require "${projectPath("lib", "notebooks", "preflight.js")}"`,
      },
    });
    server.stdout?.on("data", (d) => (serverLog += d));
    server.stderr?.on("data", (d) => (serverLog += d));
    await waitFor("the notebook server", 60_000, async () => (await fetch(`${base}/api/status?token=${token}`)).ok);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${base}/notebooks/${NOTEBOOK}?token=${token}`);
    await waitForKernel();
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (server?.pid) {
      try {
        process.kill(-server.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function waitForKernel(): Promise<void> {
    await waitFor("the kernel to be ready", 120_000, () => page.evaluate(() => {
      const J = (window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean } } } }).Jupyter;
      return Boolean(J?.notebook?.kernel?.is_connected?.()) && !document.querySelector("#kernel_indicator_icon.kernel_busy_icon");
    }));
  }

  const cells = (): Promise<CellState[]> => page.evaluate(() => {
    const nb = (window as unknown as { Jupyter: { notebook: { get_cells(): Array<Record<string, any>> } } }).Jupyter.notebook;
    return nb.get_cells().map((c) => ({
      type: c.cell_type as string,
      running: c.cell_type === "code" && c.input_prompt_number === "*",
      prompt: c.cell_type === "code" ? c.input_prompt_number : null,
      errors: c.cell_type === "code" ? (c.output_area.outputs as Array<{ output_type: string; ename?: string; evalue?: string; name?: string; text?: string }>)
        .filter((o) => o.output_type === "error" || (o.output_type === "stream" && o.name === "stderr" && /error|cannot|\.ts \d+:\d+ - /i.test(o.text ?? "")))
        .map((o) => `${o.ename ?? o.name}: ${o.evalue ?? o.text}`) : [],
      text: String(c.get_text()).slice(0, 80),
    }));
  });

  /** Execute cell i as Shift+Enter would, wait until it finished; returns its state. */
  async function runCell(i: number, timeoutMs = 600_000): Promise<CellState> {
    await page.evaluate((k) => {
      const nb = (window as unknown as { Jupyter: { notebook: { get_cell(i: number): { execute(): void } } } }).Jupyter.notebook;
      nb.get_cell(k).execute();
    }, i);
    return waitFor(`cell ${i} to finish`, timeoutMs, async () => {
      const c = (await cells())[i];
      return c.running || c.prompt === null || c.prompt === undefined ? undefined : c;
    });
  }

  /** The plotly divs of the page and how many hold a drawn chart (an SVG made by plotly). */
  const charts = (): Promise<{ divs: number; drawn: number; notes: string[] }> => page.evaluate(() => {
    const divs = Array.from(document.querySelectorAll(".rra-plot"));
    return {
      divs: divs.length,
      drawn: divs.filter((d) => d.querySelector("svg.main-svg") !== null).length,
      notes: Array.from(document.querySelectorAll(".rra-plot-note")).map((n) => n.textContent ?? ""),
    };
  });

  const waitChartsDrawn = async (what: string): Promise<{ divs: number; drawn: number; notes: string[] }> =>
    waitFor(`${what}: every chart drawn`, 60_000, async () => {
      const c = await charts();
      return c.divs > 0 && c.drawn === c.divs ? c : undefined;
    }).catch(async (e) => {
      await page.screenshot({ path: join(ARTIFACTS, "failed.png"), fullPage: true });
      throw new Error(`${(e as Error).message}; charts ${JSON.stringify(await charts())}`);
    });

  it("runs the notebook cell by cell without an error, and every chart is drawn", async () => {
    const all = await cells();
    for (let i = 0; i < all.length; i++) {
      if (all[i].type !== "code") continue;
      const c = await runCell(i);
      assert.deepEqual(c.errors, [], `cell ${i} (${c.text}) failed`);
    }
    const c = await waitChartsDrawn("after the run");
    assert.ok(c.divs >= 3, `expected the notebook's charts, found ${c.divs}`);
    await page.screenshot({ path: join(ARTIFACTS, "01-run.png"), fullPage: true });
  });

  it("re-runs a middle cell after the last one (the store and models stay open)", async () => {
    const all = await cells();
    const code = all.map((c, i) => (c.type === "code" ? i : -1)).filter((i) => i >= 0);
    const middle = code[Math.floor(code.length / 2)];
    const c = await runCell(middle);
    assert.deepEqual(c.errors, [], `re-running cell ${middle} (${c.text}) failed`);
  });

  /** CPU seconds used so far by the notebook server's descendants (the kernel), from /proc. */
  function kernelCpuSeconds(): number {
    const children = (pid: number): number[] => {
      const out = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map(Number);
      return out.flatMap((c) => [c, ...children(c)]);
    };
    let ticks = 0;
    for (const pid of children(server!.pid!)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks += Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15 of stat)
      } catch {
        // the process ended meanwhile
      }
    }
    return ticks / 100;
  }

  it("interrupts a long cell: the work itself stops within seconds and the kernel stays usable", async () => {
    const i = await page.evaluate(() => {
      const nb = (window as unknown as { Jupyter: { notebook: { insert_cell_at_bottom(t: string): { set_text(s: string): void }; ncells(): number } } }).Jupyter.notebook;
      // a bench of a million training steps: hours of real work, checked for interrupts between steps
      nb.insert_cell_at_bottom("code").set_text(`await rra.runBench({ tiny: true, steps: 1000000, backends: ["wasm"] });`);
      return nb.ncells() - 1;
    });
    await page.evaluate((k) => (window as unknown as { Jupyter: { notebook: { get_cell(i: number): { execute(): void } } } }).Jupyter.notebook.get_cell(k).execute(), i);
    await page.waitForTimeout(15_000); // well into the training steps
    const busy0 = kernelCpuSeconds();
    await page.waitForTimeout(2000);
    const busy = kernelCpuSeconds() - busy0;
    const outputOf = (k: number): Promise<string> => page.evaluate((j) => {
      const nb = (window as unknown as { Jupyter: { notebook: { get_cell(i: number): { output_area: { outputs: Array<{ text?: string; data?: Record<string, string>; evalue?: string }> } } } } }).Jupyter.notebook;
      return nb.get_cell(j).output_area.outputs.map((o) => o.text ?? o.data?.["text/plain"] ?? o.evalue ?? "").join("\n");
    }, k);
    const tree = spawnSync("ps", ["-o", "pid,ppid,time,args", "--ppid", String(server!.pid)], { encoding: "utf8" }).stdout;
    assert.ok(busy > 1, `the long cell should keep the kernel busy before the interrupt (${busy.toFixed(2)} CPU s in 2 s); running ${(await cells())[i].running}; output ${await outputOf(i)}; processes ${tree}`);
    const t0 = Date.now();
    await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { kernel: { interrupt(): void } } } }).Jupyter.notebook.kernel.interrupt());
    await waitFor("the interrupted cell to finish", 10_000, async () => !(await cells())[i].running);
    const replied = Date.now() - t0;
    await page.waitForTimeout(1000);
    const idle0 = kernelCpuSeconds();
    await page.waitForTimeout(3000);
    const idle = kernelCpuSeconds() - idle0;
    const out = await outputOf(i);
    await page.locator(".cell").nth(i).screenshot({ path: join(ARTIFACTS, "05-interrupted.png") });
    assert.ok(replied < 5000, `the cell finished ${replied} ms after Interrupt`);
    assert.ok(idle < 0.5, `the work went on after Interrupt: the kernel used ${idle.toFixed(2)} CPU s in the 3 s after it`);
    assert.match(out, /Stopped: bench/);
    assert.match(await runNewCell("console.log(6 * 7);"), /42/);
    // the two cells this test added go again. Kept, the saved notebook came back "Not Trusted" after the
    // reload below (seen once, not explained yet: the interrupted cell's updated progress display is suspect)
    await page.evaluate(() => {
      const nb = (window as unknown as { Jupyter: { notebook: { ncells(): number; delete_cells(i: number[]): void } } }).Jupyter.notebook;
      nb.delete_cells([nb.ncells() - 2, nb.ncells() - 1]);
    });
  });

  it("draws the charts again after a page reload while the kernel lives", async () => {
    await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { save_notebook(): Promise<unknown> } } }).Jupyter.notebook.save_notebook());
    await page.waitForTimeout(1000);
    await page.reload();
    await waitForKernel();
    const c = await waitChartsDrawn("after the reload");
    assert.deepEqual(c.notes, []);
    await page.screenshot({ path: join(ARTIFACTS, "02-reloaded.png") });
    await page.locator(".rra-plot").last().screenshot({ path: join(ARTIFACTS, "02-reloaded-last-chart.png") });
  });

  it("draws a re-run chart when no output on the page carries plotly.js any more", async () => {
    await page.evaluate(async () => {
      const nb = (window as unknown as { Jupyter: { notebook: { clear_all_output(): void; save_notebook(): Promise<unknown> } } }).Jupyter.notebook;
      nb.clear_all_output();
      await nb.save_notebook();
    });
    await page.waitForTimeout(1000);
    await page.reload(); // a fresh page: no window.Plotly, no output with plotly.js inline
    await waitForKernel();
    assert.equal((await charts()).divs, 0);
    const source = await page.evaluate(() => {
      const nb = (window as unknown as { Jupyter: { notebook: { get_cells(): Array<{ cell_type: string; get_text(): string }> } } }).Jupyter.notebook;
      return nb.get_cells().map((c) => (c.cell_type === "code" ? c.get_text() : ""));
    });
    // the last chart cell: the kernel inlined plotly.js into the first chart output long ago
    const target = source.map((s, i) => (/rra\.showFigure\(/.test(s) ? i : -1)).filter((i) => i >= 0).pop() ?? -1;
    assert.ok(target >= 0, "no chart cell found");
    const c = await runCell(target);
    assert.deepEqual(c.errors, []);
    const drawn = await waitChartsDrawn("a chart cell re-run on a page without plotly.js");
    assert.deepEqual(drawn.notes, []);
    assert.ok(await page.evaluate(() => Array.from(document.scripts).some((s) => /assets\/plotly\.min\.js$/.test(s.src))), "plotly.js was not loaded from the notebook server's files/ URL");
    await page.locator(".rra-plot").last().screenshot({ path: join(ARTIFACTS, "03-plotly-loaded-by-the-chart.png") });
  });

  /** Add a code cell at the bottom, run it, and return its outputs' text. */
  async function runNewCell(code: string, timeoutMs = 120_000): Promise<string> {
    const i = await page.evaluate((text) => {
      const nb = (window as unknown as { Jupyter: { notebook: { insert_cell_at_bottom(t: string): { set_text(s: string): void }; ncells(): number } } }).Jupyter.notebook;
      nb.insert_cell_at_bottom("code").set_text(text);
      return nb.ncells() - 1;
    }, code);
    await runCell(i, timeoutMs);
    return page.evaluate((k) => {
      const nb = (window as unknown as { Jupyter: { notebook: { get_cell(i: number): { output_area: { outputs: Array<{ text?: string; data?: Record<string, string>; evalue?: string }> } } } } }).Jupyter.notebook;
      return nb.get_cell(k).output_area.outputs.map((o) => o.text ?? o.data?.["text/plain"] ?? o.evalue ?? "").join("\n");
    }, i);
  }

  it("shows a mistyped name as its message and a one-line hint, without a stack", async () => {
    const out = await runNewCell(`rra.checkShippedSystems(["rankvicuna-7B"]);`);
    assert.match(out, /ConfigError: .*"rankvicuna-7B".*did you mean "rankvicuna-7b"/s);
    assert.match(out, /the stack is hidden/);
    assert.doesNotMatch(out, /^\s+at /m, out);
  });

  it("shows the static copy (PNG) of a chart when the notebook is not trusted", async () => {
    await page.evaluate(() => (window as unknown as { Jupyter: { notebook: { save_notebook(): Promise<unknown> } } }).Jupyter.notebook.save_notebook());
    await page.waitForTimeout(1000);
    // changed outside Jupyter, the file no longer matches its signature: its outputs are untrusted, so their
    // HTML and scripts are not used
    const file = join(work, "notebooks", NOTEBOOK);
    const nb = JSON.parse(readFileSync(file, "utf8")) as { metadata: Record<string, unknown> };
    nb.metadata.edited_elsewhere = true;
    writeFileSync(file, JSON.stringify(nb, null, 1) + "\n");
    await page.reload();
    await waitForKernel();
    const shown = await waitFor("the untrusted notebook's outputs", 30_000, () => page.evaluate(() => {
      const trusted = (window as unknown as { Jupyter: { notebook: { trusted: boolean } } }).Jupyter.notebook.trusted;
      const pngs = document.querySelectorAll(".output_png img, img[src^='data:image/png']").length;
      return pngs > 0 ? { trusted, pngs, divs: document.querySelectorAll(".rra-plot").length } : undefined;
    }));
    assert.equal(shown.trusted, false);
    assert.ok(shown.pngs >= 1);
    await page.locator(".output_png img, img[src^='data:image/png']").last().screenshot({ path: join(ARTIFACTS, "04-untrusted-static-copy.png") });
  });

  it("leaves the server log free of tracebacks", () => {
    assert.doesNotMatch(serverLog, /Traceback \(most recent call last\)/, serverLog.slice(-3000));
  });
});
