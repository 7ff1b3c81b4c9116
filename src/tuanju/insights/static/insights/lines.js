/* A line chart from a json_script block: {labels, series:[{name, values}]} (history pages). */
(function () {
  "use strict";
  document.querySelectorAll("[id$='-chart']").forEach(function (el) {
    var source = document.getElementById(el.id.replace(/-chart$/, "-data"));
    if (!source || typeof echarts === "undefined") { return; }
    var d = JSON.parse(source.textContent);
    var chart = echarts.init(el);
    chart.setOption({
      color: ["#206bc4", "#2fb344", "#f76707", "#d63939", "#ae3ec9", "#17a2b8", "#f59f00", "#74b816"],
      tooltip: {trigger: "axis"}, legend: {type: "scroll", top: 0},
      grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
      xAxis: {type: "category", data: d.labels},
      yAxis: {type: "value", max: d.max || null, inverse: !!d.inverse, min: d.inverse ? 1 : null},
      series: d.series.map(function (s) {
        return {type: "line", name: s.name, data: s.values, smooth: true, showSymbol: false, connectNulls: true};
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
