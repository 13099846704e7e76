// Validation as you type for the console's record forms (the server checks everything again).
// Served from /static, no inline code: the page's CSP allows only scripts from the node itself.
"use strict";
(function () {
  function patternOf(input) {
    var source = input.getAttribute("data-pattern");
    if (!source) return null;
    try { return new RegExp(source, "u"); } catch (e) { return null; }
  }
  function check(input) {
    var error = document.getElementById(input.id + "-error");
    input.setCustomValidity("");
    var pattern = patternOf(input);
    if (pattern && input.value && !pattern.test(input.value)) {
      input.setCustomValidity(input.getAttribute("data-pattern-message") || "");
    }
    var ok = input.checkValidity();
    if (ok) { input.removeAttribute("aria-invalid"); } else { input.setAttribute("aria-invalid", "true"); }
    if (error) error.textContent = ok ? "" : input.validationMessage;
    return ok;
  }
  function fields(form) {
    return Array.prototype.filter.call(form.querySelectorAll("input[id], select[id]"), function (el) {
      return el.type !== "hidden";
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-validate]"), function (form) {
      fields(form).forEach(function (input) {
        input.addEventListener("input", function () { check(input); });
        input.addEventListener("blur", function () { check(input); });
      });
      form.addEventListener("submit", function (event) {
        var bad = fields(form).filter(function (input) { return !check(input); });
        if (bad.length) { event.preventDefault(); bad[0].focus(); }
      });
    });
  });
})();
