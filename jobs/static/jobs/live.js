// Tracks whether the page's live socket is open, so the polling fallback runs only without it.
(function () {
  window.ferryLive = { open: false };
  document.addEventListener("htmx:wsOpen", function () { window.ferryLive.open = true; });
  document.addEventListener("htmx:wsClose", function () { window.ferryLive.open = false; });
})();

// A lane folds while it is pending or finished and opens while it runs or failed, unless the
// operator opened or closed it by hand. Once the job has ended nothing runs any more: a lane left
// half done (the next node's scan ran beside a restart that failed) folds too.
(function () {
  var ACTIVE = ["queued", "running", "cancelling"];
  function foldLanes() {
    var header = document.getElementById("job-header");
    var jobActive = !header || ACTIVE.indexOf(header.dataset.status) >= 0;
    document.querySelectorAll("details.lane").forEach(function (lane) {
      if (lane.dataset.byHand) return;
      var head = lane.querySelector("summary");
      var status = head ? head.dataset.status : "";
      lane.open = status === "failed" || (status === "running" && jobActive);
    });
  }
  document.addEventListener("click", function (event) {
    var summary = event.target.closest("details.lane > summary");
    if (summary) summary.parentElement.dataset.byHand = "1";
  });
  document.addEventListener("htmx:oobAfterSwap", foldLanes);
  document.addEventListener("htmx:afterSettle", foldLanes);
})();
