// How numbers, sizes, times and durations read on the pages.

const NUMBER = new Intl.NumberFormat();

export function num(value) {
  return value === null || value === undefined ? "–" : NUMBER.format(value);
}

export function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = value;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${unit ? n.toFixed(n < 10 ? 1 : 0) : n} ${units[unit]}`;
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

/** Local time, `2026-11-28 09:14:03`, from millis or an ISO string. */
export function time(value) {
  if (value === null || value === undefined || value === "") return "–";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function clock(value) {
  const d = new Date(value);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Seconds as `850 ms`, `12.4 s`, `3 min 5 s`, `2 h 4 min`. */
export function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  if (value < 3600) return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
  return `${Math.floor(value / 3600)} h ${Math.round((value % 3600) / 60)} min`;
}

/** How long ago `millis` was: `4 s ago`. */
export function ago(millis) {
  if (!millis) return "never";
  return `${seconds(Math.max(0, (Date.now() - millis) / 1000))} ago`;
}

export function shortId(id, length = 8) {
  const text = String(id ?? "");
  return text.length > length + 1 ? `${text.slice(0, length)}…` : text;
}
