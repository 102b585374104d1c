/* Mermaid diagrams from the vendored mermaid, loaded only when a diagram scrolls into view: an old office PC
   should not parse 3.5 MB of JavaScript for a page whose diagram nobody looks at. The source sits in the page
   as text, never as script. */
(function () {
  "use strict";
  var counter = 0;
  var loading = null;

  function loadMermaid() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = "/static/vendor/mermaid/mermaid.min.js";
        script.onload = function () {
          window.mermaid.initialize({
            startOnLoad: false,
            securityLevel: "strict",
            theme: "neutral",
            fontFamily: '"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'
          });
          resolve(window.mermaid);
        };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  window.greenlaneDiagram = function (container, text) {
    counter += 1;
    var id = "diagram-svg-" + counter;
    return loadMermaid().then(function (mermaid) {
      return mermaid.render(id, text);
    }).then(function (result) {
      container.innerHTML = result.svg;
      container.setAttribute("data-rendered", "true");
    }).catch(function () {
      container.innerHTML = '<p class="muted">流程图暂时无法显示。</p>';
    });
  };

  function draw(container) {
    var source = document.getElementById(container.getAttribute("data-diagram"));
    if (source) { window.greenlaneDiagram(container, source.textContent); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var containers = document.querySelectorAll("[data-diagram]");
    if (!("IntersectionObserver" in window)) { containers.forEach(draw); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { observer.unobserve(entry.target); draw(entry.target); }
      });
    }, { rootMargin: "200px" });
    containers.forEach(function (container) { observer.observe(container); });
  });
})();
