/** A labelled horizontal bar for a share or probability (0..1). */
export function Bar({ value, label, colour = "#3949ab" }: { value: number | null | undefined; label: string; colour?: string }) {
  const v = value === null || value === undefined ? 0 : Math.max(0, Math.min(1, value));
  return (
    <div className="bar" role="meter" aria-valuemin={0} aria-valuemax={1} aria-valuenow={Number(v.toFixed(3))} aria-label={label}>
      <div style={{ width: `${(v * 100).toFixed(1)}%`, background: colour }} />
    </div>
  );
}
