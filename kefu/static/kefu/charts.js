// The metrics dashboard's charts, drawn with the vendored ECharts (kefu/static/vendor/echarts).
// Everything a seller reads (names, units, day labels, durations) comes translated from the
// server in the page's JSON element; this file only lays it out. The Content-Security-Policy
// refuses inline styles, so tooltips are drawn on the canvas (renderMode "richText") instead
// of as HTML with style attributes.
(function () {
  "use strict";
  const source = document.getElementById("metrics-chart-data");
  if (!source || typeof window.echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  const showLabels = data.days.length <= 14; // beyond two weeks the values would overlap
  // Axis names stand above their axes, level (rotated Chinese reads badly), high enough to
  // clear the values drawn above the highest points; the legend is above them.
  const grid = { left: 64, right: 64, top: 84, bottom: 56, containLabel: false };
  const legend = { top: 0, textStyle: { fontSize: 13 } };
  const dayAxis = {
    type: "category",
    data: data.days,
    name: data.day_axis,
    nameLocation: "middle",
    nameGap: 32,
    axisTick: { alignWithLabel: true },
    // Every day is named up to ten days; beyond, ECharts leaves out what would overlap.
    axisLabel: { interval: data.days.length <= 10 ? 0 : "auto", fontSize: 11 },
  };
  function valueAxis(name, side, extra) {
    return Object.assign(
      {
        type: "value",
        name: name,
        nameLocation: "end",
        nameGap: 34,
        nameTextStyle: { align: side, fontWeight: "bold" },
      },
      extra,
    );
  }
  function line(name, value) {
    return data.pair.replace("{name}", name).replace("{value}", value);
  }
  const tooltip = {
    trigger: "axis",
    renderMode: "richText",
    confine: true,
  };

  function axisTooltip(lines) {
    return Object.assign({}, tooltip, {
      formatter: (params) => {
        const list = Array.isArray(params) ? params : [params];
        if (!list.length) return "";
        const i = list[0].dataIndex;
        return [data.days[i]].concat(lines(i)).join("\n");
      },
    });
  }

  function orNone(value, text) {
    return value === null || value === undefined ? data.no_value : text;
  }

  function volume(el) {
    const v = data.volume;
    return {
      animation: false,
      legend: legend,
      grid: grid,
      tooltip: axisTooltip((i) => [
        line(v.count_name, v.counts[i]),
        line(v.rate_name, orNone(v.rates[i], v.rates[i] + "%")),
      ]),
      xAxis: dayAxis,
      yAxis: [
        // Room above the tallest bar for the rate line's values.
        valueAxis(v.count_axis, "left", {
          minInterval: 1,
          max: (extent) => Math.max(1, Math.ceil(extent.max * 1.25)),
        }),
        valueAxis(v.rate_axis, "right", {
          min: 0,
          max: 100,
          axisLabel: { formatter: "{value}%" },
          splitLine: { show: false },
        }),
      ],
      series: [
        {
          name: v.count_name,
          type: "bar",
          yAxisIndex: 0,
          data: v.counts,
          barMaxWidth: 36,
          // Inside the bar, so the count never sits on the rate line's value above it.
          label: { show: showLabels, position: "insideTop", color: "#fff" },
        },
        {
          name: v.rate_name,
          type: "line",
          yAxisIndex: 1,
          data: v.rates,
          connectNulls: false,
          symbolSize: 7,
          // A light backing keeps the rate readable where the line crosses a tall bar.
          label: {
            show: showLabels,
            position: "top",
            formatter: "{c}%",
            backgroundColor: "rgba(255,255,255,0.85)",
            padding: [1, 3],
          },
        },
      ],
    };
  }

  function times(el) {
    const t = data.times;
    return {
      animation: false,
      legend: legend,
      grid: grid,
      tooltip: axisTooltip((i) =>
        t.series.map((s) => line(s.name, orNone(s.values[i], s.labels[i]))),
      ),
      xAxis: dayAxis,
      yAxis: valueAxis(t.axis, "left", { min: 0, axisLabel: { formatter: t.tick } }),
      series: t.series.map((s) => ({
        name: s.name,
        type: "line",
        data: s.values,
        connectNulls: false,
        symbolSize: 7,
        label: {
          show: showLabels,
          position: "top",
          formatter: (p) => s.labels[p.dataIndex] || "",
        },
        // Two lines close together would print their times on each other: one is left out
        // (the tooltip still gives both).
        labelLayout: { hideOverlap: true },
      })),
    };
  }

  const builders = { volume: volume, times: times };
  const drawn = [];
  document.querySelectorAll("[data-chart]").forEach((el) => {
    const build = builders[el.dataset.chart];
    if (!build) return;
    const chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(build(el));
    el.dataset.chartDrawn = "1";
    drawn.push(chart);
  });
  window.addEventListener("resize", () => drawn.forEach((c) => c.resize()));
})();
