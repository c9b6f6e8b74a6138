// The cause analysis page's charts (vendored ECharts, kefu/static/vendor/echarts): complaints
// and turned-around complaints by cause, and complaints per week with their rate per 100
// orders. Every word comes translated in the page's JSON element; the CSP refuses inline
// styles, so tooltips are drawn on the canvas (renderMode "richText").
(function () {
  "use strict";
  const source = document.getElementById("care-chart-data");
  if (!source || typeof window.echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  if (data.empty) return;
  const tooltip = { trigger: "axis", renderMode: "richText", confine: true };
  const legend = { top: 0, textStyle: { fontSize: 13 } };
  const grid = { left: 64, right: 64, top: 64, bottom: 72, containLabel: false };

  function causes() {
    const c = data.causes;
    return {
      animation: false,
      title: { text: c.title, left: "center", bottom: 0, textStyle: { fontSize: 13 } },
      legend: legend,
      grid: grid,
      tooltip: tooltip,
      xAxis: {
        type: "category",
        data: c.labels,
        axisLabel: { interval: 0, rotate: c.labels.length > 6 ? 30 : 0, fontSize: 11 },
      },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: c.count_name, type: "bar", data: c.counts, barMaxWidth: 36, label: { show: true, position: "top" } },
        { name: c.turned_name, type: "bar", data: c.turned, barMaxWidth: 36, label: { show: true, position: "top" } },
      ],
    };
  }

  function weeks() {
    const w = data.weeks;
    return {
      animation: false,
      title: { text: w.title, left: "center", bottom: 0, textStyle: { fontSize: 13 } },
      legend: legend,
      grid: grid,
      tooltip: tooltip,
      xAxis: { type: "category", data: w.labels, name: w.week_axis, nameLocation: "middle", nameGap: 30 },
      yAxis: [
        { type: "value", minInterval: 1, name: w.count_name },
        { type: "value", min: 0, name: w.rate_name, splitLine: { show: false } },
      ],
      series: [
        { name: w.count_name, type: "bar", yAxisIndex: 0, data: w.counts, barMaxWidth: 36, label: { show: w.labels.length <= 14, position: "insideTop", color: "#fff" } },
        { name: w.rate_name, type: "line", yAxisIndex: 1, data: w.rates, connectNulls: false, symbolSize: 7, label: { show: w.labels.length <= 14, position: "top" } },
      ],
    };
  }

  const builders = { causes: causes, weeks: weeks };
  const drawn = [];
  document.querySelectorAll("[data-chart]").forEach((el) => {
    const build = builders[el.dataset.chart];
    if (!build) return;
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(build());
    el.dataset.chartDrawn = "1";
    drawn.push(chart);
  });
  window.addEventListener("resize", () => drawn.forEach((c) => c.resize()));
})();
