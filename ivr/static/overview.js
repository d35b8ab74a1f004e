// Live overview: every 2 seconds, fetch the overview JSON and update the numbers in place.
// Without JavaScript the page still shows the numbers as of its loading.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  if (!status) return;
  var url = status.getAttribute("data-live");
  var INTERVAL_MS = 2000;
  var clock = new Intl.DateTimeFormat("en-US", {
    timeZone: "America/Chicago", hour: "2-digit", minute: "2-digit", second: "2-digit",
    hour12: false, timeZoneName: "short"
  });
  var numbers = new Intl.NumberFormat("en-US");

  function lookup(data, path) {
    return path.reduce(function (value, key) {
      return value === undefined || value === null ? undefined : value[key];
    }, data);
  }

  // The same formats the server renders (ivr/templates/overview.html).
  function format(value, kind) {
    if (kind === "seconds") return numbers.format(Math.round(value)) + " s";
    if (kind === "shedding") return value ? "shedding" : "not shedding";
    if (kind === "ms") return Number(value).toLocaleString("en-US", {
      minimumFractionDigits: 1, maximumFractionDigits: 1
    }) + " ms";
    return numbers.format(Math.round(value));
  }

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function updateScreening(counts) {
    var body = document.getElementById("screening-rows");
    if (!body) return;
    var keys = Object.keys(counts).sort();
    var rows = keys.map(function (key) {
      var parts = key.split(":");
      var tr = document.createElement("tr");
      tr.appendChild(cell(parts[0]));
      tr.appendChild(cell(parts.slice(1).join(":")));
      tr.appendChild(cell(numbers.format(counts[key]), "num"));
      return tr;
    });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = cell("No screening decisions.", "muted");
      td.colSpan = 3;
      tr.appendChild(td);
      rows = [tr];
    }
    body.replaceChildren.apply(body, rows);
  }

  function updateChart(chart) {
    Object.keys(chart.lines).forEach(function (key) {
      var line = document.getElementById("chart-line-" + key);
      if (line) line.setAttribute("points", chart.lines[key]);
      var dot = document.getElementById("chart-dot-" + key);
      var end = chart.ends[key];
      if (dot && end) {
        dot.setAttribute("cx", end[0]);
        dot.setAttribute("cy", end[1]);
      }
      var latest = document.getElementById("chart-latest-" + key);
      if (latest) latest.textContent = numbers.format(chart.latest[key]);
    });
    chart.y_ticks.forEach(function (tick, index) {
      var label = document.getElementById("chart-y-" + index);
      if (label) label.textContent = tick[1];
    });
  }

  function update(data) {
    var snap = data.snapshot;
    document.querySelectorAll("[data-metric]").forEach(function (el) {
      var value = lookup(snap, JSON.parse(el.getAttribute("data-metric")));
      if (value !== undefined) el.textContent = format(value, el.getAttribute("data-format"));
    });
    var bar = document.getElementById("reported-bar");
    if (bar && snap.precincts_total) {
      bar.style.width = (100 * snap.precincts_reported / snap.precincts_total).toFixed(1) + "%";
    }
    updateScreening(snap.screening_15m);
    updateChart(data.chart);
    status.setAttribute("data-updated", String(snap.at));
    status.textContent = "Updated " + clock.format(new Date(snap.at * 1000));
    status.classList.remove("stale");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.redirected) throw new Error("You are signed out: reload the page to sign in.");
        if (!response.ok) throw new Error("The server answered " + response.status + ".");
        return response.json();
      })
      .then(update)
      .catch(function (error) {
        status.textContent = "Live updates paused (" + error.message + " Retrying.)";
        status.classList.add("stale");
      })
      .finally(function () { setTimeout(poll, INTERVAL_MS); });
  }

  setTimeout(poll, INTERVAL_MS);
})();
