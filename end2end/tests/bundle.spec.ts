import http from "node:http";
import zlib from "node:zlib";
import { expect, test } from "@playwright/test";
import { BASE_URL, waitLive } from "./support";

/** One GET with the given request headers; the body exactly as sent on the wire (not decoded). */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(path, BASE_URL), { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

/** The bundle files the page itself asks for: its wasm and its JS glue, read from the HTML. */
async function bundlePaths(): Promise<{ wasm: string; js: string }> {
  const page = (await rawGet("/stocks", {})).body.toString("utf8");
  const wasm = page.match(/href="(\/pkg\/[^"]+\.wasm)"/)?.[1];
  const js = page.match(/(\/pkg\/[^"']+\.js)/)?.[1];
  expect(wasm, "the page preloads its wasm").toBeTruthy();
  expect(js, "the page loads its JS glue").toBeTruthy();
  return { wasm: wasm!, js: js! };
}

test("a first visit downloads the bundle compressed, and the same bytes decode", async () => {
  const { wasm, js } = await bundlePaths();
  const raw = await rawGet(wasm, { "Accept-Encoding": "identity" });
  expect(raw.status).toBe(200);
  expect(raw.headers["content-type"]).toBe("application/wasm");
  expect(raw.headers["content-encoding"]).toBeUndefined();

  const br = await rawGet(wasm, { "Accept-Encoding": "gzip, deflate, br" });
  expect(br.headers["content-encoding"]).toBe("br");
  expect(br.headers["content-type"]).toBe("application/wasm");
  expect(String(br.headers["vary"]).toLowerCase()).toContain("accept-encoding");
  expect(zlib.brotliDecompressSync(br.body).equals(raw.body), "brotli copy decodes to the wasm").toBe(true);

  const gz = await rawGet(wasm, { "Accept-Encoding": "gzip" });
  expect(gz.headers["content-encoding"]).toBe("gzip");
  expect(zlib.gunzipSync(gz.body).equals(raw.body), "gzip copy decodes to the wasm").toBe(true);

  const glue = await rawGet(js, { "Accept-Encoding": "br" });
  expect(glue.headers["content-encoding"]).toBe("br");

  console.log(
    `bundle: wasm ${raw.body.length} B raw, ${gz.body.length} B gzip, ${br.body.length} B brotli` +
      ` (${((100 * br.body.length) / raw.body.length).toFixed(1)} %)`,
  );
  // A first visit moves well under half of the raw bundle.
  expect(br.body.length).toBeLessThan(raw.body.length * 0.4);
});

test("the bundle's names carry a content hash, so a repeat visit downloads nothing", async ({ page }) => {
  const { wasm, js } = await bundlePaths();
  const css = (await rawGet("/stocks", {})).body.toString("utf8").match(/href="(\/pkg\/[^"]+\.css)"/)?.[1];
  for (const file of [wasm, js, css!]) {
    expect(file, "named pulse.<hash>.<ext>").toMatch(/\/pkg\/pulse\.[A-Za-z0-9_-]{10,}\.(wasm|js|css)$/);
    const res = await rawGet(file, { "Accept-Encoding": "br" });
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"], file).toBe("public, max-age=31536000, immutable");
  }
  // In the browser: the second visit takes every bundle file from its cache, without even
  // asking the server (a revalidation would show up here as a 304 from the network).
  await page.goto("/stocks");
  await waitLive(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const fromNetwork: string[] = [];
  const cached = new Set<string>();
  cdp.on("Network.requestServedFromCache", (e) => cached.add(e.requestId));
  cdp.on("Network.responseReceived", (e) => {
    const hit = cached.has(e.requestId) || e.response.fromDiskCache || e.response.fromPrefetchCache;
    if (e.response.url.includes("/pkg/") && !hit) {
      fromNetwork.push(`${e.response.status} ${e.response.url}`);
    }
  });
  await page.goto("/scores");
  await waitLive(page);
  expect(fromNetwork, "bundle files downloaded again on the second visit").toEqual([]);
});

test("pages are compressed, and still hydrate and go live in the browser", async ({ page }) => {
  const html = await rawGet("/stocks", { "Accept-Encoding": "gzip, br" });
  expect(html.status).toBe(200);
  expect(["br", "gzip"]).toContain(html.headers["content-encoding"]);
  const decoded =
    html.headers["content-encoding"] === "br" ? zlib.brotliDecompressSync(html.body) : zlib.gunzipSync(html.body);
  expect(decoded.toString("utf8")).toContain("<html");

  // The stream itself is never compressed: events must not wait in an encoder's buffer.
  const controller = new AbortController();
  const stream = await fetch(new URL("/api/events?topics=stocks", BASE_URL), {
    headers: { "Accept-Encoding": "gzip, br" },
    signal: controller.signal,
  });
  expect(stream.headers.get("content-type")).toContain("text/event-stream");
  expect(stream.headers.get("content-encoding")).toBeNull();
  controller.abort();

  await page.goto("/stocks");
  await waitLive(page);
});
