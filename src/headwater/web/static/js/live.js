// Refreshing a page: `every(ms, fn)` runs fn now and again `ms` after each run ends
// (never two at once), skips runs while the tab is hidden, and stops with the page.

import { clock } from "./format.js";

export function every(ms, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try {
        await fn();
        markLive();
      } catch {
        /* fn shows its own errors in the page */
      }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function markLive() {
  const el = document.getElementById("live");
  if (el) el.textContent = `updated ${clock(Date.now())}`;
}
