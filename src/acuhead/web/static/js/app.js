// acuhead pages: small progressive enhancements. Every form works without this file.
// Listeners are delegated from the document, so content swapped in by htmx needs no re-binding.
(function () {
  "use strict";

  function headacheValue(form) {
    var checked = form.querySelector('input[name="headache"]:checked');
    return checked ? checked.value : "";
  }

  // Show the attack questions only after "yes", and the aura / extra-attack details only when
  // their box is ticked. Hidden fields are still sent; the server ignores them.
  function applyVisibility(root) {
    root.querySelectorAll("[data-when-headache]").forEach(function (el) {
      var form = el.closest("form");
      if (form) { el.hidden = headacheValue(form) !== el.getAttribute("data-when-headache"); }
    });
    root.querySelectorAll("[data-when-checked]").forEach(function (el) {
      var box = document.getElementById(el.getAttribute("data-when-checked"));
      if (box) { el.hidden = !box.checked; }
    });
  }

  function syncHead(root) {
    root.querySelectorAll(".head-picker").forEach(function (picker) {
      picker.querySelectorAll("[data-region]").forEach(function (region) {
        var box = picker.querySelector('input[name="loc"][value="' + region.getAttribute("data-region") + '"]');
        region.classList.toggle("on", !!(box && box.checked));
      });
    });
  }

  function syncOutputs(root) {
    root.querySelectorAll("input[type=range][data-output]").forEach(function (input) {
      var out = document.getElementById(input.getAttribute("data-output"));
      if (out) { out.textContent = input.value; }
    });
  }

  // Wide charts scroll sideways on a phone: start at the latest period.
  function scrollToEnd(root) {
    root.querySelectorAll("[data-scroll-end]").forEach(function (el) {
      el.scrollLeft = el.scrollWidth;
    });
  }

  // On a phone, data tables become one card per row (app.css); each cell is labelled with its
  // column's heading so the card still says what each value is.
  function labelCells(root) {
    root.querySelectorAll("table.data").forEach(function (table) {
      var heads = Array.prototype.map.call(
        table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
      if (!heads.length) { return; }
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (cell, i) {
          if (heads[i] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", heads[i]); }
        });
      });
    });
  }

  function init(root) {
    labelCells(root);
    scrollToEnd(root);
    applyVisibility(root);
    syncHead(root);
    syncOutputs(root);
    var errors = root.querySelector ? root.querySelector("#form-errors") : null;
    if (errors && root === document) { errors.focus(); }
  }

  document.addEventListener("click", function (event) {
    var region = event.target.closest ? event.target.closest("[data-region]") : null;
    if (!region) { return; }
    var picker = region.closest(".head-picker");
    var box = picker && picker.querySelector('input[name="loc"][value="' + region.getAttribute("data-region") + '"]');
    if (box) {
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t.name === "loc") { syncHead(document); }
    if (t.name === "headache" || t.type === "checkbox" || t.type === "radio") {
      applyVisibility(document);
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[type=range][data-output]")) {
      syncOutputs(document);
    }
  });

  document.addEventListener("htmx:afterSettle", function () { init(document); });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
