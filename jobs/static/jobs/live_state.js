// "Remediating (job #11, 40 %)" on object pages: every element with data-live-job="cluster:3 host:7"
// shows the active job holding one of those keys, from the running-jobs indicator that the live
// socket redraws on every change of any job.
(function () {
  function render() {
    var data = document.getElementById("running-jobs-data");
    if (!data) return;
    var jobs = [];
    try { jobs = JSON.parse(data.dataset.jobs || "[]"); } catch (e) { return; }
    document.querySelectorAll("[data-live-job]").forEach(function (element) {
      var keys = element.dataset.liveJob.split(" ");
      var job = jobs.find(function (j) { return j.keys.some(function (k) { return keys.indexOf(k) >= 0; }); });
      var text = job ? job.label + " (job #" + job.id + ", " + job.progress + " %)" : "";
      var link = element.querySelector("a");
      if (link && link.textContent === text) return;
      element.textContent = "";
      element.dataset.jobId = job ? job.id : "";
      if (!job) return;
      link = document.createElement("a");
      link.href = job.url;
      link.className = "badge running";
      link.textContent = text;
      element.appendChild(link);
    });
  }
  document.addEventListener("htmx:oobAfterSwap", render);
  document.addEventListener("htmx:afterSettle", render);
  document.addEventListener("DOMContentLoaded", render);
})();
