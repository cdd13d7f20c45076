/**
 * ECharts, tree-shaken: only the line and bar charts, dataZoom, tooltip,
 * legend and grid, drawn on canvas. Every chart of the UI goes through here.
 */
import { BarChart, LineChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { fmt } from './ui.js';

echarts.use([LineChart, BarChart, DataZoomComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export interface Series {
  name: string;
  /** [x label, bytes | null] */
  points: [string, number | null][];
  type?: 'line' | 'bar';
  /** A fixed colour (e.g. to match a legend elsewhere on the page); default: the palette's next one. */
  color?: string;
}

/**
 * A size chart (y axis in B/KB/MB/GB/TB) with zoom; returns the chart so callers can dispose it.
 * `format` shows other values (a signed change, a percentage) on the axis and in the tooltip.
 */
export function sizeChart(el: HTMLElement, categories: string[], series: Series[], format: (v: number) => string = fmt.bytes): echarts.ECharts {
  const chart = echarts.getInstanceByDom(el) ?? echarts.init(el, undefined, { renderer: 'canvas' });
  chart.setOption(
    {
      animation: false,
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => (typeof v === 'number' ? format(v) : '—') },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 56, containLabel: true },
      xAxis: { type: 'category', data: categories, boundaryGap: series.some((s) => s.type === 'bar') },
      yAxis: { type: 'value', axisLabel: { formatter: (v: number) => format(v) } },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8 }],
      series: series.map((s) => ({
        name: s.name,
        type: s.type ?? 'line',
        showSymbol: categories.length < 40,
        connectNulls: false,
        ...(s.color ? { color: s.color } : {}),
        data: categories.map((c) => s.points.find((p) => p[0] === c)?.[1] ?? null),
      })),
    },
    true,
  );
  return chart;
}

export function resizeAll(): void {
  for (const el of document.querySelectorAll<HTMLElement>('[_echarts_instance_]')) echarts.getInstanceByDom(el)?.resize();
}
window.addEventListener('resize', resizeAll);
