// The chat page (GET / on the embedded backend) in headless Chromium: two pages chat, the server closes one page's
// connection, and that page shows every message once, in order. Needs Debian's chromium (CHROMIUM_PATH to override).
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startBackend } from "./support/backend.mjs";

const executablePath = process.env.CHROMIUM_PATH ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((path) => existsSync(path));
const artifacts = join(dirname(fileURLToPath(import.meta.url)), "..", "test-results");

let backend;
let browser;
before(async () => {
  assert.ok(executablePath, "Chromium is missing: apt-get install -y chromium, or set CHROMIUM_PATH");
  backend = await startBackend();
  browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
});
after(async () => {
  await browser?.close();
  await backend?.stop();
});

async function openChat(room, name) {
  const page = await browser.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  await page.goto(`${backend.apiUrl}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
  await page.waitForFunction(() => document.getElementById("state").textContent === "open" && window.tetherChat !== undefined);
  // Every state the page goes through from now on.
  await page.evaluate(() => {
    window.seenStates = [];
    window.tetherChat.client.on("state", (state) => window.seenStates.push(state));
  });
  await page.waitForFunction((r) => document.getElementById("room-title").textContent === r, room);
  return { page, problems };
}

const texts = (page) => page.$$eval("#messages li.message .text", (items) => items.map((item) => item.textContent));

async function say(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

async function waitForText(page, text) {
  await page.waitForFunction((t) => [...document.querySelectorAll("#messages li.message .text")].some((e) => e.textContent === t), text);
}

test("two pages chat; the one whose connection the server closes reconnects and misses nothing", async () => {
  const room = `browser-${process.pid}`;
  const alice = await openChat(room, "alice");
  const [aliceId] = await backend.members(room);
  const bob = await openChat(room, "bob");
  const bobId = (await backend.members(room)).find((id) => id !== aliceId);
  assert.ok(bobId, "bob's connection is in the room");

  for (let i = 1; i <= 5; i++) await say(alice.page, `a${i}`);
  await waitForText(bob.page, "a5");
  await say(bob.page, "b1");
  await waitForText(alice.page, "b1");

  await backend.admin("DELETE", `/api/connections/${encodeURIComponent(bobId)}`);
  for (let i = 6; i <= 10; i++) await say(alice.page, `a${i}`);
  await waitForText(alice.page, "a10");
  await bob.page.waitForFunction(() => window.seenStates.includes("reconnecting") && document.getElementById("state").textContent === "open");
  await waitForText(bob.page, "a10").catch(() => undefined);

  const expected = ["a1", "a2", "a3", "a4", "a5", "b1", "a6", "a7", "a8", "a9", "a10"];
  mkdirSync(artifacts, { recursive: true });
  await bob.page.screenshot({ path: join(artifacts, "chat-after-reconnect.png"), fullPage: true });
  assert.deepEqual(await texts(bob.page), expected);
  assert.deepEqual(await texts(alice.page), expected);
  assert.match(await bob.page.textContent("#members"), /2 members/);
  assert.match(await alice.page.textContent("#members"), /2 members/);
  // Alice saw Bob arrive (presence), and Bob's reconnect, which left and joined the room again.
  const aliceNotices = await alice.page.$$eval("#messages li.notice", (items) => items.map((item) => item.textContent));
  assert.ok(aliceNotices.some((text) => text.endsWith(" joined")), `notices: ${aliceNotices}`);

  // A latecomer loads what was said before it came, through history.
  const carol = await openChat(room, "carol");
  assert.deepEqual(await texts(carol.page), []);
  await carol.page.click("#load-earlier");
  await waitForText(carol.page, "a1").catch(() => undefined);
  await carol.page.screenshot({ path: join(artifacts, "chat-load-earlier.png"), fullPage: true });
  assert.deepEqual(await texts(carol.page), expected);
  assert.deepEqual([...alice.problems, ...bob.problems, ...carol.problems], []);
});
