/* uniprobe gallery: filters and pages over window.UNIPROBE_INDEX; transcripts come from
 * chunk files (window.UNIPROBE_CHUNKS[n]) loaded on demand with <script src>, because
 * pages opened from disk cannot fetch(). Everything from the data is rendered with DOM
 * APIs and textContent: a prompt or a reply that contains markup stays text. */
(function () {
  "use strict";
  const INDEX = window.UNIPROBE_INDEX;
  const CHUNKS = (window.UNIPROBE_CHUNKS = window.UNIPROBE_CHUNKS || {});
  const SVG_NS = "http://www.w3.org/2000/svg";
  const FILTERS = ["run", "family", "subtype", "outcome", "tag"];
  const COL = { key: 0, run: 1, family: 2, subtype: 3, outcome: 4, tags: 5 };
  const state = { run: "", family: "", subtype: "", outcome: "", tag: "", page: 1 };
  const pending = {};
  let matches = [];
  let ticket = 0;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function svgEl(tag, attrs) {
    const e = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }

  function setState(value) { document.body.dataset.state = value; }

  /* ---- filters ------------------------------------------------------------------ */

  function counts(column) {
    const out = {};
    INDEX.samples.forEach(function (row) {
      const v = row[column];
      (Array.isArray(v) ? v : [v]).forEach(function (x) { out[x] = (out[x] || 0) + 1; });
    });
    return out;
  }

  function addOption(parent, value, label, n) {
    const o = el("option", null, label + " (" + n + ")");
    o.value = value;
    parent.appendChild(o);
    return o;
  }

  function fillFilters() {
    const runN = counts(COL.run);
    INDEX.runs.forEach(function (r, i) {
      if (runN[i]) addOption($("filter-run"), r.id, r.model + " · " + r.id, runN[i]);
    });
    const famN = counts(COL.family);
    INDEX.families.forEach(function (f, i) { if (famN[i]) addOption($("filter-family"), f, f, famN[i]); });
    const subN = counts(COL.subtype);
    INDEX.subtypes.forEach(function (s, i) {
      if (subN[i]) addOption($("filter-subtype"), s, s, subN[i]).dataset.family = s.split("/")[0];
    });
    const outN = counts(COL.outcome);
    INDEX.outcomes.forEach(function (o, i) { if (outN[i]) addOption($("filter-outcome"), o, o, outN[i]); });
    const tagN = counts(COL.tags);
    const groups = [el("optgroup"), el("optgroup")];
    groups[0].label = "failure tags";
    groups[1].label = "case tags";
    INDEX.tags.forEach(function (t, i) {
      if (tagN[i]) addOption(groups[i < INDEX.failureTags ? 0 : 1], t, t, tagN[i]);
    });
    groups.forEach(function (g) { if (g.children.length) $("filter-tag").appendChild(g); });
  }

  function lookup(name) {
    const value = state[name];
    if (value === "") return -1;
    if (name === "run") return INDEX.runs.findIndex(function (r) { return r.id === value; });
    const vocab = { family: INDEX.families, subtype: INDEX.subtypes, outcome: INDEX.outcomes, tag: INDEX.tags }[name];
    return vocab.indexOf(value);
  }

  function applyFilters() {
    const want = {};
    FILTERS.forEach(function (f) { want[f] = lookup(f); });
    matches = [];
    INDEX.samples.forEach(function (row, i) {
      if (state.run !== "" && row[COL.run] !== want.run) return;
      if (state.family !== "" && row[COL.family] !== want.family) return;
      if (state.subtype !== "" && row[COL.subtype] !== want.subtype) return;
      if (state.outcome !== "" && row[COL.outcome] !== want.outcome) return;
      if (state.tag !== "" && row[COL.tags].indexOf(want.tag) < 0) return;
      matches.push(i);
    });
  }

  function pages() { return Math.max(1, Math.ceil(matches.length / INDEX.pageSize)); }

  function readHash() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    FILTERS.forEach(function (f) { state[f] = params.get(f) || ""; });
    const page = parseInt(params.get("page") || "1", 10);
    state.page = isFinite(page) && page > 0 ? page : 1;
  }

  function writeHash() {
    const params = new URLSearchParams();
    FILTERS.forEach(function (f) { if (state[f]) params.set(f, state[f]); });
    if (state.page > 1) params.set("page", String(state.page));
    const hash = params.toString();
    try {
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    } catch (e) {
      location.hash = hash;
    }
  }

  function syncSelects() {
    FILTERS.forEach(function (f) {
      const select = $("filter-" + f);
      const known = Array.prototype.some.call(select.options, function (o) { return o.value === state[f]; });
      if (!known) state[f] = "";
      select.value = state[f];
    });
    Array.prototype.forEach.call($("filter-subtype").options, function (o) {
      o.hidden = Boolean(state.family && o.value && o.dataset.family !== state.family);
    });
  }

  /* ---- chunks ------------------------------------------------------------------- */

  function loadChunk(n) {
    if (CHUNKS[n]) return Promise.resolve(CHUNKS[n]);
    if (!pending[n]) {
      pending[n] = new Promise(function (resolve, reject) {
        const script = document.createElement("script");
        script.src = INDEX.chunks[n];
        script.onload = function () {
          if (CHUNKS[n]) resolve(CHUNKS[n]);
          else reject(new Error(INDEX.chunks[n] + " holds no samples"));
        };
        script.onerror = function () {
          delete pending[n];
          reject(new Error("could not load " + INDEX.chunks[n]));
        };
        document.head.appendChild(script);
      });
    }
    return pending[n];
  }

  function sampleAt(i) { return CHUNKS[Math.floor(i / INDEX.chunkSize)][i % INDEX.chunkSize]; }

  /* ---- rendering ---------------------------------------------------------------- */

  function badge(status) { return el("span", "badge " + status, status); }

  function tags(parent, list, cls) {
    (list || []).forEach(function (t) { parent.appendChild(el("span", "tag " + cls + " " + t, t)); });
  }

  function image(img, cls) {
    if (img.missing) return el("div", "missing-image", "image missing from the run: " + img.missing);
    const e = el("img", cls);
    e.src = img.src;
    e.width = img.w;
    e.height = img.h;
    e.loading = "lazy";
    e.decoding = "async";
    e.alt = cls === "heatmap" ? "difference heat-map" : "image";
    return e;
  }

  function overlay(fig) {
    const w = fig.frame[0], h = fig.frame[1];
    const svg = svgEl("svg", { class: "overlay", viewBox: "0 0 " + w + " " + h, preserveAspectRatio: "none" });
    const size = Math.max(10, Math.round(w / 22));
    fig.boxes.forEach(function (b) {
      const [x0, y0, x1, y1] = b.box;
      const g = svgEl("g", { class: "evidence" });
      const title = svgEl("title", {});
      title.textContent = b.role + ": " + b.label;
      const rect = svgEl("rect", { class: "evidence-box role-" + b.role, x: x0, y: y0, width: Math.max(1, x1 - x0), height: Math.max(1, y1 - y0) });
      const label = svgEl("text", { class: "evidence-label", x: x0 + 2, y: Math.max(size, y0 - 3), "font-size": size });
      label.textContent = b.label;
      g.appendChild(title);
      g.appendChild(rect);
      g.appendChild(label);
      svg.appendChild(g);
    });
    return svg;
  }

  function figure(fig) {
    const f = el("figure", "evidence evidence-" + fig.type);
    const frame = el("div", "frame");
    const img = fig.type === "heatmap" ? fig.heatmap : fig.image;
    frame.appendChild(image(img, fig.type === "heatmap" ? "heatmap" : "evidence-image"));
    if (!img.missing && fig.boxes.length) frame.appendChild(overlay(fig));
    f.appendChild(frame);
    f.appendChild(el("figcaption", null, fig.caption));
    return f;
  }

  function verdict(v) {
    const li = el("li", "verdict status-" + v.status);
    li.dataset.status = v.status;
    li.dataset.kind = v.kind;
    li.appendChild(badge(v.status));
    li.appendChild(el("b", "kind", v.kind));
    li.appendChild(el("code", "check", JSON.stringify(v.check)));
    li.appendChild(el("span", "reason", "— " + v.reason));
    tags(li, v.tags, "verdict-tag");
    if (v.judge) li.appendChild(el("span", "judge muted", " (" + v.judge + ")"));
    if (v.probe) li.appendChild(probe(v.probe));
    if (v.figures.length) {
      const figs = el("div", "figures");
      v.figures.forEach(function (fig) { figs.appendChild(figure(fig)); });
      li.appendChild(figs);
    }
    if (v.evidence && Object.keys(v.evidence).length) {
      const d = el("details", "evidence-json");
      d.appendChild(el("summary", "muted", "evidence"));
      d.appendChild(el("pre", null, JSON.stringify(v.evidence, null, 1)));
      li.appendChild(d);
    }
    if (v.children.length) li.appendChild(verdicts(v.children));
    return li;
  }

  function said(answer) {
    if (answer === null || answer === undefined) return "(no answer)";
    return Array.isArray(answer) ? (answer.length ? answer.join(", ") : "(none)") : String(answer);
  }

  /* What the model said about the check before drawing (knows) and after (sees), beside
   * the judge's verdict above it; the diagnosed outcome and its tags. */
  function probe(p) {
    const box = el("div", "probe outcome-" + p.outcome);
    box.dataset.outcome = p.outcome;
    const head = el("span", "probe-head");
    head.appendChild(badge(p.outcome));
    tags(head, p.tags, "diagnosis-tag");
    box.appendChild(el("span", "muted", "diagnosis"));
    box.appendChild(head);
    [["before", "knows", p.askedBefore, p.before, p.knows], ["after", "sees", p.askedAfter, p.after, p.sees]].forEach(function (r) {
      if (r[4] === "not_asked") return;
      const row = el("span", "probe-" + r[0]);
      row.dataset.result = r[4];
      if (r[2]) row.appendChild(el("span", "muted", r[2] + " "));
      row.appendChild(el("span", "said", said(r[3])));
      row.appendChild(el("span", "muted", " (" + r[4] + ")"));
      box.appendChild(el("span", "muted", r[0] === "before" ? "said before drawing" : "said after drawing"));
      box.appendChild(row);
    });
    if (p.reason) {
      box.appendChild(el("span", "muted", "why unknown"));
      box.appendChild(el("span", "probe-reason", p.reason));
    }
    return box;
  }

  function probeCalls(list) {
    const d = el("details", "probe-calls");
    d.appendChild(el("summary", "muted", "probes: " + list.map(function (c) { return c.kind + " " + c.status; }).join(", ")));
    list.forEach(function (c) {
      const row = el("div", "probe-call");
      row.dataset.kind = c.kind;
      row.appendChild(el("b", null, c.kind + " · " + c.status));
      if (c.reason) row.appendChild(el("span", "muted", " — " + c.reason));
      if (c.refusal) row.appendChild(el("div", "refusal", "refused: " + c.refusal));
      if (c.text) row.appendChild(el("pre", null, c.text));
      d.appendChild(row);
    });
    return d;
  }

  function verdicts(list) {
    const ul = el("ul", "verdicts");
    list.forEach(function (v) { ul.appendChild(verdict(v)); });
    return ul;
  }

  function images(list) {
    const box = el("div", "images");
    list.forEach(function (img) { box.appendChild(image(img, "turn-image")); });
    return box;
  }

  function turn(t) {
    const div = el("div", "turn");
    div.dataset.turn = t.index;
    const user = el("div", "user");
    user.appendChild(el("span", "who", "User · turn " + t.index));
    user.appendChild(el("div", "text", t.user));
    if (t.attached.length) user.appendChild(images(t.attached));
    div.appendChild(user);
    const reply = el("div", "reply");
    reply.appendChild(el("span", "who", "Model"));
    if (t.error) reply.appendChild(el("div", "turn-error", "error: " + t.error));
    const r = t.reply;
    if (r) {
      if (r.refusal) reply.appendChild(el("div", "refusal", "refused: " + r.refusal));
      if (r.text) reply.appendChild(el("div", "text", r.text));
      if (r.revised) reply.appendChild(el("div", "muted", "revised prompt: " + r.revised));
      if (r.images.length) reply.appendChild(images(r.images));
      else reply.appendChild(el("span", "muted", "(no image)"));
      reply.appendChild(el("div", "muted", r.latency.toFixed(2) + " s" + (r.cost === null ? "" : " · $" + r.cost.toFixed(4))));
    } else if (!t.error) {
      reply.appendChild(el("span", "muted", "(no reply)"));
    }
    div.appendChild(reply);
    if (t.probes && t.probes.length) div.appendChild(probeCalls(t.probes));
    if (t.verdicts.length) div.appendChild(verdicts(t.verdicts));
    return div;
  }

  function sample(s) {
    const run = INDEX.runs[s.run];
    const art = el("article", "sample outcome-" + s.outcome);
    art.dataset.key = s.key;
    art.dataset.run = run.id;
    art.dataset.outcome = s.outcome;
    const head = el("div", "sample-head");
    head.appendChild(badge(s.outcome));
    head.appendChild(el("h3", null, s.case));
    head.appendChild(el("span", "muted", run.model + " · " + run.id + " · epoch " + s.epoch + " · " + s.family + "/" + s.subtype));
    const tagBox = el("div", "tags");
    tags(tagBox, s.tags, "failure-tag");
    tags(tagBox, s.caseTags, "case-tag");
    head.appendChild(tagBox);
    art.appendChild(head);
    if (s.description) art.appendChild(el("p", "description muted", s.description));
    s.turns.forEach(function (t) { art.appendChild(turn(t)); });
    return art;
  }

  function render() {
    const mine = ++ticket;
    state.page = Math.min(Math.max(1, state.page), pages());
    writeHash();
    const start = (state.page - 1) * INDEX.pageSize;
    const slice = matches.slice(start, start + INDEX.pageSize);
    $("page-info").textContent = "Page " + state.page + " of " + pages() + " · " + matches.length + " sample(s)";
    $("page-prev").disabled = state.page <= 1;
    $("page-next").disabled = state.page >= pages();
    setState("loading");
    const needed = Array.from(new Set(slice.map(function (i) { return Math.floor(i / INDEX.chunkSize); })));
    Promise.all(needed.map(loadChunk)).then(function () {
      if (mine !== ticket) return;
      const box = $("samples");
      box.replaceChildren();
      slice.forEach(function (i) { box.appendChild(sample(sampleAt(i))); });
      if (!slice.length) box.appendChild(el("p", "empty muted", "No sample matches these filters."));
      setState("ready");
    }, function (err) {
      if (mine !== ticket) return;
      $("samples").replaceChildren(el("p", "load-error", err.message));
      setState("error");
    });
  }

  function refresh() {
    syncSelects();
    applyFilters();
    render();
  }

  function start() {
    if (!INDEX) {
      $("samples").replaceChildren(el("p", "load-error", "data/index.js is missing: rebuild the report."));
      setState("error");
      return;
    }
    fillFilters();
    readHash();
    FILTERS.forEach(function (f) {
      $("filter-" + f).addEventListener("change", function (e) {
        state[f] = e.target.value;
        if (f === "family" && state.subtype && state.subtype.split("/")[0] !== state.family && state.family) state.subtype = "";
        state.page = 1;
        refresh();
      });
    });
    $("filter-reset").addEventListener("click", function () {
      FILTERS.forEach(function (f) { state[f] = ""; });
      state.page = 1;
      refresh();
    });
    $("page-prev").addEventListener("click", function () { state.page -= 1; render(); window.scrollTo(0, 0); });
    $("page-next").addEventListener("click", function () { state.page += 1; render(); window.scrollTo(0, 0); });
    window.addEventListener("hashchange", function () { readHash(); refresh(); });
    refresh();
  }

  window.uniprobeGallery = {
    /** The filters and page shown, and the positions of the matching samples. */
    state: function () { return Object.assign({ matches: matches.length }, state); },
  };
  start();
})();
