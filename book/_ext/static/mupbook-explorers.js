/* mupbook's explorers in the rendered book: page through pictures drawn at build time.
 *
 * Each explorer (markup: mupbook/viz/static_explorer.py) holds plain controls marked
 * data-control="k" and a JSON block {controls, index, frames}; the picture for value
 * indices (i_0, ..., i_{m-1}) is frames[index[row-major index]]. No kernel, no network.
 */
(function () {
  "use strict";

  function setUp(root) {
    var data = JSON.parse(root.querySelector("script.mupbook-explorer-data").textContent);
    var inputs = Array.prototype.slice.call(root.querySelectorAll("[data-control]"));
    inputs.sort(function (a, b) {
      return Number(a.dataset.control) - Number(b.dataset.control);
    });
    var frame = root.querySelector(".mupbook-explorer-frame");

    function show() {
      var flat = 0;
      inputs.forEach(function (input, k) {
        var labels = data.controls[k].labels;
        var i = Math.min(Math.max(Number(input.value) || 0, 0), labels.length - 1);
        flat = flat * labels.length + i;
        if (input.type === "range") {
          input.setAttribute("aria-valuetext", labels[i]);
          var out = input.parentNode.querySelector("output");
          if (out) out.textContent = labels[i];
        }
      });
      var id = data.index[flat];
      if (frame.dataset.frame !== String(id)) {
        frame.innerHTML = data.frames[id];
        frame.dataset.frame = String(id);
      }
    }

    inputs.forEach(function (input) {
      input.addEventListener("input", show);
      input.addEventListener("change", show);
    });
    show();
  }

  function setUpAll() {
    document.querySelectorAll(".mupbook-explorer").forEach(setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
