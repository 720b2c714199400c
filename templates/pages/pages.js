// Small conveniences over pages that work without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The language menu switches on change (its button stays for keyboards without scripts).
  var select = document.getElementById("lang-select");
  if (select && select.form) {
    select.addEventListener("change", function () { select.form.submit(); });
  }
});
