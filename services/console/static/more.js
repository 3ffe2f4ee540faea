// Charts of the statistics and monitoring pages (ECharts, drawn as SVG from data-chart).
(function () {
  "use strict";

  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) { return null; }
    var c = window.echarts.init(el, null, { renderer: "svg" });
    c.setOption(option(JSON.parse(el.dataset.chart)));
    window.addEventListener("resize", function () { c.resize(); });
    return c;
  }

  function byMonth(d) {
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 36, right: 12, top: 36, bottom: 28 },
      xAxis: { type: "category", data: d.months },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "收到报告", type: "bar", data: d.reports, itemStyle: { color: "#52606d" } },
        { name: "发布预警", type: "bar", data: d.warnings, itemStyle: { color: "#c62828" } }
      ]
    };
  }

  function onTime(d) {
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: d.bodies, axisLabel: { width: 160, overflow: "truncate" } },
      series: [
        { name: "按时", type: "bar", stack: "all", data: d.on_time, itemStyle: { color: "#2e7d32" } },
        { name: "迟报或未报", type: "bar", stack: "all", data: d.late, itemStyle: { color: "#c62828" } }
      ]
    };
  }

  function spark(d) {
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      grid: { left: 4, right: 8, top: 8, bottom: 4, containLabel: true },
      xAxis: { type: "category", data: d.periods, axisLabel: { fontSize: 10 } },
      yAxis: { type: "value", axisLabel: { fontSize: 10 } },
      series: [{ name: d.name, type: "line", data: d.values, symbolSize: 4, itemStyle: { color: "#1565c0" } }]
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw("by-month", byMonth);
    draw("on-time", onTime);
    document.querySelectorAll(".spark[id]").forEach(function (el) { draw(el.id, spark); });
  });
})();
