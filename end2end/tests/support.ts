import { expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";
import { TOKEN } from "../env";

export { BASE_URL, TOKEN } from "../env";

/** The topic the stocks page shows. */
export const STOCKS_TOPIC = "stocks";

/**
 * Publishes one event through the HTTP API, as an outside producer would.
 * Relative URL: the request fixture adds the configured baseURL.
 */
export async function publish(
  request: APIRequestContext,
  topic: string,
  body: unknown,
): Promise<{ id: number }> {
  const res = await request.post(`/api/topics/${encodeURIComponent(topic)}/events`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    data: body, // sent as JSON
  });
  expect(res.status(), `publish to ${topic}: ${await res.text()}`).toBe(202);
  const { id } = (await res.json()) as { id: number | string };
  return { id: Number(id) };
}

/** A symbol no other test (or earlier run) has used: "E2E" + 6 random letters. */
export function freshSymbol(): string {
  const letters = Array.from({ length: 6 }, () =>
    String.fromCharCode(65 + Math.floor(Math.random() * 26)),
  ).join("");
  return `E2E${letters}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Page object for /stocks; all lookups go through data-testid attributes. */
export class StocksPage {
  readonly rows: Locator;
  readonly badge: Locator;

  constructor(readonly page: Page) {
    this.rows = page.getByTestId("stock-row");
    this.badge = page.getByTestId("connection");
  }

  async goto() {
    await this.page.goto("/stocks");
  }

  row(symbol: string): Locator {
    return this.page.locator(`[data-testid="stock-row"][data-symbol="${symbol}"]`);
  }

  price(symbol: string): Locator {
    return this.row(symbol).getByTestId("price");
  }

  /** Hydrated and subscribed: the badge says so once the stream is open. */
  async waitLive(timeout = 15_000) {
    await expect(this.badge).toHaveAttribute("data-state", "live", { timeout });
  }
}
