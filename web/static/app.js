/* Greenlane pages: action dialogs and the browser-side draft of the application form. No inline scripts (CSP). */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener && !opener.disabled) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && !dialog.open) { dialog.showModal(); }
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) { closer.closest("dialog").close(); }
  });

  function openServerDialogs() {  // a dialog the server re-drew with errors comes back open: make it modal
    document.querySelectorAll("dialog[open]").forEach(function (dialog) {
      dialog.close();
      dialog.showModal();
    });
  }

  // Drafts: what a clerk types into the application form is kept in this browser until it is saved.
  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.name && element.type !== "hidden" && element.type !== "file";
    });
  }

  function keepDrafts() {
    if (/[?&]notice=(created|draft_saved)/.test(location.search)) {  // saved for good, here or on the server
      Object.keys(localStorage).forEach(function (key) {
        if (key.indexOf("draft:") === 0) { localStorage.removeItem(key); }
      });
    }
    var form = document.querySelector("form[data-draft]");
    if (!form) { return; }
    var key = form.getAttribute("data-draft");
    var status = form.querySelector("[data-draft-status]");
    var fields = draftFields(form);
    var isBlank = fields.every(function (element) { return !element.value; });
    var saved = localStorage.getItem(key);
    if (saved && isBlank) {
      var values = JSON.parse(saved);
      fields.forEach(function (element) {
        if (values[element.name] !== undefined) { element.value = values[element.name]; }
      });
      if (status) { status.textContent = "已恢复本机保存的未提交草稿。"; }
    }
    form.addEventListener("input", function () {
      var values = {};
      fields.forEach(function (element) { values[element.name] = element.value; });
      localStorage.setItem(key, JSON.stringify(values));
      if (status) { status.textContent = "草稿已自动保存在本机（" + new Date().toLocaleTimeString("zh-CN") + "）。"; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    openServerDialogs();
    keepDrafts();
  });
})();
