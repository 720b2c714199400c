// Small conveniences over pages that work without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // After a refused form, focus moves to the summary of its problems (each
  // links to its field), so a keyboard or screen reader user starts there.
  var summary = document.getElementById("form-summary");
  if (summary) {
    summary.focus();
  }
});
