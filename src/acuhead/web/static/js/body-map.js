// acuhead body map: a tap on a point of the drawing ticks or unticks the matching checkbox, and
// the drawing shows which boxes are ticked. The checkbox list stays the form's real control, so
// the form works the same without this file, by keyboard and with a screen reader.
(function () {
  "use strict";

  function boxFor(picker, code) {
    var boxes = picker.querySelectorAll("input[data-point-box]");
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].value === code) { return boxes[i]; }
    }
    return null;
  }

  function sync(picker) {
    var count = 0;
    picker.querySelectorAll("[data-point]").forEach(function (spot) {
      var box = boxFor(picker, spot.getAttribute("data-point"));
      spot.classList.toggle("on", !!(box && box.checked));
    });
    picker.querySelectorAll("input[data-point-box]").forEach(function (box) {
      if (box.checked) { count += 1; }
    });
    var out = picker.querySelector("[data-point-count]");
    if (out) { out.textContent = String(count); }
  }

  function mark(picker, code, on) {
    picker.querySelectorAll("[data-point]").forEach(function (spot) {
      spot.classList.toggle("focus", on && spot.getAttribute("data-point") === code);
    });
  }

  function init(root) {
    root.querySelectorAll("[data-point-picker]").forEach(sync);
  }

  document.addEventListener("click", function (event) {
    var spot = event.target.closest ? event.target.closest("[data-point]") : null;
    var picker = spot && spot.closest("[data-point-picker]");
    if (!picker) { return; }
    var box = boxFor(picker, spot.getAttribute("data-point"));
    if (box) {
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.matches && t.matches("input[data-point-box]")) {
      var picker = t.closest("[data-point-picker]");
      if (picker) { sync(picker); }
    }
  });

  // Focus on a box outlines its points on the drawing, to help find them.
  document.addEventListener("focusin", function (event) {
    var t = event.target;
    if (t.matches && t.matches("input[data-point-box]")) {
      var picker = t.closest("[data-point-picker]");
      if (picker) { mark(picker, t.value, true); }
    }
  });
  document.addEventListener("focusout", function (event) {
    var t = event.target;
    if (t.matches && t.matches("input[data-point-box]")) {
      var picker = t.closest("[data-point-picker]");
      if (picker) { mark(picker, t.value, false); }
    }
  });

  document.addEventListener("htmx:afterSettle", function () { init(document); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
