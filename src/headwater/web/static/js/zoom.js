// A graph in a scrolling frame with zoom buttons (−, fit, 100 %, +) and drag to pan,
// so a flow of fifty processors or a lineage of hundreds of events stays readable.

import { h } from "./dom.js";

const MIN = 0.2;
const MAX = 2;

/**
 * Put `svg` (with a viewBox and its natural width/height attributes) in `frame`.
 * Starts at the scale that fits the frame's width, but no smaller than `readable`.
 * Answers {toolbar, scale(), setScale(k)}; call `adopt(svg)` to swap in a redrawn graph
 * at the same scale.
 */
export function zoomable(frame, svg, { readable = 0.6, initial } = {}) {
  let current = svg;
  let scale = 1;
  const natural = () => ({
    width: Number(current.dataset.width || current.getAttribute("width")),
    height: Number(current.dataset.height || current.getAttribute("height")),
  });
  const fit = () => Math.min(1, Math.max(MIN, (frame.clientWidth - 4) / natural().width));
  const label = h("span", { class: "muted zoom-level" });

  function setScale(k) {
    scale = Math.min(MAX, Math.max(MIN, k));
    const { width, height } = natural();
    current.setAttribute("width", Math.round(width * scale));
    current.setAttribute("height", Math.round(height * scale));
    label.textContent = `${Math.round(scale * 100)} %`;
  }

  function adopt(svg_) {
    svg_.dataset.width = svg_.getAttribute("width");
    svg_.dataset.height = svg_.getAttribute("height");
    current = svg_;
    frame.replaceChildren(svg_);
    setScale(scale);
  }

  const toolbar = h(
    "div",
    { class: "zoom row" },
    h("button", { type: "button", title: "zoom out", onclick: () => setScale(scale / 1.25) }, "−"),
    h("button", { type: "button", title: "fit the width", onclick: () => setScale(fit()) }, "fit"),
    h("button", { type: "button", title: "actual size", onclick: () => setScale(1) }, "100 %"),
    h("button", { type: "button", title: "zoom in", onclick: () => setScale(scale * 1.25) }, "+"),
    label,
  );
  panByDragging(frame);
  adopt(svg);
  setScale(initial ?? Math.max(readable, fit()));
  return { toolbar, adopt, scale: () => scale, setScale };
}

/** Drag to scroll the frame; a press that does not move stays a click (on a node or
 * an edge), and the click that ends a drag is swallowed. */
function panByDragging(frame) {
  let start = null;
  let dragged = false;
  frame.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    start = { id: event.pointerId, x: event.clientX, y: event.clientY, left: frame.scrollLeft, top: frame.scrollTop };
    dragged = false;
  });
  frame.addEventListener("pointermove", (event) => {
    if (!start) return;
    const dx = event.clientX - start.x;
    const dy = event.clientY - start.y;
    if (!dragged && Math.hypot(dx, dy) < 5) return;
    if (!dragged) {
      dragged = true;
      frame.setPointerCapture(start.id);
      frame.classList.add("panning");
    }
    frame.scrollLeft = start.left - dx;
    frame.scrollTop = start.top - dy;
  });
  const end = () => {
    start = null;
    frame.classList.remove("panning");
  };
  frame.addEventListener("pointerup", end);
  frame.addEventListener("pointercancel", end);
  frame.addEventListener(
    "click",
    (event) => {
      if (dragged) event.stopPropagation();
      dragged = false;
    },
    true,
  );
}
