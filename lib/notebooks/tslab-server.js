/**
 * tslab's Jupyter server with one fix: it binds its five sockets before it reads or writes any of them.
 *
 * tslab 1.0.22 (dist/jupyter.js, ZmqServer.init) starts its read loops on the shell, control and heartbeat
 * sockets and then binds all five in parallel. zeromq.js refuses every receive() and send() on a socket
 * while a bind of that socket is in progress (EBUSY, "Socket is blocked by a bind or unbind operation";
 * zeromq src/socket.cc, ValidateOpen). A bind is done in a thread and reported back to the event loop,
 * so a client that connected early (Jupyter's own client connects right after it starts the kernel) can
 * get a request through between the two; the loop's next receive() then throws, the loop ends, and the
 * kernel never reads its shell socket again: it listens and stays silent. CI saw it once under load
 * (2026-12-02; the KernelClient's timeout error showed the EBUSY in the kernel's output).
 *
 * `fixZmqServer(ZmqServer)` replaces ZmqServer.prototype.init with tslab's own steps in the safe order:
 * the same sockets, the same handlers (handleShellMessage, the heartbeat echo), binds first. It checks
 * that the internals it relies on are there and otherwise leaves tslab as it is, saying so on stderr.
 * bin/tslab-kernel.js applies it and starts tslab; scripts/setup.sh registers that file as the kernel.
 */
"use strict";
const { readFileSync } = require("fs");
const { dirname, join } = require("path");

const FIXED = Symbol.for("rra.tslab.bindFirst");

/** Read `sock` until it is closed, handing each message's frames to `onMessage` (as tslab's loops do). */
async function readLoop(sock, onMessage) {
  for await (const frames of sock) onMessage(frames);
}

/**
 * Patch tslab's ZmqServer class in place (idempotent). Returns true when patched (now or before), false
 * when this tslab lacks what the patch calls (a newer tslab: then its own init stays).
 */
function fixZmqServer(ZmqServer, zmq, warn = (line) => process.stderr.write(`${line}\n`)) {
  const proto = ZmqServer && ZmqServer.prototype;
  if (!proto) throw new TypeError("fixZmqServer: expected tslab's ZmqServer class");
  if (proto[FIXED]) return true;
  const missing = ["init", "bindSocket", "handleShellMessage"].filter((m) => typeof proto[m] !== "function");
  if (missing.length > 0) {
    warn(`tslab-kernel: tslab's ZmqServer has no ${missing.join(", ")}; starting it unpatched (its sockets may be read before they are bound)`);
    return false;
  }
  proto.init = async function init() {
    const cinfo = JSON.parse(readFileSync(this.configPath, "utf-8"));
    this.connInfo = cinfo;
    this.iopub = new zmq.Publisher();
    this.shell = new zmq.Router();
    this.control = new zmq.Router();
    this.stdin = new zmq.Router();
    this.hb = new zmq.Reply();
    await Promise.all([
      this.bindSocket(this.iopub, cinfo.iopub_port),
      this.bindSocket(this.shell, cinfo.shell_port),
      this.bindSocket(this.control, cinfo.control_port),
      this.bindSocket(this.stdin, cinfo.stdin_port),
      this.bindSocket(this.hb, cinfo.hb_port),
    ]);
    // the loops end when the sockets are closed (close()); an error in one would leave that socket unread, so say it
    const report = (name) => (e) => warn(`tslab-kernel: reading the ${name} socket failed: ${e && e.message ? e.message : e}`);
    readLoop(this.shell, (frames) => this.handleShellMessage(this.shell, ...frames)).catch(report("shell"));
    readLoop(this.control, (frames) => this.handleShellMessage(this.control, ...frames)).catch(report("control"));
    readLoop(this.hb, (frames) => this.hb.send(frames)).catch(report("heartbeat"));
  };
  proto[FIXED] = true;
  return true;
}

/** The project's tslab: its folder, its Jupyter server class and main module path, and the zeromq it loads. */
function tslabModules() {
  const dir = dirname(require.resolve("tslab/package.json"));
  return {
    dir,
    ZmqServer: require(join(dir, "dist", "jupyter.js")).ZmqServer,
    main: join(dir, "dist", "main.js"),
    zmq: require(require.resolve("zeromq", { paths: [dir] })),
  };
}

module.exports = { fixZmqServer, tslabModules };
