import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findKernelSpec, freePorts } from "../../lib/notebooks/kernel";
const { fixZmqServer, tslabModules } = require("../../lib/notebooks/tslab-server.js") as {
  fixZmqServer: (server: unknown, zmq: unknown, warn?: (line: string) => void) => boolean;
  tslabModules: () => { ZmqServer: new (handler: unknown, config: string) => Server; zmq: Record<string, SockClass> };
};

type Sock = { bind(addr: string): Promise<void>; receive(): Promise<Buffer[]>; send(m: unknown): Promise<void>; close(): void; connect(addr: string): void };
type SockClass = new () => Sock;
interface Server { init(): Promise<void>; close(): void; bindSocket(sock: Sock, port: number): Promise<void>; [k: string]: unknown }

// tslab 1.0.22 reads its shell socket while it still binds it, and zeromq.js refuses a socket's reads during a
// bind (EBUSY), after which tslab never reads shell again (CI, 2026-12-02). lib/notebooks/tslab-server.js
// binds first; bin/tslab-kernel.js applies it, and setup registers that file as the kernel.
describe("tslab's Jupyter server, bound before it is read (lib/notebooks/tslab-server.js)", function () {
  this.timeout(30_000);
  const { ZmqServer, zmq } = tslabModules(); // what bin/tslab-kernel.js patches
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "rra-tslab-server-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("binds all five sockets before it reads any, and then answers (heartbeat echo)", async () => {
    const events: string[] = [];
    // the same socket classes, recording each read
    const recorded = (name: string): SockClass => class extends zmq[name] {
      override receive(): Promise<Buffer[]> { events.push(`receive ${name}`); return super.receive(); }
    };
    const fakeZmq = { Publisher: recorded("Publisher"), Router: recorded("Router"), Reply: recorded("Reply") };
    class Copy extends ZmqServer {} // the patch goes on the copy; tslab's own class stays as it is
    assert.equal(fixZmqServer(Copy, fakeZmq), true);
    assert.equal(fixZmqServer(Copy, fakeZmq), true, "idempotent");
    assert.notEqual(Copy.prototype.init, ZmqServer.prototype.init);

    const [shell, iopub, stdin, control, hb] = await freePorts(5);
    const config = join(dir, "kernel.json");
    writeFileSync(config, JSON.stringify({ transport: "tcp", ip: "127.0.0.1", shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb, key: "k", signature_scheme: "hmac-sha256" }));
    const server = new Copy({ close() {} }, config);
    const bindSocket = server.bindSocket.bind(server);
    server.bindSocket = async (sock, port) => {
      events.push(`bind ${port}`);
      await new Promise((r) => setTimeout(r, 30)); // a slow bind: the window tslab's own order leaves open
      await bindSocket(sock, port);
      events.push(`bound ${port}`);
    };
    await server.init();
    try {
      const firstRead = events.findIndex((e) => e.startsWith("receive"));
      const lastBound = events.map((e) => e.startsWith("bound")).lastIndexOf(true);
      assert.equal(events.filter((e) => e.startsWith("bound")).length, 5, events.join(", "));
      assert.ok(firstRead > lastBound, `a socket was read before all five were bound: ${events.join(", ")}`);
      assert.deepEqual(events.filter((e) => e.startsWith("receive")).sort(), ["receive Reply", "receive Router", "receive Router"]);

      const ping = new zmq.Request();
      ping.connect(`tcp://127.0.0.1:${hb}`);
      await ping.send("ping");
      const [echo] = await ping.receive();
      ping.close();
      assert.equal(echo.toString(), "ping");
    } finally {
      server.close();
    }
  });

  it("leaves a tslab without the internals it relies on as it is, and says so", () => {
    class Other { async init(): Promise<void> {} }
    const said: string[] = [];
    const before = Other.prototype.init;
    assert.equal(fixZmqServer(Other, zmq, (line) => said.push(line)), false);
    assert.equal(Other.prototype.init, before);
    assert.match(said.join("\n"), /tslab's ZmqServer has no bindSocket, handleShellMessage; starting it unpatched/);
  });

  it("setup registers bin/tslab-kernel.js as the tslab kernel", () => {
    const spec = findKernelSpec("tslab");
    assert.match(spec.argv[0], /[\\/]bin[\\/]tslab-kernel\.js$/, `${spec.file} starts ${spec.argv[0]}`);
  });
});
