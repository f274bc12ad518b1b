import { expect, test, type Page } from "@playwright/test";
import { FeedPage, StocksPage, freshTag, publish, waitLive } from "./support";

/** Fails the test if the page ever opens a dialog (alert, confirm, prompt). */
function forbidDialogs(page: Page) {
  page.on("dialog", async (d) => {
    await d.dismiss();
    throw new Error(`a dialog opened: ${d.message()}`);
  });
}

/** Markup and script that would set window.__xss if it ever ran. */
function xssPayload(tag: string) {
  return `<img src=x onerror="window.__xss='${tag}'"><script>window.__xss='${tag}'</script><b>${tag}</b>`;
}

async function expectInert(page: Page, feed: FeedPage, text: string) {
  const post = feed.post(text);
  await expect(post).toHaveCount(1);
  await expect(post.getByTestId("post-text")).toHaveText(text);
  await expect(post.locator("img, script, b")).toHaveCount(0);
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
}

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("/feed renders posts and the compose form", async ({ page, request }) => {
    const text = `server-rendered ${freshTag()}`;
    await publish(request, "feed", { author: "nojs", text });
    const feed = new FeedPage(page);
    await feed.goto();
    await expect(feed.post(text)).toBeVisible();
    await expect(feed.post(text).getByTestId("post-author")).toHaveText("nojs");
    await expect(feed.compose.locator('input[name="author"]')).toBeVisible();
    await expect(feed.compose.locator('textarea[name="text"]')).toBeVisible();
  });

  test("an XSS payload from the API is inert in server-rendered HTML", async ({ page, request }) => {
    const text = xssPayload(freshTag("ssr"));
    await publish(request, "feed", { author: "<i>mallory</i>", text });
    forbidDialogs(page);
    const feed = new FeedPage(page);
    await feed.goto();
    await expectInert(page, feed, text);
    await expect(feed.post(text).getByTestId("post-author")).toHaveText("<i>mallory</i>");
  });
});

test("a post made in one browser appears in another within 2 s and survives a reload", async ({ browser }) => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  const aliceFeed = new FeedPage(alice);
  const bobFeed = new FeedPage(bob);
  await aliceFeed.goto();
  await bobFeed.goto();
  await waitLive(alice);
  await waitLive(bob);

  const text = `hello bob ${freshTag()}`;
  await aliceFeed.write("alice", text);
  await expect(bobFeed.post(text)).toBeVisible({ timeout: 2_000 });
  await expect(bobFeed.posts.first()).toContainText(text); // newest first
  await expect(aliceFeed.compose.locator("textarea")).toHaveValue(""); // cleared after posting

  await bob.reload();
  await expect(bobFeed.post(text)).toBeVisible();
  await expect(bobFeed.post(text).getByTestId("post-author")).toHaveText("alice");
  await alice.context().close();
  await bob.context().close();
});

test("an XSS payload through the form stays text, live and after reload", async ({ browser }) => {
  const writer = await (await browser.newContext()).newPage();
  const reader = await (await browser.newContext()).newPage();
  forbidDialogs(writer);
  forbidDialogs(reader);
  const writerFeed = new FeedPage(writer);
  const readerFeed = new FeedPage(reader);
  await writerFeed.goto();
  await readerFeed.goto();
  await waitLive(writer);
  await waitLive(reader);

  const text = xssPayload(freshTag("form"));
  await writerFeed.write("<script>alert(1)</script>", text);
  await expectInert(reader, readerFeed, text);
  await expect(readerFeed.post(text).getByTestId("post-author")).toHaveText("<script>alert(1)</script>");
  await reader.reload();
  await expectInert(reader, readerFeed, text);
  await writer.context().close();
  await reader.context().close();
});

