/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  // Leave this site quickly: replace this page in history so "back" does not return here.
  var exit = document.getElementById("quick-exit");
  if (exit) {
    var leave = function (event) {
      if (event) { event.preventDefault(); }
      document.body.style.display = "none";
      try { window.history.replaceState(null, "", "/"); } catch (e) { /* ignore */ }
      window.location.replace(exit.getAttribute("data-neutral") || exit.href);
    };
    exit.addEventListener("click", leave);
    // Pressing Escape three times quickly also leaves.
    var presses = 0, timer = null;
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      presses += 1;
      clearTimeout(timer);
      timer = setTimeout(function () { presses = 0; }, 1200);
      if (presses >= 3) { leave(); }
    });
  }
  // Move focus to the error summary so screen readers announce it.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
