/* bench site: sortable/filterable tables and SVG plots drawn from the page's embedded data.
   Inlined into every page by bench/reports/site.py; no library, no network. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("bench-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var PALETTE = ["#2457c5", "#d9482b", "#2d9b5a", "#8e44ad", "#e08e0b", "#17a2b8", "#c2185b", "#5d6d7e", "#7cb342", "#6d4c41", "#3949ab", "#00897b"];

  function svg(tag, attrs, parent) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function thousands(n) { return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    var a = Math.abs(v);
    if (a >= 1000) return thousands(v);
    if (a >= 100) return v.toFixed(1);
    if (a === 0) return "0";
    return v.toPrecision(3);
  }
  function si(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9) + "G";
    if (a >= 1e6) return (v / 1e6) + "M";
    if (a >= 1e3) return (v / 1e3) + "k";
    return String(v);
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }

  /* ---- tooltip ---- */
  var tip = html("div", { id: "tip" }, document.body);
  function showTip(lines, evt) {
    tip.innerHTML = lines.map(function (l, i) { return i === 0 ? "<b>" + esc(l) + "</b>" : esc(l); }).join("<br>");
    tip.style.display = "block";
    var x = Math.min(evt.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = Math.min(evt.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hideTip() { tip.style.display = "none"; }
  function hover(el, lines) {
    el.addEventListener("mousemove", function (e) { showTip(lines, e); });
    el.addEventListener("mouseleave", hideTip);
  }

  /* ---- tables: sort, group, filter, drill-down ---- */
  function units(table) {
    var out = [];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (tr) {
      if (tr.classList.contains("detail")) { if (out.length) out[out.length - 1].detail = tr; }
      else out.push({ main: tr, detail: null });
    });
    return out;
  }
  function cellValue(tr, i) {
    var td = tr.cells[i];
    if (!td || td.dataset.v === undefined || td.dataset.v === "") return null;
    var n = Number(td.dataset.v);
    return isNaN(n) ? td.dataset.v.toLowerCase() : n;
  }
  function cmp(a, b, dir) {
    if (a === null && b === null) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    return a < b ? -dir : a > b ? dir : 0;
  }
  function arrange(table) {
    var col = Number(table.dataset.sortCol || -1), dir = Number(table.dataset.sortDir || 1);
    var grouped = table.dataset.grouped === "1";
    var us = units(table);
    var order = function (u, v) {
      var c = col >= 0 ? cmp(cellValue(u.main, col), cellValue(v.main, col), dir) : 0;
      return c || Number(u.main.dataset.order) - Number(v.main.dataset.order);
    };
    var buckets = {}, keys = [];
    us.forEach(function (u, i) {
      var k = grouped ? u.main.dataset.group : "u" + i;
      if (!buckets[k]) { buckets[k] = []; keys.push(k); }
      buckets[k].push(u);
    });
    keys.forEach(function (k) { buckets[k].sort(order); });
    keys.sort(function (a, b) { return order(buckets[a][0], buckets[b][0]); });
    if (grouped) {  // the entry's own row heads its group; its variants and published rows follow
      keys.forEach(function (k) {
        var b = buckets[k], i = b.findIndex(function (u) { return u.main.dataset.base === "1"; });
        if (i > 0) b.unshift(b.splice(i, 1)[0]);
      });
    }
    var body = table.tBodies[0];
    keys.forEach(function (k) {
      buckets[k].forEach(function (u, j) {
        u.main.classList.toggle("sub", grouped && j > 0);
        body.appendChild(u.main);
        if (u.detail) body.appendChild(u.detail);
      });
    });
  }
  function initTable(table) {
    var ths = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, i) {
      if (th.dataset.sort === undefined) return;
      th.addEventListener("click", function () {
        var first = th.dataset.sort === "desc" ? -1 : 1;
        var dir = Number(table.dataset.sortCol) === i ? -Number(table.dataset.sortDir) : first;
        Array.prototype.forEach.call(ths, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
        table.dataset.sortCol = i;
        table.dataset.sortDir = dir;
        arrange(table);
      });
    });
    units(table).forEach(function (u) {
      var b = u.main.querySelector("button.drill");
      if (!b || !u.detail) return;
      b.addEventListener("click", function () {
        var open = b.getAttribute("aria-expanded") !== "true";
        b.setAttribute("aria-expanded", open ? "true" : "false");
        b.textContent = open ? "▾" : "▸";
        u.detail.hidden = !open || u.main.hidden;
      });
    });
    arrange(table);
  }

  function applyFilter(section) {
    var table = section.querySelector("table.board");
    if (!table) return;
    var q = (section.querySelector("input.filter") || { value: "" }).value.toLowerCase().split(/\s+/).filter(Boolean);
    var showPub = (section.querySelector("input.show-pub") || { checked: true }).checked;
    var visible = {};
    units(table).forEach(function (u) {
      var text = (u.main.dataset.search || "").toLowerCase();
      var ok = q.every(function (w) { return text.indexOf(w) >= 0; });
      if (u.main.classList.contains("pub") && !showPub) ok = false;
      u.main.hidden = !ok;
      if (u.detail) {
        var b = u.main.querySelector("button.drill");
        u.detail.hidden = !ok || !b || b.getAttribute("aria-expanded") !== "true";
      }
      if (ok) visible[u.main.dataset.key] = true;
    });
    section.plotVisible = visible;
    (section.redraw || []).forEach(function (f) { f(); });
  }
  function initSection(section) {
    var table = section.querySelector("table.board");
    var g = section.querySelector("input.group");
    if (table && g) g.addEventListener("change", function () { table.dataset.grouped = g.checked ? "1" : "0"; arrange(table); });
    section.querySelectorAll("input.filter, input.show-pub").forEach(function (el) {
      el.addEventListener("input", function () { applyFilter(section); });
      el.addEventListener("change", function () { applyFilter(section); });
    });
  }

  /* ---- scales ---- */
  function linear(d0, d1, r0, r1) { return function (v) { return r0 + (v - d0) / ((d1 - d0) || 1) * (r1 - r0); }; }
  function niceTicks(lo, hi, n) {
    var span = hi - lo || 1, step = Math.pow(10, Math.floor(Math.log10(span / n)));
    [1, 2, 5, 10].some(function (m) { if (span / (step * m) <= n) { step *= m; return true; } return false; });
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(12)));
    return out;
  }

  /* ---- scatter with Pareto front ---- */
  function paretoFront(pts) {
    var s = pts.slice().sort(function (a, b) { return a.x - b.x || b.y - a.y; });
    var best = -Infinity, front = [];
    s.forEach(function (p) { if (p.y > best) { front.push(p); best = p.y; } });
    return front;
  }
  function scatter(holder, spec, section) {
    var W = 760, H = 430, M = { l: 66, r: 150, t: 14, b: 50 };
    var choice = html("div", { class: "axes-choice" }, holder);
    var box = svg("svg", { class: "scatter", width: W, height: H, viewBox: "0 0 " + W + " " + H, "data-plot": spec.id }, holder);
    var showPub = section ? section.querySelector("input.show-pub") : null;
    var state = { axis: spec.axes[0].key };
    spec.axes.forEach(function (a) {
      var b = html("button", { type: "button", "data-axis": a.key }, choice, a.button);
      b.addEventListener("click", function () { state.axis = a.key; draw(); });
    });
    function draw() {
      while (box.firstChild) box.removeChild(box.firstChild);
      choice.querySelectorAll("button").forEach(function (b) { b.classList.toggle("on", b.dataset.axis === state.axis); });
      var axis = spec.axes.filter(function (a) { return a.key === state.axis; })[0];
      var floor = axis.log ? (axis.floor || 1) : -Infinity;
      var vis = section && section.plotVisible;
      var pubOn = !showPub || showPub.checked;
      var pts = spec.points.filter(function (p) { return p.x[state.axis] && (p.pub ? pubOn : true); }).map(function (p) {
        return { p: p, x: p.x[state.axis][0], xs: p.x[state.axis][1], y: p.y[0], ys: p.y[1], shown: p.pub || !vis || vis[p.key] };
      });
      var xs = pts.map(function (q) { return axis.log ? Math.log10(Math.max(q.x, floor)) : q.x; });
      var ys = [];
      pts.forEach(function (q) { ys.push(q.y - q.ys, q.y + q.ys); });
      if (!pts.length) { svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, box).textContent = "no points with this figure"; return; }
      var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
      if (axis.log) { x0 = Math.floor(x0 - 0.15); x1 = Math.ceil(x1 + 0.15); } else { var pad = (x1 - x0) * 0.08 || 1; x0 -= pad; x1 += pad; }
      var y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys), yp = (y1 - y0) * 0.08 || 0.05;
      y0 -= yp; y1 += yp;
      var X = linear(x0, x1, M.l, W - M.r), Y = linear(y0, y1, H - M.b, M.t);
      var px = function (v) { return X(axis.log ? Math.log10(Math.max(v, floor)) : v); };
      var grid = svg("g", { class: "grid" }, box), ax = svg("g", { class: "axis" }, box);
      niceTicks(y0, y1, 6).forEach(function (t) {
        svg("line", { x1: M.l, x2: W - M.r, y1: Y(t), y2: Y(t) }, grid);
        svg("text", { x: M.l - 6, y: Y(t) + 4, "text-anchor": "end", "font-size": 11 }, ax).textContent = t.toFixed(2);
      });
      var xt = axis.log ? (function () { var o = []; for (var e = x0; e <= x1; e++) o.push(e); return o; })() : niceTicks(x0, x1, 6);
      xt.forEach(function (t) {
        svg("line", { x1: X(t), x2: X(t), y1: M.t, y2: H - M.b }, grid);
        svg("text", { x: X(t), y: H - M.b + 16, "text-anchor": "middle", "font-size": 11 }, ax).textContent = axis.log ? si(Math.pow(10, t)) : fmt(t);
      });
      svg("path", { d: "M" + M.l + "," + M.t + "V" + (H - M.b) + "H" + (W - M.r), fill: "none" }, ax);
      svg("text", { x: (M.l + W - M.r) / 2, y: H - 10, "text-anchor": "middle", "font-size": 12 }, ax).textContent = axis.label + (axis.log ? " (log)" : "");
      var yl = svg("text", { x: 14, y: (M.t + H - M.b) / 2, "text-anchor": "middle", "font-size": 12, transform: "rotate(-90 14 " + (M.t + H - M.b) / 2 + ")" }, ax);
      yl.textContent = spec.ylabel + " (mean ± std across recordings)";
      var measured = pts.filter(function (q) { return !q.p.pub && q.shown; });
      var front = paretoFront(measured);
      if (front.length > 1) {
        svg("polyline", { class: "front", points: front.map(function (q) { return px(q.x) + "," + Y(q.y); }).join(" ") }, box);
      }
      var layer = svg("g", {}, box), placed = [];
      function place(t, text) {  // move a label down until it overlaps no label placed before
        t.textContent = text;
        var w = 6.2 * text.length, x = Number(t.getAttribute("x")), y = Number(t.getAttribute("y"));
        for (var n = 0; n < 8 && placed.some(function (r) { return x < r[0] + r[2] && r[0] < x + w && Math.abs(y - r[1]) < 12; }); n++) y += 12;
        t.setAttribute("y", y);
        placed.push([x, y, w]);
      }
      pts.forEach(function (q) {
        var cx = px(q.x), cy = Y(q.y), color = q.p.pub ? null : PALETTE[q.p.color % PALETTE.length];
        var g = svg("g", { class: q.shown ? "" : "hidden-pt" }, layer);
        if (!q.p.pub) {
          svg("line", { class: "err", x1: cx, x2: cx, y1: Y(q.y - q.ys), y2: Y(q.y + q.ys), stroke: color }, g);
          if (q.xs > 0) svg("line", { class: "err", x1: px(Math.max(q.x - q.xs, floor)), x2: px(q.x + q.xs), y1: cy, y2: cy, stroke: color }, g);
          var c = svg("circle", { class: "pt", cx: cx, cy: cy, r: 6.5, fill: color, "data-key": q.p.key }, g);
          hover(c, q.p.info.concat([spec.ylabel + ": " + fmt(q.y) + " ± " + fmt(q.ys), axis.label + ": " + fmt(q.x) + " ± " + fmt(q.xs), front.indexOf(q) >= 0 ? "on the Pareto front" : "dominated"]));
          place(svg("text", { class: "lbl", x: cx + 9, y: cy - 7 }, g), q.p.label);
        } else {
          var d = svg("path", { class: "pub-pt", d: "M" + cx + "," + (cy - 7) + "l7,7l-7,7l-7,-7z" }, g);
          hover(d, q.p.info.concat([spec.ylabel + ": " + fmt(q.y) + " ± " + fmt(q.ys), axis.label + ": " + fmt(q.x)]));
          place(svg("text", { class: "pub-lbl", x: cx + 9, y: cy + 12 }, g), q.p.label);
        }
      });
      var lg = svg("g", { "font-size": 11 }, box), lx = W - M.r + 14;
      svg("circle", { cx: lx, cy: M.t + 10, r: 5, fill: PALETTE[0] }, lg);
      svg("text", { x: lx + 10, y: M.t + 14 }, lg).textContent = "measured by bench";
      var ly = M.t + 30;
      if (spec.points.some(function (p) { return p.pub; })) {
        svg("path", { class: "pub-pt", d: "M" + lx + "," + (ly - 6) + "l6,6l-6,6l-6,-6z" }, lg);
        svg("text", { x: lx + 10, y: ly + 4 }, lg).textContent = "published (real data)";
        ly += 20;
      }
      svg("line", { class: "front", x1: lx - 6, x2: lx + 6, y1: ly, y2: ly }, lg);
      svg("text", { x: lx + 10, y: ly + 4 }, lg).textContent = "Pareto front";
    }
    if (section) { section.redraw = section.redraw || []; section.redraw.push(draw); }
    draw();
  }

  /* ---- colour maps ---- */
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function ramp(stops, t) {
    t = Math.max(0, Math.min(1, t));
    var f = t * (stops.length - 1), i = Math.min(Math.floor(f), stops.length - 2), u = f - i;
    var c = stops[i].map(function (a, k) { return Math.round(a + (stops[i + 1][k] - a) * u); });
    return "rgb(" + c.join(",") + ")";
  }

  /* ---- window heatmap ---- */
  function heatmap(holder, spec) {
    var cw = 92, ch = 44, M = { l: 80, t: 16, r: 20, b: 52 };
    var W = M.l + cw * spec.wss.length + M.r, H = M.t + ch * spec.ns.length + M.b;
    var box = svg("svg", { class: "heatmap", width: W, height: H, viewBox: "0 0 " + W + " " + H }, holder);
    var vals = [];
    spec.mean.forEach(function (r) { r.forEach(function (v) { if (v !== null) vals.push(v); }); });
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    spec.ns.forEach(function (n, i) {
      var y = M.t + ch * (spec.ns.length - 1 - i);
      svg("text", { x: M.l - 8, y: y + ch / 2 + 4, "text-anchor": "end", "font-size": 12 }, box).textContent = "N = " + n;
      spec.wss.forEach(function (ws, j) {
        var v = spec.mean[i][j], x = M.l + cw * j;
        var r = svg("rect", { class: "cell", x: x, y: y, width: cw - 2, height: ch - 2, fill: v === null ? "#eee" : ramp(VIRIDIS, (v - lo) / ((hi - lo) || 1)) }, box);
        if (v !== null) {
          svg("text", { x: x + cw / 2, y: y + ch / 2 + 4, "text-anchor": "middle", "font-size": 12, fill: (v - lo) / ((hi - lo) || 1) > 0.6 ? "#000" : "#fff" }, box).textContent = v.toFixed(3);
          hover(r, ["WS " + ws + " samples (" + ws * 4 + " ms), N = " + n, "R2 " + v.toFixed(3) + " ± " + spec.std[i][j].toFixed(3), spec.count[i][j] + " recording(s), seeds averaged first"]);
        }
      });
    });
    spec.wss.forEach(function (ws, j) {
      svg("text", { x: M.l + cw * j + cw / 2, y: H - M.b + 18, "text-anchor": "middle", "font-size": 12 }, box).textContent = ws + " (" + ws * 4 + " ms)";
    });
    svg("text", { x: M.l + cw * spec.wss.length / 2, y: H - 10, "text-anchor": "middle", "font-size": 12 }, box).textContent = "window size WS (4 ms samples)";
  }

  /* ---- pruning curve ---- */
  function curve(holder, spec) {
    var W = 620, H = 360, M = { l: 60, r: 70, t: 34, b: 46 };
    var box = svg("svg", { class: "curve", width: W, height: H, viewBox: "0 0 " + W + " " + H }, holder);
    var X = linear(0, 1, M.l, W - M.r);
    var r2 = spec.points.map(function (p) { return [p.r2 - p.r2_std, p.r2 + p.r2_std]; }).reduce(function (a, b) { return a.concat(b); }, []);
    var ylo = Math.min.apply(null, r2), yhi = Math.max.apply(null, r2), pad = (yhi - ylo) * 0.1 || 0.05;
    var Y = linear(ylo - pad, yhi + pad, H - M.b, M.t);
    var mmax = Math.max.apply(null, spec.points.map(function (p) { return p.macs; })) || 1;
    var Y2 = linear(0, mmax * 1.1, H - M.b, M.t);
    var ax = svg("g", { class: "axis" }, box), grid = svg("g", { class: "grid" }, box);
    niceTicks(ylo - pad, yhi + pad, 5).forEach(function (t) {
      svg("line", { x1: M.l, x2: W - M.r, y1: Y(t), y2: Y(t) }, grid);
      svg("text", { x: M.l - 6, y: Y(t) + 4, "text-anchor": "end", "font-size": 11, fill: "#2457c5" }, ax).textContent = t.toFixed(2);
    });
    niceTicks(0, mmax * 1.1, 5).forEach(function (t) {
      svg("text", { x: W - M.r + 6, y: Y2(t) + 4, "font-size": 11, fill: "#d9482b" }, ax).textContent = si(t / 1000) + "k";
    });
    [0, 0.2, 0.4, 0.6, 0.8, 1].forEach(function (t) {
      svg("text", { x: X(t), y: H - M.b + 16, "text-anchor": "middle", "font-size": 11 }, ax).textContent = t.toFixed(1);
    });
    svg("path", { d: "M" + M.l + "," + M.t + "V" + (H - M.b) + "H" + (W - M.r) + "V" + M.t, fill: "none" }, ax);
    svg("text", { x: (M.l + W - M.r) / 2, y: H - 10, "text-anchor": "middle", "font-size": 12 }, ax).textContent = "target pruning rate";
    svg("polyline", { points: spec.points.map(function (p) { return X(p.rate) + "," + Y(p.r2); }).join(" "), fill: "none", stroke: "#2457c5", "stroke-width": 2 }, box);
    svg("polyline", { points: spec.points.map(function (p) { return X(p.rate) + "," + Y2(p.macs); }).join(" "), fill: "none", stroke: "#d9482b", "stroke-width": 2, "stroke-dasharray": "6 3" }, box);
    spec.points.forEach(function (p) {
      svg("line", { x1: X(p.rate), x2: X(p.rate), y1: Y(p.r2 - p.r2_std), y2: Y(p.r2 + p.r2_std), stroke: "#2457c5" }, box);
      var lines = ["target rate " + p.rate, "R2 " + p.r2.toFixed(3) + " ± " + p.r2_std.toFixed(3), "effective MACs " + fmt(p.macs), "connection sparsity " + fmt(p.sparsity), p.recordings + " recording(s)"];
      hover(svg("circle", { cx: X(p.rate), cy: Y(p.r2), r: 5, fill: "#2457c5" }, box), lines);
      hover(svg("rect", { x: X(p.rate) - 4, y: Y2(p.macs) - 4, width: 8, height: 8, fill: "#d9482b" }, box), lines);
    });
    svg("text", { x: M.l, y: 16, "font-size": 12, fill: "#2457c5" }, box).textContent = "● R2 (± std over recordings)";
    svg("text", { x: W - M.r, y: 16, "font-size": 12, fill: "#d9482b", "text-anchor": "end" }, box).textContent = "■ effective MACs (right axis)";
  }

  /* ---- confusion matrices ---- */
  function confusionPanel(holder, p) {
    var k = p.classes.length, cell = k <= 4 ? 64 : Math.max(7, Math.floor(420 / k)), M = { l: k <= 4 ? 60 : 40, t: 8, r: 10, b: k <= 4 ? 40 : 36 };
    var W = M.l + cell * k + M.r, H = M.t + cell * k + M.b;
    var wrap = html("div", { class: "plot" }, holder);
    html("h3", {}, wrap, p.label + " (" + p.task + "): accuracy " + (100 * p.accuracy).toFixed(1) + "%, n = " + p.n + (p.seeds > 1 ? ", " + p.seeds + " seeds summed" : ""));
    var box = svg("svg", { class: "confusion", width: W, height: H, viewBox: "0 0 " + W + " " + H }, wrap);
    p.matrix.forEach(function (row, i) {
      var tot = row.reduce(function (a, b) { return a + b; }, 0) || 1;
      row.forEach(function (c, j) {
        var share = c / tot, x = M.l + cell * j, y = M.t + cell * i;
        var r = svg("rect", { x: x, y: y, width: cell - 1, height: cell - 1, fill: ramp([[247, 251, 255], [107, 174, 214], [8, 48, 107]], share) }, box);
        hover(r, ["true " + p.classes[i] + ", predicted " + p.classes[j], c + " windows (" + (100 * share).toFixed(1) + "% of the true class)"]);
        if (k <= 4) svg("text", { x: x + cell / 2, y: y + cell / 2 + 4, "text-anchor": "middle", "font-size": 12, fill: share > 0.5 ? "#fff" : "#000" }, box).textContent = c;
      });
      if (k <= 4) svg("text", { x: M.l - 6, y: M.t + cell * i + cell / 2 + 4, "text-anchor": "end", "font-size": 12 }, box).textContent = p.classes[i];
    });
    if (k <= 4) p.classes.forEach(function (c, j) { svg("text", { x: M.l + cell * j + cell / 2, y: M.t + cell * k + 16, "text-anchor": "middle", "font-size": 12 }, box).textContent = c; });
    svg("text", { x: M.l + cell * k / 2, y: H - 6, "text-anchor": "middle", "font-size": 12 }, box).textContent = "predicted →   (rows: true class" + (k > 4 ? ", " + k + " objects; hover a cell" : "") + ")";
  }
  function confusion(holder, spec) {
    var bar = html("div", { class: "toolbar" }, holder);
    html("label", {}, bar, "Session ");
    var sel = html("select", { "aria-label": "session" }, bar);
    spec.sessions.forEach(function (s) { html("option", { value: s.session }, sel, s.session); });
    var area = html("div", { class: "plots" }, holder);
    function draw() {
      while (area.firstChild) area.removeChild(area.firstChild);
      spec.sessions.filter(function (s) { return s.session === sel.value; })[0].panels.forEach(function (p) { confusionPanel(area, p); });
    }
    sel.addEventListener("change", draw);
    draw();
  }

  /* ---- wire up ---- */
  document.querySelectorAll("table.sortable").forEach(initTable);
  document.querySelectorAll("section.board").forEach(initSection);
  (DATA.scatter || []).forEach(function (s) {
    var holder = document.getElementById(s.id);
    if (holder) scatter(holder, s, holder.closest("section.board"));
  });
  (DATA.heatmaps || []).forEach(function (s) { var h = document.getElementById(s.id); if (h) heatmap(h, s); });
  (DATA.curves || []).forEach(function (s) { var h = document.getElementById(s.id); if (h) curve(h, s); });
  (DATA.confusion || []).forEach(function (s) { var h = document.getElementById(s.id); if (h) confusion(h, s); });
  document.querySelectorAll("section.board").forEach(applyFilter);
})();