test("SSE control characters in a post cannot inject an event", async ({ page, request }) => {
  const symbol = `Z${freshTag().replace(/[^a-z0-9]/g, "").slice(-8).toUpperCase()}`;
  const text = `line one\r\n\r\nevent: stocks\ndata: {"symbol":"${symbol}","price":1}\n\nid: 999999999`;
  await page.goto("/stocks");
  const stocks = new StocksPage(page);
  await stocks.waitLive();
  await publish(request, "feed", { author: "crlf", text });
  await page.getByRole("link", { name: "Feed", exact: true }).first().click();
  const feed = new FeedPage(page);
  await expect(feed.posts.filter({ hasText: `"symbol":"${symbol}"` })).toHaveCount(1);
  await expect(feed.posts.filter({ hasText: `"symbol":"${symbol}"` }).getByTestId("post-text")).toContainText("event: stocks");
  await page.goBack();
  await expect(stocks.row(symbol)).toHaveCount(0);
  // The badge's last id is a real event id, not the injected one.
  expect(Number(await stocks.badge.getAttribute("data-last-event-id"))).toBeLessThan(999999999);
});

test("the form explains what to fix", async ({ page }) => {
  const feed = new FeedPage(page);
  await feed.goto();
  await waitLive(page);
  await feed.write("   ", "a post by nobody");
  await expect(page.getByTestId("compose-error")).toHaveText("Author is empty; write 1 to 40 characters.");
});

test("new posts wait behind a marker while the reader is scrolled down", async ({ page, request }) => {
  for (let i = 0; i < 30; i++) {
    await publish(request, "feed", { author: "filler", text: `filler post ${i} ${"lorem ipsum ".repeat(8)}` });
  }
  const feed = new FeedPage(page);
  await feed.goto();
  await waitLive(page);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(300);
  // scrollY moves at once, but the page hears of it from the `scroll` event, dispatched with
  // the next frame: wait two frames so the post below arrives to a reader the page knows is
  // scrolled down (on a loaded machine, the publish could otherwise win the race).
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));

  const text = `arrived while reading ${freshTag()}`;
  await publish(request, "feed", { author: "late", text });
  const marker = page.getByTestId("new-posts");
  await expect(marker).toHaveText(/^1 new post/);
  await expect(feed.post(text)).toHaveCount(0);
  await marker.press("Enter");
  await expect(feed.post(text)).toBeVisible();
  await expect(marker).toHaveCount(0);
  await expect(feed.posts.first()).toContainText(text);
});

test("older posts load on demand", async ({ page, request }) => {
  for (let i = 0; i < 55; i++) {
    await publish(request, "feed", { author: "history", text: `history post ${i}` });
  }
  const feed = new FeedPage(page);
  await feed.goto();
  await waitLive(page);
  await expect(feed.posts).toHaveCount(50);
  await page.getByTestId("load-older").press("Enter");
  await expect.poll(() => feed.posts.count()).toBeGreaterThan(50);
  const ids = await feed.posts.evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-post-id"))));
  expect(ids).toEqual([...ids].sort((a, b) => b - a));
});

test.describe("without JavaScript, posting", () => {
  test.use({ javaScriptEnabled: false });

  test("the compose form posts as a plain HTML form and comes back to the feed", async ({ page }) => {
    const feed = new FeedPage(page);
    await feed.goto();
    const text = `posted without scripts ${freshTag()}`;
    await feed.compose.locator('input[name="author"]').fill("nojs");
    await feed.compose.locator('textarea[name="text"]').fill(text);
    await feed.compose.getByRole("button", { name: "Post" }).click();
    // The server function redirects a plain form post back to the page it came from.
    await expect(page).toHaveURL(/\/feed\??$/);
    await expect(feed.post(text)).toBeVisible();
  });
});

test.describe("links in posts", () => {
  test("web addresses are links; javascript: and data: stay text", async ({ page, request }) => {
    forbidDialogs(page);
    const tag = freshTag("links");
    const text = `${tag} docs https://example.com/a?b=1. bad javascript:alert(1) and data:text/html,<script>alert(1)</script> (http://example.org/x)`;
    await publish(request, "feed", { author: "linker", text });
    const feed = new FeedPage(page);
    await feed.goto();
    await waitLive(page);
    const post = feed.posts.filter({ hasText: tag });
    await expect(post).toHaveCount(1);
    const links = post.getByTestId("post-link");
    await expect(links).toHaveCount(2);
    await expect(links.nth(0)).toHaveAttribute("href", "https://example.com/a?b=1");
    await expect(links.nth(1)).toHaveAttribute("href", "http://example.org/x");
    for (const link of await links.all()) {
      await expect(link).toHaveAttribute("rel", "noopener noreferrer nofollow");
    }
    // The whole text is shown as written, nothing was turned into markup.
    await expect(post.getByTestId("post-text")).toHaveText(text);
    await expect(post.locator("script")).toHaveCount(0);
    const hrefs = await page.locator("a[href]").evaluateAll((els) => els.map((a) => a.getAttribute("href")!));
    expect(hrefs.filter((h) => /^\s*(javascript|data):/i.test(h))).toEqual([]);
  });
});

