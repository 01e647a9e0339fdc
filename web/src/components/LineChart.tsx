import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  bars?: boolean;
  points?: boolean;
}

/** A time chart (x in epoch seconds) drawn by uPlot, with a text summary for screen readers. */
export function LineChart({ x, lines, title, height = 220, yLabel, summary }: { x: number[]; lines: Line[]; title: string; height?: number; yLabel?: string; summary: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || !x.length) return;
    const width = Math.max(300, el.clientWidth || 600);
    const bars = uPlot.paths.bars?.({ size: [0.8, 12] });
    const plot = new uPlot(
      {
        width,
        height,
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
        axes: [{}, { label: yLabel, size: 60 }],
        series: [
          {},
          ...lines.map((l) => ({
            label: l.label,
            stroke: l.color,
            fill: l.bars ? l.color + "99" : undefined,
            width: l.bars ? 0 : 2,
            paths: l.bars ? bars : undefined,
            points: { show: l.points ?? false, size: 7 },
            spanGaps: !l.points,
          })),
        ],
      },
      [x, ...lines.map((l) => l.values)] as uPlot.AlignedData,
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(300, el.clientWidth), height });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [x, lines, height, yLabel]);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${summary}`} />
    </figure>
  );
}
