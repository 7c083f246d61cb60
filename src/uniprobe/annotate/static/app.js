// uniprobe annotate: one canvas at a time, every check answered pass / fail / can't tell.
// No dependencies. All text from cases and models goes in with textContent, never as HTML.
"use strict";

(() => {
  const NAME_KEY = "uniprobe.annotator";
  const IMAGE_URL = /^\/images\/[0-9a-f]{64}\.(png|jpg|webp|gif)$/;
  // skipped: canvases left unfinished with Enter / n, asked again once nothing else is left
  const state = { canvas: null, active: 0, name: "", skipped: [], pending: Promise.resolve() };
  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setImage(img, image) {
    const ok = Boolean(image && IMAGE_URL.test(image.url));
    if (ok) img.src = image.url;
    else img.removeAttribute("src");
    img.hidden = !ok;
    return ok;
  }

  function say(text, isError) {
    $("status").textContent = text;
    $("status").classList.toggle("error", Boolean(isError));
  }

  function annotator() {
    return $("annotator").value.trim();
  }

  async function api(path, options) {
    const response = await fetch(path, options);
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
    }
    return body;
  }

  function showProgress(progress) {
    $("progress").textContent = progress
      ? `${progress.done} of ${progress.total} canvases done · ${progress.labels} labels`
      : "";
  }

  async function nextCanvas() {
    const name = annotator();
    if (!name) {
      say("Type your name first (it is saved in this browser).", true);
      $("annotator").focus();
      return;
    }
    const current = state.canvas;
    if (current && current.checks.some((c) => !c.mine) && !state.skipped.includes(current.id)) {
      state.skipped.push(current.id);
    }
    const query = new URLSearchParams({ annotator: name });
    for (const id of state.skipped) query.append("exclude", id);
    const data = await api(`/api/next?${query}`);
    if (data.canvas && state.skipped.includes(data.canvas.id)) state.skipped = [];
    showProgress(data.progress);
    $("done").hidden = Boolean(data.canvas);
    render(data.canvas);
    say(data.canvas ? "" : "Nothing left to answer.");
  }

  function render(canvas) {
    state.canvas = canvas;
    state.active = 0;
    $("canvas-title").textContent = canvas
      ? `${canvas.case_id} · epoch ${canvas.epoch} · after turn ${canvas.turn}`
      : "No canvas";
    $("canvas-note").textContent = canvas ? canvas.note : "";
    const hasImage = setImage($("canvas-image"), canvas && canvas.image);
    $("no-image").hidden = !canvas || hasImage;
    $("canvas-figure").hidden = !canvas;
    renderDialogue(canvas ? canvas.dialogue : []);
    renderChecks(canvas ? canvas.checks : []);
    if (canvas) {
      const open = canvas.checks.findIndex((c) => !c.mine);
      activate(open < 0 ? 0 : open);
    } else {
      activate(-1);
    }
  }

  function thumbs(images, what, className) {
    const box = el("div", `thumbs ${className}`);
    images.forEach((image, i) => {
      const img = el("img");
      img.alt = `${what} ${i + 1}`;
      if (setImage(img, image)) box.append(img);
    });
    return box;
  }

  function renderDialogue(turns) {
    const list = $("dialogue");
    list.replaceChildren();
    for (const t of turns) {
      const item = el("li", "turn");
      item.value = t.index;
      item.append(el("p", "turn-user", t.user));
      if (t.attached.length) item.append(thumbs(t.attached, `image attached to turn ${t.index}`, "attached"));
      if (t.text) item.append(el("p", "turn-reply", t.text));
      if (t.refusal) item.append(el("p", "turn-refusal", t.refusal));
      if (t.images.length) item.append(thumbs(t.images, `image drawn in turn ${t.index}`, "drawn"));
      if (t.error) item.append(el("p", "turn-error", t.error));
      list.append(item);
    }
  }

  const BUTTONS = [
    ["pass", "Yes · pass (p)"],
    ["fail", "No · fail (f)"],
    ["cant_tell", "Can't tell (c)"],
  ];

  function renderChecks(checks) {
    const list = $("checks");
    list.replaceChildren();
    checks.forEach((check, i) => {
      const item = el("li", "check");
      item.dataset.index = String(i);
      item.dataset.item = check.item;
      item.dataset.kind = check.kind;
      item.append(el("p", "check-question", check.question));
      item.append(el("p", "check-hint", check.hint));
      if (check.reference) {
        item.append(el("p", "check-reference", `Compared with ${check.reference.what} (shown beside the image).`));
      }
      const buttons = el("div", "check-buttons");
      for (const [value, text] of BUTTONS) {
        const button = el("button", `label-${value}`, text);
        button.type = "button";
        button.dataset.label = value;
        buttons.append(button);
      }
      item.append(buttons);
      list.append(item);
      showLabel(i, check.mine);
    });
  }

  function showLabel(index, value) {
    const item = $("checks").children[index];
    if (!item) return;
    if (value) item.dataset.label = value;
    else delete item.dataset.label;
    item.classList.toggle("labelled", Boolean(value));
    for (const button of item.querySelectorAll("button")) {
      const chosen = button.dataset.label === value;
      button.classList.toggle("chosen", chosen);
      button.setAttribute("aria-pressed", String(chosen));
    }
  }

  function activate(index) {
    const items = $("checks").children;
    if (index >= items.length) index = items.length - 1;
    state.active = index;
    for (const item of items) item.classList.toggle("active", Number(item.dataset.index) === index);
    const check = state.canvas && index >= 0 ? state.canvas.checks[index] : null;
    drawRegions(check ? check.regions : []);
    const ref = check && check.reference;
    $("reference-figure").hidden = !ref;
    if (ref) {
      const shown = setImage($("reference-image"), ref.image);
      $("no-reference-image").hidden = shown;
      $("reference-caption").textContent = `Compared with ${ref.what}`;
    }
    if (items[index]) items[index].scrollIntoView({ block: "nearest" });
  }

  function drawRegions(regions) {
    const layer = $("regions");
    layer.replaceChildren();
    for (const region of regions) {
      const [left, top, right, bottom] = region.box;
      const box = el("div", "region");
      box.style.left = `${100 * left}%`;
      box.style.top = `${100 * top}%`;
      box.style.width = `${100 * (right - left)}%`;
      box.style.height = `${100 * (bottom - top)}%`;
      box.append(el("span", "region-name", region.name));
      layer.append(box);
    }
  }

  // An answer shows at once and the cursor moves on; saves go out one after another, so
  // fast typing loses nothing and a failed save is undone on the page.
  function answer(value, index) {
    if (!annotator()) {
      say("Type your name first.", true);
      $("annotator").focus();
      return;
    }
    const canvas = state.canvas;
    if (!canvas || index < 0 || index >= canvas.checks.length) return;
    const check = canvas.checks[index];
    const previous = check.mine;
    check.mine = value;
    showLabel(index, value);
    const after = canvas.checks.findIndex((c, i) => i > index && !c.mine);
    const open = after >= 0 ? after : canvas.checks.findIndex((c) => !c.mine);
    if (open >= 0) activate(open);
    const body = { annotator: annotator(), canvas: canvas.id, item: check.item, label: value };
    queue(() => save(body, canvas, index, previous));
  }

  async function save(body, canvas, index, previous) {
    try {
      const data = await api("/api/labels", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      showProgress(data.progress);
      const left = canvas.checks.some((c) => !c.mine);
      say(left ? "Saved." : "Every check on this canvas is answered: Enter for the next canvas.");
    } catch (error) {
      if (canvas.checks[index].mine === body.label) {
        canvas.checks[index].mine = previous;
        if (state.canvas === canvas) showLabel(index, previous);
      }
      say(`Not saved: ${error.message || error}`, true);
    }
  }

  function queue(task) {
    state.pending = state.pending.then(task).catch((error) => say(error.message || String(error), true));
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target === $("annotator")) {
      if (event.key === "Enter") {
        event.preventDefault();
        saveName();
      }
      return;
    }
    const moves = { j: 1, ArrowDown: 1, ArrowRight: 1, k: -1, ArrowUp: -1, ArrowLeft: -1 };
    const labels = { p: "pass", f: "fail", c: "cant_tell" };
    if (event.key in labels) {
      answer(labels[event.key], state.active);
    } else if (event.key in moves) {
      if (state.canvas) activate(Math.max(0, state.active + moves[event.key]));
    } else if (event.key === "Enter" || event.key === "n") {
      queue(nextCanvas);
    } else {
      return;
    }
    event.preventDefault();
  }

  function saveName() {
    const name = annotator();
    if (!name || name === state.name) return;
    state.name = name;
    localStorage.setItem(NAME_KEY, name);
    $("annotator").blur();
    state.canvas = null;
    state.skipped = [];
    queue(nextCanvas);
  }

  function onChecksClick(event) {
    const item = event.target.closest(".check");
    if (!item) return;
    const index = Number(item.dataset.index);
    const button = event.target.closest("button");
    if (button) {
      button.blur();
      answer(button.dataset.label, index);
    } else {
      activate(index);
    }
  }

  async function start() {
    const run = await api("/api/run");
    $("run-name").textContent = `${run.run} (${run.model} on ${run.suite}: ${run.canvases} canvases)`;
    const name = localStorage.getItem(NAME_KEY) || "";
    $("annotator").value = name;
    state.name = name;
    if (name) await nextCanvas();
    else {
      say("Type your name and press Enter to start.");
      $("annotator").focus();
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("annotator").addEventListener("change", saveName);
    $("checks").addEventListener("click", onChecksClick);
    $("next").addEventListener("click", (event) => {
      event.currentTarget.blur();
      queue(nextCanvas);
    });
    document.addEventListener("keydown", onKey);
    queue(start);
  });
})();
