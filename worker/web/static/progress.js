// Follows the transfers of a connection's page: polls its progress.json while a run
// is going on (or a just-started one has not shown up yet) and updates each transfer's
// progress bar and status line. No library, no build step.
(function () {
  "use strict";
  var table = document.getElementById("transfers");
  if (!table) { return; }
  var url = table.getAttribute("data-progress");
  var watch = table.getAttribute("data-watch");
  var started = watch;  // the run started from this page: its bar stays, full, at its end
  var polls = 0;

  function line(report) {
    var text = report.status + ": " + report.summary;
    return report.message ? text + " (" + report.message + ")" : text;
  }

  function show(name, report) {
    var bar = document.getElementById("progress-" + name);
    var status = document.getElementById("status-" + name);
    if (!bar || !status || !report) { return false; }
    var running = report.status === "running" || report.status === "finishing";
    bar.hidden = !running && report.run_id !== started;
    bar.max = Math.max(report.expected, 1);
    bar.value = report.settled;
    status.textContent = running
      ? report.status + ": " + report.settled + " / " + (report.expected || "?") + " records"
      : line(report);
    status.setAttribute("data-status", report.status);
    status.setAttribute("data-run", report.run_id);
    return running;
  }

  function poll() {
    var target = url + (watch ? "?run=" + encodeURIComponent(watch) : "");
    fetch(target, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var busy = false;
        Object.keys(data.transfers).forEach(function (name) {
          busy = show(name, data.transfers[name]) || busy;
        });
        if (data.run) { busy = show(data.run.transfer, data.run) || busy; watch = busy ? watch : ""; }
        if (data.refused) {
          var note = document.getElementById("refused");
          if (note) { note.textContent = "Not started: " + data.refused; note.hidden = false; }
          watch = "";
        }
        polls += 1;
        if (busy || (watch && polls < 120)) { setTimeout(poll, 500); }
      })
      .catch(function () { setTimeout(poll, 2000); });
  }

  var running = document.querySelector("progress:not([hidden])");
  if (running || watch) { poll(); }
}());
