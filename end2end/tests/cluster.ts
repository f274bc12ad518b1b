/**
 * Real processes for the scale-out specs: a `redis-server`, Pulse instances on it, and nginx
 * running the repository's `deploy/nginx.conf` in front — each on a free loopback port with its
 * files in a temporary directory, stopped by pid. Never the machine's own Redis on 6379.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { TOKEN } from "../env";
import { sleep } from "./support";

const REPO = path.resolve(__dirname, "../..");
const BINARY = path.join(REPO, "target/release/pulse");

/** A port nothing listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, ok: () => Promise<boolean>, limitMs = 20_000) {
  const deadline = Date.now() + limitMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start`);
    await sleep(50);
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await Promise.race([exited, sleep(5_000)]);
}

export class Redis {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<Redis> {
    const r = new Redis(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), "pulse-e2e-redis-")));
    r.child = spawn(
      "redis-server",
      ["--port", String(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--dir", r.dir],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    await waitFor("redis-server", () => portOpen(r.port));
    return r;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async stop() {
    await stopChild(this.child, "SIGTERM");
  }
}

export class Instance {
  private child?: ChildProcess;
  constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(name: string, redis: Redis): Promise<Instance> {
    const i = new Instance(name, await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), `pulse-e2e-${name}-`)));
    i.child = spawn(BINARY, [], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        LEPTOS_SITE_ADDR: `127.0.0.1:${i.port}`,
        LEPTOS_SITE_ROOT: "target/site",
        LEPTOS_ENV: "PROD",
        LEPTOS_OUTPUT_NAME: "pulse",
        PULSE_DATA_DIR: i.dataDir,
        PULSE_PUBLISH_TOKEN: TOKEN,
        PULSE_REDIS_URL: redis.url,
        PULSE_INSTANCE: name,
        PULSE_STOCKS_RATE: "0",
        PULSE_SCORES_GAMES: "0",
        PULSE_MONITOR_INTERVAL_MS: "0",
        RUST_LOG: "warn",
      },
    });
    await waitFor(`pulse ${name}`, async () => (await fetch(`${i.url}/healthz`)).ok);
    return i;
  }

  /** Open streams on this instance (`pulse_subscribers` in /metrics). */
  async streams(): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("pulse_subscribers "));
    return Number(line?.split(" ")[1] ?? NaN);
  }

  /** SIGKILL: no goodbye to its streams, as when a machine dies. */
  async kill() {
    await stopChild(this.child, "SIGKILL");
  }

  async stop() {
    await stopChild(this.child, "SIGTERM");
  }
}

/** nginx with `deploy/nginx.conf`, rewriting only its ports and paths (as tests/common does). */
export class Nginx {
  private child?: ChildProcess;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(upstreams: number[]): Promise<Nginx> {
    const n = new Nginx(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), "pulse-e2e-nginx-")));
    const conf = fs.readFileSync(path.join(REPO, "deploy/nginx.conf"), "utf8");
    const out: string[] = [];
    let inUpstream = false;
    let listed = false;
    for (const line of conf.split("\n")) {
      const t = line.trimStart();
      if (t.startsWith("upstream pulse {")) inUpstream = true;
      if (inUpstream && t.startsWith("server 127.0.0.1:")) {
        if (!listed) {
          for (const p of upstreams) out.push(`        server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`);
          listed = true;
        }
        continue;
      }
      if (t.startsWith("}")) inUpstream = false;
      if (t.startsWith("pid ")) out.push(`pid ${n.dir}/nginx.pid;`);
      else if (t.startsWith("listen 127.0.0.1:8080;")) out.push(`        listen 127.0.0.1:${n.port};`);
      else out.push(line);
    }
    const confPath = path.join(n.dir, "nginx.conf");
    fs.writeFileSync(confPath, out.join("\n"));
    const bin = fs.existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
    n.child = spawn(bin, ["-p", n.dir, "-c", confPath, "-g", "daemon off;"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    await waitFor("nginx", () => portOpen(n.port));
    return n;
  }

  /** SIGTERM: a killed master would leave its workers listening. */
  async stop() {
    await stopChild(this.child, "SIGTERM");
  }
}
