/* Dashboard charts: breakdown by child unit (bars), a choropleth of the child units when a
   boundary file is shipped for this level, category pies and weekly/monthly trends. The data are
   the precomputed figures embedded in the page (#dashboard-data); clicking a unit drills down,
   clicking a slice opens the list behind it. */
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof echarts === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var charts = [];
  var palette = ["#206bc4", "#2fb344", "#f76707", "#d63939", "#ae3ec9", "#17a2b8", "#f59f00", "#74b816", "#4263eb", "#868e96"];

  function make(el) { var c = echarts.init(el); charts.push(c); return c; }
  function fmt(value, kind) {
    if (value === null || value === undefined) { return "—"; }
    if (kind === "pct") { return (value * 100).toFixed(1) + "%"; }
    if (kind === "hours") { return value.toLocaleString(undefined, {maximumFractionDigits: 1}); }
    return Math.round(value).toLocaleString();
  }

  // --- children: metric selector, bars and map ---------------------------------------------
  var kids = data.children || {units: [], metrics: []};
  var select = document.getElementById("metric-select");
  var barsEl = document.getElementById("chart-children");
  var mapEl = document.getElementById("chart-map");
  var bars = barsEl ? make(barsEl) : null;
  var map = null, mapReady = false;
  if (select) {
    kids.metrics.forEach(function (m, i) {
      var o = document.createElement("option"); o.value = i; o.textContent = m.label; select.appendChild(o);
    });
  }
  function metric() { return kids.metrics[select ? +select.value || 0 : 0]; }
  function drawBars() {
    var m = metric(); if (!bars || !m) { return; }
    bars.setOption({
      color: palette, grid: {left: 8, right: 16, top: 16, bottom: 8, containLabel: true},
      tooltip: {trigger: "axis", valueFormatter: function (v) { return fmt(v, m.fmt); }},
      xAxis: {type: "category", data: kids.units.map(function (u) { return u.name; }), axisLabel: {interval: 0, rotate: kids.units.length > 8 ? 35 : 0}},
      yAxis: {type: "value", axisLabel: {formatter: function (v) { return m.fmt === "pct" ? Math.round(v * 100) + "%" : v; }}},
      series: [{type: "bar", name: m.label, data: m.values.map(function (v) { return v === null ? 0 : v; }), barMaxWidth: 36}]
    }, true);
  }
  function drawMap() {
    var m = metric(); if (!map || !mapReady || !m) { return; }
    var values = m.values.filter(function (v) { return v !== null; });
    var max = values.length ? Math.max.apply(null, values) : 1;
    map.setOption({
      tooltip: {trigger: "item", formatter: function (p) {
        var u = kids.units.filter(function (x) { return x.code === p.name; })[0];
        return (u ? u.name : p.name) + "<br>" + m.label + "：" + fmt(p.value, m.fmt);
      }},
      visualMap: {min: 0, max: max || 1, left: 8, bottom: 8, calculable: true, inRange: {color: ["#e7f0fb", "#206bc4"]},
        formatter: function (v) { return fmt(v, m.fmt); }},
      series: [{type: "map", map: mapEl.dataset.mapName, nameProperty: "code", roam: false,
        label: {show: true, fontSize: 11, formatter: function (p) {
          var u = kids.units.filter(function (x) { return x.code === p.name; })[0]; return u ? u.name : "";
        }},
        data: kids.units.map(function (u, i) { return {name: u.code, value: m.values[i]}; })}]
    }, true);
  }
  if (mapEl) {
    map = make(mapEl);
    map.showLoading();
    fetch(mapEl.dataset.map).then(function (r) { return r.json(); }).then(function (geo) {
      geo.features.forEach(function (f) {
        var code = String(f.properties.adcode || "");
        f.properties.code = code.length === 6 ? code : code.padEnd(6, "0");
      });
      echarts.registerMap(mapEl.dataset.mapName, geo);
      mapReady = true; map.hideLoading(); drawMap();
    }).catch(function () { map.hideLoading(); mapEl.classList.add("d-none"); });
    map.on("click", function (p) {
      var u = kids.units.filter(function (x) { return x.code === p.name; })[0]; if (u) { window.location = u.url; }
    });
  }
  if (bars) {
    bars.on("click", function (p) { var u = kids.units[p.dataIndex]; if (u) { window.location = u.url; } });
  }
  if (select) { select.addEventListener("change", function () { drawBars(); drawMap(); }); }
  drawBars();

  // --- pies ----------------------------------------------------------------------------------
  document.querySelectorAll("[data-pie]").forEach(function (el) {
    var pie = (data.pies || [])[+el.dataset.pie]; if (!pie) { return; }
    var c = make(el);
    c.setOption({
      color: palette, tooltip: {trigger: "item", formatter: "{b}: {c} ({d}%)"},
      legend: {type: "scroll", orient: "vertical", right: 0, top: "middle"},
      series: [{type: "pie", radius: ["35%", "68%"], center: ["35%", "50%"], label: {show: false},
        data: pie.slices.map(function (s) { return {name: s.name, value: s.value, url: s.url}; })}]
    });
    c.on("click", function (p) { if (p.data && p.data.url) { window.location = p.data.url; } });
  });

  // --- trends --------------------------------------------------------------------------------
  var trendEl = document.getElementById("chart-trend");
  var trend = trendEl ? make(trendEl) : null;
  function drawTrend(period) {
    var t = (data.trends || {})[period]; if (!trend || !t) { return; }
    var empty = !t.series.length;
    document.getElementById("trend-empty").classList.toggle("d-none", !empty);
    trendEl.classList.toggle("d-none", empty);
    trend.setOption({
      color: palette, tooltip: {trigger: "axis"}, legend: {type: "scroll", top: 0},
      grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
      xAxis: {type: "category", data: t.labels}, yAxis: {type: "value"},
      series: t.series.map(function (s, i) {
        return {type: "line", name: s.name, data: s.values, smooth: true, showSymbol: false,
          selected: i < 4};
      })
    }, true);
    var hidden = {}; t.series.forEach(function (s, i) { if (i >= 4) { hidden[s.name] = false; } });
    trend.setOption({legend: {selected: hidden}});
  }
  document.querySelectorAll("[data-period]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      document.querySelectorAll("[data-period]").forEach(function (b) { b.classList.remove("active"); });
      btn.classList.add("active"); drawTrend(btn.dataset.period);
    });
  });
  drawTrend("week");

  // --- weekly ledgers --------------------------------------------------------------------------
  var ledgerEl = document.getElementById("chart-ledger");
  var l = data.ledger;
  if (ledgerEl && l) {
    var none = !l.series.length && !l.submitted.some(function (v) { return v; });
    document.getElementById("ledger-empty").classList.toggle("d-none", !none);
    ledgerEl.classList.toggle("d-none", none);
    if (!none) {
      var c = make(ledgerEl);
      c.setOption({
        color: palette, tooltip: {trigger: "axis"}, legend: {type: "scroll", top: 0},
        grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
        xAxis: {type: "category", data: l.labels}, yAxis: [{type: "value"}, {type: "value", show: false}],
        series: l.series.slice(0, 4).map(function (s) {
          return {type: "line", name: s.name, data: s.values, smooth: true, showSymbol: false};
        }).concat([{type: "bar", name: l.late_label, yAxisIndex: 1,
          data: l.late, itemStyle: {color: "#f76707", opacity: 0.5}, barMaxWidth: 8}])
      });
    }
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
