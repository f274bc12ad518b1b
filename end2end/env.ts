// Settings shared by playwright.config.ts and the tests, read from the environment
// so a run can move to another port or token without editing files.
export const PORT = Number(process.env.PULSE_E2E_PORT ?? 3100);
export const BASE_URL = `http://127.0.0.1:${PORT}`;
export const TOKEN = process.env.PULSE_E2E_TOKEN ?? "e2e-secret-token";
export const SCOREKEEPER_PASSWORD = process.env.PULSE_E2E_SCOREKEEPER_PASSWORD ?? "e2e-scorekeeper";
