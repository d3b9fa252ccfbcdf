// The item page: boxes on the page image, field <-> box focus, Enter to the next field that
// needs review, and the keyboard shortcuts listed under "?". No inline script (CSP).
(function () {
  "use strict";
  function placeBoxes() {
    document.querySelectorAll(".page-wrap").forEach(function (wrap) {
      var img = wrap.querySelector("img");
      var w = parseFloat(wrap.dataset.w || 0), h = parseFloat(wrap.dataset.h || 0);
      if (!w || !h) return;
      wrap.querySelectorAll(".box").forEach(function (box) {
        var b = box.dataset.bbox.split(",").map(parseFloat);
        box.style.left = (100 * b[0] / w) + "%";
        box.style.top = (100 * b[1] / h) + "%";
        box.style.width = (100 * (b[2] - b[0]) / w) + "%";
        box.style.height = (100 * (b[3] - b[1]) / h) + "%";
      });
    });
  }
  function sizePages() {
    document.querySelectorAll(".page-wrap").forEach(function (wrap) {
      var img = wrap.querySelector("img");
      var ready = function () {
        // the page is rendered at a known dpi: its size in points = pixels * 72 / dpi
        var dpi = parseFloat(wrap.dataset.dpi || "72");
        wrap.dataset.w = img.naturalWidth * 72 / dpi;
        wrap.dataset.h = img.naturalHeight * 72 / dpi;
        placeBoxes();
      };
      if (img.complete && img.naturalWidth) ready(); else img.addEventListener("load", ready);
    });
  }
  function highlight(field) {
    document.querySelectorAll(".box.focus").forEach(function (b) { b.classList.remove("focus"); });
    var box = document.querySelector('.box[data-field="' + field + '"]');
    if (box) { box.classList.add("focus"); box.scrollIntoView({block: "center", inline: "nearest"}); }
  }
  function fieldInputs() { return Array.prototype.slice.call(document.querySelectorAll("input[data-field]")); }
  function nextNeeding(after) {
    var all = fieldInputs(), start = after ? all.indexOf(after) : -1;
    for (var i = 1; i <= all.length; i++) {
      var el = all[(start + i) % all.length];
      if (el.dataset.needsReview && el !== after) return el;
    }
    return null;
  }
  function onKey(ev) {
    var t = ev.target, inField = t.matches && t.matches("input, textarea, select");
    if (inField && t.dataset.field && ev.key === "Enter") {
      ev.preventDefault();
      if (t.value !== t.defaultValue && !t.readOnly) { t.form.submit(); return; }
      var n = nextNeeding(t); if (n) n.focus();
      return;
    }
    if (ev.key === "Escape" && inField) { t.blur(); return; }
    if (inField || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var click = function (sel) { var el = document.querySelector(sel); if (el) el.click(); };
    var focus = function (sel) { var el = document.querySelector(sel); if (el) el.focus(); };
    switch (ev.key) {
      case "?": var d = document.getElementById("help"); if (d) d.open ? d.close() : d.showModal(); break;
      case "a": click("#approve"); break;
      case "r": focus("#note-reject"); break;
      case "h": focus("#note-hold"); break;
      case "g": focus("#note-reassign"); break;
      case "c": focus("#comment-body"); break;
      case "n": click("#next-item"); break;
      case "q": window.location.href = "/"; break;
      case "o": click("a.item-link"); break;
      case "f": var f = nextNeeding(null); if (f) f.focus(); break;
      default: return;
    }
    ev.preventDefault();
  }
  function init() {
    sizePages();
    fieldInputs().forEach(function (el) {
      el.addEventListener("focus", function () { highlight(el.dataset.field); });
    });
    document.querySelectorAll(".box").forEach(function (box) {
      box.addEventListener("click", function () {
        var input = document.getElementById("f-" + box.dataset.field);
        if (input) input.focus(); else highlight(box.dataset.field);
      });
    });
    document.addEventListener("keydown", onKey);
    var params = new URLSearchParams(window.location.search);
    var after = params.get("after") ? document.getElementById("f-" + params.get("after")) : null;
    if (document.querySelector(".page-wrap") && !document.getElementById("error")) {
      var first = nextNeeding(after); if (first && !first.readOnly) first.focus();
    }
  }
  document.addEventListener("DOMContentLoaded", init);
})();
