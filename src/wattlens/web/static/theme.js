// Theme: applied before first paint (this file loads in <head>), remembered in localStorage.
(function () {
  "use strict";
  var KEY = "wattlens.theme";
  var root = document.documentElement;
  function stored() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }
  var theme = stored();
  if (theme !== "light" && theme !== "dark") {
    theme = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  root.dataset.theme = theme;
  function label(button) {
    button.textContent = root.dataset.theme === "dark" ? "Light theme" : "Dark theme";
  }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    label(button);
    button.addEventListener("click", function () {
      root.dataset.theme = root.dataset.theme === "dark" ? "light" : "dark";
      try { localStorage.setItem(KEY, root.dataset.theme); } catch (e) { /* private mode */ }
      label(button);
      document.dispatchEvent(new CustomEvent("wattlens:theme"));
    });
  });
})();