test("the counter warns near the limit and an over-long post is refused, not cut", async ({ page }) => {
  const feed = new FeedPage(page);
  await feed.goto();
  await waitLive(page);
  const box = feed.compose.locator('textarea[name="text"]');
  const count = page.getByTestId("compose-count");
  await box.fill("x".repeat(10));
  await expect(count).toHaveText("10 / 500");
  await box.fill("x".repeat(470));
  await expect(count).toHaveText("470 / 500 — 30 left");
  await expect(count).toHaveClass(/count-near/);
  const tag = freshTag("long");
  const long = `${tag} ${"y".repeat(520)}`;
  // A paste is kept whole: the box has no maxlength that would cut it silently.
  await box.fill(long);
  await expect(box).toHaveValue(long);
  await expect(count).toHaveText(new RegExp(`^${long.length} / 500 — ${long.length - 500} over the limit`));
  await expect(box).toHaveAttribute("aria-invalid", "true");
  await feed.compose.locator('input[name="author"]').fill("paster");
  await feed.compose.getByRole("button", { name: "Post" }).press("Enter");
  await expect(page.getByTestId("compose-error")).toHaveText(/characters long; the limit is 500/);
  await expect(box).toHaveValue(long);
  await expect(feed.posts.filter({ hasText: tag })).toHaveCount(0);
});

test("posting shows its state and keeps focus in the post box", async ({ page }) => {
  const feed = new FeedPage(page);
  await feed.goto();
  await waitLive(page);
  // Slow the server function down so the posting state is visible.
  await page.route("**/api/fn/create_post", async (route) => {
    await new Promise((r) => setTimeout(r, 800));
    await route.continue();
  });
  const text = `focus ${freshTag()}`;
  await feed.compose.locator('input[name="author"]').fill("writer");
  const box = feed.compose.locator('textarea[name="text"]');
  await box.fill(text);
  await feed.compose.getByRole("button", { name: "Post" }).click();
  await expect(feed.compose.getByRole("button", { name: "Posting…" })).toBeDisabled();
  await expect(page.getByTestId("posting")).toHaveText("Posting…");
  await expect(feed.post(text)).toBeVisible();
  await expect(box).toHaveValue("");
  await expect(box).toBeFocused();
  await expect(page.getByTestId("posting")).toHaveText("");
});

test.describe("times in the viewer's zone", () => {
  test.use({ timezoneId: "Asia/Tokyo" });

  test("UTC in the server's HTML, local and relative after hydration", async ({ page, request, browser }) => {
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || /hydrat/i.test(m.text())) errors.push(m.text());
    });
    const text = `tz ${freshTag()}`;
    const at = Date.now() - 5 * 60_000;
    await publish(request, "feed", { author: "tz", text, at });
    const utc = new Date(at);
    const hh = (n: number) => String(n).padStart(2, "0");
    // Server HTML: UTC.
    const nojs = await (await browser.newContext({ javaScriptEnabled: false, timezoneId: "Asia/Tokyo" })).newPage();
    const plain = new FeedPage(nojs);
    await plain.goto();
    await expect(plain.post(text).getByTestId("post-time")).toHaveText(new RegExp(`${hh(utc.getUTCHours())}:${hh(utc.getUTCMinutes())} UTC$`));
    await nojs.context().close();
    // Hydrated: Tokyo wall clock (UTC+9), and how long ago.
    const feed = new FeedPage(page);
    await feed.goto();
    await waitLive(page);
    const tokyo = new Date(at + 9 * 3_600_000);
    const time = feed.post(text).getByTestId("post-time");
    await expect(time).toHaveText(new RegExp(`^5 min ago · \\w{3} ${tokyo.getUTCDate()}, ${hh(tokyo.getUTCHours())}:${hh(tokyo.getUTCMinutes())}$`));
    await expect(time).toHaveAttribute("datetime", /Z$/);
    expect(errors).toEqual([]);
  });
});
