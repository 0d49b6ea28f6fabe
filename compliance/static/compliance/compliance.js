// Compliance view: Remediate is available only while the selection holds something not compliant.
(function () {
  function refresh() {
    var form = document.getElementById("selection-form");
    if (!form) return;
    var boxes = form.querySelectorAll("input[name=selected]:checked");
    var remediate = form.querySelector("[data-action=remediate]");
    if (!remediate) return;
    var needed = false;
    boxes.forEach(function (box) { if (box.dataset.state !== "compliant") needed = true; });
    remediate.disabled = !needed;
  }
  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#selection-form")) refresh();
  });
  document.addEventListener("htmx:afterSettle", refresh);
  document.addEventListener("DOMContentLoaded", refresh);
})();
