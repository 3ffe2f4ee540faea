// The console's own script: live countdowns to due_at and the trend chart (ECharts).
(function () {
  "use strict";

  function pad(n) { return String(n).padStart(2, "0"); }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - now) / 1000);
      var late = left < 0;
      var s = Math.abs(left);
      var text = Math.floor(s / 3600) + " 小时 " + pad(Math.floor(s % 3600 / 60)) + " 分 " + pad(s % 60) + " 秒";
      el.textContent = late ? "已超时 " + text : "剩余 " + text;
      el.classList.toggle("late", late);
      el.classList.toggle("soon", !late && left < 1800);
    });
  }

  var COLOURS = { red: "#c62828", yellow: "#fbc02d", blue: "#1565c0", level2: "#c62828", level1: "#fbc02d" };

  // Resolves once ECharts has drawn what was set (its "finished" event).
  function drawn(c, option) {
    return new Promise(function (resolve) {
      c.on("finished", function done() { c.off("finished", done); resolve(); });
      c.setOption(option);
    });
  }

  function chart() {
    var el = document.getElementById("trend");
    if (!el || !window.echarts) { return Promise.resolve(); }
    var data = JSON.parse(el.dataset.chart);
    var c = window.echarts.init(el, null, { renderer: "svg" });
    window.addEventListener("resize", function () { c.resize(); });
    return drawn(c, {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 36, right: 12, top: 36, bottom: 28 },
      xAxis: { type: "category", data: data.months.map(function (m) { return m.slice(2).replace("-", "/"); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "all", data: s.data.length ? s.data : data.months.map(function () { return 0; }),
          itemStyle: { color: COLOURS[s.id] || "#52606d" } };
      })
    });
  }

  // A bureau's own region boundaries (GeoJSON), each region coloured by its highest open level.
  function regionMap() {
    var el = document.getElementById("regionmap");
    if (!el || !window.echarts) { return Promise.resolve(); }
    return fetch(el.dataset.geo, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (geo) {
      window.echarts.registerMap(el.dataset.name, geo);
      var regions = JSON.parse(el.dataset.regions);
      var c = window.echarts.init(el, null, { renderer: "svg" });
      window.addEventListener("resize", function () { c.resize(); });
      return drawn(c, {
        animation: false,
        tooltip: { trigger: "item" },
        series: [{
          type: "map", map: el.dataset.name, roam: false, label: { show: true, fontSize: 11 },
          data: regions.map(function (r) {
            return { name: r.name, value: r.level || "无预警", itemStyle: { areaColor: COLOURS[r.level] || "#e4e7eb" } };
          })
        }]
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    // html[data-charts-drawn] marks the page as fully drawn (the console's benchmark waits
    // for it); a map that failed to load still counts as done.
    Promise.all([chart(), regionMap().catch(function () {})]).then(function () {
      document.documentElement.dataset.chartsDrawn = "1";
    });
  });
})();
