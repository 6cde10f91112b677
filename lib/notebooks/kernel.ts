/**
 * A minimal Jupyter client: starts a real kernel process (tslab) from its kernelspec and talks to it
 * over ZeroMQ with the Jupyter wire protocol 5.3 (HMAC-SHA256 signed multipart messages).
 *
 * Protocol: https://jupyter-client.readthedocs.io/en/latest/messaging.html
 * Only what a headless runner needs: kernel_info, execute, interrupt, shutdown, and the iopub
 * outputs (stream, display_data, update_display_data, execute_result, error, clear_output, status).
 */
import { ChildProcess, spawn } from "child_process";
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from "crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { createServer, AddressInfo } from "net";
import { tmpdir } from "os";
import { delimiter, dirname, isAbsolute, join } from "path";
import * as zmq from "zeromq";
import { RraError } from "../core/errors";
import { projectPath } from "../core/paths";

/** The command that registers the tslab kernel for this project (also in the setup script). */
export const REGISTER_KERNEL_HINT =
  'cd <project> && npx tslab install --python=/usr/bin/python3 --binary="$PWD/bin/tslab-kernel.js" ' +
  '--prefix="$PWD/.jupyter" && export JUPYTER_PATH="$PWD/.jupyter/share/jupyter"';

/** A kernel could not be found, started or talked to. */
export class KernelError extends RraError {}

/** A registered kernelspec (kernel.json) and where it was found. */
export interface KernelSpec {
  name: string;
  file: string;
  argv: string[];
  displayName: string;
  language: string;
  env: Record<string, string>;
  interruptMode: "signal" | "message";
}

/** Find `kernels/<name>/kernel.json` in $JUPYTER_PATH, else in <root>/.jupyter/share/jupyter. */
export function findKernelSpec(name = "tslab"): KernelSpec {
  const dirs = (process.env.JUPYTER_PATH ?? "").split(delimiter).filter((d) => d !== "");
  dirs.push(projectPath(".jupyter", "share", "jupyter"));
  const tried = dirs.map((d) => join(d, "kernels", name, "kernel.json"));
  const file = tried.find((f) => existsSync(f));
  if (!file) {
    throw new KernelError(`Jupyter kernel "${name}" is not registered: no kernel.json in ${tried.join(", ")}. ` +
      `Register it with: ${REGISTER_KERNEL_HINT.replace("<project>", projectPath())}`);
  }
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const argv = raw.argv;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string")) {
    throw new KernelError(`${file}: expected "argv" to be a non-empty list of strings, got ${JSON.stringify(argv)}`);
  }
  if (isAbsolute(argv[0]) && !existsSync(argv[0])) {
    throw new KernelError(`${file}: the kernel program ${argv[0]} does not exist (was the project moved?). ` +
      `Register the kernel again: ${REGISTER_KERNEL_HINT.replace("<project>", projectPath())}`);
  }
  return {
    name, file, argv: argv as string[],
    displayName: typeof raw.display_name === "string" ? raw.display_name : name,
    language: typeof raw.language === "string" ? raw.language : "",
    env: (raw.env && typeof raw.env === "object" ? raw.env : {}) as Record<string, string>,
    interruptMode: raw.interrupt_mode === "message" ? "message" : "signal",
  };
}

/** After the kernel's ports listen, how long before the first request (its binds' promises settle). */
const BIND_SETTLE_MS = 300;

/** TCP ports in the LISTEN state on this machine (Linux /proc/net/tcp and tcp6), or null where unreadable. */
export function listeningPorts(): Set<number> | null {
  const open = new Set<number>();
  let read = false;
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try { text = readFileSync(f, "utf8"); } catch { continue; }
    read = true;
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 3 && cols[3] === "0A") open.add(parseInt(cols[1].split(":")[1], 16)); // 0A: TCP_LISTEN
    }
  }
  return read ? open : null;
}

/** `n` distinct free TCP ports on 127.0.0.1 (listen on port 0, read the port, close). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>(
    (resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(0, "127.0.0.1", () => resolve(s));
    })));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Jupyter message header (protocol 5.3). */
