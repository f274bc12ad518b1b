import { expect, test, type Page } from "@playwright/test";
import { BASE_URL, FeedPage, freshTag, waitLive } from "./support";

/**
 * Records every Content-Security-Policy violation the page reports: the DOM's
 * `securitypolicyviolation` events (collected in the page) and console messages that name the
 * policy (Chromium logs each blocked resource there).
 */
async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  const console: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) console.push(m.text());
  });
  await page.addInitScript(() => {
    (window as any).__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as any).__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  return async () => [...console, ...((await page.evaluate(() => (window as any).__csp)) as string[])];
}

const PAGES = ["/", "/stocks", "/scores", "/feed", "/monitor", "/jobs"];

for (const path of PAGES) {
  test(`${path} hydrates and goes live under its CSP with no violation`, async ({ page }) => {
    const violations = await watchCsp(page);
    const res = await page.goto(path);
    const csp = res!.headers()["content-security-policy"];
    expect(csp).toMatch(/script-src 'self' 'nonce-[0-9a-f]{32}'/);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    expect(res!.headers()["x-frame-options"]).toBe("DENY");
    await waitLive(page);
    // Client-side navigation (the router, no reload) stays within the policy too.
    await page.getByRole("link", { name: "Feed", exact: true }).first().click();
    await expect(page).toHaveURL(/\/feed$/);
    await waitLive(page);
    expect(await violations()).toEqual([]);
  });
}

test("the hydrated feed posts through its server function under the CSP", async ({ page }) => {
  const violations = await watchCsp(page);
  const feed = new FeedPage(page);
  await feed.goto();
  await waitLive(page);
  const text = `posted under the CSP ${freshTag()}`;
  await feed.write("csp", text);
  await expect(feed.post(text)).toHaveCount(1);
  expect(await violations()).toEqual([]);
});

test("the policy is enforced: a script without the nonce does not run", async ({ page }) => {
  const violations = await watchCsp(page);
  await page.goto("/");
  await waitLive(page);
  const ran = await page.evaluate(async () => {
    const s = document.createElement("script");
    s.textContent = "window.__injected = true";
    document.body.appendChild(s);
    await new Promise((r) => setTimeout(r, 100));
    return (window as any).__injected === true;
  });
  expect(ran).toBe(false);
  await expect.poll(violations).toContainEqual(expect.stringContaining("script-src"));
});

test("another site's form cannot post to the feed as its visitor", async ({ page, request }) => {
  const text = `cross-site ${freshTag()}`;
  // A page on another origin whose form posts to Pulse the way a CSRF attack would: a
  // `text/plain` body needs no preflight, and a URL-encoded one is what the form would send.
  const evil = "http://evil.example/";
  let answered = 0;
  for (const enctype of ["text/plain", "application/x-www-form-urlencoded"]) {
    await page.route(evil, (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<form method="post" action="${BASE_URL}/api/fn/create_post" enctype="${enctype}">
          <input name="author" value="victim"><input name="text" value="${text}">
        </form><script>document.forms[0].submit()</script>`,
      }),
    );
    const response = page.waitForResponse((r) => r.url().endsWith("/api/fn/create_post"));
    await page.goto(evil);
    const res = await response;
    expect(res.status()).toBe(403);
    expect(await res.json()).toMatchObject({ error: "cross_site" });
    answered++;
    await page.unroute(evil);
  }
  expect(answered).toBe(2);
  const snap = await (await request.get("/api/topics/feed/snapshot")).text();
  expect(snap).not.toContain(text);
});
