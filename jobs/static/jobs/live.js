// Tracks whether the page's live socket is open, so the polling fallback runs only without it.
(function () {
  window.ferryLive = { open: false };
  document.addEventListener("htmx:wsOpen", function () { window.ferryLive.open = true; });
  document.addEventListener("htmx:wsClose", function () { window.ferryLive.open = false; });
})();
