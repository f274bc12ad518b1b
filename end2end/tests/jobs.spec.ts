import { expect, test } from "@playwright/test";
import { SCOREKEEPER_PASSWORD } from "../env";
import { createJob, freshTag, JobsPage, publish, reportJob, waitLive } from "./support";

test.describe("/jobs", () => {
  test("renders jobs without JavaScript", async ({ browser, request }) => {
    const name = freshTag("no-js job");
    const id = await createJob(request, name, 10);
    await reportJob(request, id, { step: 4, message: "table users" });
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto("/jobs");
    const row = page.locator(`[data-testid="job"][data-job-id="${id}"]`);
    await expect(row).toHaveAttribute("data-status", "running");
    await expect(row.getByTestId("job-progress")).toHaveAttribute("aria-valuenow", "4");
    await expect(row.getByTestId("job-progress")).toHaveAttribute("aria-valuemax", "10");
    await expect(row.getByTestId("job-steps")).toHaveText("4 / 10");
    await expect(row.getByTestId("job-message")).toHaveText("table users");
    await context.close();
  });

  test("a job driven through the API moves its bar live to 100% and the row survives", async ({ page, request }) => {
    const jobs = new JobsPage(page);
    const id = await createJob(request, freshTag("live job"), 20);
    await jobs.goto();
    await waitLive(page);
    const row = jobs.job(id);
    await expect(row).toHaveAttribute("data-status", "queued");
    // Tag the row's element: if an update re-created it, the tag would be gone.
    await row.evaluate((el) => el.setAttribute("data-e2e-mark", "kept"));
    for (let step = 5; step <= 20; step += 5) {
      await reportJob(request, id, { step, log: [`batch ${step}`] });
      await expect(row.getByTestId("job-progress")).toHaveAttribute("aria-valuenow", String(step));
    }
    await expect(row.getByTestId("job-percent")).toHaveText("100.0%");
    await reportJob(request, id, { status: "completed", message: "all rows" });
    await expect(row).toHaveAttribute("data-status", "completed");
    await expect(row).toHaveAttribute("data-e2e-mark", "kept");
    // A job finishing sends a toast.
    await expect(page.getByTestId("toast").filter({ hasText: "Job finished" }).first()).toBeVisible();
    // The log tail is in the row's details.
    await row.locator("details.job-log summary").click();
    await expect(row.getByTestId("job-log")).toContainText("batch 20");
  });

  test("an indeterminate job shows an indeterminate bar", async ({ page, request }) => {
    const id = await createJob(request, freshTag("unknown size"));
    await reportJob(request, id, { step: 3 });
    const jobs = new JobsPage(page);
    await jobs.goto();
    const bar = jobs.job(id).getByTestId("job-progress");
    await expect(bar).not.toHaveAttribute("aria-valuenow", /.*/);
    await expect(bar).toHaveClass(/indeterminate/);
  });

  test("an operator starts an export, sees it finish and downloads the file", async ({ page, request }) => {
    const topic = freshTag("exp").replace(/[^a-z0-9-]/g, "-");
    for (let n = 0; n < 5; n++) await publish(request, topic, { n });
    const jobs = new JobsPage(page);
    await jobs.goto();
    await waitLive(page);
    await jobs.signIn(SCOREKEEPER_PASSWORD);
    const form = page.getByTestId("start-export");
    await form.locator('input[name="topics"]').fill(topic);
    await form.locator('select[name="format"]').selectOption("ndjson");
    await form.getByRole("button", { name: "Start export" }).click();
    const row = page.locator('[data-testid="job"]').filter({ hasText: `Export ${topic}` }).first();
    await expect(row).toHaveAttribute("data-status", "completed", { timeout: 15_000 });
    await expect(row.getByTestId("job-steps")).toHaveText("5 / 5");
    const download = page.waitForEvent("download");
    await row.getByTestId("job-download").click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/^pulse-j[0-9a-f]{16}\.ndjson$/);
    const text = await (await import("node:fs/promises")).readFile((await file.path())!, "utf8");
    const lines = text.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.data.n)).toEqual([0, 1, 2, 3, 4]);
    expect(lines.every((l) => l.topic === topic)).toBe(true);
  });

  test("cancel from the page stops a running job", async ({ page, request }) => {
    const id = await createJob(request, freshTag("cancel me"), 100);
    await reportJob(request, id, { step: 10 });
    const jobs = new JobsPage(page);
    await jobs.goto();
    await waitLive(page);
    await jobs.signIn(SCOREKEEPER_PASSWORD);
    const row = jobs.job(id);
    await row.getByTestId("job-cancel").click();
    // The worker learns of it on its next report, and the job ends as cancelled.
    await expect
      .poll(async () => {
        const res = await request.get(`/api/jobs/${id}`);
        return ((await res.json()) as { cancel_requested: boolean }).cancel_requested;
      })
      .toBe(true);
    const answer = await reportJob(request, id, { step: 11 });
    expect(answer).toMatchObject({ cancel_requested: true, status: "cancelled" });
    await expect(row).toHaveAttribute("data-status", "cancelled");
    await expect(row.getByTestId("job-cancel")).toHaveCount(0);
  });

  test("the overview card lists running jobs", async ({ page, request }) => {
    const name = freshTag("card job");
    const id = await createJob(request, name, 8);
    await reportJob(request, id, { step: 2 });
    await page.goto("/");
    await waitLive(page);
    const card = page.getByTestId("home-jobs");
    await expect(card).toContainText(name);
    await reportJob(request, id, { step: 6 });
    await expect(card.locator("li", { hasText: name })).toContainText("75.0%");
  });
});
