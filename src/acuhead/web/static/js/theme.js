// Low-light theme (issue 14): follows prefers-color-scheme; a switch the patient used is
// remembered on this device and wins. Loaded in <head> (not deferred) so a dark page never
// flashes light. The dark rules live in dark.css; this only changes that stylesheet's media.
(function () {
  "use strict";
  var KEY = "acuhead-theme";
  var SYSTEM = "(prefers-color-scheme: dark)";

  function chosen() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function isDark() {
    var c = chosen();
    if (c === "dark") { return true; }
    if (c === "light") { return false; }
    return window.matchMedia && window.matchMedia(SYSTEM).matches;
  }

  function apply() {
    var c = chosen();
    var link = document.getElementById("dark-css");
    if (link) { link.media = c === "dark" ? "all" : c === "light" ? "not all" : SYSTEM; }
    document.documentElement.setAttribute("data-theme", isDark() ? "dark" : "light");
    var button = document.getElementById("theme-switch");
    if (button) {
      button.textContent = isDark() ? "Light screen" : "Dark screen";
      button.setAttribute("aria-pressed", isDark() ? "true" : "false");
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("#theme-switch") : null;
    if (!button) { return; }
    try { window.localStorage.setItem(KEY, isDark() ? "light" : "dark"); } catch (e) { /* private mode */ }
    apply();
  });

  apply();
  document.addEventListener("DOMContentLoaded", apply);
})();
