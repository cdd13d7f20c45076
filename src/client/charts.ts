/**
 * ECharts, tree-shaken: only the line and bar charts, dataZoom, tooltip,
 * legend and grid, drawn on canvas. Every chart of the UI goes through here.
 *
 * The tooltip is built here as DOM (`tooltipContent`), never as ECharts' default HTML: that is a string
 * full of `style="…"` attributes, which the CSP (`style-src 'self'`) blocks — a console error per hover
 * and a tooltip without its layout. Layout comes from app.css classes; the one per-series value, the
 * marker's colour, is set through the CSSOM (`el.style.…`), which the CSP allows. Names go in as text.
 */
import { BarChart, LineChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { binaryAxis, trimZeros } from '../lib/sizes.js';
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
 * Sizes and changes get their y ticks on round binary steps (src/lib/sizes.ts binaryAxis); a single
 * point (one day of history) is drawn as a visible dot in the middle of the plot, not on its edge.
 */
export function sizeChart(el: HTMLElement, categories: string[], series: Series[], format: (v: number) => string = fmt.bytes): echarts.ECharts {
  const chart = echarts.getInstanceByDom(el) ?? echarts.init(el, undefined, { renderer: 'canvas' });
  const data = series.map((s) => categories.map((c) => s.points.find((p) => p[0] === c)?.[1] ?? null));
  const values = data.flat().filter((v): v is number => v !== null);
  // Sizes (fmt.bytes) and changes (fmt.change) are bytes: binary ticks; a percentage keeps ECharts' decimal ticks.
  const binary = (format === fmt.bytes || format === fmt.change) && values.length > 0;
  const few = categories.length < 40;
  chart.setOption(
    {
      animation: false,
      tooltip: {
        trigger: 'axis',
        confine: true,
        className: 'wf-chart-tip',
        formatter: (params: unknown) => tooltipContent(params as TipParam | TipParam[], format),
      },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 56, containLabel: true },
      // Days are shown in the user's date format (weeks and months as the API names them).
      xAxis: {
        type: 'category',
        data: categories,
        axisLabel: { formatter: (c: string) => fmt.day(c) },
        boundaryGap: categories.length === 1 || series.some((s) => s.type === 'bar'),
      },
      yAxis: {
        type: 'value',
        axisLabel: { formatter: (v: number) => trimZeros(format(v)) },
        ...(binary ? binaryAxis(Math.min(...values), Math.max(...values)) : {}),
      },
      dataZoom: [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 8, labelFormatter: (_i: number, c: string) => fmt.day(c) }],
      series: series.map((s, i) => ({
        name: s.name,
        type: s.type ?? 'line',
        showSymbol: few,
        // A lone point (one period, or one between gaps) needs a symbol big enough to see at 390 px.
        symbol: 'circle',
        symbolSize: few ? 7 : 4,
        connectNulls: false,
        ...(s.type === 'bar' && categories.length === 1 ? { barMaxWidth: 48 } : {}),
        ...(s.color ? { color: s.color } : {}),
        data: data[i],
      })),
    },
    true,
  );
  return chart;
}

interface TipParam {
  seriesName?: string;
  value?: unknown;
  color?: unknown;
  axisValue?: string | number;
}

/** The axis tooltip: the day, then one row per series (colour marker, name, formatted value). */
function tooltipContent(params: TipParam | TipParam[], format: (v: number) => string): HTMLElement {
  const list = Array.isArray(params) ? params : [params];
  const el = (tag: string, cls: string, text = '') => {
    const e = document.createElement(tag);
    e.className = cls;
    e.textContent = text;
    return e;
  };
  const box = el('div', 'wf-chart-tip-body');
  box.append(el('div', 'wf-chart-tip-head', fmt.day(String(list[0]?.axisValue ?? ''))));
  for (const p of list) {
    const marker = el('span', 'wf-chart-tip-marker');
    if (typeof p.color === 'string') marker.style.backgroundColor = p.color;
    const row = el('div', 'wf-chart-tip-row');
    row.append(
      marker,
      el('span', 'wf-chart-tip-name', p.seriesName ?? ''),
      el('span', 'wf-chart-tip-value', typeof p.value === 'number' ? format(p.value) : '—'),
    );
    box.append(row);
  }
  return box;
}

/** True when no series has a value: a change chart before the second period ("needs two periods", not a blank plot). */
export function noValues(series: Series[]): boolean {
  return series.every((s) => s.points.every((p) => p[1] === null));
}

export function resizeAll(): void {
  for (const el of document.querySelectorAll<HTMLElement>('[_echarts_instance_]')) echarts.getInstanceByDom(el)?.resize();
}
window.addEventListener('resize', resizeAll);
