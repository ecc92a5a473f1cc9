// Building DOM and SVG without a framework: h("div", {class: "x"}, child, ...).

const SVG_NS = "http://www.w3.org/2000/svg";

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "text") {
      element.textContent = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** An HTML element. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace the children of `parent`. */
export function fill(parent, ...children) {
  parent.replaceChildren();
  return build(parent, {}, children);
}

/** A table: `columns` as [title, (row) => cell, {class}?]; `onRow` makes rows clickable. */
export function table(columns, rows, { onRow, selected, empty = "nothing yet" } = {}) {
  const head = h("tr", {}, columns.map(([title, , opts]) => h("th", { class: opts?.class }, title)));
  const body = rows.length
    ? rows.map((row) =>
        h(
          "tr",
          {
            class: [onRow ? "clickable" : "", selected && selected(row) ? "selected" : ""].join(" ").trim() || undefined,
            onclick: onRow ? () => onRow(row) : undefined,
          },
          columns.map(([, cell, opts]) => h("td", { class: opts?.class }, cell(row))),
        ),
      )
    : [h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, empty))];
  return h("table", {}, h("thead", {}, head), h("tbody", {}, body));
}

/** A key/value table of an object; keys in `changed` are highlighted. */
export function kvTable(object, changed = {}) {
  const keys = Object.keys(object).sort();
  return h(
    "table",
    { class: "kv" },
    h(
      "tbody",
      {},
      keys.map((k) =>
        h(
          "tr",
          { class: k in changed ? "changed" : undefined, title: k in changed ? `was: ${changed[k]}` : undefined },
          h("td", {}, k),
          h("td", { class: "mono" }, String(object[k])),
        ),
      ),
    ),
  );
}

export function badge(text, kind = text) {
  return h("span", { class: `badge ${kind}` }, text);
}

/** Show an error in `where` (an element), or as a toast when `where` is absent. */
export function showError(error, where) {
  const text = error?.detail ? `${error.detail}` : String(error?.message || error);
  const status = error?.status ? `${error.status} ` : "";
  const box = h("div", { class: "error" }, status + text);
  if (where) {
    where.replaceChildren(box);
  } else {
    const toasts = document.getElementById("errors");
    box.title = "click to dismiss";
    box.addEventListener("click", () => box.remove());
    toasts.append(box);
    while (toasts.children.length > 4) toasts.firstChild.remove();
    setTimeout(() => box.remove(), 15000);
  }
  return box;
}
