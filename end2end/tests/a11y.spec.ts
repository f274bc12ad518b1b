import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { waitLive } from "./support";

const PAGES = ["/", "/stocks", "/scores", "/feed", "/monitor", "/jobs", "/notifications", "/no-such-page"];
const SIZES = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 375, height: 740 },
];

for (const theme of ["light", "dark"] as const) {
  for (const size of SIZES) {
    test(`axe-core: no serious or critical violations on any page (${theme}, ${size.name})`, async ({ page }) => {
      test.setTimeout(60_000);
      await page.emulateMedia({ colorScheme: theme });
      await page.setViewportSize({ width: size.width, height: size.height });
      for (const path of PAGES) {
        await page.goto(path);
        await waitLive(page);
        const results = await new AxeBuilder({ page })
          .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
          .analyze();
        const bad = results.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
        expect(bad, `${path} (${theme}, ${size.name})`).toEqual([]);
      }
    });
  }
}

test("no page scrolls sideways at 320 px", async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 640 });
  for (const path of PAGES) {
    await page.goto(path);
    await waitLive(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, `${path} is ${overflow} px wider than the screen`).toBeLessThanOrEqual(0);
  }
});

test("after hydration the skip link moves focus to the content and in-app navigation is announced", async ({ page }) => {
  await page.goto("/stocks");
  await waitLive(page);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main#main")).toBeFocused();
  await expect(page).toHaveURL(/\/stocks$/);

  const announcer = page.getByTestId("route-announcer");
  await expect(announcer).toHaveText("");
  await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: "Scores", exact: true }).click();
  await expect(page).toHaveURL(/\/scores$/);
  await expect(announcer).toHaveText("Scores page");
  // Landmarks: one main, one banner, one views navigation, each named at most once.
  await expect(page.getByRole("main")).toHaveCount(1);
  await expect(page.getByRole("banner")).toHaveCount(1);
  await expect(page.getByRole("navigation", { name: "Views" })).toHaveCount(1);
});
