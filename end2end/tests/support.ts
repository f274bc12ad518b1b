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

/** Waits until the tab's one stream is open (the connection badge says "live"). */
export async function waitLive(page: Page, timeout = 15_000) {
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live", { timeout });
}

/** A string no other test (or earlier run) has used, for finding one's own posts and games. */
export function freshTag(prefix = "e2e"): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Page object for /scores. */
export class ScoresPage {
  readonly games: Locator;
  readonly panel: Locator;

  constructor(readonly page: Page) {
    this.games = page.getByTestId("game");
    this.panel = page.getByTestId("scorekeeper");
  }

  async goto() {
    await this.page.goto("/scores");
  }

  game(id: string): Locator {
    return this.page.locator(`[data-testid="game"][data-game-id="${id}"]`);
  }

  /** Opens the scorekeeper panel (a <details>) if it is closed. */
  async openScorekeeper() {
    if (!(await this.panel.evaluate((el) => (el as HTMLDetailsElement).open))) {
      await this.panel.locator("summary").press("Enter");
    }
  }

  /** Fills the change form and submits it from the keyboard (toasts cannot get in the way). */
  async submitChange(change: { game: string; home?: string; away?: string; status?: string; play?: string }) {
    const form = this.page.getByTestId("update-game");
    await form.locator('select[name="game"]').selectOption(change.game);
    await form.locator('input[name="home_score"]').fill(change.home ?? "");
    await form.locator('input[name="away_score"]').fill(change.away ?? "");
    await form.locator('select[name="status"]').selectOption(change.status ?? "");
    await form.locator('input[name="play"]').fill(change.play ?? "");
    await form.getByRole("button", { name: "Update game" }).press("Enter");
  }

  async signIn(password: string) {
    const form = this.page.getByTestId("sign-in");
    await form.locator('input[name="secret"]').fill(password);
    await form.locator('input[name="secret"]').press("Enter");
  }
}

/** Page object for /feed. */
export class FeedPage {
  readonly posts: Locator;
  readonly compose: Locator;

  constructor(readonly page: Page) {
    this.posts = page.getByTestId("post");
    this.compose = page.getByTestId("compose");
  }

  async goto() {
    await this.page.goto("/feed");
  }

  /** The post whose text is exactly `text`. */
  post(text: string): Locator {
    return this.posts.filter({ has: this.page.getByTestId("post-text").getByText(text, { exact: true }) });
  }

  /** Writes a post through the form and submits it from the keyboard. */
  async write(author: string, text: string) {
    await this.compose.locator('input[name="author"]').fill(author);
    await this.compose.locator('textarea[name="text"]').fill(text);
    await this.compose.getByRole("button", { name: "Post" }).press("Enter");
  }
}

/** Creates a job through the API, as an outside worker would; returns its id. */
export async function createJob(
  request: APIRequestContext,
  name: string,
  total?: number,
): Promise<string> {
  const res = await request.post("/api/jobs", {
    headers: { Authorization: `Bearer ${TOKEN}` },
    data: total === undefined ? { name } : { name, total },
  });
  expect(res.status(), `create job: ${await res.text()}`).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Reports progress on a job as its worker; returns the API's answer. */
export async function reportJob(
  request: APIRequestContext,
  id: string,
  report: Record<string, unknown>,
): Promise<{ cancel_requested: boolean; status: string }> {
  const res = await request.post(`/api/jobs/${id}/progress`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
    data: report,
  });
  expect(res.status(), `report on ${id}: ${await res.text()}`).toBe(200);
  return (await res.json()) as { cancel_requested: boolean; status: string };
}

/** Page object for /jobs. */
export class JobsPage {
  constructor(readonly page: Page) {}

  async goto() {
    await this.page.goto("/jobs");
  }

  job(id: string): Locator {
    return this.page.locator(`[data-testid="job"][data-job-id="${id}"]`);
  }

  /** Opens the operator panel and signs in. */
  async signIn(password: string) {
    const panel = this.page.locator("details.operator");
    if (!(await panel.evaluate((el) => (el as HTMLDetailsElement).open))) {
      await panel.locator("summary").press("Enter");
    }
    const form = this.page.getByTestId("sign-in");
    await form.locator('input[name="secret"]').fill(password);
    await form.locator('input[name="secret"]').press("Enter");
    await expect(this.page.getByTestId("operator-session")).toHaveText(/signed in as operator/);
  }
}
