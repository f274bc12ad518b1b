import { expect, test } from "@playwright/test";
import { SCOREKEEPER_PASSWORD } from "../env";
import { ScoresPage, freshTag, publish, waitLive } from "./support";

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("/scores renders the games", async ({ page, request }) => {
    const id = freshTag("nojs");
    await publish(request, "scores", { id, home: "Home Team", away: "Away Team", home_score: 3, away_score: 7, status: "live", period: 2, clock: "4:05" });
    const scores = new ScoresPage(page);
    await scores.goto();
    const game = scores.game(id);
    await expect(game).toBeVisible();
    await expect(game.getByTestId("home-score")).toHaveText("3");
    await expect(game.getByTestId("away-score")).toHaveText("7");
    await expect(game.getByTestId("phase")).toHaveText("Q2 · 4:05");
    await expect(game).toContainText("Home Team");
    // The simulator's games are there too.
    expect(await scores.games.count()).toBeGreaterThan(1);
  });
});

test("/scores goes live: simulated games move on their own", async ({ page }) => {
  const scores = new ScoresPage(page);
  await scores.goto();
  await waitLive(page);
  const updates = () =>
    scores.games.evaluateAll((els) => els.map((el) => `${el.getAttribute("data-game-id")}:${el.getAttribute("data-updates")}`).join(","));
  const before = await updates();
  await expect.poll(updates, { timeout: 10_000 }).not.toBe(before);
});

test("an external update changes the card in place and flashes the score", async ({ page, request }) => {
  const id = freshTag("ext");
  await publish(request, "scores", { id, home: "Lions", away: "Bears", status: "live", period: 1, clock: "12:00" });
  const scores = new ScoresPage(page);
  await scores.goto();
  await waitLive(page);
  const card = scores.game(id);
  await card.evaluate((el) => ((el as any).__tag = "kept"));
  await publish(request, "scores", { id, home_score: 2, last_play: "Okafor layup (Lions)" });
  await expect(card.getByTestId("home-score")).toHaveText("2");
  await expect(card.getByTestId("home-score")).toHaveClass(/flash/);
  await expect(card.getByTestId("away-score")).not.toHaveClass(/flash/);
  await expect(card.getByTestId("last-play")).toHaveText("Okafor layup (Lions)");
  expect(await card.evaluate((el) => (el as any).__tag)).toBe("kept");
});

test("an unauthorized score change is refused with a message", async ({ page, request }) => {
  const id = freshTag("auth");
  await publish(request, "scores", { id, home: "Hosts", away: "Guests", home_score: 10, status: "live" });
  const scores = new ScoresPage(page);
  await scores.goto();
  await waitLive(page);
  await scores.openScorekeeper();
  await scores.submitChange({ game: id, home: "99" });
  const error = page.getByTestId("score-error");
  await expect(error).toHaveText(/Only an operator can change games/);
  await expect(error).toHaveAttribute("role", "alert");
  await expect(scores.game(id).getByTestId("home-score")).toHaveText("10");
});

test("a signed-in scorekeeper changes a score and every viewer sees it", async ({ page, browser, request }) => {
  const id = freshTag("keeper");
  await publish(request, "scores", { id, home: "Hosts", away: "Guests", status: "live", period: 3 });
  const viewer = await (await browser.newContext()).newPage();
  const watching = new ScoresPage(viewer);
  await watching.goto();
  await waitLive(viewer);

  const scores = new ScoresPage(page);
  await scores.goto();
  await waitLive(page);
  await scores.openScorekeeper();
  await scores.signIn("not-the-password");
  await expect(page.getByTestId("sign-in-error")).toHaveText(/password is not right/);
  await scores.signIn(SCOREKEEPER_PASSWORD);
  await expect(page.getByTestId("operator-session")).toHaveText(/signed in as operator/);
  // The session cookie is invisible to scripts.
  expect(await page.evaluate(() => document.cookie)).not.toContain("pulse_scorekeeper");

  await scores.submitChange({ game: id, home: "21", away: "19", status: "final", play: "Buzzer beater" });
  await expect(watching.game(id).getByTestId("home-score")).toHaveText("21", { timeout: 2_000 });
  await expect(watching.game(id)).toHaveAttribute("data-status", "final");
  await expect(watching.game(id).getByTestId("last-play")).toHaveText("Buzzer beater");
  await viewer.context().close();
});

/** The statuses of the cards in DOM order. */
const statuses = (scores: ScoresPage) => scores.games.evaluateAll((els) => els.map((el) => el.getAttribute("data-status")));
const rank: Record<string, number> = { live: 0, scheduled: 1, final: 2 };

