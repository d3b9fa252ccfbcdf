// The item page: boxes on the page image, field <-> box focus, Enter to the next field that
// needs review, and the keyboard shortcuts listed under "?". No inline script (CSP).
(function () {
  "use strict";
  function placeBoxes() {
    document.querySelectorAll(".page-wrap").forEach(function (wrap) {
      var img = wrap.querySelector("img");
      var w = parseFloat(wrap.dataset.w || 0), h = parseFloat(wrap.dataset.h || 0);
      if (!w || !h) return;
      wrap.querySelectorAll(".box, .word").forEach(function (box) {
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
  // Re-capture: the page's words (read by the text stage, fetched once per page) lie over
  // the image; with a field focused, a click on a word fills it (shift+click adds the word)
  // and the box of the words picked goes with the save. With no field focused a click on a
  // word acts as a click on the field box beneath it.
  function loadWords(wrap) {
    var url = wrap.dataset.words;
    if (!url || !window.fetch) return;
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        var layer = document.createElement("div");
        layer.className = "words"; layer.setAttribute("aria-hidden", "true");
        data.words.forEach(function (w) {
          var el = document.createElement("span");
          el.className = "word"; el.dataset.bbox = w.b.join(","); el.dataset.text = w.t;
          el.addEventListener("mousedown", function (ev) { ev.preventDefault(); });
          el.addEventListener("click", function (ev) { pickWord(el, wrap, ev.shiftKey); });
          layer.appendChild(el);
        });
        wrap.appendChild(layer);
        wrap.classList.add("has-words");
        placeBoxes();
      });
  }
  function boxUnder(word, wrap) {
    var b = word.dataset.bbox.split(",").map(parseFloat), cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
    var found = null;
    wrap.querySelectorAll(".box").forEach(function (box) {
      var r = box.dataset.bbox.split(",").map(parseFloat);
      if (!found && cx >= r[0] && cx <= r[2] && cy >= r[1] && cy <= r[3]) found = box;
    });
    return found;
  }
  function pickWord(word, wrap, add) {
    var input = document.activeElement;
    if (!input || !input.dataset || !input.dataset.field || input.readOnly || !input.form) {
      var box = boxUnder(word, wrap); if (box) box.click();
      return;
    }
    var pb = input.form.elements["pick_bbox"], pp = input.form.elements["pick_page"];
    var b = word.dataset.bbox.split(",").map(parseFloat), page = wrap.dataset.page;
    if (add && pb && pb.value && pp.value === page) {
      var o = pb.value.split(",").map(parseFloat);
      b = [Math.min(o[0], b[0]), Math.min(o[1], b[1]), Math.max(o[2], b[2]), Math.max(o[3], b[3])];
      input.value = input.value + " " + word.dataset.text;
    } else {
      document.querySelectorAll(".word.picked").forEach(function (w) { w.classList.remove("picked"); });
      input.value = word.dataset.text;
    }
    word.classList.add("picked");
    if (pb) { pb.value = b.join(","); pp.value = page; }
    input.focus();
  }
  // The claim is renewed while the page is open and in use: a page left alone for longer
  // than the session's idle time stops renewing, so the lease runs out and frees the item.
  var lastActive = Date.now();
  function keepAlive() {
    ["keydown", "mousedown", "mousemove", "scroll", "focusin"].forEach(function (name) {
      document.addEventListener(name, function () { lastActive = Date.now(); }, {passive: true});
    });
    document.body.addEventListener("htmx:confirm", function (ev) {
      var el = ev.detail && ev.detail.elt;
      if (!el || el.id !== "lease-status") return;
      var idle = parseFloat(el.dataset.idleSeconds || "0");
      if (idle && Date.now() - lastActive > idle * 1000) {
        ev.preventDefault();
        el.textContent = "You have been away: your claim on this item is no longer renewed. Reload the page to work on it.";
      }
    });
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
    keepAlive();
    document.querySelectorAll(".page-wrap[data-words]").forEach(loadWords);
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
