"""The HTML report's page: its style, its script and the frame they go in. Self-contained: no font, script,
style or image is loaded from anywhere, and the Content-Security-Policy says so (the inline style and script
are allowed by their hashes, nothing else by any source).

The cases travel as one JSON blob (``<script type="application/json">``); the script draws the table from it,
a page of rows at a time, and a case's details (checks, statistics, each call's side-by-side diff) only when it
is opened, so a report of thousands of cases opens at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

STYLE = """
:root{--bad:#b3261e;--good:#1a7f37;--warn:#9a6700;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f23;background:#fff}
main{max-width:1400px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.5rem;margin:.4rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line)}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0;background:var(--soft);padding:.4rem .6rem}
.bad{color:var(--bad);font-weight:600}.good{color:var(--good)}.warn{color:var(--warn)}.muted{color:var(--muted)}
.banner{padding:.5rem .8rem;border-left:4px solid var(--warn);background:#fff8c5;margin:.5rem 0}
table{border-collapse:collapse;margin:.4rem 0}
td,th{border-bottom:1px solid var(--line);padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1rem}
svg.chart{width:100%;height:auto;max-width:760px;font:11px system-ui,sans-serif}
svg .axis{stroke:#8c959f;stroke-width:1}svg .label{fill:#1b1f23;font-weight:600}
svg .tick{fill:var(--muted);text-anchor:end}svg .value{fill:#1b1f23}
svg .up{fill:#2da44e}svg .down{fill:#cf222e}svg .flat{fill:#8c959f}
svg .current{fill:#8c959f}svg .candidate{fill:#218bff}
#filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.6rem 0;position:sticky;top:0;
background:#fff;padding:.4rem 0;z-index:1;border-bottom:1px solid var(--line)}
.chips{display:flex;flex-wrap:wrap;gap:.3rem}
.chip{border:1px solid var(--line);border-radius:1rem;padding:.1rem .6rem;background:#fff;cursor:pointer;font:inherit}
.chip[aria-pressed=false]{opacity:.45;text-decoration:line-through}
input[type=search]{min-width:16rem;padding:.25rem .5rem;font:inherit}
select{font:inherit;padding:.2rem}
table.cases{width:100%}
table.cases th{cursor:pointer;user-select:none;white-space:nowrap}
table.cases th[aria-sort=ascending]::after{content:" ▲"}table.cases th[aria-sort=descending]::after{content:" ▼"}
tr.item{cursor:pointer}tr.item:hover{background:var(--soft)}
tr.item td.name{overflow-wrap:anywhere;min-width:14rem}
tr.detail>td{background:#fbfcfd;padding:.6rem 1rem}
.verdict{font-weight:600;white-space:nowrap}
.tag{display:inline-block;border:1px solid var(--line);border-radius:.3rem;padding:0 .3rem;margin:0 .15rem .1rem 0;
font-size:12px}
.linkish{border:0;background:none;color:#0969da;cursor:pointer;font:inherit;padding:0;text-decoration:underline}
table.sbs{width:100%;table-layout:fixed;margin:.2rem 0;
font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table.sbs td,table.sbs th{white-space:pre-wrap;overflow-wrap:anywhere;border:0;padding:0 .4rem;width:50%}
table.sbs th{font-family:system-ui,sans-serif}
td.del{background:#ffebe9}td.add{background:#dafbe1}td.none{background:var(--soft)}
td.del mark{background:#ffc1ba}td.add mark{background:#aceebb}
tr.fold td{color:#0969da;cursor:pointer;background:var(--soft);text-align:center;font-family:system-ui,sans-serif}
details>summary{cursor:pointer;font-weight:600;margin:.3rem 0}
#more{margin:.6rem 0}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var PAGE = 200, FOLD = 8, LONG = 24;
  var data = JSON.parse(document.getElementById("llm-data").textContent);
  var items = data.items;
  var state = {verdicts: {}, role: data.defaultRole, tag: "", query: "", key: "rank", desc: false, shown: PAGE,
               open: {}};
  data.verdicts.forEach(function (v) { state.verdicts[v] = true; });
  var body = document.getElementById("rows"), count = document.getElementById("count");
  var more = document.getElementById("more");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function fmt(value, digits) { return value === null || value === undefined ? "–" : value.toFixed(digits); }
  function signed(value) {
    return value === null || value === undefined ? "" : (value >= 0 ? "+" : "") + value.toFixed(2);
  }
  function money(value) {
    if (value === null || value === undefined) { return "–"; }
    return "$" + (value >= 0.01 ? value.toFixed(4) : value.toFixed(6));
  }
  function verdictClass(it) { return it.f ? "bad" : it.v === "IMPROVED" ? "good" : it.w ? "warn" : ""; }

  function matches(it) {
    if (!state.verdicts[it.v]) { return false; }
    if (state.role !== "all" && it.r !== state.role) { return false; }
    if (state.tag && it.g.indexOf(state.tag) < 0) { return false; }
    if (state.query) {
      var hay = (it.id + " " + it.v + " " + it.g.join(" ") + " " + (it.m || "")).toLowerCase();
      if (hay.indexOf(state.query) < 0) { return false; }
    }
    return true;
  }
  function sortValue(it) {
    var value = it[state.key];
    return value === null || value === undefined ? null : value;
  }
  function compare(a, b) {
    var x = sortValue(a), y = sortValue(b);
    if (x === y) { return a.rank - b.rank; }
    if (x === null) { return 1; }
    if (y === null) { return -1; }
    var order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return state.desc ? -order : order;
  }

  function cell(row, text, cls) { var td = el("td", cls, text); row.appendChild(td); return td; }
  function itemRow(it) {
    var tr = el("tr", "item");
    tr.dataset.i = it.i;
    tr.dataset.verdict = it.v;
    cell(tr, it.n, "name").title = it.id;
    cell(tr, it.r);
    cell(tr, "").appendChild(el("span", "verdict " + verdictClass(it), it.v));
    cell(tr, fmt(it.b, 2), "num");
    cell(tr, fmt(it.s, 2), "num");
    cell(tr, signed(it.d), "num");
    cell(tr, it.t ? it.t.toLocaleString() : "–", "num");
    cell(tr, money(it.c), "num");
    cell(tr, it.l === null ? "–" : Math.round(it.l).toLocaleString() + " ms", "num");
    var tags = cell(tr, "");
    it.g.forEach(function (tag) { tags.appendChild(el("span", "tag", tag)); });
    tr.addEventListener("click", function () { toggle(it, tr); });
    return tr;
  }

  function render() {
    var shown = items.filter(matches).sort(compare);
    body.textContent = "";
    var fragment = document.createDocumentFragment();
    shown.slice(0, state.shown).forEach(function (it) {
      var tr = itemRow(it);
      fragment.appendChild(tr);
      if (state.open[it.i]) { fragment.appendChild(detailRow(it)); }
    });
    body.appendChild(fragment);
    var visible = Math.min(state.shown, shown.length);
    count.textContent = "Showing " + visible.toLocaleString() + " of " + shown.length.toLocaleString() +
      " matching cases (" + items.length.toLocaleString() + " in the report).";
    more.hidden = shown.length <= state.shown;
    more.textContent = "Show " + Math.min(PAGE, shown.length - visible).toLocaleString() + " more";
  }

  function toggle(it, tr) {
    if (state.open[it.i]) {
      delete state.open[it.i];
      var next = tr.nextSibling;
      if (next && next.className === "detail") { next.parentNode.removeChild(next); }
    } else {
      state.open[it.i] = true;
      tr.parentNode.insertBefore(detailRow(it), tr.nextSibling);
    }
  }

  function folded(text, label) {
    var lines = text.split("\n");
    var pre = el("pre", "", text);
    if (lines.length <= LONG) { return pre; }
    var details = el("details");
    details.appendChild(el("summary", "", label + " (" + lines.length + " lines)"));
    details.appendChild(pre);
    return details;
  }

  function marked(td, text, other) {
    var start = 0, end = 0;
    while (start < text.length && start < other.length && text[start] === other[start]) { start++; }
    while (end < text.length - start && end < other.length - start &&
           text[text.length - 1 - end] === other[other.length - 1 - end]) { end++; }
    td.appendChild(document.createTextNode(text.slice(0, start)));
    td.appendChild(el("mark", "", text.slice(start, text.length - end)));
    td.appendChild(document.createTextNode(text.slice(text.length - end)));
  }

  function diffRow(row) {
    var tr = el("tr"), kind = row[0];
    if (kind === "=") {
      cell(tr, row[1]); cell(tr, row[1]);
    } else if (kind === "~") {
      marked(cell(tr, null, "del"), row[1], row[2]);
      marked(cell(tr, null, "add"), row[2], row[1]);
    } else if (kind === "-") {
      cell(tr, row[1], "del"); cell(tr, "", "none");
    } else if (kind === "+") {
      cell(tr, "", "none"); cell(tr, row[1], "add");
    } else {
      var td = cell(tr, row[1], "muted"); td.colSpan = 2;
    }
    return tr;
  }

  function sideBySide(rows, left, right) {
    var table = el("table", "sbs"), head = el("tr");
    head.appendChild(el("th", "", left));
    head.appendChild(el("th", "", right));
    table.appendChild(head);
    var n = 0;
    while (n < rows.length) {
      if (rows[n][0] !== "=") { table.appendChild(diffRow(rows[n])); n++; continue; }
      var end = n;
      while (end < rows.length && rows[end][0] === "=") { end++; }
      var run = rows.slice(n, end), keepHead = n === 0 ? 0 : 3, keepTail = end === rows.length ? 0 : 3;
      if (run.length <= FOLD || run.length <= keepHead + keepTail + 1) {
        run.forEach(function (row) { table.appendChild(diffRow(row)); });
      } else {
        run.slice(0, keepHead).forEach(function (row) { table.appendChild(diffRow(row)); });
        var hidden = run.slice(keepHead, run.length - keepTail);
        var fold = el("tr", "fold"), td = cell(fold, "⋯ " + hidden.length + " unchanged lines (show)");
        td.colSpan = 2;
        fold.addEventListener("click", function (hiddenRows, foldRow) {
          return function (event) {
            event.stopPropagation();
            hiddenRows.forEach(function (row) { foldRow.parentNode.insertBefore(diffRow(row), foldRow); });
            foldRow.parentNode.removeChild(foldRow);
          };
        }(hidden, fold));
        table.appendChild(fold);
        run.slice(run.length - keepTail).forEach(function (row) { table.appendChild(diffRow(row)); });
      }
      n = end;
    }
    return table;
  }

  function detailRow(it) {
    var tr = el("tr", "detail"), td = el("td");
    td.colSpan = 10;
    tr.appendChild(td);
    td.appendChild(el("div", "muted", it.id + (it.gp ? "  ·  golden " + it.gp : "")));
    if (it.m) { td.appendChild(folded(it.m, "message")); }
    if (it.e) { td.appendChild(el("p", "bad", "test body raised " + it.e)); }
    (it.nt || []).forEach(function (note) { td.appendChild(el("p", "muted", "note: " + note)); });
    if (it.k && it.k.length) {
      var checks = el("table"), head = el("tr");
      ["check", "baseline", "score", "", "detail"].forEach(function (t) { head.appendChild(el("th", "", t)); });
      checks.appendChild(head);
      it.k.forEach(function (c) {
        var row = el("tr");
        cell(row, c[0]); cell(row, fmt(c[1], 2), "num"); cell(row, fmt(c[2], 2), "num");
        cell(row, c[3] ? "pass" : "fail", c[3] ? "good" : "bad"); cell(row, c[4], "muted");
        checks.appendChild(row);
      });
      td.appendChild(checks);
    }
    if (it.q) { td.appendChild(el("pre", "", it.q)); }
    (it.x || []).forEach(function (call) {
      if (call[0]) { td.appendChild(el("div", "muted", call[0])); }
      if (call[1]) { td.appendChild(folded(call[1], "request")); }
      if (call[2]) { td.appendChild(sideBySide(call[2], data.left, it.r === "candidate" ? "candidate" : "answer")); }
      else if (call[3]) { td.appendChild(folded(call[3], "answer")); }
    });
    if (!it.x && it.o) { td.appendChild(folded(it.o, "output")); }
    return tr;
  }

  function rerender() { state.shown = PAGE; render(); }
  Array.prototype.forEach.call(document.querySelectorAll("button.chip"), function (chip) {
    chip.addEventListener("click", function () {
      var verdict = chip.dataset.verdict;
      state.verdicts[verdict] = !state.verdicts[verdict];
      chip.setAttribute("aria-pressed", state.verdicts[verdict] ? "true" : "false");
      rerender();
    });
  });
  document.getElementById("role").addEventListener("change", function (event) {
    state.role = event.target.value; rerender();
  });
  var tagSelect = document.getElementById("tag");
  tagSelect.addEventListener("change", function (event) { state.tag = event.target.value; rerender(); });
  Array.prototype.forEach.call(document.querySelectorAll("button[data-tag]"), function (button) {
    button.addEventListener("click", function () {
      state.tag = button.dataset.tag; tagSelect.value = state.tag; rerender();
      document.getElementById("cases").scrollIntoView();
    });
  });
  var timer = null, search = document.getElementById("search");
  function searched() {
    clearTimeout(timer);
    timer = setTimeout(function () { state.query = search.value.trim().toLowerCase(); rerender(); }, 120);
  }
  ["input", "change", "search"].forEach(function (name) { search.addEventListener(name, searched); });
  Array.prototype.forEach.call(document.querySelectorAll("table.cases th[data-key]"), function (th) {
    th.addEventListener("click", function () {
      var key = th.dataset.key;
      state.desc = state.key === key ? !state.desc : false;
      state.key = key;
      Array.prototype.forEach.call(document.querySelectorAll("table.cases th"), function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", state.desc ? "descending" : "ascending");
      render();
    });
  });
  more.addEventListener("click", function () { state.shown += PAGE; render(); });
  document.getElementById("role").value = state.role;
  render();
}());
"""


def _digest(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


#: Nothing loads from anywhere: only the inline style and script, allowed by their hashes.
POLICY = (
    f"default-src 'none'; style-src {_digest(STYLE)}; script-src {_digest(SCRIPT)}; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)


def data_block(data: dict[str, Any]) -> str:
    """The cases as JSON a browser reads back with ``JSON.parse``; ``</`` escaped so no output can end the block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def page(title: str, body: str, data: dict[str, Any]) -> str:
    """The whole document: ``body`` is trusted HTML built by ``report.html``; ``data`` the cases."""
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{title}</title><style>{STYLE}</style></head>\n'
        f"<body><main>{body}</main>\n"
        f'<script type="application/json" id="llm-data">{data_block(data)}</script>\n'
        f"<script>{SCRIPT}</script></body></html>\n"
    )
