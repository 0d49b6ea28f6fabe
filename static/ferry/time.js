// Shows every <time data-style> (fabric/display.py) in the browser's local time with its zone, and
// the exact local time on hover. Elements that live updates (htmx swaps, websocket messages) add
// later are caught by a MutationObserver, so no swap path can be forgotten.
(function () {
  "use strict";
  var zoneName = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" });

  function pad(n) { return String(n).padStart(2, "0"); }

  function zoneOf(date) {
    var parts = zoneName.formatToParts(date);
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].type === "timeZoneName") return parts[i].value;
    }
    return "";
  }

  function localize(el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date.getTime())) return;
    var day = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
    var minute = pad(date.getHours()) + ":" + pad(date.getMinutes());
    var second = minute + ":" + pad(date.getSeconds());
    var zone = zoneOf(date);
    var exact = day + " " + second + " " + zone;
    var style = el.getAttribute("data-style");
    if (style === "datetime") el.textContent = day + " " + minute + " " + zone;
    else if (style === "seconds") el.textContent = exact;
    else if (style === "time") el.textContent = second;
    // "relative" keeps the server's "8 minutes ago"
    el.title = exact;
    el.setAttribute("data-local", zone);
  }

  function localizeWithin(node) {
    if (node.nodeType !== 1) return;
    if (node.matches("time[data-style]:not([data-local])")) localize(node);
    node.querySelectorAll("time[data-style]:not([data-local])").forEach(localize);
  }

  localizeWithin(document.documentElement);
  new MutationObserver(function (records) {
    records.forEach(function (record) { record.addedNodes.forEach(localizeWithin); });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
