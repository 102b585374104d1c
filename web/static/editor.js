/* The workflow YAML editor: CodeMirror, validated as you type by the server's own validator. */
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  var textarea = document.getElementById("source");
  var status = document.getElementById("validation-status");
  var list = document.getElementById("problems");
  var preview = document.getElementById("preview");
  var token = form.querySelector("input[name=csrf_token]").value;
  var editor = window.CodeMirror.fromTextArea(textarea, {
    mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2, lineWrapping: false,
    gutters: ["CodeMirror-linenumbers", "problem-gutter"],
    extraKeys: { Tab: function (cm) { cm.replaceSelection("  "); } }
  });
  window.greenlaneEditor = editor;
  var marked = [];
  var timer = null;
  var sequence = 0;
  var isFirst = true;  // after a refused publish, bring the first problem into view once

  function clearMarks() {
    marked.forEach(function (line) { editor.removeLineClass(line, "background", "line-error"); });
    marked = [];
    editor.clearGutter("problem-gutter");
  }

  function show(result) {
    clearMarks();
    list.innerHTML = "";
    if (result.valid) {
      status.textContent = "✓ 校验通过，可以发布";
      status.className = "status ok";
      if (result.diagram) { window.greenlaneDiagram(preview, result.diagram); }
      return;
    }
    status.textContent = "发现 " + result.errors.length + " 处问题";
    status.className = "status bad";
    result.errors.forEach(function (error) {
      var line = Math.max(0, Math.min(error.line - 1, editor.lineCount() - 1));
      var handle = editor.addLineClass(line, "background", "line-error");
      marked.push(handle);
      var marker = document.createElement("span");
      marker.className = "problem-marker";
      marker.textContent = "✖";
      marker.title = error.message;
      editor.setGutterMarker(line, "problem-gutter", marker);
      var item = document.createElement("li");
      item.setAttribute("data-line", String(error.line));
      item.textContent = "第 " + error.line + " 行 · " + error.path + "：" + error.message;
      item.addEventListener("click", function () { editor.setCursor({ line: line, ch: 0 }); editor.focus(); });
      list.appendChild(item);
    });
    if (isFirst && result.errors.length) {
      editor.scrollIntoView({ line: result.errors[0].line - 1, ch: 0 }, 120);
    }
  }

  function validate() {
    var mine = ++sequence;
    status.textContent = "校验中…";
    status.className = "status";
    var body = new URLSearchParams({ source: editor.getValue(), csrf_token: token });
    fetch(form.getAttribute("data-validate"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (result) { if (mine === sequence) { show(result); isFirst = false; } })
      .catch(function () { status.textContent = "暂时无法连接服务器校验，发布时会再次校验。"; });
  }

  editor.on("change", function () {
    clearTimeout(timer);
    timer = setTimeout(validate, 400);
  });
  validate();
})();
