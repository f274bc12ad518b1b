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