export interface MsgHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded Jupyter message. */
export interface KernelMessage {
  header: MsgHeader;
  parent_header: Partial<MsgHeader>;
  metadata: Record<string, unknown>;
  content: Record<string, any>; // protocol JSON, shape depends on msg_type
  buffers: Buffer[];
}

const DELIM = Buffer.from("<IDS|MSG>");

/** HMAC-SHA256 hex signature over the four JSON frames (and any buffers). */
export function signFrames(key: string, frames: Array<string | Buffer>): string {
  const h = createHmac("sha256", key);
  for (const f of frames) h.update(f);
  return h.digest("hex");
}

/** Multipart frames for a message: [<IDS|MSG>, signature, header, parent_header, metadata, content]. */
export function encodeMessage(key: string, msg: Omit<KernelMessage, "buffers">): Array<string | Buffer> {
  const body = [msg.header, msg.parent_header, msg.metadata, msg.content].map((x) => JSON.stringify(x));
  return [DELIM, signFrames(key, body), ...body];
}

/** Decode and verify received frames (identities before the delimiter are dropped). */
export function decodeMessage(key: string, frames: Buffer[]): KernelMessage {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0 || frames.length < at + 6) throw new KernelError(`malformed kernel message: ${frames.length} frames, delimiter at ${at}`);
  const sig = frames[at + 1].toString();
  const body = frames.slice(at + 2);
  const want = signFrames(key, body);
  if (sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
    throw new KernelError(`kernel message with a bad signature ${JSON.stringify(sig.slice(0, 16))}…`);
  }
  const [header, parent, metadata, content] = body.slice(0, 4).map((b) => JSON.parse(b.toString("utf8")));
  return { header, parent_header: parent, metadata, content, buffers: body.slice(4) };
}

/** One nbformat 4 output (stream, display_data, execute_result or error). */
export type NbOutput =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; execution_count: number | null; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

/** How one execute_request ended. `timeout` means the client gave up and interrupted the kernel. */
export interface ExecuteResult {
  status: "ok" | "error" | "abort" | "timeout";
  executionCount: number | null;
  outputs: NbOutput[];
  ms: number;
}

/** Options of `KernelClient.start`. */
export interface KernelStartOptions {
  /** Kernel working directory (for a notebook: its folder). */
  cwd: string;
  /** Extra environment on top of process.env and the kernelspec's env. */
  env?: Record<string, string | undefined>;
  /** Kernelspec name. Default "tslab". */
  kernelName?: string;
  /** Seconds to wait for the first kernel_info_reply. Default 60. */
  startTimeoutSec?: number;
}

