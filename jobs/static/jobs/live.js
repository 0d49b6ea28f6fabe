// Tracks whether the page's live socket is open, so the polling fallback runs only without it.
(function () {
  window.ferryLive = { open: false };
  document.addEventListener("htmx:wsOpen", function () { window.ferryLive.open = true; });
  document.addEventListener("htmx:wsClose", function () { window.ferryLive.open = false; });
})();

// A lane folds while it is pending or finished and opens while it runs or failed, unless the
// operator opened or closed it by hand.
(function () {
  function foldLanes() {
    document.querySelectorAll("details.lane").forEach(function (lane) {
      if (lane.dataset.byHand) return;
      var head = lane.querySelector("summary");
      var status = head ? head.dataset.status : "";
      lane.open = status === "running" || status === "failed";
    });
  }
  document.addEventListener("click", function (event) {
    var summary = event.target.closest("details.lane > summary");
    if (summary) summary.parentElement.dataset.byHand = "1";
  });
  document.addEventListener("htmx:oobAfterSwap", foldLanes);
  document.addEventListener("htmx:afterSettle", foldLanes);
})();
