import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defineConfig } from "@playwright/test";
import { BASE_URL, PORT, SCOREKEEPER_PASSWORD, TOKEN } from "./env";

// Every run gets an empty data directory, so no events survive from an earlier run.
// Playwright evaluates this file again in each worker process; workers inherit the
// runner's environment, so remembering the directory there keeps it to one per run.
/** Debian's Chromium and its flags, shared with the browser benchmark and the screenshots. */
const chromium: { executablePath: string; args: string[] } = JSON.parse(
  fs.readFileSync(path.join(__dirname, "chromium.json"), "utf8"),
);

const dataDir = (process.env.PULSE_E2E_DATA_DIR ??= fs.mkdtempSync(
  path.join(os.tmpdir(), "pulse-e2e-"),
));

export default defineConfig({
  testDir: "./tests",
  // One server with shared state: tests run one at a time.
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  timeout: 30_000,
  use: {
    baseURL: BASE_URL,
    trace: "retain-on-failure",
  },
  projects: [
    {
      name: "chromium",
      use: {
        browserName: "chromium",
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? chromium.executablePath,
          args: chromium.args,
        },
      },
    },
  ],
  // Playwright starts the release server itself (built beforehand by
  // `cargo leptos build --release`) and waits for /healthz before the first test.
  webServer: {
    command: "./target/release/pulse",
    cwd: "..", // resolved against this file's directory: the repository root
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${PORT}`,
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_ENV: "PROD",
      LEPTOS_OUTPUT_NAME: "pulse",
      LEPTOS_SITE_PKG_DIR: "pkg",
      PULSE_DATA_DIR: dataDir,
      PULSE_PUBLISH_TOKEN: TOKEN,
      // A few simulated ticks per second: enough to see prices move, little noise.
      PULSE_STOCKS_RATE: "4",
      PULSE_SCOREKEEPER_PASSWORD: SCOREKEEPER_PASSWORD,
      // Host samples and game steps every second, so the live tests see changes quickly.
      PULSE_MONITOR_INTERVAL_MS: "1000",
      PULSE_SCORES_TICK_MS: "1000",
      // The feed tests post many times from one address; the limit itself is tested in Rust.
      PULSE_FEED_POSTS_PER_MINUTE: "6000",
      PULSE_FEED_BURST: "500",
    },
    url: `${BASE_URL}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    gracefulShutdown: { signal: "SIGTERM", timeout: 5_000 },
    stdout: "pipe",
    stderr: "pipe",
  },
});