const live = new Set<KernelClient>();
const onExit = (): void => { for (const k of live) k.killNow(); };
const onSignal = (signal: NodeJS.Signals): void => {
  process.stderr.write(`\n${signal}: shutting down ${live.size} kernel(s)\n`);
  void Promise.all([...live].map((k) => k.shutdown(1000))).finally(() => {
    untrackAll();
    process.kill(process.pid, signal); // default action now that our listener is gone
  });
};
function track(k: KernelClient): void {
  if (live.size === 0) {
    process.on("exit", onExit);
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  live.add(k);
}
function untrack(k: KernelClient): void {
  if (live.delete(k) && live.size === 0) untrackAll();
}
function untrackAll(): void {
  process.removeListener("exit", onExit);
  process.removeListener("SIGINT", onSignal);
  process.removeListener("SIGTERM", onSignal);
}


/** A running kernel process with its shell, control and iopub connections. */
export class KernelClient {
  /** kernel_info_reply content (language_info etc.). */
  info: Record<string, unknown> = {};
  private readonly key = randomBytes(32).toString("hex");
  private readonly session = randomUUID();
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  private readonly iopub = new zmq.Subscriber({ linger: 0 });
  private readonly replies = new Map<string, (m: KernelMessage) => void>();
  private readonly iopubHandlers = new Map<string, (m: KernelMessage) => void>();
  private readonly displays = new Map<string, Array<{ data: Record<string, unknown>; metadata: Record<string, unknown> }>>();
  private sendChain: Promise<unknown> = Promise.resolve();
  private proc!: ChildProcess;
  private exitInfo: string | undefined;
  private exited!: Promise<void>;
  private outputTail = "";
  private closing: Promise<void> | undefined;
  private ports: number[] = [];

  private constructor(readonly spec: KernelSpec, private readonly connDir: string) {}

  /** Process id of the kernel (its own process group). */
  get pid(): number { return this.proc.pid ?? -1; }

  /** Start a kernel and wait until it answers kernel_info_request with iopub connected. */
  static async start(opts: KernelStartOptions): Promise<KernelClient> {
    const spec = findKernelSpec(opts.kernelName ?? "tslab");
    const k = new KernelClient(spec, mkdtempSync(join(tmpdir(), "rra-kernel-")));
    try {
      await k.launch(opts);
      await k.waitReady((opts.startTimeoutSec ?? 60) * 1000);
      return k;
    } catch (e) {
      await k.shutdown(500);
      throw e;
    }
  }

  private async launch(opts: KernelStartOptions): Promise<void> {
    const [shell, iopub, stdin, control, hb] = await freePorts(5);
    this.ports = [shell, iopub, stdin, control, hb];
    const connFile = join(this.connDir, "kernel.json");
    writeFileSync(connFile, JSON.stringify({
      shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb,
      ip: "127.0.0.1", key: this.key, transport: "tcp", signature_scheme: "hmac-sha256", kernel_name: this.spec.name,
    }, null, 1), { mode: 0o600 });
    // zmq reconnects until the kernel has bound its ports, so connecting first is fine.
    this.shell.connect(`tcp://127.0.0.1:${shell}`);
    this.control.connect(`tcp://127.0.0.1:${control}`);
    this.iopub.connect(`tcp://127.0.0.1:${iopub}`);
    this.iopub.subscribe();
    void this.pump(this.shell);
    void this.pump(this.control);
    void this.pump(this.iopub);

    const argv = this.spec.argv.map((a) => a.replace("{connection_file}", connFile).replace("{resource_dir}", dirname(this.spec.file)));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, ...this.spec.env, ...(opts.env ?? {}) })) if (v !== undefined) env[k] = v;
    this.proc = spawn(argv[0], argv.slice(1), { cwd: opts.cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    const keep = (b: Buffer): void => { this.outputTail = (this.outputTail + b.toString("utf8")).slice(-4000); };
    this.proc.stdout?.on("data", keep);
    this.proc.stderr?.on("data", keep);
    this.exited = new Promise<void>((resolve) => {
      this.proc.once("error", (e) => { this.exitInfo = `could not be started (${e.message})`; resolve(); });
      this.proc.once("exit", (code, signal) => { this.exitInfo ??= `exited with ${signal ?? `code ${code}`}`; resolve(); });
    });
    track(this);
  }

  /** Why the kernel died, with the end of its own output (empty while it runs). */
  deathReport(): string {
    if (this.exitInfo === undefined) return "";
    const tail = this.outputTail.trim();
    return `kernel ${this.spec.argv[0]} ${this.exitInfo}` + (tail ? `; its last output:\n${tail}` : "");
  }

  private async pump(sock: zmq.Dealer | zmq.Subscriber): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: KernelMessage;
        try { msg = decodeMessage(this.key, frames); } catch { continue; } // not ours / corrupt: ignore
        const parent = msg.parent_header.msg_id ?? "";
        if (sock === this.iopub) this.iopubHandlers.get(parent)?.(msg);
        else this.replies.get(parent)?.(msg);
      }
    } catch {
      // socket closed during shutdown
    }
  }

  private message(msgType: string, content: Record<string, unknown>): Omit<KernelMessage, "buffers"> {
    return {
      header: { msg_id: randomUUID(), session: this.session, username: "rra", date: new Date().toISOString(), msg_type: msgType, version: "5.3" },
      parent_header: {}, metadata: {}, content,
    };
  }

  private send(sock: zmq.Dealer, msg: Omit<KernelMessage, "buffers">): Promise<unknown> {
    // zeromq 6 allows one pending send per socket: chain them.
    this.sendChain = this.sendChain.then(() => sock.send(encodeMessage(this.key, msg)), () => sock.send(encodeMessage(this.key, msg)));
    return this.sendChain;
  }

  /** Resolve with the value, or reject when the kernel dies first or `ms` pass (then resolve `onTimeout`). */
  private race<T>(p: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      this.exited.then(() => { throw new KernelError(this.deathReport()); }),
      new Promise<T>((resolve) => { timer = setTimeout(() => resolve(onTimeout()), ms); }),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * Ready when some kernel_info_request has its reply and its iopub status. As jupyter_client's
   * wait_for_ready does, the request is sent again every second until then, and the answer to any of them
   * counts: iopub subscriptions connect late ("slow joiner"), and CI once waited the whole 60 s on a first
   * request that was never answered while a second one would have been.
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const t0 = Date.now();
    const left = () => Math.max(0, timeoutMs - (Date.now() - t0));
    // tslab binds its five sockets in parallel and already reads the shell socket meanwhile; a request
    // that arrives while a bind is still in progress makes its read (and its reply) fail with EBUSY
    // ("Socket is blocked by a bind or unbind operation"), and tslab stops reading shell for good (seen in
    // CI under load). So the first request waits until every port listens, and a little longer. The
    // kernel setup registers (bin/tslab-kernel.js) binds first; the wait stays for kernels that do not.
    const listening = await this.waitListening(left());
    if (listening === false) {
      const open = listeningPorts() ?? new Set<number>();
      const names = ["shell", "iopub", "stdin", "control", "hb"];
      throw new KernelError(`kernel ${this.spec.name} did not listen on its ports within ${timeoutMs / 1000} s (not listening: ` +
        `${this.ports.map((p, i) => (open.has(p) ? "" : `${names[i]} ${p}`)).filter(Boolean).join(", ")})` + this.outputSummary());
    }
    if (listening) await this.race(new Promise<void>((r) => setTimeout(r, Math.min(BIND_SETTLE_MS, left()))), left(), () => undefined);
    const replied = new Map<string, KernelMessage>(), iopubSeen = new Set<string>(), ids: string[] = [];
    let wake: () => void = () => undefined;
    const ready = (): string | undefined => ids.find((id) => replied.has(id) && iopubSeen.has(id));
    try {
      for (;;) {
        const msg = this.message("kernel_info_request", {});
        const id = msg.header.msg_id;
        ids.push(id);
        this.replies.set(id, (m) => { replied.set(id, m); wake(); });
        this.iopubHandlers.set(id, () => { iopubSeen.add(id); wake(); });
        await this.send(this.shell, msg);
        const attemptEnds = Date.now() + Math.min(1000, left());
        while (!ready() && Date.now() < attemptEnds) {
          await this.race(new Promise<void>((r) => { wake = r; }), Math.max(1, attemptEnds - Date.now()), () => undefined);
        }
        const done = ready();
        if (done) {
          this.info = replied.get(done)!.content;
          return;
        }
        if (left() === 0) throw new KernelError(`kernel ${this.spec.name} did not answer kernel_info_request within ${timeoutMs / 1000} s` +
          ` (${ids.length} requests, ${replied.size} replies, ${iopubSeen.size} iopub statuses)` + this.outputSummary());
      }
    } finally {
      for (const id of ids) { this.replies.delete(id); this.iopubHandlers.delete(id); }
    }
  }

  /** "; its output ends with: ..." (the last 600 characters) or "; it printed nothing". */
  private outputSummary(): string {
    const tail = this.outputTail.trim();
    return tail ? `; its output ends with: ${tail.slice(-600)}` : "; it printed nothing";
  }

  /** Poll /proc/net/tcp{,6} until the kernel listens on all its ports (true) or `timeoutMs` pass (false); null where it cannot be read. */
  private async waitListening(timeoutMs: number): Promise<boolean | null> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const open = listeningPorts();
      if (!open) return null;
      if (this.ports.every((p) => open.has(p))) return true;
      if (Date.now() >= end) return false;
      await this.race(new Promise<void>((r) => setTimeout(r, 50)), 50, () => undefined);
    }
  }

  /** Send SIGINT (kernelspec interrupt_mode "signal", tslab's) or an interrupt_request. */
  interrupt(): void {
    if (this.exitInfo !== undefined) return;
    if (this.spec.interruptMode === "message") void this.send(this.control, this.message("interrupt_request", {}));
    else this.proc.kill("SIGINT");
  }

  /**
   * Run one cell: execute_request on shell, collect iopub outputs until status idle for it, and use
   * execute_reply's status. After `timeoutMs` the kernel is interrupted and the status is "timeout".
   */
  async execute(code: string, timeoutMs: number): Promise<ExecuteResult> {
    const t0 = Date.now();
    const msg = this.message("execute_request", {
      code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true,
    });
    const id = msg.header.msg_id;
    const outputs: NbOutput[] = [];
    let clearPending = false;
    let idle!: () => void;
    const idleSeen = new Promise<void>((r) => { idle = r; });
    const reply = new Promise<KernelMessage>((r) => this.replies.set(id, r));
    this.iopubHandlers.set(id, (m) => {
      const type = m.header.msg_type;
      const c = m.content;
      if (type === "status") { if (c.execution_state === "idle") idle(); return; }
      if (type === "clear_output") { if (c.wait) clearPending = true; else outputs.length = 0; return; }
      if (type === "update_display_data") {
        for (const o of this.displays.get(c.transient?.display_id) ?? []) { o.data = c.data ?? {}; o.metadata = c.metadata ?? {}; }
        return;
      }
      if (!["stream", "display_data", "execute_result", "error"].includes(type)) return;
      if (clearPending) { outputs.length = 0; clearPending = false; }
      const last = outputs[outputs.length - 1];
      if (type === "stream") {
        if (last && last.output_type === "stream" && last.name === c.name) last.text += c.text;
        else outputs.push({ output_type: "stream", name: c.name, text: String(c.text) });
      } else if (type === "error") {
        outputs.push({ output_type: "error", ename: String(c.ename), evalue: String(c.evalue), traceback: c.traceback ?? [] });
      } else {
        const out = type === "display_data"
          ? { output_type: "display_data" as const, data: c.data ?? {}, metadata: c.metadata ?? {} }
          : { output_type: "execute_result" as const, execution_count: c.execution_count ?? null, data: c.data ?? {}, metadata: c.metadata ?? {} };
        outputs.push(out);
        const did = c.transient?.display_id;
        if (typeof did === "string" && did !== "") this.displays.set(did, [...(this.displays.get(did) ?? []), out]);
      }
    });
    try {
      await this.send(this.shell, msg);
      const done = Promise.all([reply, idleSeen]).then(([r]) => r);
      let rep = await this.race<KernelMessage | null>(done, timeoutMs, () => null);
      if (!rep) {
        this.interrupt();
        await this.race<KernelMessage | null>(done, 3000, () => null).catch(() => null);
        return { status: "timeout", executionCount: null, outputs, ms: Date.now() - t0 };
      }
      const status = rep.content.status === "ok" || rep.content.status === "abort" ? rep.content.status : "error";
      return { status, executionCount: rep.content.execution_count ?? null, outputs, ms: Date.now() - t0 };
    } finally {
      this.replies.delete(id);
      this.iopubHandlers.delete(id);
    }
  }

  /**
   * Stop the kernel: shutdown_request on control, then SIGTERM and SIGKILL to its process group if it
   * is still alive after `graceMs`. Closes the sockets and removes the connection file. Idempotent.
   */
  shutdown(graceMs = 1000): Promise<void> {
    this.closing ??= (async () => {
      if (this.proc && this.exitInfo === undefined) {
        await this.send(this.control, this.message("shutdown_request", { restart: false })).catch(() => undefined);
        let alive = !(await this.race(this.exited.then(() => true), graceMs, () => false).catch(() => true));
        for (const [signal, wait] of [["SIGTERM", 1500], ["SIGKILL", 3000]] as const) {
          if (!alive) break;
          this.signalGroup(signal);
          alive = !(await this.race(this.exited.then(() => true), wait, () => false).catch(() => true));
        }
      }
      this.shell.close();
      this.control.close();
      this.iopub.close();
      rmSync(this.connDir, { recursive: true, force: true });
      untrack(this);
    })();
    return this.closing;
  }

  /** Synchronous last resort (process exit): SIGKILL the kernel's process group. */
  killNow(): void {
    if (this.proc && this.exitInfo === undefined) this.signalGroup("SIGKILL");
    rmSync(this.connDir, { recursive: true, force: true });
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.proc.pid;
    if (pid === undefined) return;
    try { process.kill(-pid, signal); } catch { try { process.kill(pid, signal); } catch { /* already gone */ } }
  }
}
