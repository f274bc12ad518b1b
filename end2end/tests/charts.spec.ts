import { expect, test, type Page } from "@playwright/test";
import { publish, waitLive } from "./support";

/** What the charts print for a time: the UTC time of day of its one-second bucket. */
function clock(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(11, 19)} UTC`;
}

function chart(page: Page, title: string) {
  const figure = page.locator("figure.chart", { has: page.locator(".chart-title", { hasText: title }) });
  return {
    figure,
    plot: figure.getByTestId("chart-plot"),
    readout: figure.getByTestId("chart-readout"),
    legend: figure.locator(".chart-legend"),
  };
}

/**
 * A sample whose one-second bucket no other sample shares: the e2e server's own sampler
 * publishes every second, so the test's sample is stamped 25 s ahead, where the sampler will
 * not be before the test ends. It is then the newest point, at the right edge.
 */
async function publishKnownSample(request: Parameters<typeof publish>[0], cpu: number) {
  const at = Math.floor(Date.now() / 1000) * 1000 + 25_000 + 400;
  await publish(request, "monitor", { cpu, mem_used: 1, mem_total: 4, at });
  return at;
}

test("the crosshair shows the value and time of a published point, by pointer and keyboard, on every chart", async ({
  page,
  request,
}) => {
  await page.goto("/monitor");
  await waitLive(page);
  const at = await publishKnownSample(request, 77);
  const cpu = chart(page, "CPU");
  const memory = chart(page, "Memory");
  // The newest bucket is the test's sample: the legend shows its value.
  await expect(cpu.legend).toContainText("77%");

  // Pointer: the right edge of the plot is the newest point.
  const box = await cpu.plot.boundingBox();
  expect(box).not.toBeNull();
  await page.mouse.move(box!.x + box!.width - 2, box!.y + box!.height / 2);
  await expect(cpu.readout).toHaveText(`${clock(at)} · total 77%`);
  // One crosshair for the page: the memory chart reads the same moment (1 of 4 bytes used).
  await expect(memory.readout).toHaveText(`${clock(at)} · used 25%`);
  await page.mouse.move(0, 0);
  await expect(cpu.readout).toHaveText("");

  // Keyboard: End is the newest point, ← the one before it, Home the oldest, → the next.
  // (The server's sampler keeps adding points *before* the test's future-stamped one, so
  // "→ from the one before the newest" may land on a new point: → is checked from Home.)
  await cpu.plot.focus();
  await page.keyboard.press("End");
  await expect(cpu.readout).toHaveText(`${clock(at)} · total 77%`);
  await page.keyboard.press("ArrowLeft");
  await expect(cpu.readout).not.toContainText(clock(at));
  await expect(cpu.readout).toHaveText(/^\d\d:\d\d:\d\d UTC · total \d+%$/);
  await page.keyboard.press("Home");
  await expect(cpu.readout).toHaveText(/^\d\d:\d\d:\d\d UTC · total \d+%$/);
  const oldest = (await cpu.readout.textContent())!.slice(0, 8);
  await page.keyboard.press("ArrowRight");
  await expect(cpu.readout).toHaveText(/^\d\d:\d\d:\d\d UTC · total \d+%$/);
  await expect(cpu.readout).not.toContainText(oldest);
  const next = (await cpu.readout.textContent())!.slice(0, 8);
  expect(next > oldest, `${next} after ${oldest}`).toBe(true);
  await page.keyboard.press("End");
  await expect(cpu.readout).toHaveText(`${clock(at)} · total 77%`);
  await page.keyboard.press("Escape");
  await expect(cpu.readout).toHaveText("");
});

test("choosing 1 h survives a reload and the points are still drawn", async ({ page, request }) => {
  // Two samples the five-minute range does not hold, so the hour has points however recently
  // the server started.
  const now = Date.now();
  await publish(request, "monitor", { cpu: 40, mem_used: 1, mem_total: 2, at: now - 10 * 60_000 });
  await publish(request, "monitor", { cpu: 60, mem_used: 1, mem_total: 2, at: now - 5 * 60_000 - 30_000 });
  await page.goto("/monitor");
  await waitLive(page);
  const hour = page.getByRole("link", { name: "1 h" });
  await hour.click();
  await expect(page).toHaveURL(/[?&]range=1h/);
  await expect(hour).toHaveAttribute("aria-current", "true");
  await expect(page.getByRole("heading", { name: "Last 1 h" })).toBeVisible();

  await page.reload();
  await waitLive(page);
  await expect(page.getByRole("link", { name: "1 h" })).toHaveAttribute("aria-current", "true");
  await expect(page.getByRole("link", { name: "5 min" })).not.toHaveAttribute("aria-current", "true");
  const cpu = chart(page, "CPU");
  await expect(cpu.figure).toHaveAttribute("data-range", "1h");
  const d = (await cpu.figure.locator("path.line").getAttribute("d")) ?? "";
  expect(d.match(/[ML]/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  await expect(cpu.figure.locator(".x-axis")).toContainText("−60 min");
  // Keyboard: the ranges are links, in tab order.
  await page.getByRole("link", { name: "24 h" }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/[?&]range=24h/);
  await expect(cpu.figure).toHaveAttribute("data-range", "24h");
});

test("/monitor has no sideways scrolling at 320 px", async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 800 });
  await page.goto("/monitor");
  await waitLive(page);
  await expect(page.locator("figure.chart").first()).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

/** The boxes of the time-axis labels a user can see on every chart of the page. */
async function axisLabelBoxes(page: Page) {
  return page.locator("figure.chart .x-axis").evaluateAll((axes) =>
    axes.map((axis) =>
      [...axis.querySelectorAll("span")]
        .filter((s) => getComputedStyle(s).display !== "none")
        .map((s) => {
          const r = s.getBoundingClientRect();
          return { label: s.textContent ?? "", left: r.left, right: r.right };
        }),
    ),
  );
}

for (const width of [1280, 900, 375, 320]) {
  test(`time-axis labels never touch at ${width} px, in every range`, async ({ page }) => {
    await page.setViewportSize({ width, height: 900 });
    for (const range of ["5m", "1h", "24h"]) {
      await page.goto(`/monitor?range=${range}`);
      await expect(page.locator("figure.chart").first()).toBeVisible();
      const axes = await axisLabelBoxes(page);
      expect(axes.length).toBeGreaterThan(0);
      for (const labels of axes) {
        // "now" and the oldest label always show; at least one in between where there is room.
        expect(labels.length).toBeGreaterThanOrEqual(3);
        expect(labels.at(-1)?.label).toBe("now");
        for (let i = 1; i < labels.length; i++) {
          // A visible gap of at least 4 px between neighbours ("−5 min−4 min" was the bug).
          expect(labels[i].left - labels[i - 1].right, `${range}: ${labels[i - 1].label} | ${labels[i].label}`).toBeGreaterThanOrEqual(4);
        }
      }
    }
  });
}

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the range links work and the server draws the chosen range", async ({ page, request }) => {
    // The sampler publishes within a second of start; the charts wait for its first sample.
    await expect
      .poll(async () => (await (await request.get("/api/topics/monitor/snapshot")).json()).state.latest)
      .toBeTruthy();
    await page.goto("/monitor?range=24h");
    await expect(page.getByRole("link", { name: "24 h" })).toHaveAttribute("aria-current", "true");
    const cpu = chart(page, "CPU");
    await expect(cpu.figure).toHaveAttribute("data-range", "24h");
    await expect(cpu.figure.locator(".x-axis")).toContainText("−24 h");
    await expect(page.getByRole("img", { name: /^CPU: total now \d+%/ })).toBeVisible();
    await page.getByRole("link", { name: "5 min" }).click();
    await expect(page).toHaveURL(/[?&]range=5m/);
    await expect(cpu.figure).toHaveAttribute("data-range", "5m");
  });
});
