// The single-page app: hash routes (#/flow, #/provenance, ...), one page mounted at a
// time (each answers a function that stops its timers), the token form on a 401.

import { adoptTokenFromHash, setToken } from "./api.js";
import { fill, showError } from "./dom.js";
import agents from "./pages/agents.js";
import dashboards from "./pages/dashboards.js";
import flow from "./pages/flow.js";
import jobs from "./pages/jobs.js";
import provenance from "./pages/provenance.js";

const PAGES = { flow, provenance, jobs, dashboards, agents };
const view = document.getElementById("view");
let unmount = null;

function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES[name] ? name : "flow";
  if (!PAGES[name] && location.hash !== "#/flow") {
    history.replaceState(null, "", "#/flow");
  }
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.route === page);
    if (a.dataset.route === page) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (unmount) unmount();
  fill(view);
  document.title = `headwater · ${page}`;
  try {
    unmount = PAGES[page](view, rest.map(decodeURIComponent)) || null;
  } catch (err) {
    unmount = null;
    showError(err, view);
  }
}

function askForToken(reason) {
  const dialog = document.getElementById("token-dialog");
  document.getElementById("token-reason").textContent = reason || "";
  if (!dialog.open) dialog.showModal();
}

document.getElementById("token-form").addEventListener("submit", () => {
  setToken(document.getElementById("token-input").value);
  document.getElementById("token-input").value = "";
  route();
});
window.addEventListener("unauthorized", (event) => askForToken(event.detail));
window.addEventListener("hashchange", () => {
  adoptTokenFromHash();
  route();
});
window.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  showError(event.reason);
});

adoptTokenFromHash();
route();

