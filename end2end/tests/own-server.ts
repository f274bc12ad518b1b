import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TOKEN } from "../env";
import { sleep } from "./support";

const BINARY = path.resolve(__dirname, "../../target/release/pulse");
const REPO = path.resolve(__dirname, "../..");

/** A Pulse server of this test's own, so it can be stopped and started again. */
export class OwnServer {
  private child?: ChildProcess;
  readonly url: string;

  constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  async start() {
    this.child = spawn(BINARY, [], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        LEPTOS_SITE_ADDR: `127.0.0.1:${this.port}`,
        LEPTOS_SITE_ROOT: "target/site",
        LEPTOS_ENV: "PROD",
        LEPTOS_OUTPUT_NAME: "pulse",
        PULSE_DATA_DIR: this.dataDir,
        PULSE_PUBLISH_TOKEN: TOKEN,
        PULSE_STOCKS_RATE: "0",
        RUST_LOG: "warn",
      },
    });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`pulse did not start on ${this.url}`);
      await sleep(50);
    }
  }

  /** SIGTERM and wait for the process to exit. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}

/** A fresh, empty data directory for an own server. */
export function freshDataDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pulse-${name}-`));
}
