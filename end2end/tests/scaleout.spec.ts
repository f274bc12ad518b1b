import { expect, request as playwrightRequest, test, type APIRequestContext } from "@playwright/test";
import { Instance, Nginx, Redis } from "./cluster";
import { FeedPage, freshSymbol, freshTag, publish, StocksPage, STOCKS_TOPIC, waitLive } from "./support";

// Two instances on one Redis, nginx in front: the deployment the README's "Scaling out"
// describes, with the repository's own proxy config.
test.describe.configure({ mode: "serial" });

let redis: Redis;
let a: Instance;
let b: Instance;
let proxy: Nginx;

test.beforeAll(async () => {
  redis = await Redis.start();
  a = await Instance.start("node-a", redis);
  b = await Instance.start("node-b", redis);
  proxy = await Nginx.start([a.port, b.port]);
});

test.afterAll(async () => {
  await proxy?.stop();
  await a?.stop();
  await b?.stop();
  await redis?.stop();
});

async function api(baseURL: string): Promise<APIRequestContext> {
  return playwrightRequest.newContext({ baseURL });
}

test("pages on two instances both show a post made on either", async ({ browser }) => {
  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const pageA = await contextA.newPage();
  const pageB = await contextB.newPage();
  const feedA = new FeedPage(pageA);
  const feedB = new FeedPage(pageB);
  await pageA.goto(`${a.url}/feed`);
  await pageB.goto(`${b.url}/feed`);
  await waitLive(pageA);
  await waitLive(pageB);

  const fromA = freshTag("from node A");
  await feedA.write("ann", fromA);
  await expect(feedA.post(fromA)).toHaveCount(1);
  await expect(feedB.post(fromA)).toHaveCount(1, { timeout: 5_000 });

  const fromB = freshTag("from node B");
  const apiB = await api(b.url);
  await publish(apiB, "feed", { author: "bob", text: fromB });
  await expect(feedA.post(fromB)).toHaveCount(1, { timeout: 5_000 });
  await expect(feedB.post(fromB)).toHaveCount(1, { timeout: 5_000 });
  // Both have every post exactly once, in the same order.
  const order = async (p: FeedPage) => (await p.posts.getByTestId("post-text").allTextContents()).slice(0, 2);
  expect(await order(feedA)).toEqual(await order(feedB));
  // Their streams end with them, so the next test counts only its own.
  await contextA.close();
  await contextB.close();
});

test("a page whose instance is killed reconnects to the other through the proxy, losing nothing", async ({ page }) => {
  const symbol = freshSymbol();
  const viaProxy = await api(proxy.url);
  await publish(viaProxy, STOCKS_TOPIC, { symbol, price: 1 });
  const stocks = new StocksPage(page);
  await page.goto(`${proxy.url}/stocks`);
  await stocks.waitLive();
  await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", "1");
  await page.evaluate(() => ((window as any).__sameDocument = true));

  // Which instance holds this page's stream? Kill that one.
  await expect.poll(async () => (await a.streams()) + (await b.streams()), { message: "one stream for one page" }).toBe(1);
  const [onA, onB] = [await a.streams(), await b.streams()];
  const [victim, survivor] = onA === 1 ? [a, b] : [b, a];
  await victim.kill();

  // Published on the survivor while the page is cut off and reconnecting.
  const survivorApi = await api(survivor.url);
  const prices = [1.1, 1.2, 1.3, 1.4, 1.5];
  for (const price of prices) await publish(survivorApi, STOCKS_TOPIC, { symbol, price });

  await stocks.waitLive(20_000);
  await expect(stocks.row(symbol)).toHaveAttribute("data-ticks", String(1 + prices.length), { timeout: 10_000 });
  await expect(stocks.price(symbol)).toHaveText("1.50");
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  expect(await survivor.streams()).toBe(1);
});