test("live games come first, finals last, dimmed with the winner marked; home and away are labelled", async ({ page, request }) => {
  const id = freshTag("order");
  await publish(request, "scores", { id, home: "Hosts", away: "Guests", status: "live", period: 4, home_score: 88, away_score: 80 });
  const scores = new ScoresPage(page);
  await scores.goto();
  await waitLive(page);
  const card = scores.game(id);
  await expect(card.locator('[data-side="home"] .side')).toHaveText("Home");
  await expect(card.locator('[data-side="away"] .side')).toHaveText("Away");
  await expect(card.getByTestId("winner")).toHaveCount(0);
  const sorted = async () => {
    const s = await statuses(scores);
    return s.every((v, i) => i === 0 || rank[s[i - 1]!]! <= rank[v!]!);
  };
  expect(await sorted()).toBe(true);

  await publish(request, "scores", { id, status: "final" });
  await expect(card).toHaveAttribute("data-status", "final");
  await expect(card.locator('[data-side="home"]').getByTestId("winner")).toHaveText("Winner");
  await expect(card.locator('[data-side="away"]').getByTestId("winner")).toHaveCount(0);
  // The card moved into the finals, after every live game.
  await expect.poll(sorted).toBe(true);
  const index = await card.evaluate((el) => Array.from(el.parentElement!.children).indexOf(el));
  const firstFinal = (await statuses(scores)).indexOf("final");
  expect(index).toBeGreaterThanOrEqual(firstFinal);
  // Dimmed: a final card looks different from a live one.
  const bg = (loc: typeof card) => loc.evaluate((el) => getComputedStyle(el).borderStyle);
  expect(await bg(card)).toBe("dashed");
});

test("a scorekeeper's change to a simulated game is not overwritten by the simulator", async ({ page }) => {
  test.setTimeout(60_000);
  const scores = new ScoresPage(page);
  await scores.goto();
  await waitLive(page);
  // A simulated game that is being played right now.
  // (Early in the game, so the simulator does not end it before the change is saved.)
  const live = page
    .locator('[data-testid="game"][data-status="live"][data-game-id^="court-"]')
    .filter({ has: page.getByTestId("phase").getByText(/^Q[1-3]/) })
    .first();
  await expect(live).toBeVisible({ timeout: 20_000 });
  const id = (await live.getAttribute("data-game-id"))!;
  await scores.openScorekeeper();
  await scores.signIn(SCOREKEEPER_PASSWORD);
  await expect(page.getByTestId("operator-session")).toHaveText(/signed in as operator/);
  await scores.submitChange({ game: id, home: "150", away: "3" });
  const saved = page.getByTestId("score-saved");
  await expect(saved).toContainText("3 – 150");
  const card = scores.game(id);
  await expect(card.getByTestId("home-score")).toHaveText("150");
  await expect(card).toHaveAttribute("data-kept", "true");
  // The form keeps the values it saved.
  await expect(page.locator('input[name="home_score"]')).toHaveValue("150");
  const updates = await card.getAttribute("data-updates");
  const others = () =>
    scores.games.evaluateAll((els, id) => els.filter((el) => el.getAttribute("data-game-id")!.startsWith("court-") && el.getAttribute("data-game-id") !== id).map((el) => el.getAttribute("data-updates")).join(","), id);
  const othersBefore = await others();
  await page.waitForTimeout(10_000);
  await expect(card.getByTestId("home-score")).toHaveText("150");
  await expect(card.getByTestId("away-score")).toHaveText("3");
  await expect(card).toHaveAttribute("data-status", "live");
  expect(await card.getAttribute("data-updates")).toBe(updates);
  // The simulator is still running: the other courts moved on meanwhile.
  expect(await others()).not.toBe(othersBefore);
  // A reload (the server's snapshot) agrees.
  await page.reload();
  await expect(scores.game(id).getByTestId("home-score")).toHaveText("150");
});

test("a scorekeeper's error goes away once the form is edited", async ({ page, request }) => {
  const id = freshTag("stale");
  await publish(request, "scores", { id, home: "Hosts", away: "Guests", status: "live" });
  const scores = new ScoresPage(page);
  await scores.goto();
  await waitLive(page);
  await scores.openScorekeeper();
  await scores.signIn(SCOREKEEPER_PASSWORD);
  await expect(page.getByTestId("operator-session")).toHaveText(/signed in as operator/);
  await scores.submitChange({ game: id });
  const error = page.getByTestId("score-error");
  await expect(error).toHaveText(/Nothing to change/);
  await expect(page.getByTestId("game-now")).toContainText("Guests 0 – 0 Hosts · Live");
  await page.locator('input[name="home_score"]').fill("4");
  await expect(error).toBeEmpty();
  await page.getByTestId("update-game").getByRole("button", { name: "Update game" }).press("Enter");
  await expect(page.getByTestId("score-saved")).toContainText("Guests 0 – 4 Hosts · Live");
  await expect(error).toBeEmpty();
});
