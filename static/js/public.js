/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  // Leave this site quickly: hide the page at once, tell our server to forget this browser's
  // session (the same /leave the link goes to without JavaScript), and replace this page in
  // history with the neutral site, so "back" does not return here.
  var exit = document.getElementById("quick-exit");
  if (exit) {
    var leave = function (event) {
      if (event) { event.preventDefault(); }
      document.body.style.display = "none";
      document.title = "";
      try {
        if (window.fetch) {
          window.fetch(exit.href, { credentials: "same-origin", redirect: "manual", keepalive: true, cache: "no-store" })
            .catch(function () { /* leaving matters more than the answer */ });
        }
      } catch (e) { /* ignore */ }
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

  // Contact details only when contact is chosen. While "Stay anonymous" is chosen they are hidden
  // and switched off, so nothing typed there is sent; without JavaScript the server asks instead.
  var details = document.getElementById("contact-details");
  var anonymous = document.querySelector("input[name='contact'][value='anonymous']");
  if (details && anonymous) {
    var sync = function () {
      // A question about the contact answer stays visible with what it is about.
      var hide = anonymous.checked && !document.getElementById("contact-error");
      details.hidden = hide;
      Array.prototype.forEach.call(details.querySelectorAll("input"), function (input) { input.disabled = hide; });
    };
    Array.prototype.forEach.call(document.querySelectorAll("input[name='contact']"), function (choice) {
      choice.addEventListener("change", sync);
    });
    sync();
  }

  // Error summary: take the focus so screen readers announce it; its links put the focus
  // in the field itself, with the field's question (legend or label) scrolled into view.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
      if (!link) { return; }
      var field = document.getElementById(decodeURIComponent(link.getAttribute("href").slice(1)));
      if (!field || typeof field.focus !== "function") { return; }
      event.preventDefault();
      var group = field.closest("fieldset.radios");
      var legend = group ? group.querySelector("legend") : null;
      var label = field.id ? document.querySelector("label[for='" + field.id + "']") : null;
      (legend || label || field).scrollIntoView();
      field.focus({ preventScroll: true });
    });
  }
})();
